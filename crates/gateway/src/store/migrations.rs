//! The schema, one migration per version, applied in order by `PRAGMA user_version`.
//!
//! A migration is SQL run once, inside the same transaction that bumps `user_version`, so a failed upgrade leaves
//! the file as it was. Never edit a released migration: append a new one. A database whose `user_version` is higher
//! than [`SCHEMA_VERSION`] was written by a newer build and is refused untouched.
//!
//! (`rusqlite_migration` does the same job, but its current release needs a newer Rust than the workspace's
//! `rust-version` and pins the rusqlite minor version; this ladder is a screenful.)

use rusqlite::{Connection, TransactionBehavior};

use super::{Result, StoreError};

/// The schema version this build writes: the number of migrations.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Marks the file as Switchboard's (`PRAGMA application_id`, the ASCII for "SwBd").
const APPLICATION_ID: i64 = 0x5377_4264;

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8];

/// Version 1: everything the first release keeps.
const V1: &str = r#"
-- JSON values keyed by a dotted name, e.g. 'server.port'.
CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL CHECK (json_valid(value))
) STRICT, WITHOUT ROWID;

-- Upstream accounts. The key itself is in the keychain; `key_env` is only the *name* of an environment variable
-- (headless mode), as in the TOML config.
CREATE TABLE providers (
    id          TEXT NOT NULL PRIMARY KEY CHECK (id <> '' AND instr(id, '/') = 0),
    kind        TEXT NOT NULL CHECK (kind <> ''),
    name        TEXT,
    base_url    TEXT,
    api_version TEXT,
    proxy       TEXT,
    key_env     TEXT,
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- What the UI may know about each key: a label, its turn in the rotation and at most its last four characters.
-- Never the key.
CREATE TABLE provider_keys (
    provider_id TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    label       TEXT NOT NULL CHECK (label <> ''),
    position    INTEGER NOT NULL,
    last4       TEXT CHECK (last4 IS NULL OR length(last4) <= 4),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (provider_id, label)
) STRICT, WITHOUT ROWID;

-- A model name clients may ask for, mapped to ordered targets.
CREATE TABLE aliases (
    name        TEXT NOT NULL PRIMARY KEY CHECK (name <> '' AND instr(name, '/') = 0),
    description TEXT,
    strategy    TEXT NOT NULL DEFAULT 'fallback' CHECK (strategy <> ''),
    -- params, forced params, system prefix, timeouts: routing's to define
    settings    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object'),
    -- 1 while this is a first-run default the user has not edited
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- `provider_id` is deliberately not a foreign key: deleting a provider must not silently rewrite aliases; routing
-- reports a target whose provider is gone.
CREATE TABLE alias_targets (
    alias       TEXT NOT NULL REFERENCES aliases (name) ON DELETE CASCADE ON UPDATE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 0),
    provider_id TEXT NOT NULL CHECK (provider_id <> ''),
    model       TEXT NOT NULL CHECK (model <> ''),
    weight      INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 0),
    PRIMARY KEY (alias, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX alias_targets_by_provider ON alias_targets (provider_id);

-- Who may call the endpoint. AUTOINCREMENT so a deleted app's id is never reused: ledger rows keep pointing at
-- the app they came from.
CREATE TABLE apps (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE CHECK (name <> ''),
    token_hash      BLOB UNIQUE CHECK (token_hash IS NULL OR length(token_hash) = 32), -- SHA-256 of the token
    builtin         INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- a JSON array of alias names, or NULL for all
    allowed_aliases TEXT CHECK (allowed_aliases IS NULL
                                OR (json_valid(allowed_aliases) AND json_type(allowed_aliases) = 'array')),
    budget          TEXT CHECK (budget IS NULL OR json_valid(budget)), -- the ledger's to define
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    CHECK (builtin = 1 OR token_hash IS NOT NULL)
) STRICT;
INSERT INTO apps (name, builtin, created_at) VALUES ('Chat window', 1, CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- The ledger: one row per request, written once. `app_id` is not a foreign key: history outlives a deleted app,
-- and `app_name` keeps what it was called. Token counts are NULL when the upstream did not say.
CREATE TABLE requests (
    id                  INTEGER PRIMARY KEY,
    ts                  INTEGER NOT NULL,
    app_id              INTEGER,
    app_name            TEXT NOT NULL,
    alias               TEXT,
    provider_id         TEXT,
    model               TEXT,
    client_protocol     TEXT NOT NULL,
    stream              INTEGER NOT NULL DEFAULT 0 CHECK (stream IN (0, 1)),
    status              INTEGER NOT NULL,
    error               TEXT,
    attempts            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(attempts) AND json_type(attempts) = 'array'),
    input_tokens        INTEGER,
    cached_input_tokens INTEGER,
    cache_write_tokens  INTEGER,
    output_tokens       INTEGER,
    reasoning_tokens    INTEGER,
    cost_usd            REAL,
    cost_source         TEXT,
    price_version       TEXT,
    latency_ms          INTEGER,
    ttft_ms             INTEGER
) STRICT;
CREATE INDEX requests_by_ts ON requests (ts);
CREATE INDEX requests_by_app ON requests (app_id, ts);
CREATE INDEX requests_by_alias ON requests (alias, ts);
CREATE INDEX requests_by_model ON requests (model, ts);

-- The chat window's history, kept because the user keeps it.
CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL DEFAULT '',
    model         TEXT,
    system_prompt TEXT,
    params        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    pinned        INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX conversations_by_recency ON conversations (pinned DESC, updated_at DESC);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    role            TEXT NOT NULL CHECK (role <> ''),
    content         TEXT NOT NULL CHECK (json_valid(content)), -- a JSON string or an array of content blocks
    model           TEXT,
    input_tokens    INTEGER,
    output_tokens   INTEGER,
    cost_usd        REAL,
    latency_ms      INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX messages_by_conversation ON messages (conversation_id, position);

-- Full-text search over what messages say. Contentless (the text lives in `messages` only), rowid = messages.id,
-- kept in step by the triggers below. Indexed text: a string content as is, else every "text" field in the blocks.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_after_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text)
    SELECT new.id, group_concat(atom, char(10)) FROM json_tree(new.content)
    WHERE type = 'text' AND (key = 'text' OR fullkey = '$');
END;
CREATE TRIGGER messages_fts_after_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
END;
CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF id, content ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
    INSERT INTO messages_fts (rowid, text)
    SELECT new.id, group_concat(atom, char(10)) FROM json_tree(new.content)
    WHERE type = 'text' AND (key = 'text' OR fullkey = '$');
END;

-- The user's prices, USD per million tokens; NULL means "use the shipped table" for that part.
CREATE TABLE price_overrides (
    provider_id           TEXT NOT NULL,
    model                 TEXT NOT NULL,
    input_per_mtok        REAL CHECK (input_per_mtok >= 0),
    output_per_mtok       REAL CHECK (output_per_mtok >= 0),
    cached_input_per_mtok REAL CHECK (cached_input_per_mtok >= 0),
    cache_write_per_mtok  REAL CHECK (cache_write_per_mtok >= 0),
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (provider_id, model)
) STRICT, WITHOUT ROWID;
"#;

/// Sums every request into `usage_hourly` (which must be empty): version 2's backfill, frozen with it.
macro_rules! rollup_backfill {
    () => {
        r#"
INSERT INTO usage_hourly
SELECT ts - ((ts % 3600000) + 3600000) % 3600000 AS h, app_name, coalesce(alias, '') AS a, coalesce(provider_id, '') AS p,
       coalesce(model, '') AS m, count(*), count(CASE WHEN status >= 400 OR error IS NOT NULL THEN 1 END),
       coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0), coalesce(sum(cache_write_tokens), 0),
       coalesce(sum(output_tokens), 0), coalesce(sum(reasoning_tokens), 0), total(cost_usd),
       count(CASE WHEN cost_source = 'unknown' THEN 1 END), coalesce(sum(latency_ms), 0), count(latency_ms)
FROM requests GROUP BY h, app_name, a, p, m;
"#
    };
}

