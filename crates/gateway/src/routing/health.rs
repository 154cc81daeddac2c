//! Target health: after repeated failures a target cools down for a while, and routing tries the others first.
//! The lock is held only to read or bump a counter, never across I/O.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Consecutive failures that put a target in cooldown.
pub const FAILURES_BEFORE_COOLDOWN: u32 = 3;
pub const COOLDOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Health {
    targets: Mutex<HashMap<String, State>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    failures: u32,
    cooling_until: Option<Instant>,
}

impl Health {
    pub fn succeeded(&self, target: &str) {
        self.lock().remove(target);
    }

    pub fn failed(&self, target: &str, now: Instant) {
        let mut targets = self.lock();
        let state = targets.entry(target.to_owned()).or_default();
        state.failures += 1;
        if state.failures >= FAILURES_BEFORE_COOLDOWN {
            state.cooling_until = Some(now + COOLDOWN);
            state.failures = 0;
            tracing::warn!(%target, "target failed {FAILURES_BEFORE_COOLDOWN} times in a row; cooling down for {COOLDOWN:?}");
        }
    }

    pub fn is_cooling(&self, target: &str, now: Instant) -> bool {
        self.lock().get(target).and_then(|s| s.cooling_until).is_some_and(|until| until > now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, State>> {
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_failures_cool_a_target_down_and_success_resets() {
        let health = Health::default();
        let now = Instant::now();
        health.failed("a/m", now);
        health.failed("a/m", now);
        assert!(!health.is_cooling("a/m", now));
        health.failed("a/m", now);
        assert!(health.is_cooling("a/m", now));
        assert!(!health.is_cooling("a/m", now + COOLDOWN + Duration::from_millis(1)));
        health.succeeded("a/m");
        assert!(!health.is_cooling("a/m", now));
        assert!(!health.is_cooling("b/m", now));
    }
}
