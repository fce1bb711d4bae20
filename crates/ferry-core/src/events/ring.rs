//! The last N events, numbered, for whoever asks later: the admin API's
//! event list (`since` a number) and its live stream.
//!
//! An [`EventRing`] is a [`Subscriber`] like the log. Each event it hears
//! gets the next sequence number (from 1) and goes into a ring of fixed
//! size, the oldest falling out, so memory stays bounded however long the
//! server runs. A reader asks for what came after the last number it saw
//! ([`EventRing::since`]); a number older than the ring returns what the
//! ring still holds, and the gap shows in the numbers.
//!
//! Live readers [`subscribe`](EventRing::subscribe) to a broadcast
//! channel of bounded size: a reader that falls behind gets `Lagged` (and
//! may catch up with `since`), it never holds up the bus. Hearing an
//! event costs one clone of it, a short lock and a send that never waits.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::{Event, Subscriber};

/// How many events a live reader may be behind before it lags (at most
/// the ring's size).
pub const LIVE_BUFFER: usize = 1024;

/// A numbered event, shared by the ring and its live readers.
pub type Numbered = (u64, Arc<Event>);

/// The last events heard, numbered.
pub struct EventRing {
    capacity: usize,
    inner: Mutex<Inner>,
    live: broadcast::Sender<Numbered>,
}

struct Inner {
    /// Oldest first; sequence numbers without gaps.
    events: VecDeque<Numbered>,
    /// The number of the newest event (0: none yet).
    latest: u64,
}

impl std::fmt::Debug for EventRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = crate::sync::lock(&self.inner);
        f.debug_struct("EventRing")
            .field("capacity", &self.capacity)
            .field("held", &inner.events.len())
            .field("latest", &inner.latest)
            .finish()
    }
}

impl EventRing {
    /// A ring that keeps the last `capacity` events (at least one), ready
    /// to [`subscribe`](super::Events::subscribe).
    pub fn new(capacity: usize) -> Arc<EventRing> {
        let capacity = capacity.max(1);
        let (live, _) = broadcast::channel(LIVE_BUFFER.min(capacity));
        Arc::new(EventRing { capacity, inner: Mutex::new(Inner { events: VecDeque::with_capacity(capacity.min(1024)), latest: 0 }), live })
    }

    /// The events after number `seq`, oldest first, at most `limit` of
    /// them. `since(0, n)` starts at the oldest the ring holds.
    pub fn since(&self, seq: u64, limit: usize) -> Vec<(u64, Event)> {
        let inner = crate::sync::lock(&self.inner);
        let Some(&(first, _)) = inner.events.front() else { return Vec::new() };
        let skip = usize::try_from(seq.saturating_add(1).saturating_sub(first)).unwrap_or(usize::MAX);
        inner.events.iter().skip(skip).take(limit).map(|(n, e)| (*n, Event::clone(e))).collect()
    }

    /// The number of the newest event heard (0 before the first).
    pub fn latest(&self) -> u64 {
        crate::sync::lock(&self.inner).latest
    }

    /// How many events the ring holds now.
    pub fn len(&self) -> usize {
        crate::sync::lock(&self.inner).events.len()
    }

    /// True before the first event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every event from now on, as it is heard. A receiver more than
    /// [`LIVE_BUFFER`] events behind gets `RecvError::Lagged` and skips
    /// ahead.
    pub fn subscribe(&self) -> broadcast::Receiver<Numbered> {
        self.live.subscribe()
    }
}