/// Sums `usage_hourly` by UTC day into `usage_daily` (which must be empty): version 3's backfill, frozen with it.
macro_rules! daily_backfill {
    () => {
        r#"
INSERT INTO usage_daily
SELECT hour - ((hour % 86400000) + 86400000) % 86400000 AS d, app_name, alias, provider_id, model, sum(requests),
       sum(errors), sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens),
       sum(reasoning_tokens), total(cost_usd), sum(unpriced), sum(latency_sum), sum(latency_count)
FROM usage_hourly GROUP BY d, app_name, alias, provider_id, model;
"#
    };
}

/// The statements of a delete trigger's body that take the deleted request `old` out of one rollup `$table`, whose
/// time column `$start` holds the start of a period of `$period` ms; a group left with no requests goes.
/// `$more` are further `column = column - ...,` assignments (none in version 3, the hour-long writes from version 7).
macro_rules! rollup_subtract {
    ($table:literal, $start:literal, $period:literal) => {
        rollup_subtract!($table, $start, $period, "")
    };
    ($table:literal, $start:literal, $period:literal, $more:literal) => {
        concat!(
            "UPDATE ", $table, " SET", $more, "
        requests = requests - 1, errors = errors - (old.status >= 400 OR old.error IS NOT NULL),
        input_tokens = input_tokens - coalesce(old.input_tokens, 0),
        cached_input_tokens = cached_input_tokens - coalesce(old.cached_input_tokens, 0),
        cache_write_tokens = cache_write_tokens - coalesce(old.cache_write_tokens, 0),
        output_tokens = output_tokens - coalesce(old.output_tokens, 0),
        reasoning_tokens = reasoning_tokens - coalesce(old.reasoning_tokens, 0),
        cost_usd = cost_usd - coalesce(old.cost_usd, 0.0), unpriced = unpriced - coalesce(old.cost_source = 'unknown', 0),
        latency_sum = latency_sum - coalesce(old.latency_ms, 0), latency_count = latency_count - (old.latency_ms IS NOT NULL)
    WHERE ", $start, " = old.ts - ((old.ts % ", $period, ") + ", $period, ") % ", $period, " AND app_name = old.app_name
      AND alias = coalesce(old.alias, '') AND provider_id = coalesce(old.provider_id, '') AND model = coalesce(old.model, '');
    DELETE FROM ", $table, "
    WHERE ", $start, " = old.ts - ((old.ts % ", $period, ") + ", $period, ") % ", $period, " AND app_name = old.app_name
      AND alias = coalesce(old.alias, '') AND provider_id = coalesce(old.provider_id, '') AND model = coalesce(old.model, '')
      AND requests <= 0;
"
        )
    };
}

