//! Bandwidth limits for transfers: the sans-IO [`RateLimiter`] of
//! `ferry_proto::pace` (shared with the client), and the sleeping that
//! puts its answers into effect on tokio.
//!
//! One limiter can be shared by many transfers (all of a user's sessions,
//! or the whole server), so they share its rate; a transfer consults every
//! limiter that applies after each chunk. [`Rates`] keeps a server's
//! limiters and hands each transfer the ones that apply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use ferry_proto::pace::RateLimiter;

/// Account for `bytes` on `limiter` and sleep as long as it says.
pub async fn consume(limiter: &RateLimiter, bytes: u64) {
    let wait = limiter.charge(bytes, Instant::now());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// Consume from every limiter that applies.
pub async fn consume_all(limiters: &[Arc<RateLimiter>], bytes: u64) {
    for l in limiters {
        consume(l, bytes).await;
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
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn consuming_sleeps_for_what_the_limiters_charge() {
        let l = Arc::new(RateLimiter::new(100_000));
        let t0 = Instant::now();
        // 10 kB at 100 kB/s is 100 ms, less the 50 ms burst; the same
        // limiter listed twice charges twice: 200 ms in all, less a burst.
        consume_all(&[l.clone(), l], 10_000).await;
        let slept = t0.elapsed();
        assert!(slept >= Duration::from_millis(140) && slept < Duration::from_millis(1000), "{slept:?}");
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
}
