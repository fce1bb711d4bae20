//! Bandwidth limits for transfers: the sans-IO [`RateLimiter`] of
//! `ferry_proto::pace` (shared with the client), and the sleeping that
//! puts its answers into effect on tokio.
//!
//! One limiter can be shared by many transfers (all of a user's sessions,
//! or the whole server), so they share its rate; a transfer consults every
//! limiter that applies after each chunk.

use std::sync::Arc;
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
}
