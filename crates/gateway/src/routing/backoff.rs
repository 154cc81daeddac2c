//! How long to wait before trying the same target again: full-jitter exponential backoff, or the upstream's own
//! `Retry-After` when it gives one, capped either way.

use std::time::Duration;

const BASE: Duration = Duration::from_millis(200);
/// The longest backoff drawn.
const CAP: Duration = Duration::from_secs(4);
/// The longest `Retry-After` honoured; a longer one sends the request to the next target instead.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);

/// A random wait in `[0, min(CAP, BASE · 2^retry)]`. `unit` is a uniform draw in `[0, 1)`.
pub fn full_jitter(retry: u32, unit: f64) -> Duration {
    let ceiling = BASE.saturating_mul(2u32.saturating_pow(retry)).min(CAP);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

/// `Retry-After` as seconds (the HTTP-date form is rare from LLM APIs and is treated as absent).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// A uniform draw in `[0, 1)`, from the standard library's randomly seeded hasher.
pub fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_under_the_growing_ceiling() {
        assert_eq!(full_jitter(0, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(0, 0.5), Duration::from_millis(100));
        assert_eq!(full_jitter(3, 0.999_999).as_millis(), 1599);
        assert_eq!(full_jitter(30, 0.5), Duration::from_secs(2), "capped at 4 s");
        for _ in 0..100 {
            let unit = unit_random();
            assert!((0.0..1.0).contains(&unit));
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-3"), None);
    }
}
