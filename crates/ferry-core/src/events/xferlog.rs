//! The transfer log in the xferlog format that wu-ftpd, ProFTPD and vsftpd
//! write, so existing log analysers work: a subscriber that writes one
//! line per finished (or failed) upload and download event.
//!
//! ```text
//! Thu Nov 26 06:30:00 2026 1 127.0.0.1 1048576 /docs/report.pdf b _ o r alice ftp 0 * c
//! ```
//!
//! Fields: time, seconds taken, remote host, bytes, file name, type (`a`
//! ascii, `b` binary), special action (`_`), direction (`o` out, `i` in),
//! access mode (`a` anonymous, `r` real user), user, service (the
//! protocol: `ftp`), authentication method (`0`), authenticated user id
//! (`*`), status (`c` complete, `i` incomplete). Times are UTC. White space
//! inside a file name would split the field, so it is written as `_`;
//! control characters in the name and the user (a CR or an escape sequence
//! a client chose) are escaped as in the other logs (`\r`, `\x1b`: see
//! [`crate::log_escape`]), so that every record is one line of printable
//! text.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ferry_proto::addr::canonical_ip;
use ferry_proto::time::{self, MONTHS};

use super::{Event, EventKind, Failure, Subscriber};

/// One finished (or failed) transfer.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// When it ended.
    pub at: SystemTime,
    /// How long it took.
    pub took: Duration,
    /// The client's address.
    pub host: IpAddr,
    /// Bytes moved.
    pub bytes: u64,
    /// The file, as the user sees it.
    pub path: &'a str,
    /// ASCII mode.
    pub ascii: bool,
    /// True for uploads.
    pub incoming: bool,
    /// The user name (`anonymous` for anonymous sessions).
    pub user: &'a str,
    /// The service: the protocol of the session (`ftp`).
    pub service: &'a str,
    /// Whether the whole file was moved.
    pub complete: bool,
}