/// Empties both rollups and sums them again from the requests, in the current schema's columns. The migrations'
/// backfills above are frozen with their versions; this follows the newest one.
pub(super) const ROLLUP_REBUILD: &str = r#"
DELETE FROM usage_hourly; DELETE FROM usage_daily;
INSERT INTO usage_hourly (hour, app_name, alias, provider_id, model, requests, errors, input_tokens, cached_input_tokens,
                          cache_write_tokens, output_tokens, reasoning_tokens, cost_usd, unpriced, latency_sum,
                          latency_count, cache_write_1h_tokens)
SELECT ts - ((ts % 3600000) + 3600000) % 3600000 AS h, app_name, coalesce(alias, '') AS a, coalesce(provider_id, '') AS p,
       coalesce(model, '') AS m, count(*), count(CASE WHEN status >= 400 OR error IS NOT NULL THEN 1 END),
       coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0), coalesce(sum(cache_write_tokens), 0),
       coalesce(sum(output_tokens), 0), coalesce(sum(reasoning_tokens), 0), total(cost_usd),
       count(CASE WHEN cost_source = 'unknown' THEN 1 END), coalesce(sum(latency_ms), 0), count(latency_ms),
       coalesce(sum(cache_write_1h_tokens), 0)
FROM requests GROUP BY h, app_name, a, p, m;
INSERT INTO usage_daily (day, app_name, alias, provider_id, model, requests, errors, input_tokens, cached_input_tokens,
                         cache_write_tokens, output_tokens, reasoning_tokens, cost_usd, unpriced, latency_sum,
                         latency_count, cache_write_1h_tokens)
