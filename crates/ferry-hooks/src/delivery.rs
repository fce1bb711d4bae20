//! The delivery task: takes spooled events to their hooks, off the
//! sessions' path.
//!
//! At start it picks up everything already in the spool (what a previous
//! run left); then the [`Dispatcher`](crate::Dispatcher) wakes it with
//! each new file. Every file gets a task of its own that tries, waits
//! (exponential backoff with jitter), and tries again, until its hook takes
//! the event (the file is removed), the event is older than the maximum
//! age (the file goes to `dead/`, with a warning), or the server stops
//! (the file stays for the next run). A semaphore caps the tries in
//! flight, all hooks together; each try is bounded by its hook's timeout.
//!
//! # Guarantees
//!
//! At least once: an event is spooled before the session's reply and only
//! removed after its hook took it, so a crash between the two delivers it
//! again on the next run — receivers de-duplicate by `id`. Within one run
//! a file is never delivered twice: the task keeps the set of files in
//! flight, so one seen both in the start-up listing and in a wake-up is
//! delivered once, and one that comes up again after its delivery is gone
//! from the spool and skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::backoff::Backoff;
use crate::config::HooksSettings;
use crate::delivery_error::DeliveryError;
use crate::hook::{Hook, Target};
use crate::metrics::{HookMetrics, Outcome};
use crate::payload::Payload;
use crate::spool::{self, Spool};
use crate::webhook::{self, WebhookRequest};

/// What the dispatcher and the delivery task share.
pub(crate) struct Shared {
    pub(crate) hooks: Vec<Hook>,
    pub(crate) spool: Spool,
    pub(crate) settings: HooksSettings,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) metrics: HookMetrics,
    pub(crate) permits: Semaphore,
}

/// Run until `stop` says so (or its sender is gone).
pub(crate) async fn run(shared: Arc<Shared>, mut wake: mpsc::UnboundedReceiver<PathBuf>, mut stop: watch::Receiver<bool>) {
    let mut in_flight: HashMap<PathBuf, SystemTime> = HashMap::new();
    let mut tasks = JoinSet::new();
    let task_stop = stop.clone();
    let start = |path: PathBuf, in_flight: &mut HashMap<PathBuf, SystemTime>, tasks: &mut JoinSet<PathBuf>| {
        if in_flight.contains_key(&path) {
            return;
        }
        in_flight.insert(path.clone(), spool::created(&path).unwrap_or_else(SystemTime::now));
        let (shared, stop) = (shared.clone(), task_stop.clone());
        tasks.spawn(async move {
            deliver(&shared, &path, stop).await;
            path
        });
    };
    match shared.spool.pending() {
        Ok(files) => {
            if !files.is_empty() {
                tracing::info!(count = files.len(), "hook deliveries left from before are being retried");
            }
            for path in files {
                start(path, &mut in_flight, &mut tasks);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot list the hook spool; what it holds waits for the next start"),
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        update_gauges(&shared.metrics, &in_flight);
        tokio::select! {
            _ = stopped(&mut stop) => break,
            woken = wake.recv() => match woken {
                Some(path) => start(path, &mut in_flight, &mut tasks),
                None => break,
            },
            Some(done) = tasks.join_next() => {
                if let Ok(path) = done {
                    in_flight.remove(&path);
                }
            }
            _ = tick.tick() => {}
        }
    }
    // Every task sees the same stop and returns at its next await; what
    // was not delivered stays in the spool.
    while tasks.join_next().await.is_some() {}
}

fn update_gauges(metrics: &HookMetrics, in_flight: &HashMap<PathBuf, SystemTime>) {
    let oldest = in_flight.values().min().and_then(|t| t.elapsed().ok()).map_or(0, |d| d.as_secs());
    metrics.set_spool(in_flight.len(), oldest);
}

/// Resolves once the dispatcher asks the task to stop, or is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|&s| s).await;
}

/// Deliver one spool file, trying until done, too old, or stopped.
async fn deliver(shared: &Shared, path: &Path, mut stop: watch::Receiver<bool>) {
    let entry = match Spool::read(path) {
        Ok(entry) => entry,
        // Delivered already in this run (it was listed and woken both).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return bury(shared, path, None, &format!("cannot read it: {e}")),
    };
    let Some(hook) = shared.hooks.iter().find(|h| h.name == entry.hook) else {
        return bury(shared, path, None, &format!("no hook named {:?} is configured any more", entry.hook));
    };
    let payload: Payload = match serde_json::from_slice(&entry.body) {
        Ok(p) => p,
        Err(e) => return bury(shared, path, Some(hook), &format!("its event is not valid JSON: {e}")),
    };
    let created = spool::created(path).unwrap_or_else(SystemTime::now);
    let settings = &shared.settings;
    let mut backoff = Backoff::new(settings.first_retry_delay, settings.max_retry_delay);
    for attempt in 1u32.. {
        let tried = async {
            let _permit = shared.permits.acquire().await;
            match tokio::time::timeout(hook.timeout, try_once(shared, hook, &payload, &entry.body)).await {
                Ok(result) => result,
                Err(_) => Err(DeliveryError(format!("no answer within {:?}", hook.timeout))),
            }
        };
        let result = tokio::select! {
            r = tried => r,
            _ = stopped(&mut stop) => return,
        };
        let error = match result {
            Ok(()) => {
                shared.metrics.count(&hook.name, Outcome::Delivered);
                tracing::debug!(hook = %hook.name, id = %payload.id, event = %payload.event, attempt, "hook event delivered");
                if let Err(e) = shared.spool.remove(path) {
                    tracing::error!(hook = %hook.name, id = %payload.id, error = %e, "a delivered hook event could not be removed from the spool; the next start delivers it again");
                }
                return;
            }
            Err(e) => e,
        };
        let age = created.elapsed().unwrap_or_default();
        if age >= settings.max_age {
            shared.metrics.count(&hook.name, Outcome::Failed);
            return bury(shared, path, Some(hook), &format!("not delivered after {attempt} tries in {}s: {error}", age.as_secs()));
        }
        shared.metrics.count(&hook.name, Outcome::Retried);
        // The last wait ends at the maximum age, for one last try.
        let wait = backoff.next_delay().min(settings.max_age - age);
        if attempt == 1 {
            tracing::warn!(hook = %hook.name, id = %payload.id, event = %payload.event, %error, retry_in_ms = wait.as_millis() as u64, "hook delivery failed; retrying");
        } else {
            tracing::debug!(hook = %hook.name, id = %payload.id, attempt, %error, retry_in_ms = wait.as_millis() as u64, "hook delivery failed again");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

async fn try_once(shared: &Shared, hook: &Hook, payload: &Payload, body: &[u8]) -> Result<(), DeliveryError> {
    match &hook.target {
        Target::Webhook { url, secret } => {
            let request = WebhookRequest { url, secret: secret.as_deref(), event: payload.event.as_str(), id: &payload.id, body };
            webhook::post(request, &shared.tls).await
        }
        Target::Command { argv } => crate::command::run(argv, payload, body, shared.settings.fs_paths.as_ref()).await,
    }
}

/// Move a file to `dead/`, saying why.
fn bury(shared: &Shared, path: &Path, hook: Option<&Hook>, why: &str) {
    let hook = hook.map_or("?", |h| h.name.as_str());
    match shared.spool.bury(path) {
        Ok(to) => tracing::warn!(hook, file = %to.display(), why, "hook event moved to the dead-letter folder"),
        Err(e) => {
            tracing::error!(hook, file = %path.display(), why, error = %e, "hook event given up on, but it could not be moved to the dead-letter folder")
        }
    }
}