impl Subscriber for EventRing {
    fn event(&self, event: &Event) {
        let event = Arc::new(event.clone());
        let mut inner = crate::sync::lock(&self.inner);
        inner.latest += 1;
        let numbered = (inner.latest, event);
        if inner.events.len() == self.capacity {
            inner.events.pop_front();
        }
        inner.events.push_back(numbered.clone());
        // Sent under the lock, so live readers get numbers in order; a
        // send never waits (with no reader it fails, which is fine).
        let _ = self.live.send(numbered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventKind, Events, SessionInfo};

    fn session() -> SessionInfo {
        SessionInfo { id: 1, protocol: "ftp", peer: "192.0.2.1:4000".parse().unwrap() }
    }

    fn bus(capacity: usize) -> (Arc<Events>, Arc<EventRing>) {
        let events = Events::new();
        let ring = EventRing::new(capacity);
        events.subscribe(ring.clone());
        (events, ring)
    }

    fn users(got: &[(u64, Event)]) -> Vec<(u64, String)> {
        got.iter().map(|(n, e)| (*n, e.actor().map(|a| a.user.to_string()).unwrap_or_default())).collect()
    }

    #[test]
    fn keeps_the_last_n_numbered_from_one() {
        let (events, ring) = bus(3);
        assert_eq!((ring.latest(), ring.since(0, 10).len()), (0, 0));
        for user in ["a", "b", "c", "d", "e"] {
            events.login_ok(&session(), user);
        }
        assert_eq!(ring.latest(), 5);
        assert_eq!(ring.len(), 3, "bounded");
        let all = ring.since(0, 100);
        assert_eq!(users(&all), [(3, "c".into()), (4, "d".into()), (5, "e".into())]);
        assert!(matches!(all[0].1.kind, EventKind::LoginOk { .. }));
    }

    #[test]
    fn since_returns_what_came_after_oldest_first_up_to_the_limit() {
        let (events, ring) = bus(10);
        for user in ["a", "b", "c", "d"] {
            events.login_ok(&session(), user);
        }
        assert_eq!(users(&ring.since(1, 2)), [(2, "b".into()), (3, "c".into())]);
        assert_eq!(users(&ring.since(3, 10)), [(4, "d".into())]);
        assert!(ring.since(4, 10).is_empty(), "nothing newer");
        assert!(ring.since(99, 10).is_empty(), "a number from the future");
        assert!(ring.since(0, 0).is_empty());
        assert!(ring.since(u64::MAX, 10).is_empty());
    }

    #[test]
    fn a_number_older_than_the_ring_starts_at_its_oldest() {
        let (events, ring) = bus(2);
        for user in ["a", "b", "c", "d"] {
            events.login_ok(&session(), user);
        }
        assert_eq!(users(&ring.since(1, 10)), [(3, "c".into()), (4, "d".into())], "the gap shows in the numbers");
    }

    #[tokio::test]
    async fn live_readers_get_each_event_with_its_number() {
        let (events, ring) = bus(100);
        let mut rx = ring.subscribe();
        events.login_ok(&session(), "a");
        events.logout(&session(), "a");
        let (n1, e1) = rx.recv().await.unwrap();
        let (n2, e2) = rx.recv().await.unwrap();
        assert_eq!((n1, e1.name(), n2, e2.name()), (1, "login_ok", 2, "logout"));
        assert_eq!(*e2, ring.since(1, 1)[0].1, "the same event as the list");
    }

    #[tokio::test]
    async fn a_slow_reader_lags_and_never_holds_up_the_bus() {
        let (events, ring) = bus(10_000);
        let mut slow = ring.subscribe();
        let extra = 10;
        // Far more than the live buffer, with a reader that never reads:
        // each emission still returns at once.
        let started = std::time::Instant::now();
        for _ in 0..LIVE_BUFFER + extra {
            events.login_ok(&session(), "a");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        match slow.recv().await {
            Err(broadcast::error::RecvError::Lagged(missed)) => assert_eq!(missed, extra as u64),
            other => panic!("{other:?}"),
        }
        // It skips ahead to the oldest the channel still holds.
        let (n, _) = slow.recv().await.unwrap();
        assert_eq!(n, extra as u64 + 1);
        assert_eq!(ring.latest(), (LIVE_BUFFER + extra) as u64);
    }
}
