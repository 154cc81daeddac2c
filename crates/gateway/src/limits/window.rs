//! The counters behind one set of limits (one app's, or all apps' together), the gate a request passes through,
//! and the permit it holds while it runs.

use std::collections::VecDeque;
use std::hash::RandomState;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::loops::{Loops, body_hash};
use super::{Limit, LimitHit, Limits, MINUTE, Now, Owner, Refusal};

/// What `Retry-After` says when the limit is on requests at once: when one ends is not known.
const CONCURRENT_RETRY: Duration = Duration::from_secs(1);

/// The windows and counters of one set of limits. Shared by every request it applies to, and kept across reloads.
pub(crate) struct Window {
    /// Where the tokens' seconds are counted from.
    base: Instant,
    /// Keys the loop guard's body hashes (random per window).
    hasher: RandomState,
    state: Mutex<State>,
}

struct State {
    limits: Limits,
    owner: Owner,
    /// Start times of the requests admitted in the last minute, oldest first; kept while `rpm` is set.
    started: VecDeque<Instant>,
    /// Tokens of the requests that ended in the last minute, summed per second (second since `base`, tokens).
    tokens: VecDeque<(u64, u64)>,
    tokens_sum: u64,
    /// Requests admitted and not finished: always counted, so a `concurrent` limit set by a reload is right at once.
    open: u32,
    loops: Loops,
    last_hit: Option<LimitHit>,
}

/// The first limit (by importance) a request is over in one window, and the longest wait among all it is over.
struct Over {
    limit: Limit,
    owner: Owner,
    wait: Duration,
}

impl Window {
    pub(crate) fn new(limits: Limits, owner: Owner, base: Instant) -> Window {
        let state = State {
            limits,
            owner,
            started: VecDeque::new(),
            tokens: VecDeque::new(),
            tokens_sum: 0,
            open: 0,
            loops: Loops::default(),
            last_hit: None,
        };
        Window { base, hasher: RandomState::new(), state: Mutex::new(state) }
    }

    /// New numbers (and a new name) from a reload; what was counted stays. A limit removed forgets its counts.
    pub(crate) fn set(&self, limits: Limits, owner: Owner) {
        let mut state = self.lock();
        if limits.rpm.is_none() {
            state.started.clear();
        }
        if limits.tpm.is_none() {
            state.tokens.clear();
            state.tokens_sum = 0;
        }
        if limits.loop_guard.is_none() {
            state.loops.clear();
        }
        state.limits = limits;
        state.owner = owner;
    }

    pub(crate) fn limits(&self) -> Limits {
        self.lock().limits
    }

    pub(crate) fn last_hit(&self) -> Option<LimitHit> {
        self.lock().last_hit
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Only counters change under the lock, each in one step: a panic elsewhere cannot leave them half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
    }

    fn count_tokens(&self, tokens: u64, at: Instant) {
        let second = self.second(at);
        let mut state = self.lock();
        if state.limits.tpm.is_none() || tokens == 0 {
            return;
        }
        state.prune_tokens(second);
        match state.tokens.back_mut() {
            Some((s, sum)) if *s >= second => *sum += tokens,
            _ => state.tokens.push_back((second, tokens)),
        }
        state.tokens_sum = state.tokens_sum.saturating_add(tokens);
    }

    fn second(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.base).as_secs()
    }

    fn instant_of(&self, second: u64) -> Instant {
        self.base + Duration::from_secs(second)
    }
}

