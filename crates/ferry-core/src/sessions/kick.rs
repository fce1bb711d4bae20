//! The signal an administrator's kick raises, and the future a session
//! waits on for it.
//!
//! A session waits for a kick beside everything else it waits for — the
//! next command line above all — for as long as it is idle, and
//! thousands of idle sessions add up: what it waits with is part of each
//! one's memory. A `tokio::sync::Notify` waiter sits inside the future
//! (list links, a waker, state: about a hundred bytes). [`Kicked`] is one
//! pointer: the waker it needs lives in the signal's list, at most one per
//! task that waits (a task polling again replaces its own), and is woken
//! and dropped by the kick.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Raised once, by the kick; never lowered.
#[derive(Debug, Default)]
pub(crate) struct KickSignal {
    raised: AtomicBool,
    /// The tasks waiting, one waker each.
    waiting: Mutex<Vec<Waker>>,
}

impl KickSignal {
    /// Raise it and wake whoever waits.
    pub(crate) fn raise(&self) {
        // Set before the wakers are taken: a `poll` that saw it unset and
        // added its waker is woken here; one that comes later sees it set.
        self.raised.store(true, Ordering::Release);
        let waiting = std::mem::take(&mut *crate::sync::lock(&self.waiting));
        for waker in waiting {
            waker.wake();
        }
    }

    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }
}

/// Resolves once its signal is raised (at once if it already was).
#[derive(Debug)]
pub(crate) struct Kicked(pub(crate) Arc<KickSignal>);

impl Future for Kicked {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let signal = &self.0;
        if signal.is_raised() {
            return Poll::Ready(());
        }
        let mut waiting = crate::sync::lock(&signal.waiting);
        // Again under the lock: a kick in between has taken the list.
        if signal.is_raised() {
            return Poll::Ready(());
        }
        match waiting.iter_mut().find(|w| w.will_wake(cx.waker())) {
            Some(w) => w.clone_from(cx.waker()),
            None => waiting.push(cx.waker().clone()),
        }
        Poll::Pending
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

    #[test]
    fn one_waker_per_task_however_often_it_polls_and_the_kick_wakes_each() {
        let signal = Arc::new(KickSignal::default());
        let (a, b) = (Arc::new(Task::default()), Arc::new(Task::default()));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        for _ in 0..100 {
            let mut k = Kicked(signal.clone());
            assert!(Pin::new(&mut k).poll(&mut Context::from_waker(&wa)).is_pending());
        }
        let mut k = Kicked(signal.clone());
        assert!(Pin::new(&mut k).poll(&mut Context::from_waker(&wb)).is_pending());
        assert_eq!(crate::sync::lock(&signal.waiting).len(), 2, "one per task");
        signal.raise();
        assert_eq!((a.0.load(Ordering::Relaxed), b.0.load(Ordering::Relaxed)), (1, 1), "each woken once");
        assert!(crate::sync::lock(&signal.waiting).is_empty(), "the kick drops what it woke");
        assert!(Pin::new(&mut k).poll(&mut Context::from_waker(&wb)).is_ready());
        assert!(Pin::new(&mut Kicked(signal.clone())).poll(&mut Context::from_waker(&wa)).is_ready(), "also after the kick");
    }

    #[test]
    fn the_future_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Kicked>(), std::mem::size_of::<usize>());
    }
}
