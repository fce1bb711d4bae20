//! Prometheus metrics (prometheus-client): a registry of counters that
//! count events — logins, bans, transfers and their bytes, administrators'
//! actions — and a few that front-ends set directly for what is no event
//! (sessions open, the time a command takes, data connections that
//! failed). Serving them over HTTP is the front-end's part
//! ([`Metrics::encode`] gives the text).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::{Event, EventKind, Failure, LoginFailure, Subscriber};

type Labels = Vec<(&'static str, &'static str)>;

/// Every metric ferryd keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Sessions open now (set by the front-end).
    pub sessions_open: Gauge,
    /// Logins by result (`ok`, `failed`): from events; `failed` counts
    /// wrong credentials only (an outage or a disabled account is no guess).
    pub logins: Family<Labels, Counter>,
    /// Addresses banned for failed logins: from ban events.
    pub bans: Counter,
    /// File transfers by direction (`in`, `out`) and result (`ok`,
    /// `error`): from events. One whose data connection never opened is
    /// counted in `data_connection_failures` instead.
    pub transfers: Family<Labels, Counter>,
    /// Bytes moved by direction: from events.
    pub bytes: Family<Labels, Counter>,
    /// What administrators did, by action (`login`, `login_failed`,
    /// `user_create`, ...): from admin events.
    pub admin_actions: Family<Labels, Counter>,
    /// Data connections that could not be opened (set by the front-end).
    pub data_connection_failures: Counter,
    /// Time from a command line to its reply, seconds (set by the front-end).
    pub command_seconds: Histogram,
    /// Metrics that other crates keep (the hooks' delivery counters),
    /// registered after the server built this one; see [`Metrics::register`].
    more: std::sync::Mutex<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ferry");
        let m = Metrics {
            sessions_open: Gauge::default(),
            logins: Family::default(),
            bans: Counter::default(),
            transfers: Family::default(),
            bytes: Family::default(),
            admin_actions: Family::default(),
            data_connection_failures: Counter::default(),
            command_seconds: Histogram::new(exponential_buckets(0.0001, 4.0, 10)),
            registry: Registry::default(),
            more: std::sync::Mutex::new(Registry::with_prefix("ferry")),
        };
        registry.register("sessions_open", "Sessions open now", m.sessions_open.clone());
        registry.register("logins", "Login attempts by result", m.logins.clone());
        registry.register("bans", "Addresses banned after failed logins", m.bans.clone());
        registry.register("transfers", "File transfers by direction and result", m.transfers.clone());
        registry.register("transfer_bytes", "Bytes transferred by direction", m.bytes.clone());
        registry.register("admin_actions", "Administrator actions by action", m.admin_actions.clone());
        registry.register("data_connection_failures", "Data connections that could not be opened", m.data_connection_failures.clone());
        registry.register("command_duration_seconds", "Time from a command to its reply", m.command_seconds.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn encode(&self) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &crate::sync::lock(&self.more));
        let _ = encode_eof(&mut out);
        out
    }

    /// Let another crate add metrics of its own to the same exposition,
    /// once the `Metrics` is shared: `register` gets a registry whose names
    /// take the same `ferry_` prefix. (Registering a name twice makes the
    /// exposition show it twice: register once per server.)
    pub fn register(&self, register: impl FnOnce(&mut Registry)) {
        register(&mut crate::sync::lock(&self.more));
    }

    /// Count a login.
    pub fn login(&self, ok: bool) {
        self.logins.get_or_create(&vec![("result", if ok { "ok" } else { "failed" })]).inc();
    }

    /// Count a finished file transfer.
    pub fn transfer(&self, incoming: bool, ok: bool, bytes: u64) {
        let direction = if incoming { "in" } else { "out" };
        self.transfers.get_or_create(&vec![("direction", direction), ("result", if ok { "ok" } else { "error" })]).inc();
        self.bytes.get_or_create(&vec![("direction", direction)]).inc_by(bytes);
    }
}

