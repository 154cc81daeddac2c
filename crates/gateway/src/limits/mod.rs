//! Rate limits: how much one app, and all apps together, may ask of the providers per minute and at once, and a
//! loop guard that refuses the same request sent too many times in a minute.
//!
//! ```toml
//! [limits]                          # all apps together
//! rpm = 600
//! [[apps]]
//! name = "agent"
//! limits = { rpm = 60, tpm = 200000, concurrent = 4, loop_guard = 5 }
//! ```
//!
//! # Where the check sits
//!
//! Every relayed request (chat in every client protocol, completions, embeddings) is checked once, in the relay,
//! after the token has named the app, the model has resolved to a plan and the budget has had its say, and before
//! the first upstream attempt: a request that was going to be refused anyway (a bad body, an unknown model, a spent
//! budget) uses up nothing. `count_tokens` is not limited: it costs nothing, writes no ledger row, and Claude Code
//! sends one beside most turns, so counting it would halve an RPM limit for no money saved. The chat window (the
//! built-in app) goes through the same relay and is held to the same rules: it has no limits of its own unless they
//! are set on it in Apps, and it counts toward (and can be refused by) the limits of all apps together, which exist
//! to keep everything Switchboard sends under a provider account's own limits.
//!
//! A refused request gets a 429 in its client's error shape with `Retry-After` in whole seconds (at least 1), and
//! the ledger records it like a spent budget (status 429, the error naming the limit).
//!
//! # How each limit counts
//!
//! - `rpm`: a sliding window of the start times of the requests admitted in the last 60 s (at most `rpm` of them):
//!   exact, so `rpm = 60` never admits a 61st request within any minute, and `Retry-After` is when the oldest of them
//!   leaves the window. Refused requests do not count.
//! - `tpm`: tokens (input, cached included, plus output, reasoning included) are known only once an answer ends, so
//!   each finished request's tokens go into a window of per-second sums, and new requests are refused while the last
//!   minute's sum is at or over the limit. The request that crosses the limit is therefore admitted: at admission its
//!   size is unknown, and refusing on an estimate would refuse requests on a guess (the characters/4 estimate is off
//!   by half either way) and would refuse forever a single request larger than the limit. Requests running at the
//!   same time can overshoot it together, by what they use.
//! - `concurrent`: requests admitted and not yet finished. A permit lives as long as the response: a whole answer
//!   until it is built, a stream until it ends or its client leaves. Over the limit the request is refused at once
//!   (no queue), with `Retry-After: 1`.
//! - `loop_guard = N`: the body, less the fields that say who is asking rather than what (`metadata`, `user`,
//!   `stream_options`), is hashed; the same hash admitted N times in the last minute refuses the next, with a message
//!   that says it looks like a loop. Each app remembers at most [`LOOP_HASHES`] bodies, the least recently sent
//!   forgotten first. Off unless set, per app only.
//!
//! # Cost
//!
//! An app with no limits, with no limits for all apps either, costs two `None` checks per request. Otherwise each
//! window is a `std` mutex held for a few arithmetic steps, never across I/O, and never touching SQLite; only the
//! loop guard reads the body (a hash over it, before the lock).
//!
//! `governor` (a GCRA limiter) was the suggested crate. It would serve one of the four: its keyed GCRA lets a burst of
//! `rpm` through and then refills, so `rpm = 60` admits up to 119 requests in the first minute; it cannot take the
//! "debt" TPM needs (tokens counted after the fact), and concurrency and the loop guard are not rate limits at all.
//! The windows here are a screenful each, exact, and tested with a mocked clock.
//!
//! # Reloads
//!
//! The windows live in the app registry, each app's found again by its id (desktop) or name (headless) when the
//! configuration is reloaded: an app whose limits did not change keeps its window as it is, and one whose limits
//! changed keeps its counts under the new numbers (raising a limit lets the next request through at once; lowering
//! it gives no fresh burst). Limits removed drop the window; set again later, they count from then on.

mod loops;
mod window;

use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
pub(crate) use window::Window;
pub use window::{Gate, Permit};

/// The most requests per minute a limit may name (the window keeps one time per request).
pub const MAX_RPM: u32 = 100_000;
/// The most requests at once a limit may name.
pub const MAX_CONCURRENT: u32 = 10_000;
/// The most identical bodies a minute the loop guard may allow (it keeps one time per body sent).
pub const MAX_LOOP_GUARD: u32 = 100;
/// How many different bodies each app's loop guard remembers.
pub const LOOP_HASHES: usize = 256;
/// The span every per-minute limit counts over.
pub const MINUTE: Duration = Duration::from_secs(60);