SELECT hour - ((hour % 86400000) + 86400000) % 86400000 AS d, app_name, alias, provider_id, model, sum(requests),
       sum(errors), sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens),
       sum(reasoning_tokens), total(cost_usd), sum(unpriced), sum(latency_sum), sum(latency_count),
       sum(cache_write_1h_tokens)
FROM usage_hourly GROUP BY d, app_name, alias, provider_id, model;
"#;

/// Version 2: request and response bodies (kept only while request logging is on, only for its retention), the
/// hourly rollup behind the dashboard, and indexes for the filtered request list.
const V2: &str = concat!(
    r#"
-- One row per logged request, deleted with it. Bodies are text as the client sent them and as it received them
-- (the SSE events for a stream), cut at a bound; `truncated` says whether anything was cut.
CREATE TABLE request_bodies (
    request_id INTEGER NOT NULL PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    ts         INTEGER NOT NULL,
    request    TEXT,
    response   TEXT,
    truncated  INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1))
) STRICT;
CREATE INDEX request_bodies_by_ts ON request_bodies (ts);

-- The request list pages by id, newest first. Filtered by alias or model it reads backwards until a page is full,
-- which is quick because each holds a good share of the rows; an app may be rare, so it has an index on its name
-- ((name, id): a filtered page is a seek), and so do failed requests (a partial index). Every index costs each
-- insert: the totals come from `usage_hourly`, so the old (name, ts) indexes go.
DROP INDEX requests_by_app;
DROP INDEX requests_by_alias;
DROP INDEX requests_by_model;
CREATE INDEX requests_by_app ON requests (app_name);
CREATE INDEX requests_failed ON requests (app_name) WHERE status >= 400 OR error IS NOT NULL;

-- Totals per UTC hour and (app, alias, provider, model), so the dashboard sums a few thousand rows instead of a
-- million. '' stands for "none" in the key columns. The ledger's writer adds each batch's totals in the transaction
-- that inserts its rows (a trigger per row cost 40% of ingest); deleting requests subtracts them (the trigger below).
CREATE TABLE usage_hourly (
    hour                INTEGER NOT NULL, -- the hour's start, unix ms
    app_name            TEXT NOT NULL,
    alias               TEXT NOT NULL,
    provider_id         TEXT NOT NULL,
    model               TEXT NOT NULL,
    requests            INTEGER NOT NULL,
    errors              INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    cost_usd            REAL NOT NULL,
    unpriced            INTEGER NOT NULL,
    latency_sum         INTEGER NOT NULL,
    latency_count       INTEGER NOT NULL,
    PRIMARY KEY (hour, app_name, alias, provider_id, model)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER requests_rollup_delete AFTER DELETE ON requests BEGIN
    UPDATE usage_hourly SET
        requests = requests - 1, errors = errors - (old.status >= 400 OR old.error IS NOT NULL),
        input_tokens = input_tokens - coalesce(old.input_tokens, 0),
        cached_input_tokens = cached_input_tokens - coalesce(old.cached_input_tokens, 0),
        cache_write_tokens = cache_write_tokens - coalesce(old.cache_write_tokens, 0),
        output_tokens = output_tokens - coalesce(old.output_tokens, 0),
        reasoning_tokens = reasoning_tokens - coalesce(old.reasoning_tokens, 0),
        cost_usd = cost_usd - coalesce(old.cost_usd, 0.0), unpriced = unpriced - coalesce(old.cost_source = 'unknown', 0),
        latency_sum = latency_sum - coalesce(old.latency_ms, 0), latency_count = latency_count - (old.latency_ms IS NOT NULL)
    WHERE hour = old.ts - ((old.ts % 3600000) + 3600000) % 3600000 AND app_name = old.app_name
      AND alias = coalesce(old.alias, '') AND provider_id = coalesce(old.provider_id, '') AND model = coalesce(old.model, '');
    DELETE FROM usage_hourly
    WHERE hour = old.ts - ((old.ts % 3600000) + 3600000) % 3600000 AND app_name = old.app_name
      AND alias = coalesce(old.alias, '') AND provider_id = coalesce(old.provider_id, '') AND model = coalesce(old.model, '')
      AND requests <= 0;
END;
-- What version 1 already recorded:
"#,
    rollup_backfill!()
);