impl<'a> Record<'a> {
    /// The record of a transfer event; `None` for every other event.
    pub fn of(event: &'a Event) -> Option<Record<'a>> {
        let (actor, transfer, incoming, complete) = match &event.kind {
            // Refused before it started: no transfer to log.
            EventKind::UploadFailed { failure: Failure::NotStarted, .. }
            | EventKind::Download { failure: Some(Failure::NotStarted), .. } => {
                return None;
            }
            EventKind::Upload { actor, transfer, .. } => (actor, transfer, true, true),
            EventKind::UploadFailed { actor, transfer, .. } => (actor, transfer, true, false),
            EventKind::Download { actor, transfer, failure } => (actor, transfer, false, failure.is_none()),
            _ => return None,
        };
        Some(Record {
            at: event.at,
            took: transfer.duration,
            host: canonical_ip(actor.session.peer.ip()),
            bytes: transfer.bytes,
            path: transfer.path.as_str(),
            ascii: transfer.ascii,
            incoming,
            user: &actor.user,
            service: actor.session.protocol,
            complete,
        })
    }
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Format one xferlog line (no line end).
pub fn format(r: &Record<'_>) -> String {
    let c = time::civil(r.at);
    let day = DAYS[(time::unix_seconds(r.at).div_euclid(86_400).rem_euclid(7)) as usize];
    let (name, user, service) = (field(r.path), field(r.user), field(r.service));
    format!(
        "{day} {} {:>2} {:02}:{:02}:{:02} {} {} {} {} {name} {} _ {} {} {} {service} 0 * {}",
        MONTHS[(c.month - 1) as usize],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year,
        r.took.as_secs().max(1),
        r.host,
        r.bytes,
        if r.ascii { 'a' } else { 'b' },
        if r.incoming { 'i' } else { 'o' },
        if r.user == "anonymous" { 'a' } else { 'r' },
        user,
        if r.complete { 'c' } else { 'i' },
    )
}

/// One field without spaces: control characters escaped (escapes hold no
/// white space), then the other white space written as `_`.
fn field(s: &str) -> String {
    crate::log_escape::escape(s).chars().map(|ch| if ch.is_whitespace() { '_' } else { ch }).collect()
}

/// An open transfer log.
#[derive(Debug)]
pub struct XferLog {
    file: Mutex<std::fs::File>,
}

impl XferLog {
    /// Open (append to) the log file.
    pub fn open(path: &Path) -> std::io::Result<XferLog> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(XferLog { file: Mutex::new(file) })
    }

    /// Append one record; a failed write is logged, never fatal.
    pub fn write(&self, r: &Record<'_>) {
        let line = format!("{}\n", format(r));
        // One write of the whole line to a file opened for appending: lines
        // of concurrent transfers never interleave.
        if let Err(e) = crate::sync::lock(&self.file).write_all(line.as_bytes()) {
            tracing::error!(error = %e, "cannot write the transfer log");
        }
    }
}

impl Subscriber for XferLog {
    fn event(&self, event: &Event) {
        if let Some(record) = Record::of(event) {
            self.write(&record);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferry_proto::VirtualPath;

    use super::*;
    use crate::events::{Actor, Events, Failure, SessionInfo, Transfer};
    use crate::storage::PartialOutcome;

    #[test]
    fn line_format() {
        let at = time::parse_timeval("20261126063000").unwrap();
        let r = Record {
            at,
            took: Duration::from_millis(300),
            host: "127.0.0.1".parse().unwrap(),
            bytes: 1_048_576,
            path: "/docs/my report.pdf",
            ascii: false,
            incoming: false,
            user: "alice",
            service: "ftp",
            complete: true,
        };
        assert_eq!(format(&r), "Thu Nov 26 06:30:00 2026 1 127.0.0.1 1048576 /docs/my_report.pdf b _ o r alice ftp 0 * c");
        let up = Record { incoming: true, ascii: true, user: "anonymous", complete: false, ..r };
        assert!(format(&up).ends_with(" a _ i a anonymous ftp 0 * i"), "{}", format(&up));
        assert!(format(&Record { at: std::time::UNIX_EPOCH, ..up }).starts_with("Thu Jan  1 00:00:00 1970"));
    }

    #[test]
    fn control_characters_are_escaped_and_white_space_never_splits_a_field() {
        let r = Record {
            at: std::time::UNIX_EPOCH,
            took: Duration::ZERO,
            host: "127.0.0.1".parse().unwrap(),
            bytes: 1,
            path: "/\x1b[31mred\r\n\tfake line\u{9b}\u{a0}x",
            ascii: false,
            incoming: true,
            user: "ev il\r",
            service: "ftp",
            complete: true,
        };
        let line = format(&r);
        assert!(line.ends_with(" 1 /\\x1b[31mred\\r\\n\\tfake_line\\u{9b}_x b _ i r ev_il\\r ftp 0 * c"), "{line}");
        assert!(!line.chars().any(char::is_control));
        assert_eq!(line.split(' ').filter(|f| !f.is_empty()).count(), 18, "{line}");
    }

    fn transfer(path: &str, bytes: u64) -> Transfer {
        Transfer { path: VirtualPath::root().resolve(path).unwrap(), bytes, ascii: false, duration: Duration::from_secs(2) }
    }

    #[test]
    fn transfer_events_become_lines_and_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xferlog");
        let events = Events::new();
        events.subscribe(Arc::new(XferLog::open(&path).unwrap()));
        // An IPv4 client seen through an IPv6 socket is logged as IPv4.
        let session = SessionInfo { id: 1, protocol: "ftp", peer: "[::ffff:192.0.2.1]:5000".parse().unwrap() };
        let actor = Actor { session, user: "alice".into() };
        events.login_ok(&actor.session, "alice");
        events.emit_now(EventKind::Download { actor: actor.clone(), transfer: transfer("/down.bin", 1234), failure: None });
        events.emit_now(EventKind::Upload { actor: actor.clone(), transfer: transfer("/my file.txt", 5), size: 5, sha256: None });
        events.emit_now(EventKind::UploadFailed {
            actor: actor.clone(),
            transfer: transfer("/part.bin", 100),
            failure: Failure::Interrupted,
            kept: PartialOutcome::KeptForResume,
        });
        events.emit_now(EventKind::Download {
            actor: actor.clone(),
            transfer: transfer("/big.iso", 7),
            failure: Some(Failure::NoConnection),
        });
        // Refused before it started: no transfer took place.
        events.emit_now(EventKind::Download {
            actor: actor.clone(),
            transfer: transfer("/never.iso", 0),
            failure: Some(Failure::NotStarted),
        });
        events.emit_now(EventKind::Mkdir { actor, path: VirtualPath::root() });
        events.admin("root", crate::events::AdminAction::UserDelete, Some("alice"), None);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "only transfers:\n{text}");
        assert!(lines[0].ends_with(" 2 192.0.2.1 1234 /down.bin b _ o r alice ftp 0 * c"), "{}", lines[0]);
        assert!(lines[1].ends_with(" 2 192.0.2.1 5 /my_file.txt b _ i r alice ftp 0 * c"), "{}", lines[1]);
        assert!(lines[2].ends_with(" 2 192.0.2.1 100 /part.bin b _ i r alice ftp 0 * i"), "{}", lines[2]);
        assert!(lines[3].ends_with(" 2 192.0.2.1 7 /big.iso b _ o r alice ftp 0 * i"), "{}", lines[3]);
    }
}
