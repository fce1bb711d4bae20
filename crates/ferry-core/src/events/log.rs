//! One `tracing` line per event, under the target `ferry::event`, with
//! the session, the user and what happened as fields. User names and
//! paths come from clients, so they are written escaped
//! ([`crate::log_escape`]): no client can start a line of its own.

use tracing::{info, warn};

use std::net::SocketAddr;

use super::{AdminAction, Event, EventKind, Subscriber};
use crate::log_escape::Escaped;

/// The `tracing` target of event lines, for filters
/// (`RUST_LOG=ferry::event=info`).
pub const TARGET: &str = "ferry::event";

/// The log subscriber.
#[derive(Debug, Clone, Copy)]
pub struct LogEvents {
    /// Escape client-chosen values here (false where the log's formatter
    /// escapes every field itself, as ferryd's does: escaping twice would
    /// show `\\x1b` for an ESC, and JSON logs would lose the real value).
    escape: bool,
    /// Log logins and logouts too (false where the front door logs them in
    /// its own session span, as the FTP server does).
    sessions: bool,
}

impl Default for LogEvents {
    fn default() -> Self {
        LogEvents { escape: true, sessions: true }
    }
}

impl LogEvents {
    /// Every event, client-chosen values escaped.
    pub fn new() -> LogEvents {
        LogEvents::default()
    }

    /// For a log whose formatter escapes every field and whose front door
    /// logs its logins and logouts in its session span (ferryd): values
    /// are written as they are, and session events are left out.
    pub fn for_escaping_formatter() -> LogEvents {
        LogEvents { escape: false, sessions: false }
    }
}

/// A client-chosen value, escaped or not.
struct Value<'a>(&'a str, bool);

impl std::fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.1 { Escaped(self.0).fmt(f) } else { f.write_str(self.0) }
    }
}

impl Subscriber for LogEvents {
    fn event(&self, event: &Event) {
        let name = event.name();
        if !self.sessions && matches!(event.kind, EventKind::LoginOk { .. } | EventKind::LoginFailed { .. } | EventKind::Logout { .. }) {
            return;
        }
        let e = self.escape;
        let Some(actor) = event.actor() else {
            match &event.kind {
                EventKind::Ban { address, until } => {
                    let seconds = until.duration_since(event.at).unwrap_or_default().as_secs();
                    warn!(target: TARGET, event = name, %address, seconds, "address banned after repeated failed logins");
                }
                EventKind::Admin { admin, action, target, peer } => admin_line(name, admin, *action, target.as_deref(), *peer, e),
                _ => {}
            }
            return;
        };
        let (session, protocol, peer, user) = (actor.session.id, actor.session.protocol, actor.session.peer, Value(&actor.user, e));
        macro_rules! line {
            ($level:ident, $($fields:tt)*) => {
                $level!(target: TARGET, event = name, session, protocol, %peer, %user, $($fields)*)
            };
        }
        match &event.kind {
            EventKind::LoginOk { .. } => line!(info, "login ok"),
            EventKind::LoginFailed { reason, .. } => line!(warn, ?reason, "login failed"),
            EventKind::Logout { .. } => line!(info, "logout"),
            EventKind::Upload { transfer: t, size, .. } => {
                line!(info, path = %Value(t.path.as_str(), e), bytes = t.bytes, size, seconds = t.duration.as_secs_f64(), "upload")
            }
            EventKind::UploadFailed { transfer: t, failure, kept, .. } => line!(
                info,
                path = %Value(t.path.as_str(), e),
                bytes = t.bytes,
                reason = %Value(&failure.to_string(), e),
                ?kept,
                "upload failed"
            ),
            EventKind::Download { transfer: t, failure: None, .. } => {
                line!(info, path = %Value(t.path.as_str(), e), bytes = t.bytes, seconds = t.duration.as_secs_f64(), "download")
            }
            EventKind::Download { transfer: t, failure: Some(failure), .. } => line!(
                info,
                path = %Value(t.path.as_str(), e),
                bytes = t.bytes,
                reason = %Value(&failure.to_string(), e),
                "download incomplete"
            ),
            EventKind::Delete { path, size, .. } => line!(info, path = %Value(path.as_str(), e), size, "deleted"),
            EventKind::Rename { from, to, .. } => line!(info, from = %Value(from.as_str(), e), to = %Value(to.as_str(), e), "renamed"),
            EventKind::Mkdir { path, .. } => line!(info, path = %Value(path.as_str(), e), "folder created"),
            EventKind::Rmdir { path, .. } => line!(info, path = %Value(path.as_str(), e), "folder removed"),
            EventKind::Ban { .. } | EventKind::Admin { .. } => {}
        }
    }
}