/// Limits of one app, or of all apps together (`[limits]`, where `loop_guard` does not apply). A limit left out is
/// no limit; the JSON stored with an app has the same fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Requests admitted per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Tokens (input and output) per minute, counted as answers end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Requests running at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u32>,
    /// How many times a minute the same request may be sent (per app only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_guard: Option<u32>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// The first number that makes no sense, as `rpm = 0 would …` (the caller says whose). `loop_guard` is refused
    /// outside an app.
    pub fn check(&self, per_app: bool) -> Result<(), String> {
        let whole = |field: &str, value: Option<u64>, max: u64| match value {
            Some(0) => {
                Err(format!("{field} = 0 would refuse every request; use 1 or more, or leave it out for no limit"))
            }
            Some(n) if n > max => Err(format!("{field} = {n} is more than Switchboard counts; use at most {max}")),
            _ => Ok(()),
        };
        whole("rpm", self.rpm.map(u64::from), u64::from(MAX_RPM))?;
        whole("tpm", self.tpm, u64::MAX)?;
        whole("concurrent", self.concurrent.map(u64::from), u64::from(MAX_CONCURRENT))?;
        match self.loop_guard {
            Some(_) if !per_app => {
                Err("loop_guard applies to one app at a time; set it in an app's limits instead".to_owned())
            }
            Some(n @ 0..=1) => Err(format!(
                "loop_guard = {n} would refuse a client's retry of a failed request; use 2 or more, or leave it out"
            )),
            Some(n) if n > MAX_LOOP_GUARD => {
                Err(format!("loop_guard = {n} is more than Switchboard counts; use at most {MAX_LOOP_GUARD}"))
            }
            _ => Ok(()),
        }
    }
}

/// One limit, with its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Rpm(u32),
    Tpm(u64),
    Concurrent(u32),
    LoopGuard(u32),
}

impl Limit {
    /// `60 requests per minute`, `200000 tokens per minute`, `4 requests at once`, `the same request 5 times in a
    /// minute`.
    pub fn describe(&self) -> String {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        match *self {
            Limit::Rpm(n) => format!("{n} request{} per minute", plural(n.into())),
            Limit::Tpm(n) => format!("{n} token{} per minute", plural(n)),
            Limit::Concurrent(n) => format!("{n} request{} at once", plural(n.into())),
            Limit::LoopGuard(n) => format!("the same request {n} times in a minute"),
        }
    }
}

/// Whose limit it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    App(String),
    AllApps,
}

/// The last time a window refused a request: what the Apps page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitHit {
    pub limit: Limit,
    /// Unix ms.
    pub at_ms: i64,
}

/// A refused request: the limit that says why, and when the request could pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub limit: Limit,
    pub owner: Owner,
    /// The longest wait among every limit the request is over.
    pub retry_after: Duration,
}

impl Refusal {
    /// Whole seconds, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }

    /// What the client (and the ledger row) is told: the limit first, then what to do.
    pub fn message(&self) -> String {
        let retry = self.retry_after_secs();
        let whose = match &self.owner {
            Owner::App(name) => format!("app {name:?}"),
            Owner::AllApps => "all apps together".to_owned(),
        };
        const WHERE: &str = "in Apps (headless: `limits` in the config file)";
        match self.limit {
            Limit::LoopGuard(n) => format!(
                "loop_detected: the same request was sent {n} times in a minute by {whose}; this looks like a loop — \
                 change the request, or raise loop_guard {WHERE}"
            ),
            Limit::Concurrent(_) => format!(
                "rate_limited: {} for {whose}; retry when one of them has finished, or raise the limit {WHERE}",
                self.limit.describe()
            ),
            Limit::Rpm(_) | Limit::Tpm(_) => format!(
                "rate_limited: {} for {whose}; retry in {retry} s, or raise the limit {WHERE}",
                self.limit.describe()
            ),
        }
    }
}

impl From<Refusal> for ApiError {
    /// A 429 with `Retry-After`; its client's error shape is made where every error's is (`Client::error_response`).
    fn from(refusal: Refusal) -> ApiError {
        let code = match refusal.limit {
            Limit::LoopGuard(_) => "loop_detected",
            Limit::Rpm(_) | Limit::Tpm(_) | Limit::Concurrent(_) => "rate_limited",
        };
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", refusal.message()).code(code);
        error.retry_after = Some(Box::new(HeaderValue::from(refusal.retry_after_secs())));
        error
    }
}

