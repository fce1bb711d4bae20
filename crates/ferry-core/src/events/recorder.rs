//! A subscriber that keeps every event in memory: for tests that check
//! what happened, and for tools that want to look.

use std::sync::{Arc, Mutex};

use super::{Event, Subscriber};

/// Every event heard, in order.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    /// An empty recorder, ready to [`subscribe`](super::Events::subscribe).
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    /// The events heard so far.
    pub fn events(&self) -> Vec<Event> {
        crate::sync::lock(&self.events).clone()
    }

    /// Their names ([`Event::name`]), in order.
    pub fn names(&self) -> Vec<&'static str> {
        crate::sync::lock(&self.events).iter().map(Event::name).collect()
    }

    /// Forget what was heard.
    pub fn clear(&self) {
        crate::sync::lock(&self.events).clear();
    }
}

impl Subscriber for Recorder {
    fn event(&self, event: &Event) {
        crate::sync::lock(&self.events).push(event.clone());
    }
}
