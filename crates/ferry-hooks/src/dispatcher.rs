//! The [`Dispatcher`]: the hooks' subscriber on the core's event bus, and
//! the owner of their delivery task.
//!
//! Its [`event`](Subscriber::event) runs on the emitting thread, before
//! the session sends its final reply: it picks the hooks that want the
//! event, spools one file per hook (a local write and an fsync, never the
//! network), and wakes the delivery task. A spool that cannot be written
//! is logged; the session goes on.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ferry_core::events::{Event, Subscriber};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{Digest, HookConfig, HookConfigError, HooksSettings};
use crate::delivery::{self, Shared};
use crate::hook;
use crate::metrics::HookMetrics;
use crate::payload::Payload;
use crate::spool::Spool;

/// Why the hooks could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A hook's config makes no sense.
    #[error(transparent)]
    Config(#[from] HookConfigError),
    /// The spool folder cannot be made or read.
    #[error("hook spool {}: {source}", path.display())]
    Spool {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// [`Dispatcher::start`] was called outside a tokio runtime.
    #[error("the hook dispatcher must be started inside a tokio runtime")]
    NoRuntime,
}

/// Delivers events to hooks. Subscribe it to the core's
/// [`Events`](ferry_core::events::Events); stop it with
/// [`stop`](Dispatcher::stop) (or drop it) and what is undelivered waits
/// in the spool for the next start.
pub struct Dispatcher {
    shared: Arc<Shared>,
    wake: mpsc::UnboundedSender<PathBuf>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hooks: Vec<_> = self.shared.hooks.iter().map(|h| h.name.as_str()).collect();
        f.debug_struct("Dispatcher").field("hooks", &hooks).field("settings", &self.shared.settings).finish()
    }
}

impl Dispatcher {
    /// Check `hooks`, open the spool, and start delivering (what the spool
    /// already holds first). Must be called inside a tokio runtime.
    pub fn start(settings: HooksSettings, hooks: &[HookConfig]) -> Result<Arc<Dispatcher>, StartError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let hooks = hook::compile_all(hooks)?;
        let spool = Spool::open(&settings.spool).map_err(|source| StartError::Spool { path: settings.spool.clone(), source })?;
        let tls = settings.tls.clone().unwrap_or_else(crate::webhook::default_tls);
        let permits = Semaphore::new(settings.concurrency.max(1));
        let shared = Arc::new(Shared { hooks, spool, settings, tls, metrics: HookMetrics::default(), permits });
        let (wake, woken) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let task = runtime.spawn(delivery::run(shared.clone(), woken, stopped));
        Ok(Arc::new(Dispatcher { shared, wake, stop, task: Mutex::new(Some(task)) }))
    }

    /// The hooks' metrics: register them with
    /// `metrics.register(|r| dispatcher.metrics().register(r))`.
    pub fn metrics(&self) -> &HookMetrics {
        &self.shared.metrics
    }

    /// Some hook wants the SHA-256 of uploads (`digest = "sha256"`): the
    /// server should compute it while the bytes arrive.
    pub fn wants_sha256(&self) -> bool {
        self.shared.hooks.iter().any(|h| h.digest == Some(Digest::Sha256))
    }

    /// Stop delivering, and wait for the deliveries in flight to be
    /// abandoned (a command is killed). What is not delivered stays in the
    /// spool. Events emitted after this are still spooled, for the next
    /// start.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Subscriber for Dispatcher {
    fn event(&self, event: &Event) {
        let payload = Payload::from_event(event);
        // The JSON is made once per variant: with the digest, for hooks
        // that asked for it, and without.
        let (mut with_digest, mut without) = (None, None);
        for (n, hook) in self.shared.hooks.iter().enumerate() {
            if !hook.wants(&payload) {
                continue;
            }
            let body: &[u8] = if hook.digest.is_some() || payload.sha256.is_none() {
                with_digest.get_or_insert_with(|| payload.to_json())
            } else {
                without.get_or_insert_with(|| Payload { sha256: None, ..payload.clone() }.to_json())
            };
            match self.shared.spool.write(&hook.name, n, &payload.id, event.at, body) {
                // A closed channel means the task has stopped: the file
                // waits for the next start.
                Ok(path) => drop(self.wake.send(path)),
                Err(e) => {
                    tracing::error!(hook = %hook.name, id = %payload.id, event = %payload.event, error = %e, "cannot spool a hook event: it will not be delivered")
                }
            }
        }
    }
}
