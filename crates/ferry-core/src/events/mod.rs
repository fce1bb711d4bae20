//! The event stream: what happened, told once, to whoever listens.
//!
//! The core emits a typed [`Event`] *after the fact* — an upload once it is
//! committed and visible under its name (never for a temporary
//! `.~ferry-` file, never for a transfer that failed: that is an
//! [`EventKind::UploadFailed`]), a deletion once the file is gone. What the
//! core cannot see itself (logins, logouts) the front-end emits through the
//! helpers on [`Events`]; the [`Defender`](crate::auth::defender::Defender)
//! emits bans where it decides them; the admin front door tells what
//! administrators do with [`Events::admin`].
//!
//! Logs, the xferlog and the metrics are subscribers of this one stream:
//!
//! - [`log::LogEvents`]: one `tracing` line per event, every field a
//!   client chose escaped;
//! - [`xferlog::XferLog`]: the wu-ftpd/vsftpd transfer log;
//! - [`metrics::Metrics`]: the Prometheus counters;
//! - [`recorder::Recorder`]: keeps every event in memory (for tests, and
//!   for anyone who wants to look at what happened);
//! - [`ring::EventRing`]: keeps the last N events, numbered, for the admin
//!   API's list and live stream.
//!
//! # Delivery
//!
//! [`Events::emit`] calls every [`Subscriber`] in turn, on the emitting
//! thread, before it returns. That thread may be an async worker or a
//! blocking thread in the middle of a transfer, so a subscriber must not
//! block: a line to a log, a counter, a short append to a file are fine.
//! Slow deliveries to the outside (a command to run, an HTTP hook to call)
//! belong on their own task: their subscriber only queues the event (a
//! bounded channel, a spool) and returns. A subscriber that panics is
//! logged and skipped; the others still get the event, and the session
//! that emitted it goes on.

pub mod event;
pub mod log;
pub mod metrics;
pub mod recorder;
pub mod ring;
pub mod xferlog;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

pub use event::{Actor, AdminAction, Event, EventKind, Failure, LoginFailure, SessionInfo, Transfer};

/// Something that wants to hear about events.
pub trait Subscriber: Send + Sync + 'static {
    /// Take one event. Called on the emitter's thread: must not block
    /// (queue slow work on a task of your own; see the module docs).
    fn event(&self, event: &Event);
}

/// The bus that events are emitted into and subscribers listen on. One per
/// server, shared by its front-ends and the core.
pub struct Events {
    /// Replaced whole by `subscribe` (rare), so that each emission only
    /// clones an `Arc` out of the lock.
    subscribers: RwLock<Arc<[Arc<dyn Subscriber>]>>,
}

impl Default for Events {
    fn default() -> Self {
        Events { subscribers: RwLock::new(Arc::new([])) }
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("subscribers", &crate::sync::read(&self.subscribers).len()).finish()
    }
}

impl Events {
    /// A bus with no subscribers yet.
    pub fn new() -> Arc<Events> {
        Arc::new(Events::default())
    }

    /// Hear every event emitted from now on, after the subscribers already
    /// there.
    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        let mut list = crate::sync::write(&self.subscribers);
        *list = list.iter().cloned().chain([subscriber]).collect();
    }

    /// Tell every subscriber, in the order they subscribed.
    pub fn emit(&self, event: Event) {
        // The list is cloned out of the lock: a subscriber may subscribe
        // another, or emit, without deadlocking.
        let subscribers = crate::sync::read(&self.subscribers).clone();
        for s in subscribers.iter() {
            let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.event(&event)));
            if delivered.is_err() {
                tracing::error!(event = event.name(), "an event subscriber panicked; the others still get the event");
            }
        }
    }

    /// Emit `kind`, happening now.
    pub fn emit_now(&self, kind: EventKind) {
        self.emit(Event::now(kind));
    }

    /// `user` logged in on `session`.
    pub fn login_ok(&self, session: &SessionInfo, user: &str) {
        self.emit_now(EventKind::LoginOk { actor: actor(session, user) });
    }

    /// A login as `user` on `session` was refused.
    pub fn login_failed(&self, session: &SessionInfo, user: &str, reason: LoginFailure) {
        self.emit_now(EventKind::LoginFailed { actor: actor(session, user), reason });
    }

    /// `user` left `session` (logged out, changed user, or the session ended).
    pub fn logout(&self, session: &SessionInfo, user: &str) {
        self.emit_now(EventKind::Logout { actor: actor(session, user) });
    }

    /// `address` is banned until `until`.
    pub fn ban(&self, address: IpAddr, until: SystemTime) {
        self.emit_now(EventKind::Ban { address, until });
    }

    /// Administrator `admin`, connected from `peer`, did `action` (to
    /// `target`). Never pass a password or a token's secret as `target`.
    pub fn admin(&self, admin: &str, action: AdminAction, target: Option<&str>, peer: Option<SocketAddr>) {
        self.emit_now(EventKind::Admin { admin: admin.into(), action, target: target.map(str::to_owned), peer });
    }
}

