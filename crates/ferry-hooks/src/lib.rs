//! Event hooks: the core's events told to the outside world — a webhook
//! POSTed, a command run — at least once, through a durable spool, off the
//! sessions' path.
//!
//! # Layout
//!
//! - [`config`]: [`HookConfig`] (one `[[hooks]]` table, with
//!   [`validate`](HookConfig::validate)) and [`HooksSettings`] (the spool,
//!   the maximum age, the concurrency cap).
//! - [`payload`]: the event as JSON, **version 1**, and its schema.
//! - [`dispatcher`]: [`Dispatcher`], the subscriber that spools events and
//!   owns the delivery task.
//! - `hook`: a checked hook, with its filters (events, users, path globs).
//! - `spool`: one file per delivery, written atomically, and `dead/`.
//! - `delivery`: the task that retries with backoff until delivered or too
//!   old; `webhook` and `command` are its two kinds of target, `backoff`
//!   its waits.
//! - [`signature`]: the webhook's HMAC-SHA256 signature.
//! - [`metrics`]: delivery counters and spool gauges for Prometheus.
//! - [`duration`]: `"30s"`-style durations; `url`: the webhook's address.
//!
//! # Wiring it into a server
//!
//! ```no_run
//! # async fn wire(events: &ferry_core::events::Events, metrics: &ferry_core::events::metrics::Metrics, hooks: Vec<ferry_hooks::HookConfig>) -> Result<(), ferry_hooks::StartError> {
//! use ferry_hooks::{Dispatcher, HooksSettings};
//! let mut settings = HooksSettings::new("/var/lib/ferry/hook-spool");
//! // Where a user's virtual path is on disk, for FERRY_FS_PATH.
//! settings.fs_paths = Some(std::sync::Arc::new(|_user: &str, path: &str| Some(format!("/srv/ftp{path}").into())));
//! let dispatcher = Dispatcher::start(settings, &hooks)?;
//! metrics.register(|r| dispatcher.metrics().register(r));
//! events.subscribe(dispatcher.clone());
//! // ... at shutdown:
//! dispatcher.stop().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod backoff;
mod command;
pub mod config;
mod delivery;
mod delivery_error;
pub mod dispatcher;
pub mod duration;
mod event_name;
pub mod gate;
mod hook;
pub mod login;
pub mod metrics;
pub mod payload;
pub mod signature;
mod spool;
mod url;
mod webhook;

pub use config::{Digest, FsPaths, HookConfig, HookConfigError, HooksSettings, OnError, Secret};
pub use dispatcher::{Dispatcher, StartError};
pub use event_name::HookEvent;
pub use gate::PreUploadGate;
pub use login::PreLoginAuth;
pub use metrics::HookMetrics;
pub use payload::{Payload, VERSION};
