//! The transfer log in the xferlog format that wu-ftpd, ProFTPD and vsftpd
//! write, so existing log analysers work. One line per file transfer:
//!
//! ```text
//! Thu Nov 26 06:30:00 2026 1 127.0.0.1 1048576 /docs/report.pdf b _ o r alice ftp 0 * c
//! ```
//!
//! Fields: time, seconds taken, remote host, bytes, file name, type (`a`
//! ascii, `b` binary), special action (`_`), direction (`o` out, `i` in),
//! access mode (`a` anonymous, `r` real user), user, service, authentication
//! method (`0`), authenticated user id (`*`), status (`c` complete, `i`
//! incomplete). Times are UTC. White space inside a file name would split
//! the field, so it is written as `_`; control characters in the name and
//! the user (a CR or an escape sequence a client chose) are escaped as in
//! the other logs (`\r`, `\x1b`: see `crate::log_escape`), so that every
//! record is one line of printable text.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ferry_proto::time::{self, MONTHS};

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
    /// Whether the whole file was moved.
    pub complete: bool,
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Format one xferlog line (no line end).
pub fn format(r: &Record<'_>) -> String {
    let c = time::civil(r.at);
    let day = DAYS[(time::unix_seconds(r.at).div_euclid(86_400).rem_euclid(7)) as usize];
    let (name, user) = (field(r.path), field(r.user));
    format!(
        "{day} {} {:>2} {:02}:{:02}:{:02} {} {} {} {} {name} {} _ {} {} {} ftp 0 * {}",
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
        if let Ok(mut f) = self.file.lock()
            && let Err(e) = f.write_all(line.as_bytes())
        {
            tracing::error!(error = %e, "cannot write the transfer log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            complete: true,
        };
        let line = format(&r);
        assert!(line.ends_with(" 1 /\\x1b[31mred\\r\\n\\tfake_line\\u{9b}_x b _ i r ev_il\\r ftp 0 * c"), "{line}");
        assert!(!line.chars().any(char::is_control));
        assert_eq!(line.split(' ').filter(|f| !f.is_empty()).count(), 18, "{line}");
    }
}
