//! Bandwidth limits, sans-IO: a rate limiter that a transfer consults after
//! each chunk and that answers how long to wait. The caller owns the clock
//! and the sleeping (`ferry-core` for the server, the client's pump), so
//! this is tested with made-up instants and never sleeps.
//!
//! One limiter can be shared by many transfers (all of a user's sessions,
//! or the whole server), so they share its rate. It keeps one number, the
//! time at which the bytes granted so far have been "paid for" (the GCRA
//! idea): each chunk moves that time forward by `bytes / rate`, and the
//! caller waits until it is no more than a small burst ahead of now.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How far ahead of real time a limiter lets transfers run.
pub const BURST: Duration = Duration::from_millis(50);

/// A bytes-per-second limit.
#[derive(Debug)]
pub struct RateLimiter {
    /// Bytes per second; changed in place by a reload, so that transfers
    /// already running follow it.
    rate: AtomicU64,
    /// When the bytes charged so far are paid for; `None` until the first
    /// charge, whose own `now` starts the account (no clock is read here).
    paid_until: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter for `rate` bytes per second (at least 1).
    pub fn new(rate: u64) -> RateLimiter {
        RateLimiter { rate: AtomicU64::new(rate.max(1)), paid_until: Mutex::new(None) }
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

    /// Account for `bytes` sent at `now`; returns how long to wait before
    /// sending more.
    pub fn charge(&self, bytes: u64, now: Instant) -> Duration {
        // A panic elsewhere while holding the lock leaves a valid instant;
        // a poisoned lock is used as it is.
        let mut paid = self.paid_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Idle time is not saved up beyond the burst.
        let start = match *paid {
            Some(p) => p.max(now.checked_sub(BURST).unwrap_or(now)),
            None => now,
        };
        let until = start + Duration::from_secs_f64(bytes as f64 / self.rate() as f64);
        *paid = Some(until);
        until.saturating_duration_since(now + BURST)
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

    #[test]
    fn a_transfer_that_keeps_to_the_rate_never_waits() {
        let l = RateLimiter::new(1_000_000);
        let t0 = Instant::now();
        for i in 0..100u32 {
            assert_eq!(l.charge(10_000, t0 + Duration::from_millis(10) * i), Duration::ZERO, "chunk {i}");
        }
    }

    #[test]
    fn a_new_rate_applies_to_the_next_chunk() {
        let l = RateLimiter::new(1000);
        let t0 = Instant::now();
        l.set_rate(1_000_000);
        assert_eq!(l.rate(), 1_000_000);
        assert_eq!(l.charge(10_000, t0), Duration::ZERO);
        l.set_rate(0);
        assert_eq!(l.rate(), 1, "a rate of 0 would divide by zero");
    }
}