/// When a check happens: the monotonic time the windows count in, and the wall clock the last hit is shown in.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub at: Instant,
    pub unix_ms: i64,
}

impl Now {
    pub fn current() -> Now {
        Now { at: Instant::now(), unix_ms: crate::store::now_ms() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(limits: Limits, per_app: bool, expect: Option<&str>) {
        match (limits.check(per_app), expect) {
            (Ok(()), None) => {}
            (Err(error), Some(expect)) => assert!(error.contains(expect), "{error:?} should contain {expect:?}"),
            (result, _) => panic!("{limits:?}: {result:?}, expected {expect:?}"),
        }
    }

    #[test]
    fn limits_name_the_number_that_makes_no_sense() {
        let limits = Limits { rpm: Some(60), tpm: Some(200_000), concurrent: Some(4), loop_guard: Some(5) };
        check(limits, true, None);
        check(Limits::default(), false, None);
        check(Limits { rpm: Some(0), ..Limits::default() }, true, Some("rpm = 0 would refuse every request"));
        check(Limits { tpm: Some(0), ..Limits::default() }, false, Some("tpm = 0"));
        check(Limits { concurrent: Some(0), ..Limits::default() }, true, Some("concurrent = 0"));
        check(Limits { rpm: Some(MAX_RPM + 1), ..Limits::default() }, true, Some("use at most 100000"));
        check(Limits { loop_guard: Some(1), ..Limits::default() }, true, Some("use 2 or more"));
        check(Limits { loop_guard: Some(101), ..Limits::default() }, true, Some("use at most 100"));
        check(Limits { loop_guard: Some(5), ..Limits::default() }, false, Some("set it in an app's limits"));
    }

    #[test]
    fn refusals_say_which_limit_whose_and_what_to_do() {
        let refusal = |limit, owner, secs: f64| Refusal { limit, owner, retry_after: Duration::from_secs_f64(secs) };
        let app = || Owner::App("scripts".into());
        let rpm = refusal(Limit::Rpm(60), app(), 11.2);
        assert_eq!(rpm.retry_after_secs(), 12);
        assert_eq!(
            rpm.message(),
            "rate_limited: 60 requests per minute for app \"scripts\"; retry in 12 s, or raise the limit in Apps \
             (headless: `limits` in the config file)"
        );
        assert_eq!(Limit::Rpm(1).describe(), "1 request per minute");
        assert_eq!(Limit::Concurrent(1).describe(), "1 request at once");
        let tpm = refusal(Limit::Tpm(200_000), Owner::AllApps, 0.0);
        assert_eq!(tpm.retry_after_secs(), 1, "never 0");
        assert!(
            tpm.message().starts_with("rate_limited: 200000 tokens per minute for all apps together; retry in 1 s")
        );
        let at_once = refusal(Limit::Concurrent(4), app(), 1.0);
        assert!(at_once.message().contains("4 requests at once for app \"scripts\"; retry when one of them"));
        let looped = refusal(Limit::LoopGuard(5), app(), 30.0);
        assert!(looped.message().starts_with(
            "loop_detected: the same request was sent 5 times in a minute by app \"scripts\"; this looks like a loop \
             — change the request, or raise loop_guard in Apps"
        ));

        let error = ApiError::from(looped);
        assert_eq!((error.status.as_u16(), error.kind, error.code), (429, "rate_limit_error", Some("loop_detected")));
        assert_eq!(error.retry_after.as_deref(), Some(&HeaderValue::from(30_u64)));
        assert_eq!(ApiError::from(rpm).code, Some("rate_limited"));
    }

    #[test]
    fn limits_read_and_write_as_the_config_file_spells_them() {
        let limits: Limits = toml::from_str("rpm = 60\ntpm = 200000\nconcurrent = 4\nloop_guard = 5\n").unwrap();
        assert_eq!(limits, Limits { rpm: Some(60), tpm: Some(200_000), concurrent: Some(4), loop_guard: Some(5) });
        assert!(toml::from_str::<Limits>("rpn = 60\n").unwrap_err().to_string().contains("unknown field `rpn`"));
        let json = serde_json::to_string(&Limits { rpm: Some(5), ..Limits::default() }).unwrap();
        assert_eq!(json, r#"{"rpm":5}"#, "limits left out are not written");
    }
}
