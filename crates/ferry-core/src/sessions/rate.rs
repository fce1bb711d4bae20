//! A transfer's recent rate, from a few samples of its byte counter.
//!
//! The hot path of a transfer only adds to an atomic counter: reading a
//! clock there, per chunk, for a number that only an administrator looking
//! at the session list ever sees, would be waste. So the counter is
//! sampled when someone looks ([`RateSamples::rate`], at each listing),
//! and the rate is the bytes moved since the newest sample at least
//! [`WINDOW`] old, divided by the time since then. A transfer's start is
//! its first sample, so a young transfer's rate is its average so far.
//!
//! Samples are kept at least [`SPACING`] apart and dropped once a newer one
//! is old enough to serve, so a transfer keeps a handful however often it
//! is looked at. When nobody looked for a long time, the rate covers that
//! whole time (the average since the last look): the best the samples can
//! say without a timer per transfer.
//!
//! Time is passed in: the arithmetic is tested without sleeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back "the current rate" looks.
pub const WINDOW: Duration = Duration::from_secs(5);

/// The least time between two kept samples.
pub const SPACING: Duration = Duration::from_secs(1);

/// More are never needed (the window over the spacing, and the baseline);
/// a bound in case of a clock that stands still.
const MAX_SAMPLES: usize = 8;

/// The samples of one transfer's byte counter.
#[derive(Debug, Clone)]
pub struct RateSamples {
    /// `(when, bytes so far)`, oldest first.
    samples: VecDeque<(Instant, u64)>,
}

impl RateSamples {
    /// A transfer that starts at `start` with nothing moved yet.
    pub fn new(start: Instant) -> RateSamples {
        let mut samples = VecDeque::with_capacity(MAX_SAMPLES);
        samples.push_back((start, 0));
        RateSamples { samples }
    }

    /// The rate in bytes per second at `now`, when `bytes` have moved in
    /// all; the reading is kept as a sample for later calls.
    pub fn rate(&mut self, now: Instant, bytes: u64) -> u64 {
        let baseline =
            self.samples.iter().rev().find(|(t, _)| now.saturating_duration_since(*t) >= WINDOW).or_else(|| self.samples.front()).copied();
        let rate = match baseline {
            Some((t, then)) => {
                let elapsed = now.saturating_duration_since(t).as_secs_f64();
                if elapsed > 0.0 { (bytes.saturating_sub(then) as f64 / elapsed) as u64 } else { 0 }
            }
            None => 0,
        };
        self.record(now, bytes);
        rate
    }

    /// Keep `(now, bytes)` if the newest sample is [`SPACING`] old, and
    /// drop what can no longer be a baseline.
    fn record(&mut self, now: Instant, bytes: u64) {
        if self.samples.back().is_none_or(|(t, _)| now.saturating_duration_since(*t) >= SPACING) {
            self.samples.push_back((now, bytes));
        }
        // The oldest goes once the next one is old enough to serve instead.
        while self.samples.len() > 1 && self.samples.get(1).is_some_and(|(t, _)| now.saturating_duration_since(*t) >= WINDOW) {
            self.samples.pop_front();
        }
        while self.samples.len() > MAX_SAMPLES {
            self.samples.pop_front();
        }
    }

    /// How many samples are kept (for tests of the bound).
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Never true: the start is a sample until a newer one replaces it.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_young_transfer_shows_its_average_so_far() {
        let t0 = Instant::now();
        let mut r = RateSamples::new(t0);
        assert_eq!(r.rate(t0 + secs(2.0), 2_000_000), 1_000_000);
        assert_eq!(r.rate(t0, 0), 0, "no time passed: no rate, not a division by zero");
    }

    #[test]
    fn an_older_transfer_shows_the_last_few_seconds_not_its_average() {
        let t0 = Instant::now();
        let mut r = RateSamples::new(t0);
        // 10 MB/s for 10 s, looked at every second...
        for s in 1..=10 {
            r.rate(t0 + secs(s as f64), s * 10_000_000);
        }
        // ...then it slows to 1 MB/s: after 5 s of that, the rate says so,
        // while the average since the start would say 5 MB/s.
        let mut last = 0;
        for s in 1..=5 {
            last = r.rate(t0 + secs(10.0 + s as f64), 100_000_000 + s * 1_000_000);
        }
        assert_eq!(last, 1_000_000);
        // A stalled transfer drops to zero within the window.
        for s in 1..=5 {
            last = r.rate(t0 + secs(15.0 + s as f64), 105_000_000);
        }
        assert_eq!(last, 0);
    }

    #[test]
    fn samples_stay_few_however_often_someone_looks() {
        let t0 = Instant::now();
        let mut r = RateSamples::new(t0);
        let mut last = 0;
        // Every 10 ms for a minute, at a steady 1 MB/s.
        for i in 1..=6000u64 {
            last = r.rate(t0 + Duration::from_millis(10 * i), 10_000 * i);
            assert!(r.len() <= 7, "{} samples after {i} looks", r.len());
        }
        assert_eq!(last, 1_000_000);
    }

    #[test]
    fn looked_at_rarely_the_rate_is_the_average_since_the_last_look() {
        let t0 = Instant::now();
        let mut r = RateSamples::new(t0);
        assert_eq!(r.rate(t0 + secs(60.0), 60_000_000), 1_000_000);
        assert_eq!(r.rate(t0 + secs(120.0), 180_000_000), 2_000_000);
    }
}