impl Subscriber for Metrics {
    fn event(&self, event: &Event) {
        match &event.kind {
            EventKind::LoginOk { .. } => self.login(true),
            EventKind::LoginFailed { reason: LoginFailure::Incorrect, .. } => self.login(false),
            EventKind::Ban { .. } => {
                self.bans.inc();
            }
            EventKind::Upload { transfer, .. } => self.transfer(true, true, transfer.bytes),
            EventKind::UploadFailed { transfer, failure, .. } if !matches!(failure, Failure::NoConnection | Failure::NotStarted) => {
                self.transfer(true, false, transfer.bytes);
            }
            EventKind::Download { transfer, failure, .. } if !matches!(failure, Some(Failure::NoConnection | Failure::NotStarted)) => {
                self.transfer(false, failure.is_none(), transfer.bytes);
            }
            EventKind::Admin { action, .. } => {
                self.admin_actions.get_or_create(&vec![("action", action.as_str())]).inc();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use ferry_proto::VirtualPath;

    use super::*;
    use crate::events::{Actor, Events, SessionInfo, Transfer};
    use crate::storage::PartialOutcome;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.login(true);
        m.login(false);
        m.transfer(false, true, 1234);
        m.sessions_open.inc();
        let text = m.encode();
        assert!(text.contains("ferry_logins_total{result=\"ok\"} 1"), "{text}");
        assert!(text.contains("ferry_transfer_bytes_total{direction=\"out\"} 1234"), "{text}");
        assert!(text.contains("ferry_sessions_open 1"), "{text}");
    }

    #[test]
    fn another_crate_registers_into_the_same_exposition() {
        let m = Metrics::default();
        let extra = Counter::<u64>::default();
        m.register(|r| r.register("hook_things", "Things the hooks did", extra.clone()));
        extra.inc_by(3);
        let text = m.encode();
        assert!(text.lines().any(|l| l == "ferry_hook_things_total 3"), "{text}");
        assert!(text.contains("ferry_sessions_open 0"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn counted_from_events() {
        let m = Arc::new(Metrics::default());
        let events = Events::new();
        events.subscribe(m.clone());
        let session = SessionInfo { id: 1, protocol: "ftp", peer: "192.0.2.1:4000".parse().unwrap() };
        let actor = Actor { session: session.clone(), user: "alice".into() };
        let t = |bytes| Transfer { path: VirtualPath::root(), bytes, ascii: false, duration: Duration::ZERO };
        events.login_ok(&session, "alice");
        events.login_failed(&session, "alice", LoginFailure::Incorrect);
        events.login_failed(&session, "alice", LoginFailure::Unavailable);
        events.login_failed(&session, "bob", LoginFailure::Disabled);
        events.ban("192.0.2.1".parse().unwrap(), std::time::SystemTime::now());
        events.emit_now(EventKind::Upload { actor: actor.clone(), transfer: t(8), size: 8, sha256: None });
        let failed = |failure| EventKind::UploadFailed { actor: actor.clone(), transfer: t(3), failure, kept: PartialOutcome::Discarded };
        events.emit_now(failed(Failure::Interrupted));
        events.emit_now(failed(Failure::NoConnection));
        events.emit_now(EventKind::Download { actor: actor.clone(), transfer: t(100), failure: None });
        events.emit_now(EventKind::Download { actor: actor.clone(), transfer: t(10), failure: Some(Failure::Connection("reset".into())) });
        events.emit_now(EventKind::Download { actor: actor.clone(), transfer: t(0), failure: Some(Failure::NoConnection) });
        events.emit_now(EventKind::Mkdir { actor, path: VirtualPath::root() });
        events.admin("root", crate::events::AdminAction::UserCreate, Some("carol"), None);
        events.admin("root", crate::events::AdminAction::UserCreate, Some("dave"), None);
        events.admin("eve", crate::events::AdminAction::LoginFailed, None, None);
        let text = m.encode();
        for line in [
            "ferry_logins_total{result=\"ok\"} 1",
            "ferry_logins_total{result=\"failed\"} 1",
            "ferry_bans_total 1",
            "ferry_transfers_total{direction=\"in\",result=\"ok\"} 1",
            "ferry_transfers_total{direction=\"in\",result=\"error\"} 1",
            "ferry_transfers_total{direction=\"out\",result=\"ok\"} 1",
            "ferry_transfers_total{direction=\"out\",result=\"error\"} 1",
            "ferry_transfer_bytes_total{direction=\"in\"} 11",
            "ferry_transfer_bytes_total{direction=\"out\"} 110",
            "ferry_data_connection_failures_total 0",
            "ferry_admin_actions_total{action=\"user_create\"} 2",
            "ferry_admin_actions_total{action=\"login_failed\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }
}
