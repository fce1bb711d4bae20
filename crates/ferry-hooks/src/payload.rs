//! The event as hooks receive it: JSON, **version 1**.
//!
//! One object per event. Webhooks get it as the request body; commands on
//! standard input (and, in part, as `FERRY_*` variables). Within a version,
//! fields are only ever added, never renamed, retyped or removed: read
//! what you know and ignore the rest.
//!
//! | field | type | when | meaning |
//! |---|---|---|---|
//! | `version` | number | always | `1` |
//! | `id` | string | always | 32 hex digits, unique, the same on every retry: de-duplicate by it |
//! | `time` | string | always | when it happened, RFC 3339 UTC with milliseconds (`2026-05-04T10:11:12.345Z`) |
//! | `event` | string | always | `login`, `login-failed`, `logout`, `upload`, `upload-failed`, `download`, `delete`, `rename`, `mkdir`, `rmdir`, `ban`, and the `admin-*` events: `admin-login`, `admin-login-failed`, `admin-user-create`, `admin-user-update`, `admin-user-delete`, `admin-session-kick`, `admin-unban`, `admin-reload`, `admin-token-create`, `admin-token-revoke` |
//! | `user` | string | all but `ban` and `admin-*` | the user name (for `login-failed`, the name tried) |
//! | `protocol` | string | all but `ban` and `admin-*` | `ftp` (later `sftp`, ...) |
//! | `peer` | string | all but `ban`; `admin-*` when known | the client's (or the admin's) `address:port` (`[v6]:port`) |
//! | `session` | number | all but `ban` and `admin-*` | the front-end's session number |
//! | `path` | string | file events | the virtual path (the user's home is `/`); for `rename` the new name |
//! | `size` | number | `upload`, `upload-failed`, `download`, `delete` | the committed file's size; the bytes that arrived; the bytes sent; the size before deletion |
//! | `sha256` | string | `upload`, when the hook asks for `digest = "sha256"` | lowercase hex SHA-256 of the committed file |
//! | `from`, `to` | string | `rename` | the old and new virtual path |
//! | `reason` | string | `login-failed`, `upload-failed`, a `download` that did not complete | why (`incorrect`, `disabled`, `expired`, `network`, `unavailable` for logins; a sentence for transfers) |
//! | `address` | string | `ban` | the banned IP address |
//! | `until` | string | `ban` | when the ban ends, RFC 3339 UTC |
//! | `admin` | string | `admin-*` | the administrator (for `admin-login-failed`, the name tried) |
//! | `target` | string | `admin-*`, when the action has one | what it was done to: the user (`admin-user-*`), the session number (`admin-session-kick`), the address (`admin-unban`), the token's name (`admin-token-*`) |
//!
//! Fields that do not apply are left out, never `null`. An example:
//!
//! ```json
//! {"version":1,"id":"0018a2b3c4d5e6f7a1b2c3d4e5f60718","time":"2026-05-04T10:11:12.345Z","event":"upload",
//!  "user":"alice","protocol":"ftp","peer":"192.0.2.1:40000","session":7,"path":"/incoming/a.csv","size":1234}
//! ```

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_core::events::{Event, EventKind, LoginFailure};
use serde::{Deserialize, Serialize};

use crate::event_name::HookEvent;

/// The version of the JSON this crate writes.
pub const VERSION: u32 = 1;