fn actor(session: &SessionInfo, user: &str) -> Actor {
    Actor { session: session.clone(), user: user.into() }
}

#[cfg(test)]
mod tests {
    use super::recorder::Recorder;
    use super::*;

    fn session() -> SessionInfo {
        SessionInfo { id: 7, protocol: "ftp", peer: "192.0.2.1:4000".parse().unwrap() }
    }

    struct Panics;

    impl Subscriber for Panics {
        fn event(&self, _: &Event) {
            panic!("a broken subscriber");
        }
    }

    #[test]
    fn every_subscriber_hears_every_event_in_order_even_after_one_panics() {
        let events = Events::new();
        let (first, second) = (Recorder::new(), Recorder::new());
        events.subscribe(first.clone());
        events.subscribe(Arc::new(Panics));
        events.subscribe(second.clone());
        events.login_ok(&session(), "alice");
        events.login_failed(&session(), "mallory", LoginFailure::Incorrect);
        events.logout(&session(), "alice");
        for r in [&first, &second] {
            assert_eq!(r.names(), ["login_ok", "login_failed", "logout"]);
        }
        let got = second.events();
        assert_eq!(got[1].actor().map(|a| &*a.user), Some("mallory"));
        assert!(matches!(got[1].kind, EventKind::LoginFailed { reason: LoginFailure::Incorrect, .. }));
        assert_eq!(got[0].actor().map(|a| a.session.clone()), Some(session()));
    }

    #[test]
    fn a_late_subscriber_hears_only_what_follows() {
        let events = Events::new();
        events.logout(&session(), "early");
        let r = Recorder::new();
        events.subscribe(r.clone());
        let until = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(100);
        events.ban("192.0.2.9".parse().unwrap(), until);
        assert_eq!(r.events().len(), 1);
        assert_eq!(r.events()[0].kind, EventKind::Ban { address: "192.0.2.9".parse().unwrap(), until });
        assert!(r.events()[0].actor().is_none(), "a ban is the server's own doing");
    }

    #[test]
    fn admin_events_name_the_admin_and_the_action() {
        let events = Events::new();
        let r = Recorder::new();
        events.subscribe(r.clone());
        let peer = "192.0.2.5:51000".parse().unwrap();
        events.admin("root", AdminAction::UserCreate, Some("carol"), Some(peer));
        events.admin("mallory", AdminAction::LoginFailed, None, None);
        assert_eq!(r.names(), ["admin_user_create", "admin_login_failed"]);
        let got = r.events();
        assert_eq!(
            got[0].kind,
            EventKind::Admin { admin: "root".into(), action: AdminAction::UserCreate, target: Some("carol".into()), peer: Some(peer) }
        );
        assert!(got[0].actor().is_none(), "an admin is no FTP user");
        let names: std::collections::HashSet<_> = AdminAction::ALL.iter().map(|a| a.event_name()).collect();
        assert_eq!(names.len(), AdminAction::ALL.len());
        assert!(AdminAction::ALL.iter().all(|a| a.event_name() == format!("admin_{}", a.as_str())));
    }
}
