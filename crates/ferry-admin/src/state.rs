//! What every request handler shares.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::Backend;

/// The largest request body accepted: a user's settings are a few hundred
/// bytes; nothing an admin sends needs more.
pub const MAX_BODY: usize = 64 * 1024;

/// Live streams (server-sent events) open at once: each holds a
/// connection and a subscription, so they are counted.
pub const MAX_STREAMS: usize = 64;

/// The state handed to handlers.
#[derive(Clone)]
pub struct AppState {
    /// The server below.
    pub backend: Arc<dyn Backend>,
    /// The listener speaks HTTPS: cookies get `Secure`.
    pub secure: bool,
    /// Slots for live streams.
    pub streams: Arc<Semaphore>,
}

impl AppState {
    /// State over `backend`.
    pub fn new(backend: Arc<dyn Backend>, secure: bool) -> AppState {
        AppState { backend, secure, streams: Arc::new(Semaphore::new(MAX_STREAMS)) }
    }
}