impl State {
    /// Whether a request may start now; `hash` is its body's, when this window guards against loops.
    fn over(&mut self, window: &Window, now: Instant, hash: Option<u64>) -> Option<Over> {
        let limits = self.limits;
        // In order of what the client most needs to hear.
        let mut hits: Vec<(Limit, Duration)> = Vec::new();
        if let (Some(n), Some(hash)) = (limits.loop_guard, hash)
            && let Some(wait) = self.loops.wait(hash, n, now)
        {
            hits.push((Limit::LoopGuard(n), wait));
        }
        if let Some(rpm) = limits.rpm {
            prune(&mut self.started, now);
            let n = rpm as usize;
            if self.started.len() >= n {
                let oldest_to_leave = self.started[self.started.len() - n];
                hits.push((Limit::Rpm(rpm), (oldest_to_leave + MINUTE).saturating_duration_since(now)));
            }
        }
        if let Some(tpm) = limits.tpm {
            self.prune_tokens(window.second(now));
            if self.tokens_sum >= tpm {
                // Under the limit again once enough of the oldest seconds have left the window.
                let mut left = self.tokens_sum;
                let mut until = now + MINUTE;
                for (second, tokens) in &self.tokens {
                    left -= tokens;
                    if left < tpm {
                        until = window.instant_of(second + MINUTE.as_secs());
                        break;
                    }
                }
                hits.push((Limit::Tpm(tpm), until.saturating_duration_since(now)));
            }
        }
        if let Some(concurrent) = limits.concurrent
            && self.open >= concurrent
        {
            hits.push((Limit::Concurrent(concurrent), CONCURRENT_RETRY));
        }
        let (limit, _) = *hits.first()?;
        let wait = hits.iter().map(|(_, wait)| *wait).max().unwrap_or(CONCURRENT_RETRY);
        Some(Over { limit, owner: self.owner.clone(), wait })
    }

    /// Counts a request admitted now.
    fn admit(&mut self, now: Instant, hash: Option<u64>) {
        self.open = self.open.saturating_add(1);
        if let Some(rpm) = self.limits.rpm {
            // Kept in order even when two requests took their `now` in one order and the lock in the other.
            let at = self.started.back().map_or(now, |last| now.max(*last));
            self.started.push_back(at);
            while self.started.len() > rpm as usize {
                self.started.pop_front();
            }
        }
        if let (Some(n), Some(hash)) = (self.limits.loop_guard, hash) {
            self.loops.sent(hash, n, now);
        }
    }

    fn prune_tokens(&mut self, second: u64) {
        while let Some(&(s, tokens)) = self.tokens.front() {
            if s + MINUTE.as_secs() > second {
                break;
            }
            self.tokens.pop_front();
            self.tokens_sum = self.tokens_sum.saturating_sub(tokens);
        }
    }
}

/// Drops the times that have left the last minute.
pub(super) fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| *t + MINUTE <= now) {
        times.pop_front();
    }
}

/// What a request is checked against: its app's window and the one of all apps together, either or both absent.
/// Cheap to clone (two `Arc`s at most); the default lets everything through.
#[derive(Clone, Default)]
pub struct Gate {
    app: Option<Arc<Window>>,
    all_apps: Option<Arc<Window>>,
}

impl Gate {
    pub(crate) fn new(app: Option<Arc<Window>>, all_apps: Option<Arc<Window>>) -> Gate {
        Gate { app, all_apps }
    }

    /// No limits apply: the common case, which costs nothing more.
    pub fn is_open(&self) -> bool {
        self.app.is_none() && self.all_apps.is_none()
    }

    pub(crate) fn app_window(&self) -> Option<&Arc<Window>> {
        self.app.as_ref()
    }

    /// Admits a request with this `body` now, counting it, or says which limit refuses it. Both windows are
    /// locked together (the app's first, always), so a request refused by one is counted by neither.
    pub fn admit(&self, body: &Value, now: Now) -> Result<Permit, Refusal> {
        // The body is read before any lock is taken, and only when the loop guard is on.
        let hash = self.app.as_ref().filter(|w| w.limits().loop_guard.is_some()).map(|w| body_hash(&w.hasher, body));
        let mut app = self.app.as_deref().map(|w| (w, w.lock()));
        let mut all = self.all_apps.as_deref().map(|w| (w, w.lock()));
        let app_over = app.as_mut().and_then(|(w, state)| state.over(w, now.at, hash));
        let all_over = all.as_mut().and_then(|(w, state)| state.over(w, now.at, None));
        if app_over.is_none() && all_over.is_none() {
            if let Some((_, state)) = &mut app {
                state.admit(now.at, hash);
            }
            if let Some((_, state)) = &mut all {
                state.admit(now.at, None);
            }
            return Ok(Permit { app: self.app.clone(), all_apps: self.all_apps.clone() });
        }
        for ((_, state), over) in [(app.as_mut(), &app_over), (all.as_mut(), &all_over)]
            .into_iter()
            .filter_map(|(window, over)| Some((window?, over.as_ref()?)))
        {
            state.last_hit = Some(LimitHit { limit: over.limit, at_ms: now.unix_ms });
        }
        let wait = app_over.iter().chain(&all_over).map(|o| o.wait).max().unwrap_or(CONCURRENT_RETRY);
        let first = app_over.or(all_over).map_or((Limit::Concurrent(0), Owner::AllApps), |o| (o.limit, o.owner));
        Err(Refusal { limit: first.0, owner: first.1, retry_after: wait })
    }
}

