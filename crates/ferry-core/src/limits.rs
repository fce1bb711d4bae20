//! Bandwidth limits: a rate limiter that transfers consult after each
//! chunk. One limiter can be shared by many transfers (all of a user's
//! sessions, or the whole server), so they share its rate; [`Rates`] keeps
//! a server's limiters and hands each transfer the ones that apply.
//!
//! It keeps one number, the time at which the bytes granted so far have
//! been "paid for" (the GCRA idea): each chunk moves that time forward by
//! `bytes / rate`, and the caller sleeps until it is no more than a small
//! burst ahead of now.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
pub async fn consume_all(limiters: &[Arc<RateLimiter>], bytes: u64) {
    for l in limiters {
        l.consume(bytes).await;
    }
}

/// Which way bytes go, seen from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server.
    Upload,
    /// Server to client.
    Download,
}

/// A server's limiters: one per user and direction (shared by all of that
/// user's sessions, whatever their protocol) and the server-wide ones.
#[derive(Debug, Default)]
pub struct Rates {
    users: Mutex<HashMap<(String, Direction), Arc<RateLimiter>>>,
    upload: Option<Arc<RateLimiter>>,
    download: Option<Arc<RateLimiter>>,
}

impl Rates {
    /// Server-wide limits of `upload` and `download` bytes per second
    /// (`None`: unlimited).
    pub fn new(upload: Option<u64>, download: Option<u64>) -> Rates {
        let limiter = |rate: Option<u64>| rate.map(|r| Arc::new(RateLimiter::new(r)));
        Rates { users: Mutex::default(), upload: limiter(upload), download: limiter(download) }
    }

    /// The limiters one transfer of `user` in `direction` consults: the
    /// user's, when `rate` (their cap in that direction) is set, and the
    /// server's. The user's limiter follows `rate`: settings changed by a
    /// reload reach the transfers already sharing it.
    pub fn for_transfer(&self, user: &str, rate: Option<u64>, direction: Direction) -> Vec<Arc<RateLimiter>> {
        let mut out = Vec::with_capacity(2);
        if let Some(rate) = rate {
            let mut users = crate::sync::lock(&self.users);
            let l = users.entry((user.to_owned(), direction)).or_insert_with(|| Arc::new(RateLimiter::new(rate)));
            l.set_rate(rate);
            out.push(l.clone());
        }
        let global = match direction {
            Direction::Upload => &self.upload,
            Direction::Download => &self.download,
        };
        out.extend(global.iter().cloned());
        out
    }

    /// New caps for `user` (a reload), for the transfers already running
    /// under a limiter too. One that started without a cap runs on
    /// unthrottled until it ends; a cap withdrawn means no limit.
    pub fn update_user(&self, user: &str, upload: Option<u64>, download: Option<u64>) {
        let users = crate::sync::lock(&self.users);
        for (direction, rate) in [(Direction::Upload, upload), (Direction::Download, download)] {
            if let Some(l) = users.get(&(user.to_owned(), direction)) {
                l.set_rate(rate.unwrap_or(u64::MAX));
            }
        }
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
    fn a_user_limiter_is_shared_and_follows_reloads_and_the_server_limit_applies_to_all() {
        let rates = Rates::new(None, Some(10_000));
        let a = rates.for_transfer("alice", Some(1000), Direction::Download);
        let b = rates.for_transfer("alice", Some(1000), Direction::Download);
        assert_eq!(a.len(), 2, "alice's and the server's");
        assert!(Arc::ptr_eq(&a[0], &b[0]), "alice's sessions share one limiter");
        assert!(Arc::ptr_eq(&a[1], &b[1]));
        let bob = rates.for_transfer("bob", None, Direction::Download);
        assert_eq!(bob.len(), 1, "no cap of his own, only the server's");
        assert!(Arc::ptr_eq(&bob[0], &a[1]));
        assert!(rates.for_transfer("alice", Some(1000), Direction::Upload).len() == 1, "no server-wide upload limit");
        rates.update_user("alice", None, Some(5000));
        assert_eq!(a[0].rate(), 5000, "a running transfer follows the reload");
        rates.update_user("alice", None, None);
        assert_eq!(a[0].rate(), u64::MAX, "a withdrawn cap is no limit");
        assert!(!Arc::ptr_eq(&rates.for_transfer("alice", Some(1000), Direction::Upload)[0], &a[0]), "one limiter per direction");
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
