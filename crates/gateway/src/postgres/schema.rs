//! The shared database's schema, as numbered migrations. The ideas are the SQLite ledger's (`store/migrations.rs`):
//! one row per request with its token classes, cost and attempts; rollups per UTC hour and day keyed by (app, alias,
//! provider, model) with '' for none; bodies apart; apps by name. What differs: each row also carries the replica that
//! wrote it and that replica's sequence number, unique together, so a batch retried after a commit whose answer was
//! lost inserts nothing twice; times stay unix milliseconds (`BIGINT`), as in SQLite, so every query reads alike.
//!
//! Replicas that start together take an advisory lock first: one migrates, the others find it done. A database
//! migrated by a newer Switchboard is refused rather than written with the wrong columns.

use tokio_postgres::Client;

use super::PgError;

/// The lock every replica takes to migrate (an arbitrary number: "sbledgr" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_626c_6564_6772;

/// (version, SQL). Append only: a released migration is never edited.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE TABLE apps (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_digest BYTEA,
        allowed_aliases JSONB,
        budget JSONB,
        limits JSONB,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_used_at BIGINT
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value JSONB NOT NULL);
    CREATE TABLE requests (
        id BIGSERIAL PRIMARY KEY,
        replica BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        ts BIGINT NOT NULL,
        app_id BIGINT,
        app_name TEXT NOT NULL,
        alias TEXT,
        provider_id TEXT,
        model TEXT,
        client_protocol TEXT NOT NULL,
        stream BOOLEAN NOT NULL,
        status INTEGER NOT NULL,
        error TEXT,
        attempts JSONB NOT NULL,
        input_tokens BIGINT,
        cached_input_tokens BIGINT,
        cache_write_tokens BIGINT,
        cache_write_1h_tokens BIGINT,
        output_tokens BIGINT,
        reasoning_tokens BIGINT,
        cost_usd DOUBLE PRECISION,
        cost_source TEXT,
        price_version TEXT,
        latency_ms BIGINT NOT NULL,
        ttft_ms BIGINT,
        UNIQUE (replica, seq)
    );
    CREATE INDEX requests_ts ON requests (ts);
    CREATE INDEX requests_app_ts ON requests (app_id, ts);
    CREATE TABLE request_bodies (
        request_id BIGINT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
        ts BIGINT NOT NULL,
        request TEXT,
        response TEXT,
        truncated BOOLEAN NOT NULL
    );
    CREATE INDEX request_bodies_ts ON request_bodies (ts);
    CREATE TABLE usage_hourly (
        hour BIGINT NOT NULL, app_name TEXT NOT NULL, alias TEXT NOT NULL, provider_id TEXT NOT NULL,
        model TEXT NOT NULL, requests BIGINT NOT NULL, errors BIGINT NOT NULL, input_tokens BIGINT NOT NULL,
        cached_input_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL,
        cache_write_1h_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL, unpriced BIGINT NOT NULL, latency_sum BIGINT NOT NULL,
        latency_count BIGINT NOT NULL,
        PRIMARY KEY (hour, app_name, alias, provider_id, model)
    );
    CREATE TABLE usage_daily (LIKE usage_hourly INCLUDING ALL);
    ALTER TABLE usage_daily RENAME COLUMN hour TO day;",
)];

/// The newest schema this build knows.
pub(super) fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// Brings the schema up to date in one transaction, under the migration lock.
pub(super) async fn migrate(client: &mut Client) -> Result<(), PgError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS switchboard_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let current: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM switchboard_schema", &[]).await?.get(0);
    if current > latest() {
        return Err(PgError::Newer { target: String::new(), found: current, known: latest() });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO switchboard_schema (version, applied_at) VALUES ($1, $2)",
            &[version, &crate::store::now_ms()],
        )
        .await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    tx.commit().await?;
    Ok(())
}
