//! The loop guard's memory: for each body an app sent recently (by hash), when it was admitted in the last minute.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::window::prune;
use super::{LOOP_HASHES, MINUTE};

/// Top-level fields left out of the hash: they say who is asking or how the answer travels, not what is asked, and
/// some clients put a fresh id in them on every request, which would hide a loop.
const IGNORED_FIELDS: [&str; 3] = ["metadata", "user", "stream_options"];

/// At most [`LOOP_HASHES`] bodies, each with the times it was admitted (at most the guard's number of them).
#[derive(Default)]
pub(super) struct Loops {
    sent: HashMap<u64, VecDeque<Instant>>,
}

impl Loops {
    /// How long until a body with `hash` may be sent again, when it was already admitted `n` times this minute.
    pub(super) fn wait(&mut self, hash: u64, n: u32, now: Instant) -> Option<Duration> {
        let times = self.sent.get_mut(&hash)?;
        prune(times, now);
        let n = n as usize;
        (times.len() >= n).then(|| (times[times.len() - n] + MINUTE).saturating_duration_since(now))
    }

    /// Notes that a body with `hash` was admitted now.
    pub(super) fn sent(&mut self, hash: u64, n: u32, now: Instant) {
        if !self.sent.contains_key(&hash) && self.sent.len() >= LOOP_HASHES {
            self.forget_one(now);
        }
        let times = self.sent.entry(hash).or_default();
        times.push_back(now);
        while times.len() > n as usize {
            times.pop_front();
        }
    }

    pub(super) fn clear(&mut self) {
        self.sent.clear();
    }

    /// Makes room: every body not sent in the last minute goes, or else the one sent least recently.
    fn forget_one(&mut self, now: Instant) {
        self.sent.retain(|_, times| times.back().is_some_and(|t| *t + MINUTE > now));
        if self.sent.len() >= LOOP_HASHES {
            let stalest = self.sent.iter().min_by_key(|(_, times)| times.back().copied()).map(|(hash, _)| *hash);
            if let Some(hash) = stalest {
                self.sent.remove(&hash);
            }
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.sent.len()
    }
}

/// The body's hash under this window's random key: every field but [`IGNORED_FIELDS`], objects in key order (so a
/// client that sends the same fields in another order sends the same request).
pub(super) fn body_hash(hasher: &RandomState, body: &Value) -> u64 {
    let mut state = hasher.build_hasher();
    match body {
        Value::Object(fields) => {
            let mut kept: Vec<(&String, &Value)> =
                fields.iter().filter(|(key, _)| !IGNORED_FIELDS.contains(&key.as_str())).collect();
            kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
            kept.hash(&mut state);
        }
        other => other.hash(&mut state),
    }
    state.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::super::window::{Gate, Window};
    use super::super::{Limit, Limits, Now, Owner};
    use super::*;

    #[test]
    fn the_hash_ignores_who_is_asking_and_the_order_of_fields() {
        let hasher = RandomState::new();
        let hash = |body: Value| body_hash(&hasher, &body);
        let asked = json!({ "model": "m", "messages": [{ "role": "user", "content": "hi" }] });
        let same = hash(asked.clone());
        assert_eq!(hash(json!({ "messages": [{ "content": "hi", "role": "user" }], "model": "m" })), same);
        assert_eq!(
            hash(json!({ "model": "m", "messages": [{ "role": "user", "content": "hi" }],
                "metadata": { "user_id": "session-1234" }, "user": "x", "stream_options": { "include_usage": true } })),
            same
        );
        assert_ne!(hash(json!({ "model": "m", "messages": [{ "role": "user", "content": "hi!" }] })), same);
        assert_ne!(hash(json!({ "model": "other", "messages": [{ "role": "user", "content": "hi" }] })), same);
        assert_ne!(
            hash(json!({ "model": "m", "messages": [], "stream": true })),
            hash(json!({ "model": "m", "messages": [] }))
        );
    }

    #[test]
    fn the_same_body_n_times_a_minute_refuses_the_next_until_the_first_ages_out() {
        let t0 = Instant::now();
        let at = |secs: u64| Now { at: t0 + Duration::from_secs(secs), unix_ms: 0 };
        let limits = Limits { loop_guard: Some(3), ..Limits::default() };
        let gate = Gate::new(Some(Arc::new(Window::new(limits, Owner::App("agent".into()), t0))), None);
        let same = json!({ "model": "m", "messages": [{ "role": "user", "content": "run the tests" }] });
        for secs in [0, 10, 20] {
            drop(gate.admit(&same, at(secs)).unwrap());
        }
        let refusal = gate.admit(&same, at(30)).err().unwrap();
        assert_eq!((refusal.limit, refusal.retry_after_secs()), (Limit::LoopGuard(3), 30));
        // Other bodies pass meanwhile, and the looping one passes again once its first send is a minute old.
        drop(gate.admit(&json!({ "model": "m", "messages": [] }), at(30)).unwrap());
        drop(gate.admit(&same, at(60)).unwrap());
        assert!(gate.admit(&same, at(61)).is_err());
    }

    #[test]
    fn memory_is_bounded_forgetting_the_least_recently_sent() {
        let t0 = Instant::now();
        let mut loops = Loops::default();
        for hash in 0..LOOP_HASHES as u64 {
            loops.sent(hash, 5, t0 + Duration::from_millis(hash));
        }
        loops.sent(0, 5, t0 + Duration::from_secs(1));
        loops.sent(9999, 5, t0 + Duration::from_secs(2));
        assert_eq!(loops.len(), LOOP_HASHES);
        assert!(loops.sent.contains_key(&0), "sent again lately: kept");
        assert!(!loops.sent.contains_key(&1), "the least recently sent went");
        // After a minute of quiet, everything old goes at once.
        loops.sent(10_000, 5, t0 + Duration::from_secs(120));
        assert_eq!(loops.len(), 1, "nothing else was sent in the last minute");
    }
}