impl PartialEq for Gate {
    /// The same windows, not equal counts.
    fn eq(&self, other: &Gate) -> bool {
        let same = |a: &Option<Arc<Window>>, b: &Option<Arc<Window>>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same(&self.app, &other.app) && same(&self.all_apps, &other.all_apps)
    }
}

impl Eq for Gate {}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("app", &self.app.as_ref().map(|w| w.limits()))
            .field("all_apps", &self.all_apps.as_ref().map(|w| w.limits()))
            .finish()
    }
}

/// A request admitted and running: it counts as open in its windows until dropped, and takes its tokens to them
/// when it ends.
#[must_use = "dropping the permit ends the request's turn at once"]
pub struct Permit {
    app: Option<Arc<Window>>,
    all_apps: Option<Arc<Window>>,
}

impl Permit {
    /// Adds a finished request's tokens to the windows that count them.
    pub fn count_tokens(&self, tokens: u64, at: Instant) {
        for window in self.app.iter().chain(&self.all_apps) {
            window.count_tokens(tokens, at);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        for window in self.app.iter().chain(&self.all_apps) {
            window.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A mocked clock: `t0` plus however many seconds the test says.
    struct Clock(Instant);

    impl Clock {
        fn at(&self, secs: f64) -> Now {
            Now { at: self.0 + Duration::from_secs_f64(secs), unix_ms: 1_000 + (secs * 1000.0) as i64 }
        }
    }

    fn gate(app: Limits, all: Limits) -> (Gate, Clock) {
        let t0 = Instant::now();
        let window = |limits: Limits, owner| (!limits.is_empty()).then(|| Arc::new(Window::new(limits, owner, t0)));
        (Gate::new(window(app, Owner::App("scripts".into())), window(all, Owner::AllApps)), Clock(t0))
    }

    fn body(n: u32) -> Value {
        json!({ "model": "general", "messages": [{ "role": "user", "content": format!("question {n}") }] })
    }

    #[test]
    fn no_limits_let_everything_through() {
        let (gate, clock) = gate(Limits::default(), Limits::default());
        assert!(gate.is_open());
        let permits: Vec<_> = (0..1000).map(|n| gate.admit(&body(n), clock.at(0.0)).unwrap()).collect();
        assert_eq!(permits.len(), 1000);
    }

    #[test]
    fn rpm_is_a_sliding_window_with_the_wait_for_its_oldest_request() {
        let (gate, clock) = gate(Limits { rpm: Some(3), ..Limits::default() }, Limits::default());
        for (n, secs) in [(0, 0.0), (1, 10.0), (2, 20.0)] {
            drop(gate.admit(&body(n), clock.at(secs)).unwrap());
        }
        let refusal = gate.admit(&body(3), clock.at(30.0)).err().unwrap();
        assert_eq!((refusal.limit, refusal.retry_after_secs()), (Limit::Rpm(3), 30), "the first leaves at 60 s");
        assert_eq!(refusal.owner, Owner::App("scripts".into()));
        // Refusals do not count: at 60 s exactly one slot is free, and then none until 70 s.
        drop(gate.admit(&body(4), clock.at(60.0)).unwrap());
        let refusal = gate.admit(&body(5), clock.at(61.0)).err().unwrap();
        assert_eq!(refusal.retry_after_secs(), 9);
        assert_eq!(gate.app.as_ref().unwrap().last_hit(), Some(LimitHit { limit: Limit::Rpm(3), at_ms: 62_000 }));
    }

    #[test]
    fn concurrent_permits_live_until_dropped() {
        let (gate, clock) = gate(Limits { concurrent: Some(2), ..Limits::default() }, Limits::default());
        let first = gate.admit(&body(0), clock.at(0.0)).unwrap();
        let second = gate.admit(&body(1), clock.at(0.0)).unwrap();
        let refusal = gate.admit(&body(2), clock.at(0.0)).err().unwrap();
        assert_eq!((refusal.limit, refusal.retry_after_secs()), (Limit::Concurrent(2), 1));
        drop(first);
        let third = gate.admit(&body(3), clock.at(0.0)).unwrap();
        assert!(gate.admit(&body(4), clock.at(0.0)).is_err());
        drop((second, third));
        assert!(gate.admit(&body(5), clock.at(0.0)).is_ok());
    }

    #[test]
    fn tpm_admits_the_request_that_crosses_it_then_refuses_until_the_tokens_age_out() {
        let (gate, clock) = gate(Limits { tpm: Some(50), ..Limits::default() }, Limits::default());
        for (n, secs) in [(0, 0.0), (1, 5.0), (2, 10.0)] {
            let permit = gate.admit(&body(n), clock.at(secs)).unwrap();
            permit.count_tokens(19, clock.at(secs + 0.5).at);
        }
        // 57 tokens counted: the third request crossed the limit and was admitted; the next one is refused until
        // the first request's 19 leave the window (second 0 + 60 s), which brings it to 38.
        let refusal = gate.admit(&body(3), clock.at(12.0)).err().unwrap();
        assert_eq!((refusal.limit, refusal.retry_after_secs()), (Limit::Tpm(50), 48));
        assert!(gate.admit(&body(4), clock.at(59.9)).is_err());
        assert!(gate.admit(&body(5), clock.at(60.0)).is_ok());
    }

    #[test]
    fn a_request_refused_by_one_window_is_counted_by_neither() {
        let (gate, clock) =
            gate(Limits { rpm: Some(10), ..Limits::default() }, Limits { rpm: Some(2), ..Limits::default() });
        drop(gate.admit(&body(0), clock.at(0.0)).unwrap());
        drop(gate.admit(&body(1), clock.at(1.0)).unwrap());
        let refusal = gate.admit(&body(2), clock.at(2.0)).err().unwrap();
        assert_eq!((refusal.limit, refusal.owner.clone()), (Limit::Rpm(2), Owner::AllApps));
        assert_eq!(gate.app.as_ref().unwrap().lock().started.len(), 2, "the app's window did not count it");
        assert!(gate.app.as_ref().unwrap().last_hit().is_none(), "the app's own limit was not hit");
        assert_eq!(gate.all_apps.as_ref().unwrap().last_hit().map(|h| h.limit), Some(Limit::Rpm(2)));
    }

    #[test]
    fn the_wait_is_the_longest_of_every_limit_the_request_is_over() {
        let limits = Limits { rpm: Some(1), concurrent: Some(1), ..Limits::default() };
        let (gate, clock) = gate(limits, Limits::default());
        let _running = gate.admit(&body(0), clock.at(0.0)).unwrap();
        let refusal = gate.admit(&body(1), clock.at(20.0)).err().unwrap();
        assert_eq!((refusal.limit, refusal.retry_after_secs()), (Limit::Rpm(1), 40));
    }

    #[test]
    fn a_reload_keeps_the_counts_under_new_numbers_and_forgets_removed_limits() {
        let (gate, clock) = gate(Limits { rpm: Some(2), tpm: Some(100), ..Limits::default() }, Limits::default());
        for n in 0..2 {
            gate.admit(&body(n), clock.at(0.0)).unwrap().count_tokens(60, clock.at(0.0).at);
        }
        assert!(gate.admit(&body(2), clock.at(1.0)).is_err());
        let window = gate.app.as_ref().unwrap();
        window.set(Limits { rpm: Some(3), tpm: Some(200), ..Limits::default() }, Owner::App("renamed".into()));
        drop(gate.admit(&body(3), clock.at(1.0)).unwrap());
        let refusal = gate.admit(&body(4), clock.at(1.0)).err().unwrap();
        assert_eq!((refusal.limit, refusal.owner), (Limit::Rpm(3), Owner::App("renamed".into())));
        window.set(Limits { tpm: Some(200), ..Limits::default() }, Owner::App("renamed".into()));
        assert!(window.lock().started.is_empty(), "rpm removed: nothing kept for it");
        assert_eq!(window.lock().tokens_sum, 120, "tpm kept: the tokens still count");
    }
}