/// What an administrator did: one line naming them. Their name (a failed
/// sign-in's is anyone's guess) and the target come from a client.
fn admin_line(name: &'static str, admin: &str, action: AdminAction, target: Option<&str>, peer: Option<SocketAddr>, e: bool) {
    let admin = Value(admin, e);
    let target = target.map(|t| tracing::field::display(Value(t, e)));
    let peer = peer.map(tracing::field::display);
    if action == AdminAction::LoginFailed {
        warn!(target: TARGET, event = name, %admin, peer, "admin sign-in refused");
    } else {
        info!(target: TARGET, event = name, %admin, action = action.as_str(), target, peer, "admin action");
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use ferry_proto::VirtualPath;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::events::{Actor, Events, Failure, SessionInfo, Transfer};
    use crate::storage::PartialOutcome;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// What `emit` writes with tracing-subscriber's plain text format.
    fn logged(emit: impl FnOnce(&Events)) -> String {
        let buf = Buffer::default();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(buf.clone()).finish();
        let events = Events::new();
        events.subscribe(Arc::new(LogEvents::new()));
        tracing::subscriber::with_default(subscriber, || emit(&events));
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    fn session() -> SessionInfo {
        SessionInfo { id: 42, protocol: "ftp", peer: "192.0.2.1:4000".parse().unwrap() }
    }

    #[test]
    fn one_line_per_event_with_what_happened() {
        let out = logged(|e| {
            e.login_ok(&session(), "alice");
            e.emit_now(EventKind::Upload {
                actor: Actor { session: session(), user: "alice".into() },
                transfer: Transfer {
                    path: VirtualPath::root().resolve("/docs/a b.txt").unwrap(),
                    bytes: 5,
                    ascii: false,
                    duration: Duration::from_millis(1500),
                },
                size: 5,
                sha256: None,
            });
            e.ban("192.0.2.9".parse().unwrap(), std::time::SystemTime::now() + Duration::from_secs(900));
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines[0].contains("INFO ferry::event: login ok event=\"login_ok\" session=42 protocol=\"ftp\" peer=192.0.2.1:4000 user=alice"),
            "{out}"
        );
        assert!(lines[1].contains("upload") && lines[1].contains("path=/docs/a b.txt bytes=5 size=5 seconds=1.5"), "{out}");
        assert!(
            lines[2].contains("WARN ferry::event: address banned")
                && (lines[2].contains("address=192.0.2.9 seconds=899") || lines[2].contains("address=192.0.2.9 seconds=900")),
            "{out}"
        );
    }

    #[test]
    fn names_and_paths_from_clients_cannot_forge_lines() {
        let hostile = "evil\r\n2026-01-01T00:00:00Z  INFO ferry::event: login ok user=root\x1b[2J";
        let out = logged(|e| {
            e.login_failed(&session(), hostile, crate::events::LoginFailure::Incorrect);
            e.emit_now(EventKind::UploadFailed {
                actor: Actor { session: session(), user: hostile.into() },
                transfer: Transfer {
                    path: VirtualPath::root().resolve(&format!("/{}", hostile.replace('/', "_"))).unwrap(),
                    bytes: 0,
                    ascii: false,
                    duration: Duration::ZERO,
                },
                failure: Failure::Error(hostile.to_owned()),
                kept: PartialOutcome::Discarded,
            });
        });
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(!out.trim_end().chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("user=evil\\r\\n2026"), "{out}");
        assert!(out.contains("reason=evil\\r\\n2026"), "{out}");
        assert!(out.contains("\\x1b[2J"), "{out}");
    }

    #[test]
    fn admin_events_are_one_escaped_line_naming_the_admin() {
        let peer = "192.0.2.5:51000".parse().ok();
        let out = logged(|e| {
            e.admin("root", AdminAction::UserDelete, Some("carol"), peer);
            e.admin("root", AdminAction::Reload, None, None);
            e.admin("evil\r\nINFO forged", AdminAction::LoginFailed, None, peer);
            e.admin("root", AdminAction::UserCreate, Some("x\ny"), None);
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[0].contains(
                "INFO ferry::event: admin action event=\"admin_user_delete\" admin=root action=\"user_delete\" target=carol peer=192.0.2.5:51000"
            ),
            "{out}"
        );
        assert!(lines[1].ends_with("admin action event=\"admin_reload\" admin=root action=\"reload\""), "{out}");
        assert!(
            lines[2].contains("WARN ferry::event: admin sign-in refused event=\"admin_login_failed\" admin=evil\\r\\nINFO forged peer="),
            "{out}"
        );
        assert!(lines[3].contains("target=x\\ny"), "{out}");
    }
}