/// Version 3: the rollup by UTC day. A month's totals grouped by model summed ~29,000 hourly rows (50–60 ms over a
/// heavy ledger, mostly SQLite sorting them into groups); by day they are ~1,200. The dashboard reads whole days from
/// here, the hours at the range's ends from `usage_hourly` and the minutes at its very ends from the requests.
const V3: &str = concat!(
    r#"
CREATE TABLE usage_daily (
    day                 INTEGER NOT NULL, -- the UTC day's start, unix ms
    app_name            TEXT NOT NULL,
    alias               TEXT NOT NULL,
    provider_id         TEXT NOT NULL,
    model               TEXT NOT NULL,
    requests            INTEGER NOT NULL,
    errors              INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    cost_usd            REAL NOT NULL,
    unpriced            INTEGER NOT NULL,
    latency_sum         INTEGER NOT NULL,
    latency_count       INTEGER NOT NULL,
    PRIMARY KEY (day, app_name, alias, provider_id, model)
) STRICT, WITHOUT ROWID;
DROP TRIGGER requests_rollup_delete;
CREATE TRIGGER requests_rollup_delete AFTER DELETE ON requests BEGIN
    "#,
    rollup_subtract!("usage_hourly", "hour", "3600000"),
    rollup_subtract!("usage_daily", "day", "86400000"),
    "END;\n-- What version 2 already summed by hour:",
    daily_backfill!()
);

/// Version 4: the price catalog kept current. Each "Update prices" (or `switchboard-gateway prices update`) that
/// changed something is one `price_imports` row; `price_history` holds the prices it brought that differ from those in
/// effect before it, so the ledger prices a request with the prices of its own time; `model_capabilities` holds what
/// the newest import says each model can do, for routing. Self-contained: it touches no earlier table.
const V4: &str = r#"
CREATE TABLE price_imports (
    id             INTEGER PRIMARY KEY,
    effective_at   INTEGER NOT NULL, -- unix ms: its prices price requests made from then on
    source         TEXT NOT NULL CHECK (source <> ''), -- the URL or file it was read from
    models         INTEGER NOT NULL CHECK (models >= 0), -- priced models it listed
    models_added   INTEGER NOT NULL CHECK (models_added >= 0),
    prices_changed INTEGER NOT NULL CHECK (prices_changed >= 0)
) STRICT;

-- USD per million tokens, by provider preset id and normalized model id; `long_context` is a JSON tier
-- ({"above_tokens": 200000, "input": ..., ...}) or NULL.
CREATE TABLE price_history (
    import_id             INTEGER NOT NULL REFERENCES price_imports (id) ON DELETE CASCADE,
    provider_id           TEXT NOT NULL CHECK (provider_id <> ''),
    model                 TEXT NOT NULL CHECK (model <> ''),
    input_per_mtok        REAL NOT NULL CHECK (input_per_mtok >= 0),
    output_per_mtok       REAL NOT NULL CHECK (output_per_mtok >= 0),
    cached_input_per_mtok REAL CHECK (cached_input_per_mtok >= 0),
    cache_write_per_mtok  REAL CHECK (cache_write_per_mtok >= 0),
    long_context          TEXT CHECK (long_context IS NULL OR json_valid(long_context)),
    PRIMARY KEY (import_id, provider_id, model)
) STRICT, WITHOUT ROWID;

-- NULL is "not said"; booleans are 0/1.
CREATE TABLE model_capabilities (
    provider_id    TEXT NOT NULL CHECK (provider_id <> ''),
    model          TEXT NOT NULL CHECK (model <> ''),
    context_window INTEGER CHECK (context_window > 0),
    max_output     INTEGER CHECK (max_output > 0),
    tools          INTEGER CHECK (tools IN (0, 1)),
    vision         INTEGER CHECK (vision IN (0, 1)),
    reasoning      INTEGER CHECK (reasoning IN (0, 1)),
    PRIMARY KEY (provider_id, model)
) STRICT, WITHOUT ROWID;
"#;

