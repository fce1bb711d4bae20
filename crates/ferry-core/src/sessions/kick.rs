//! The signal that asks a session to end — an administrator's kick, or its
//! front door shutting down — and the futures a session waits on for it.
//!
//! A session waits for this beside everything else it waits for — the
//! next command line above all — for as long as it is idle, and
//! thousands of idle sessions add up: what it waits with is part of each
//! one's memory. A `tokio::sync::Notify` waiter sits inside the future
//! (list links, a waker, state: about a hundred bytes), and a
//! `watch::Receiver::wait_for` more. [`Raised`] is one pointer: the waker
//! it needs lives in the signal (inline for the first task that waits, in
//! a list for any other; a task polling again replaces its own), and is
//! woken and dropped when the signal is raised. The signal lives in the
//! session's registry entry, so it costs no allocation of its own.

use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::Entry;

/// An administrator ended the session: everything stops, a running
/// transfer too.
pub(crate) const KICK: u8 = 1;
/// The front door is shutting down: the session ends at its next safe
/// point, and a running transfer may finish.
pub(crate) const SHUTDOWN: u8 = 2;

/// Reasons raised, once each; never lowered.
#[derive(Debug, Default)]
pub(crate) struct KickSignal {
    raised: AtomicU8,
    waiting: Mutex<Waiters>,
}

/// The tasks waiting, one waker each. Nearly always one task (the
/// session's own) waits: its waker is kept inline, and the list for any
/// other is boxed (one pointer while empty, not a `Vec`'s three).
#[derive(Debug, Default)]
struct Waiters {
    first: Option<Waker>,
    #[expect(clippy::box_collection, reason = "one pointer in every session's entry, where a Vec would be three")]
    more: Option<Box<Vec<Waker>>>,
}

impl KickSignal {
    /// Raise `reason` and wake whoever waits.
    pub(crate) fn raise(&self, reason: u8) {
        // Set before the wakers are taken: a `poll` that saw it unset and
        // added its waker is woken here; one that comes later sees it set.
        self.raised.fetch_or(reason, Ordering::Release);
        let waiting = std::mem::take(&mut *crate::sync::lock(&self.waiting));
        for waker in waiting.first.into_iter().chain(waiting.more.into_iter().flat_map(|more| *more)) {
            waker.wake();
        }
    }

    /// True once any of the reasons in `mask` was raised.
    pub(crate) fn is_raised(&self, mask: u8) -> bool {
        self.raised.load(Ordering::Acquire) & mask != 0
    }

    /// Ready once one of the reasons in `mask` is raised; until then the
    /// task's waker is kept to be woken.
    fn poll_raised(&self, mask: u8, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_raised(mask) {
            return Poll::Ready(());
        }
        let mut waiting = crate::sync::lock(&self.waiting);
        // Again under the lock: a raise in between has taken the wakers.
        if self.is_raised(mask) {
            return Poll::Ready(());
        }
        let Waiters { first, more } = &mut *waiting;
        match first {
            None => *first = Some(cx.waker().clone()),
            Some(w) if w.will_wake(cx.waker()) => w.clone_from(cx.waker()),
            Some(_) => {
                let more = more.get_or_insert_default();
                match more.iter_mut().find(|w| w.will_wake(cx.waker())) {
                    Some(w) => w.clone_from(cx.waker()),
                    None => more.push(cx.waker().clone()),
                }
            }
        }
        Poll::Pending
    }
}

/// Resolves once one of the reasons in `MASK` is raised on the session
/// (at once if it already was).
pub(crate) struct Raised<const MASK: u8>(pub(crate) Arc<Entry>);

impl<const MASK: u8> std::fmt::Debug for Raised<MASK> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Raised").field("session", &self.0.id).field("mask", &MASK).finish()
    }
}

impl<const MASK: u8> Future for Raised<MASK> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.kick.poll_raised(MASK, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its wakes, as a task would be scheduled.
    #[derive(Default)]
    struct Task(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Task {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn waiting(signal: &KickSignal) -> usize {
        let w = crate::sync::lock(&signal.waiting);
        usize::from(w.first.is_some()) + w.more.as_ref().map_or(0, |m| m.len())
    }

    #[test]
    fn one_waker_per_task_however_often_it_polls_and_a_raise_wakes_each() {
        let signal = KickSignal::default();
        let (a, b) = (Arc::new(Task::default()), Arc::new(Task::default()));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        for _ in 0..100 {
            assert!(signal.poll_raised(KICK, &mut Context::from_waker(&wa)).is_pending());
        }
        assert!(signal.poll_raised(KICK | SHUTDOWN, &mut Context::from_waker(&wb)).is_pending());
        assert!(signal.poll_raised(KICK, &mut Context::from_waker(&wb)).is_pending());
        assert_eq!(waiting(&signal), 2, "one per task");
        signal.raise(KICK);
        assert_eq!((a.0.load(Ordering::Relaxed), b.0.load(Ordering::Relaxed)), (1, 1), "each woken once");
        assert_eq!(waiting(&signal), 0, "the raise drops what it woke");
        assert!(signal.poll_raised(KICK, &mut Context::from_waker(&wb)).is_ready(), "also after the raise");
        assert!(signal.poll_raised(SHUTDOWN, &mut Context::from_waker(&wb)).is_pending(), "another reason is not raised");
    }

    #[test]
    fn a_shutdown_wakes_those_waiting_for_it_and_is_no_kick() {
        let signal = KickSignal::default();
        let a = Arc::new(Task::default());
        let wa = Waker::from(a.clone());
        assert!(signal.poll_raised(KICK | SHUTDOWN, &mut Context::from_waker(&wa)).is_pending());
        signal.raise(SHUTDOWN);
        assert_eq!(a.0.load(Ordering::Relaxed), 1);
        assert!(signal.poll_raised(KICK | SHUTDOWN, &mut Context::from_waker(&wa)).is_ready());
        assert!(signal.is_raised(SHUTDOWN) && !signal.is_raised(KICK));
    }

    #[test]
    fn the_future_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Raised<KICK>>(), std::mem::size_of::<usize>());
    }
}
