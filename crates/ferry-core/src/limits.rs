//! Bandwidth limits: a rate limiter that transfers consult after each
//! chunk. One limiter can be shared by many transfers (all of a user's
//! sessions, or the whole server), so they share its rate.
//!
//! It keeps one number, the time at which the bytes granted so far have
//! been "paid for" (the GCRA idea): each chunk moves that time forward by
//! `bytes / rate`, and the caller sleeps until it is no more than a small
//! burst ahead of now.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How far ahead of real time a limiter lets transfers run.
const BURST: Duration = Duration::from_millis(50);

/// A bytes-per-second limit.
#[derive(Debug)]
pub struct RateLimiter {
    /// Bytes per second; changed in place by a reload, so that transfers
    /// already running follow it.
    rate: AtomicU64,
    paid_until: Mutex<Instant>,
}

impl RateLimiter {
    /// A limiter for `rate` bytes per second (at least 1).
    pub fn new(rate: u64) -> RateLimiter {
        RateLimiter { rate: AtomicU64::new(rate.max(1)), paid_until: Mutex::new(Instant::now()) }
    }

    /// The limit, in bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate.load(Ordering::Relaxed)
    }

    /// A new limit, for every transfer sharing this limiter from now on
    /// (`u64::MAX`: no limit to speak of).
    pub fn set_rate(&self, rate: u64) {
        self.rate.store(rate.max(1), Ordering::Relaxed);
    }

    /// Account for `bytes` sent at `now`; returns how long to wait.
    pub fn charge(&self, bytes: u64, now: Instant) -> Duration {
        let mut paid = crate::sync::lock(&self.paid_until);
        // Idle time is not saved up beyond the burst.
        let start = (*paid).max(now.checked_sub(BURST).unwrap_or(now));
        *paid = start + Duration::from_secs_f64(bytes as f64 / self.rate() as f64);
        paid.saturating_duration_since(now + BURST)
    }

    /// Account for `bytes` and sleep as needed.
    pub async fn consume(&self, bytes: u64) {
        let wait = self.charge(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Consume from every limiter that applies.
pub async fn consume_all(limiters: &[std::sync::Arc<RateLimiter>], bytes: u64) {
    for l in limiters {
        l.consume(bytes).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_run_average_is_the_rate() {
        let l = RateLimiter::new(1000);
        let t0 = Instant::now();
        // 10 chunks of 500 bytes, all at once: the last must wait ~4.95 s.
        let mut wait = Duration::ZERO;
        for _ in 0..10 {
            wait = l.charge(500, t0);
        }
        assert!(wait >= Duration::from_millis(4900) && wait <= Duration::from_millis(5000), "{wait:?}");
    }

    #[test]
    fn idle_time_is_not_banked() {
        let l = RateLimiter::new(1000);
        let t0 = Instant::now();
        assert_eq!(l.charge(10, t0), Duration::ZERO);
        // After a long pause, a big chunk still waits for its own time.
        let later = t0 + Duration::from_secs(100);
        let w = l.charge(2000, later);
        assert!(w >= Duration::from_millis(1850), "{w:?}");
    }
}