/// One event, as hooks see it (see the module docs for each field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Payload {
    /// The schema version, [`VERSION`].
    pub version: u32,
    /// Unique, stable across retries.
    pub id: String,
    /// RFC 3339 UTC.
    pub time: String,
    /// What happened.
    pub event: HookEvent,
    /// Who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Over which protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// From where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// In which session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    /// On which file or folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How big.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The SHA-256 of an upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A rename's old name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A rename's new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A ban's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A ban's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The administrator of an `admin-*` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// What an administrator's action was done to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The password tried: `pre-login` only, and only to a command, an
    /// `https://` URL or a loopback address (never spooled or logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl Payload {
    /// The payload of `event`, under a new id.
    pub fn from_event(event: &Event) -> Payload {
        Payload::with_id(event, new_id(event.at))
    }

    /// The payload of `event` under `id` (tests pin the JSON with a fixed one).
    pub fn with_id(event: &Event, id: String) -> Payload {
        let (name, mut p) = match &event.kind {
            EventKind::LoginOk { .. } => (HookEvent::Login, Fields::default()),
            EventKind::LoginFailed { reason, .. } => {
                (HookEvent::LoginFailed, Fields { reason: Some(login_reason(*reason).into()), ..Fields::default() })
            }
            EventKind::Logout { .. } => (HookEvent::Logout, Fields::default()),
            EventKind::Upload { transfer, size, sha256, .. } => (
                HookEvent::Upload,
                Fields { path: Some(transfer.path.as_str().into()), size: Some(*size), sha256: sha256.clone(), ..Fields::default() },
            ),
            EventKind::UploadFailed { transfer, failure, .. } => (
                HookEvent::UploadFailed,
                Fields {
                    path: Some(transfer.path.as_str().into()),
                    size: Some(transfer.bytes),
                    reason: Some(failure.to_string()),
                    ..Fields::default()
                },
            ),
            EventKind::Download { transfer, failure, .. } => (
                HookEvent::Download,
                Fields {
                    path: Some(transfer.path.as_str().into()),
                    size: Some(transfer.bytes),
                    reason: failure.as_ref().map(ToString::to_string),
                    ..Fields::default()
                },
            ),
            EventKind::Delete { path, size, .. } => {
                (HookEvent::Delete, Fields { path: Some(path.as_str().into()), size: Some(*size), ..Fields::default() })
            }
            EventKind::Rename { from, to, .. } => (
                HookEvent::Rename,
                Fields {
                    path: Some(to.as_str().into()),
                    from: Some(from.as_str().into()),
                    to: Some(to.as_str().into()),
                    ..Fields::default()
                },
            ),
            EventKind::Mkdir { path, .. } => (HookEvent::Mkdir, Fields { path: Some(path.as_str().into()), ..Fields::default() }),
            EventKind::Rmdir { path, .. } => (HookEvent::Rmdir, Fields { path: Some(path.as_str().into()), ..Fields::default() }),
            EventKind::Ban { address, until } => {
                (HookEvent::Ban, Fields { address: Some(address.to_string()), until: Some(rfc3339(*until)), ..Fields::default() })
            }
            EventKind::Admin { admin, action, target, peer } => (
                HookEvent::of_admin(*action),
                Fields { admin: Some(admin.to_string()), target: target.clone(), peer: peer.map(|p| p.to_string()), ..Fields::default() },
            ),
        };
        let actor = event.actor();
        Payload {
            version: VERSION,
            id,
            time: rfc3339(event.at),
            event: name,
            user: actor.map(|a| a.user.to_string()),
            protocol: actor.map(|a| a.session.protocol.to_string()),
            peer: actor.map(|a| a.session.peer.to_string()).or(p.peer),
            session: actor.map(|a| a.session.id),
            path: p.path.take(),
            size: p.size,
            sha256: p.sha256,
            from: p.from,
            to: p.to,
            reason: p.reason,
            address: p.address,
            until: p.until,
            admin: p.admin,
            target: p.target,
            password: None,
        }
    }

    /// A payload of `event` at `at` with only the fields every event has:
    /// the hooks that decide (`pre-upload`, `pre-login`) fill in the rest.
    pub fn bare(event: HookEvent, at: SystemTime) -> Payload {
        Payload {
            version: VERSION,
            id: new_id(at),
            time: rfc3339(at),
            event,
            user: None,
            protocol: None,
            peer: None,
            session: None,
            path: None,
            size: None,
            sha256: None,
            from: None,
            to: None,
            reason: None,
            address: None,
            until: None,
            admin: None,
            target: None,
            password: None,
        }
    }

    /// The JSON, as delivered.
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings and numbers always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The per-kind fields, gathered before the payload is assembled.
#[derive(Default)]
struct Fields {
    path: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    from: Option<String>,
    to: Option<String>,
    reason: Option<String>,
    address: Option<String>,
    until: Option<String>,
    admin: Option<String>,
    target: Option<String>,
    /// An admin's address (a session's comes with its actor).
    peer: Option<String>,
}

