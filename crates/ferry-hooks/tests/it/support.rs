//! Events to emit, hook configs to write, and bounded waiting.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::events::{Actor, Event, EventKind, Events, SessionInfo, Transfer};
use ferry_hooks::{Dispatcher, HookConfig, HooksSettings};
use ferry_proto::VirtualPath;

pub(crate) fn session() -> SessionInfo {
    SessionInfo { id: 42, protocol: "ftp", peer: "127.0.0.1:50000".parse().unwrap() }
}

pub(crate) fn actor(user: &str) -> Actor {
    Actor { session: session(), user: Arc::from(user) }
}

pub(crate) fn path(p: &str) -> VirtualPath {
    VirtualPath::root().resolve(p).unwrap()
}

/// `user` uploaded `size` bytes to `p`.
pub(crate) fn upload(user: &str, p: &str, size: u64) -> Event {
    let transfer = Transfer { path: path(p), bytes: size, ascii: false, duration: Duration::from_millis(3) };
    Event::now(EventKind::Upload { actor: actor(user), transfer, size, sha256: None })
}

/// An upload whose digest the server computed.
pub(crate) fn upload_with_sha256(user: &str, p: &str, size: u64, sha256: &str) -> Event {
    let transfer = Transfer { path: path(p), bytes: size, ascii: false, duration: Duration::from_millis(3) };
    Event::now(EventKind::Upload { actor: actor(user), transfer, size, sha256: Some(sha256.into()) })
}

pub(crate) fn hook(toml_text: &str) -> HookConfig {
    toml::from_str(toml_text).unwrap()
}

/// Settings for tests: retries in milliseconds.
pub(crate) fn settings(spool: &Path) -> HooksSettings {
    let mut s = HooksSettings::new(spool);
    s.first_retry_delay = Duration::from_millis(20);
    s.max_retry_delay = Duration::from_millis(100);
    s
}

/// A bus with a started dispatcher on it.
pub(crate) fn start(settings: HooksSettings, hooks: &[HookConfig]) -> (Arc<Events>, Arc<Dispatcher>) {
    let events = Events::new();
    let dispatcher = Dispatcher::start(settings, hooks).unwrap();
    events.subscribe(dispatcher.clone());
    (events, dispatcher)
}

/// The files waiting in a spool folder (not `dead/`).
pub(crate) fn spooled(spool: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> =
        std::fs::read_dir(spool).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "event")).collect();
    files.sort();
    files
}

/// Wait until `done` holds, for at most 10 s.
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
