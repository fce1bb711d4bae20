//! How long to wait before trying a failed delivery again: exponential
//! (1 s, 2 s, 4 s, ... up to 5 min by default) so that a receiver that is
//! down is not hammered, with jitter so that the events spooled during an
//! outage do not all come back at the same instant when it ends.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The waits of one delivery.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { next: first.min(max), max }
    }

    /// The next wait: between half and all of the current step, which then
    /// doubles.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = step / 2;
        half + half.mul_f64(random_fraction())
    }
}

/// A number in [0, 1), from the standard library's random hash keys: good
/// enough to spread retries, and no random-number crate to build.
fn random_fraction() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        let waits: Vec<_> = (0..12).map(|_| b.next_delay()).collect();
        for (i, w) in waits.iter().enumerate() {
            let step = Duration::from_secs(1u64 << i).min(Duration::from_secs(300));
            assert!(*w >= step / 2 && *w <= step, "try {i}: {w:?} not within half of {step:?}");
        }
        assert!(waits[11] >= Duration::from_secs(150));
    }
}