fn login_reason(reason: LoginFailure) -> &'static str {
    match reason {
        LoginFailure::Incorrect => "incorrect",
        LoginFailure::Disabled => "disabled",
        LoginFailure::Expired => "expired",
        LoginFailure::NotAllowed => "network",
        LoginFailure::Unavailable => "unavailable",
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339(t: SystemTime) -> String {
    let c = ferry_proto::time::civil(t);
    let millis = t.duration_since(UNIX_EPOCH).map(|d| d.subsec_millis()).unwrap_or(0);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis:03}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// A new event id: the event's time in nanoseconds (so ids sort roughly
/// by time) and 64 random bits, as 32 hex digits. The random half comes
/// from the standard library's per-process random hash keys, mixed with a
/// counter, so two events in the same nanosecond still differ.
pub fn new_id(at: SystemTime) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = at.duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u64(nanos);
    format!("{nanos:016x}{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use ferry_core::events::{Actor, AdminAction, Failure, SessionInfo, Transfer};
    use ferry_core::storage::PartialOutcome;
    use ferry_proto::VirtualPath;

    use super::*;

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_777_889_472_345)
    }

    fn actor() -> Actor {
        Actor { session: SessionInfo { id: 7, protocol: "ftp", peer: "192.0.2.1:40000".parse().unwrap() }, user: Arc::from("alice") }
    }

    fn path(p: &str) -> VirtualPath {
        VirtualPath::root().resolve(p).unwrap()
    }

    fn transfer(p: &str, bytes: u64) -> Transfer {
        Transfer { path: path(p), bytes, ascii: false, duration: Duration::from_millis(5) }
    }

    fn json(kind: EventKind) -> String {
        String::from_utf8(Payload::with_id(&Event { at: at(), kind }, "00".repeat(16)).to_json()).unwrap()
    }

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const HEAD: &str = r#"{"version":1,"id":"00000000000000000000000000000000","time":"2026-05-04T10:11:12.345Z","#;
    const WHO: &str = r#""user":"alice","protocol":"ftp","peer":"192.0.2.1:40000","session":7"#;

    #[test]
    fn the_json_of_each_event_kind_is_pinned() {
        let cases = [
            (EventKind::LoginOk { actor: actor() }, format!(r#"{HEAD}"event":"login",{WHO}}}"#)),
            (
                EventKind::LoginFailed { actor: actor(), reason: LoginFailure::Incorrect },
                format!(r#"{HEAD}"event":"login-failed",{WHO},"reason":"incorrect"}}"#),
            ),
            (
                EventKind::LoginFailed { actor: actor(), reason: LoginFailure::Expired },
                format!(r#"{HEAD}"event":"login-failed",{WHO},"reason":"expired"}}"#),
            ),
            (
                EventKind::LoginFailed { actor: actor(), reason: LoginFailure::NotAllowed },
                format!(r#"{HEAD}"event":"login-failed",{WHO},"reason":"network"}}"#),
            ),
            (EventKind::Logout { actor: actor() }, format!(r#"{HEAD}"event":"logout",{WHO}}}"#)),
            (
                EventKind::Upload { actor: actor(), transfer: transfer("/incoming/a.csv", 1234), size: 1234, sha256: None },
                format!(r#"{HEAD}"event":"upload",{WHO},"path":"/incoming/a.csv","size":1234}}"#),
            ),
            (
                EventKind::Upload { actor: actor(), transfer: transfer("/e", 0), size: 0, sha256: Some(EMPTY_SHA256.into()) },
                format!(r#"{HEAD}"event":"upload",{WHO},"path":"/e","size":0,"sha256":"{EMPTY_SHA256}"}}"#),
            ),
            (
                EventKind::UploadFailed {
                    actor: actor(),
                    transfer: transfer("/b.bin", 10),
                    failure: Failure::Interrupted,
                    kept: PartialOutcome::Discarded,
                },
                format!(r#"{HEAD}"event":"upload-failed",{WHO},"path":"/b.bin","size":10,"reason":"interrupted"}}"#),
            ),
            (
                EventKind::Download { actor: actor(), transfer: transfer("/c", 99), failure: None },
                format!(r#"{HEAD}"event":"download",{WHO},"path":"/c","size":99}}"#),
            ),
            (
                EventKind::Download { actor: actor(), transfer: transfer("/c", 9), failure: Some(Failure::Connection("reset".into())) },
                format!(r#"{HEAD}"event":"download",{WHO},"path":"/c","size":9,"reason":"connection lost: reset"}}"#),
            ),
            (
                EventKind::Delete { actor: actor(), path: path("/d \"q\""), size: 5 },
                format!(r#"{HEAD}"event":"delete",{WHO},"path":"/d \"q\"","size":5}}"#),
            ),
            (
                EventKind::Rename { actor: actor(), from: path("/x.tmp"), to: path("/in/x") },
                format!(r#"{HEAD}"event":"rename",{WHO},"path":"/in/x","from":"/x.tmp","to":"/in/x"}}"#),
            ),
            (EventKind::Mkdir { actor: actor(), path: path("/new") }, format!(r#"{HEAD}"event":"mkdir",{WHO},"path":"/new"}}"#)),
            (EventKind::Rmdir { actor: actor(), path: path("/old") }, format!(r#"{HEAD}"event":"rmdir",{WHO},"path":"/old"}}"#)),
            (
                EventKind::Ban { address: "2001:db8::1".parse().unwrap(), until: at() + Duration::from_secs(3600) },
                format!(r#"{HEAD}"event":"ban","address":"2001:db8::1","until":"2026-05-04T11:11:12.345Z"}}"#),
            ),
        ];
        for (kind, want) in cases {
            assert_eq!(json(kind), want);
        }
    }

    #[test]
    fn the_json_of_admin_events_is_pinned() {
        let admin = |action, target: Option<&str>, peer: Option<&str>| EventKind::Admin {
            admin: Arc::from("root"),
            action,
            target: target.map(Into::into),
            peer: peer.map(|p| p.parse().unwrap()),
        };
        let cases = [
            (
                admin(AdminAction::UserCreate, Some("carol"), Some("192.0.2.9:51000")),
                format!(r#"{HEAD}"event":"admin-user-create","peer":"192.0.2.9:51000","admin":"root","target":"carol"}}"#),
            ),
            (
                admin(AdminAction::SessionKick, Some("17"), Some("[2001:db8::5]:443")),
                format!(r#"{HEAD}"event":"admin-session-kick","peer":"[2001:db8::5]:443","admin":"root","target":"17"}}"#),
            ),
            (admin(AdminAction::Reload, None, None), format!(r#"{HEAD}"event":"admin-reload","admin":"root"}}"#)),
            (
                admin(AdminAction::LoginFailed, None, Some("192.0.2.9:51000")),
                format!(r#"{HEAD}"event":"admin-login-failed","peer":"192.0.2.9:51000","admin":"root"}}"#),
            ),
        ];
        for (kind, want) in cases {
            assert_eq!(json(kind), want);
        }
        let p = Payload::from_event(&Event { at: at(), kind: admin(AdminAction::Unban, Some("192.0.2.7"), None) });
        assert_eq!((&p.user, p.session, &p.protocol), (&None, None, &None), "an admin is no FTP user");
        let back: Payload = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!((back.event, back.admin.as_deref(), back.target.as_deref()), (HookEvent::AdminUnban, Some("root"), Some("192.0.2.7")));
    }

    #[test]
    fn the_json_reads_back() {
        let p = Payload::from_event(&Event { at: at(), kind: EventKind::Rename { actor: actor(), from: path("/a"), to: path("/b") } });
        let back: Payload = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn ids_are_32_hex_digits_and_differ_even_in_the_same_nanosecond() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| new_id(at())).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
    }

    #[test]
    fn rfc3339_before_and_after_the_epoch_second() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_millis(951_782_400_007)), "2000-02-29T00:00:00.007Z");
    }
}