/// Version 5: each app's rate limits and loop guard (`crate::limits::Limits` as JSON: `rpm`, `tpm`, `concurrent`,
/// `loop_guard`), `NULL` for none. The limits of all apps together are the `limits` setting.
const V5: &str = r#"
ALTER TABLE apps ADD COLUMN limits TEXT CHECK (limits IS NULL OR (json_valid(limits) AND json_type(limits) = 'object'));
"#;

/// Version 6: the part of `cache_write_tokens` written to the cache for an hour (Anthropic's 1-hour TTL), which is
/// priced apart from the five-minute writes. NULL when the upstream did not say (every row before this version).
const V6: &str = r#"
ALTER TABLE requests ADD COLUMN cache_write_1h_tokens INTEGER;
"#;

/// Version 7: both rollups sum the hour-long cache writes too, so the usage report can say them without reading every
/// request. The existing groups are filled from the rows that counted them (those written since version 6; older
/// rows have NULL and add nothing), and the delete trigger takes them out again.
const V7: &str = concat!(
    r#"
ALTER TABLE usage_hourly ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
UPDATE usage_hourly SET cache_write_1h_tokens = s.n
FROM (SELECT ts - ((ts % 3600000) + 3600000) % 3600000 AS h, app_name, coalesce(alias, '') AS a,
             coalesce(provider_id, '') AS p, coalesce(model, '') AS m, sum(cache_write_1h_tokens) AS n
      FROM requests WHERE cache_write_1h_tokens > 0 GROUP BY h, app_name, a, p, m) AS s
WHERE usage_hourly.hour = s.h AND usage_hourly.app_name = s.app_name AND usage_hourly.alias = s.a
  AND usage_hourly.provider_id = s.p AND usage_hourly.model = s.m;
UPDATE usage_daily SET cache_write_1h_tokens = s.n
FROM (SELECT hour - ((hour % 86400000) + 86400000) % 86400000 AS d, app_name, alias, provider_id, model,
             sum(cache_write_1h_tokens) AS n
      FROM usage_hourly WHERE cache_write_1h_tokens > 0 GROUP BY d, app_name, alias, provider_id, model) AS s
WHERE usage_daily.day = s.d AND usage_daily.app_name = s.app_name AND usage_daily.alias = s.alias
  AND usage_daily.provider_id = s.provider_id AND usage_daily.model = s.model;
DROP TRIGGER requests_rollup_delete;
CREATE TRIGGER requests_rollup_delete AFTER DELETE ON requests BEGIN
    "#,
    rollup_subtract!(
        "usage_hourly",
        "hour",
        "3600000",
        "
        cache_write_1h_tokens = cache_write_1h_tokens - coalesce(old.cache_write_1h_tokens, 0),"
    ),
    rollup_subtract!(
        "usage_daily",
        "day",
        "86400000",
        "
        cache_write_1h_tokens = cache_write_1h_tokens - coalesce(old.cache_write_1h_tokens, 0),"
    ),
    "END;\n"
);

/// Version 8: the user's own price for hour-long cache writes; NULL keeps the derived one (twice the input price).
const V8: &str = r#"
ALTER TABLE price_overrides ADD COLUMN cache_write_1h_per_mtok REAL CHECK (cache_write_1h_per_mtok >= 0);
"#;

/// Brings `conn` up to [`SCHEMA_VERSION`]. `path` is only for messages.
pub(super) fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    // IMMEDIATE takes the write lock before reading the version, so two processes opening a fresh file at once
    // cannot both run the same migration: the second waits (busy_timeout), then sees the new version.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let application_id: i64 = tx.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(StoreError::NotOurs { path: path.to_owned() });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew { found: version, supported: SCHEMA_VERSION, path: path.to_owned() });
    }
    if version == 0 {
        // A fresh file has no tables; an unversioned file with tables belongs to someone else.
        let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
        if tables > 0 {
            return Err(StoreError::NotOurs { path: path.to_owned() });
        }
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    for (from, sql) in (0_i64..).zip(MIGRATIONS).skip_while(|(from, _)| *from < version) {
        let to = from + 1;
        tx.execute_batch(sql).map_err(|source| StoreError::Migrate { path: path.to_owned(), version: to, source })?;
        tracing::info!(path, version = to, "database schema upgraded");
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests;
