//! How `ls` shows a folder: one aligned line per entry, from `MLSD` where
//! the server offers it (else its `LIST` parsed), the same in the shell and
//! in `ferry ls URL`:
//!
//! ```text
//! drwxr-xr-x        -  2026-11-26 05:03  upload/
//! -rw-r--r--       22  2026-11-26 05:03  hello.txt
//! ```
//!
//! Names come from the server, so control characters in them are shown
//! escaped (`\x1b`), never sent to the terminal as they are.

use std::fmt::Write as _;
use std::time::SystemTime;

use ferry_proto::listing::{Entry, Kind};

/// `name` with control characters (and backslashes) escaped, so that a
/// hostile name cannot move the cursor or rewrite the screen.
pub(crate) fn printable(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `2026-11-26 05:03` (UTC), or blanks when the time is unknown.
fn short_time(t: Option<SystemTime>) -> String {
    match t {
        Some(t) => {
            let c = ferry_proto::time::civil(t);
            format!("{:04}-{:02}-{:02} {:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute)
        }
        None => " ".repeat(16),
    }
}

/// `2026-11-26T05:03:09Z`: a time for `--json`.
pub(crate) fn iso_time(t: SystemTime) -> String {
    let c = ferry_proto::time::civil(t);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// `drwxr-xr-x`: the kind, then the permission bits when known.
fn mode_string(e: &Entry) -> String {
    let kind = match e.kind {
        Kind::Dir => 'd',
        Kind::Symlink => 'l',
        Kind::File => '-',
        Kind::Other => '?',
    };
    let mut out = String::from(kind);
    match e.mode {
        Some(m) => {
            for (i, c) in "rwxrwxrwx".chars().enumerate() {
                out.push(if m & (0o400 >> i) != 0 { c } else { '-' });
            }
        }
        None => out.push_str("         "),
    }
    out
}

/// The long listing of `entries`, sorted by name, one line each, folders
/// ending with `/`.
pub(crate) fn long(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let sizes: Vec<String> = sorted.iter().map(|e| if e.kind == Kind::Dir { "-".to_owned() } else { e.size.to_string() }).collect();
    let width = sizes.iter().map(String::len).max().unwrap_or(1).max(8);
    let mut out = String::new();
    for (e, size) in sorted.iter().zip(&sizes) {
        let mark = match e.kind {
            Kind::Dir => "/",
            _ => "",
        };
        let _ = write!(out, "{}  {size:>width$}  {}  {}{mark}", mode_string(e), short_time(e.modified), printable(&e.name));
        if let Some(target) = &e.link_target {
            let _ = write!(out, " -> {}", printable(target));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn aligned_long_lines() {
        let t = UNIX_EPOCH + Duration::from_secs(1_764_133_380); // 2025-11-26 05:03 UTC
        let mut dir = Entry::new("upload", Kind::Dir);
        dir.mode = Some(0o755);
        dir.modified = Some(t);
        let mut file = Entry::new("hello.txt", Kind::File);
        file.size = 22;
        file.mode = Some(0o644);
        file.modified = Some(t);
        let mut big = Entry::new("big.bin", Kind::File);
        big.size = 1_073_741_824;
        assert_eq!(
            long(&[dir, file, big]),
            "-           1073741824                    big.bin\n\
             -rw-r--r--          22  2025-11-26 05:03  hello.txt\n\
             drwxr-xr-x           -  2025-11-26 05:03  upload/\n"
        );
        assert_eq!(iso_time(t), "2025-11-26T05:03:00Z");
    }

    #[test]
    fn hostile_names_are_escaped() {
        assert_eq!(printable("a\x1b[2Jb\r\n\\"), "a\\x1b[2Jb\\x0d\\x0a\\\\");
        let e = Entry::new("evil\x07", Kind::File);
        assert!(long(&[e]).contains("evil\\x07"));
    }
}
