//! Directory listing lines.
//!
//! - [`format_unix`] / [`parse_unix`]: the `ls -l` form that `LIST` has sent
//!   since the 1980s and that every client parses (RFC 959 leaves the format
//!   open; this is the de-facto one). [`parse_dos`] reads the IIS/Windows form.
//! - [`format_mlsx`] / [`parse_mlsx`]: RFC 3659 §7 fact lines for `MLSD` and
//!   `MLST`, which are machine-readable and exact.
//!
//! A listing is a stream of CRLF-terminated lines, and neither form can
//! carry a CR or LF inside a name: a name holding `\r\n226 …` would forge
//! lines. Servers should leave such entries out ([`breaks_line`] tells
//! them); as a last defence the formatters here write `?` for those two
//! characters, so no entry ever spans two lines.

use std::cell::Cell;
use std::time::SystemTime;

use crate::time::{self, Civil, MONTHS};

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (shown only in `LIST`; `MLSx` reports the target type).
    Symlink,
    /// Anything else (device, fifo, socket).
    Other,
}

/// One entry of a listing, as both sides see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name (no slashes), or a path for `MLST`.
    pub name: String,
    /// File, folder, link.
    pub kind: Kind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification.
    pub modified: Option<SystemTime>,
    /// Unix permission bits (`0o755`), if known.
    pub mode: Option<u32>,
    /// RFC 3659 `perm` fact letters for this user, e.g. `"adfrw"`.
    pub perm: Option<String>,
    /// RFC 3659 `unique` fact (device and inode), if known.
    pub unique: Option<String>,
    /// Link target, for `LIST` of a symlink.
    pub link_target: Option<String>,
}

impl Entry {
    /// An entry with only a name and kind.
    pub fn new(name: impl Into<String>, kind: Kind) -> Entry {
        Entry { name: name.into(), kind, size: 0, modified: None, mode: None, perm: None, unique: None, link_target: None }
    }
}

impl Entry {
    /// The entry's facts, borrowed, for [`write_unix`] and [`write_mlsx`].
    pub fn view(&self) -> EntryRef<'_> {
        EntryRef {
            name: &self.name,
            kind: self.kind,
            size: self.size,
            modified: self.modified,
            mode: self.mode,
            perm: self.perm.as_deref(),
            unique: self.unique.as_deref(),
            link_target: self.link_target.as_deref(),
        }
    }
}

/// An [`Entry`]'s facts, borrowed: what the line writers read. A server
/// writing a listing of thousands of lines builds one of these per line
/// from what it already holds, with no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// See [`Entry::name`].
    pub name: &'a str,
    /// See [`Entry::kind`].
    pub kind: Kind,
    /// See [`Entry::size`].
    pub size: u64,
    /// See [`Entry::modified`].
    pub modified: Option<SystemTime>,
    /// See [`Entry::mode`].
    pub mode: Option<u32>,
    /// See [`Entry::perm`].
    pub perm: Option<&'a str>,
    /// See [`Entry::unique`].
    pub unique: Option<&'a str>,
    /// See [`Entry::link_target`].
    pub link_target: Option<&'a str>,
}

/// The `ls -l` mode column, e.g. `-rw-r--r--`.
fn push_mode(out: &mut String, kind: Kind, mode: u32) {
    let mut s = [b'-'; 10];
    s[0] = match kind {
        Kind::Dir => b'd',
        Kind::Symlink => b'l',
        Kind::File => b'-',
        Kind::Other => b'?',
    };
    for (i, bit) in (0..9).rev().enumerate() {
        if mode & (1 << bit) != 0 {
            s[1 + i] = b"rwx"[i % 3];
        }
    }
    out.push_str(std::str::from_utf8(&s).expect("ASCII"));
}

/// Two decimal digits of `v` (< 100).
fn push_2(out: &mut String, v: u32) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

/// `v` in decimal, right-aligned in `width` columns (wider if it needs),
/// without `core::fmt`: listings write several numbers per line.
fn push_decimal(out: &mut String, v: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        out.push(' ');
    }
    out.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

/// True if `text` holds a CR or LF, which no listing line or reply line can
/// carry.
pub fn breaks_line(text: &str) -> bool {
    text.bytes().any(|b| b == b'\r' || b == b'\n')
}

/// Append `text` with any CR or LF written as `?`.
fn push_one_line(out: &mut String, text: &str) {
    if breaks_line(text) {
        out.extend(text.chars().map(|c| if matches!(c, '\r' | '\n') { '?' } else { c }));
    } else {
        out.push_str(text);
    }
}

/// Format one `ls -l` line (no line end). Times within six months of `now`
/// show `HH:MM`, older or future ones show the year, as `ls` does. An
/// entry without a modification time (an S3 folder) shows `now`, as other
/// servers do, rather than a made-up 1970.
pub fn format_unix(e: &Entry, now: SystemTime) -> String {
    let mut line = String::with_capacity(80);
    write_unix(&mut line, e.view(), now);
    line
}

/// [`format_unix`] appending to `out` (listings of many entries reuse one
/// buffer instead of allocating per line).
pub fn write_unix(out: &mut String, e: EntryRef<'_>, now: SystemTime) {
    let default_mode = if e.kind == Kind::Dir { 0o755 } else { 0o644 };
    push_mode(out, e.kind, e.mode.unwrap_or(default_mode));
    out.push_str(" 1 ftp      ftp      ");
    push_decimal(out, e.size, 12);
    out.push(' ');
    push_ls_date(out, e.modified.unwrap_or(now), now);
    out.push(' ');
    push_one_line(out, e.name);
    if let Some(t) = e.link_target {
        out.push_str(" -> ");
        push_one_line(out, t);
    }
}

/// The date column of an `ls -l` line: `Nov 20 08:30`, or `Jan  1  2020`
/// for times more than six months old or in the future. The last date
/// written is remembered (per thread), as in [`time::write_timeval`]: the
/// files of a folder often share their second.
fn push_ls_date(out: &mut String, t: SystemTime, now: SystemTime) {
    thread_local! {
        static LAST: Cell<(i64, i64, [u8; 12])> = const { Cell::new((i64::MIN, i64::MIN, [0; 12])) };
    }
    let (secs, now_secs) = (time::unix_seconds(t), time::unix_seconds(now));
    let (last, last_now, text) = LAST.get();
    if (last, last_now) == (secs, now_secs) {
        out.push_str(std::str::from_utf8(&text).expect("ASCII"));
        return;
    }
    let start = out.len();
    let c = time::civil(t);
    out.push_str(MONTHS[(c.month - 1) as usize]);
    out.push(' ');
    push_decimal(out, c.day.into(), 2);
    if (0..183 * 86_400).contains(&(now_secs - secs)) {
        out.push(' ');
        push_2(out, c.hour);
        out.push(':');
        push_2(out, c.minute);
    } else if (0..=9999).contains(&c.year) {
        out.push_str("  ");
        push_decimal(out, c.year.unsigned_abs(), 4);
    } else {
        // Not a real file time: the slow, general way (and not remembered).
        use std::fmt::Write;
        // Writing into a String cannot fail.
        let _ = write!(out, "  {:>4}", c.year);
        return;
    }
    if let Ok(text) = out.as_bytes()[start..].try_into() {
        LAST.set((secs, now_secs, text));
    }
}

/// Parse an `ls -l` line. `now` settles the year of `HH:MM` dates.
/// Returns `None` for lines that are not entries (`total 12`, blank).
pub fn parse_unix(line: &str, now: SystemTime) -> Option<Entry> {
    let mut rest = line.trim_end_matches(['\r', '\n']);
    let mut field = || -> Option<&str> {
        let t = rest.trim_start_matches(' ');
        let end = t.find(' ').unwrap_or(t.len());
        let (f, r) = t.split_at(end);
        rest = r;
        (!f.is_empty()).then_some(f)
    };
    let perms = field()?;
    let kind = match perms.chars().next()? {
        'd' => Kind::Dir,
        'l' => Kind::Symlink,
        '-' => Kind::File,
        'b' | 'c' | 'p' | 's' => Kind::Other,
        _ => return None,
    };
    if perms.len() < 10 {
        return None;
    }
    let mut mode = 0;
    for (i, ch) in perms[1..10].chars().enumerate() {
        if ch != '-' {
            mode |= 1 << (8 - i);
        }
    }
    // links, owner, group (group may be missing on some servers), size
    let mut fields = Vec::new();
    let month_idx = loop {
        let f = field()?;
        if let Some(m) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(f))
            && fields.last().is_some_and(|s: &&str| s.parse::<u64>().is_ok())
        {
            break m;
        }
        fields.push(f);
        if fields.len() > 4 {
            return None;
        }
    };
    let size = fields.last()?.parse().ok()?;
    let day: u32 = field()?.parse().ok()?;
    let year_or_time = field()?;
    let name_part = rest.strip_prefix(' ').unwrap_or(rest);
    if name_part.is_empty() {
        return None;
    }
    let now_c = time::civil(now);
    let (year, hour, minute) = if let Some((h, m)) = year_or_time.split_once(':') {
        let (h, m) = (h.parse().ok()?, m.parse().ok()?);
        // A month later than now's belongs to last year.
        let year = if (month_idx as u32 + 1) > now_c.month + 1 { now_c.year - 1 } else { now_c.year };
        (year, h, m)
    } else {
        (year_or_time.parse().ok()?, 0, 0)
    };
    let modified = time::from_civil(Civil { year, month: month_idx as u32 + 1, day, hour, minute, second: 0 });
    let (name, link_target) = match (kind, name_part.split_once(" -> ")) {
        (Kind::Symlink, Some((n, t))) => (n.to_owned(), Some(t.to_owned())),
        _ => (name_part.to_owned(), None),
    };
    Some(Entry { name, kind, size, modified: Some(modified), mode: Some(mode), perm: None, unique: None, link_target })
}

/// Parse a Windows/IIS `LIST` line: `01-31-24  10:22AM  <DIR>  name` or
/// `01-31-24  10:22AM  1234 name`.
pub fn parse_dos(line: &str) -> Option<Entry> {
    let mut it = line.trim_end().splitn(4, ' ').filter(|s| !s.is_empty());
    let date = it.next()?;
    let mut rest = line.trim_start()[date.len()..].trim_start();
    let time_end = rest.find(' ')?;
    let clock = &rest[..time_end];
    rest = rest[time_end..].trim_start();
    let size_end = rest.find(' ')?;
    let size_field = &rest[..size_end];
    let name = rest[size_end..].trim_start();
    let mut d = date.split(['-', '/']);
    let (m, day, y): (u32, u32, i64) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    let year = if y < 70 {
        2000 + y
    } else if y < 100 {
        1900 + y
    } else {
        y
    };
    let pm = clock.to_ascii_uppercase().ends_with("PM");
    let clock = clock.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let (h, min) = clock.split_once(':')?;
    let (mut hour, minute): (u32, u32) = (h.parse().ok()?, min.parse().ok()?);
    if pm && hour < 12 {
        hour += 12;
    } else if !pm && hour == 12 && line.to_ascii_uppercase().contains("AM") {
        hour = 0;
    }
    if !(1..=12).contains(&m) || name.is_empty() {
        return None;
    }
    let modified = time::from_civil(Civil { year, month: m, day, hour, minute, second: 0 });
    let (kind, size) =
        if size_field.eq_ignore_ascii_case("<DIR>") { (Kind::Dir, 0) } else { (Kind::File, size_field.replace(',', "").parse().ok()?) };
    Some(Entry { modified: Some(modified), size, ..Entry::new(name, kind) })
}

/// Parse a whole `LIST` reply body, the client's side of [`write_unix`]:
/// every line that reads as a Unix `ls -l` entry or, failing that, a
/// DOS/IIS one. Other lines (`total 12`, blanks, banners) are skipped, and
/// so are `.` and `..`, which some servers list. `now` settles the year of
/// `HH:MM` dates.
pub fn parse_list(text: &str, now: SystemTime) -> Vec<Entry> {
    text.lines().filter_map(|l| parse_unix(l, now).or_else(|| parse_dos(l))).filter(|e| e.name != "." && e.name != "..").collect()
}

/// The facts `MLSx` can show, in `FEAT` order (RFC 3659 §7.8).
pub const MLSX_FACTS: [&str; 6] = ["type", "size", "modify", "perm", "unique", "unix.mode"];

/// How to spell a fact in output (`UNIX.mode` keeps its conventional case).
fn fact_label(fact: &str) -> &str {
    if fact == "unix.mode" { "UNIX.mode" } else { fact }
}

/// Which `type` fact value to write for an entry in a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlsxRole {
    /// An ordinary entry.
    Plain,
    /// The listed directory itself (`type=cdir`).
    Current,
    /// Its parent (`type=pdir`).
    Parent,
}

/// Format one fact line (no line end): `fact=value;...; name`. `facts` are
/// the enabled fact names, lower-case.
pub fn format_mlsx(e: &Entry, facts: &[&str], role: MlsxRole) -> String {
    let mut out = String::with_capacity(96);
    write_mlsx(&mut out, e.view(), facts, role);
    out
}

/// [`format_mlsx`] appending to `out`.
pub fn write_mlsx(out: &mut String, e: EntryRef<'_>, facts: &[&str], role: MlsxRole) {
    for &fact in facts {
        let start = out.len();
        out.push_str(fact_label(fact));
        out.push('=');
        let written = match fact {
            "type" => {
                out.push_str(match (role, e.kind) {
                    (MlsxRole::Current, _) => "cdir",
                    (MlsxRole::Parent, _) => "pdir",
                    (_, Kind::Dir) => "dir",
                    (_, Kind::File) => "file",
                    (_, Kind::Symlink) => "OS.unix=symlink",
                    (_, Kind::Other) => "OS.unix=special",
                });
                true
            }
            "size" if e.kind != Kind::Dir => {
                push_decimal(out, e.size, 0);
                true
            }
            "modify" => e.modified.map(|t| time::write_timeval(out, t)).is_some(),
            "perm" => e.perm.map(|p| out.push_str(p)).is_some(),
            "unique" => e.unique.map(|u| out.push_str(u)).is_some(),
            "unix.mode" => e.mode.map(|m| push_octal_mode(out, m & 0o7777)).is_some(),
            _ => false,
        };
        if written {
            out.push(';');
        } else {
            out.truncate(start);
        }
    }
    out.push(' ');
    push_one_line(out, e.name);
}

/// `0` and then `mode` in octal (`0644`, `04755`, `00`), as `0{:o}`
/// would write it.
fn push_octal_mode(out: &mut String, mode: u32) {
    out.push('0');
    let digits = (32 - mode.leading_zeros()).div_ceil(3).max(1);
    for k in (0..digits).rev() {
        out.push(char::from(b'0' + ((mode >> (3 * k)) & 7) as u8));
    }
}

/// Parse a fact line. Unknown facts are ignored; `cdir`/`pdir` entries are
/// returned with their role so a client can skip them.
pub fn parse_mlsx(line: &str) -> Option<(Entry, MlsxRole)> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (facts, name) = line.split_once(' ')?;
    if name.is_empty() {
        return None;
    }
    let mut e = Entry::new(name, Kind::File);
    let mut role = MlsxRole::Plain;
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let (k, v) = fact.split_once('=')?;
        match k.to_ascii_lowercase().as_str() {
            "type" => match v.to_ascii_lowercase().as_str() {
                "file" => e.kind = Kind::File,
                "dir" => e.kind = Kind::Dir,
                "cdir" => (e.kind, role) = (Kind::Dir, MlsxRole::Current),
                "pdir" => (e.kind, role) = (Kind::Dir, MlsxRole::Parent),
                "os.unix=symlink" | "os.unix=slink" => e.kind = Kind::Symlink,
                other if other.starts_with("os.unix=slink") => e.kind = Kind::Symlink,
                _ => e.kind = Kind::Other,
            },
            "size" | "sizd" => e.size = v.parse().ok()?,
            "modify" => e.modified = time::parse_timeval(v),
            "perm" => e.perm = Some(v.to_owned()),
            "unique" => e.unique = Some(v.to_owned()),
            "unix.mode" => e.mode = u32::from_str_radix(v, 8).ok(),
            _ => {}
        }
    }
    Some((e, role))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(s: &str) -> SystemTime {
        time::parse_timeval(s).unwrap()
    }

    #[test]
    fn unix_recent_and_old() {
        let now = at("20261126120000");
        let mut e = Entry::new("notes.txt", Kind::File);
        e.size = 1234;
        e.modified = Some(at("20261120083000"));
        let line = format_unix(&e, now);
        assert_eq!(line, "-rw-r--r-- 1 ftp      ftp              1234 Nov 20 08:30 notes.txt");
        let back = parse_unix(&line, now).unwrap();
        assert_eq!((back.name.as_str(), back.size, back.modified, back.mode), ("notes.txt", 1234, e.modified, Some(0o644)));

        e.modified = Some(at("20200101000000"));
        let line = format_unix(&e, now);
        assert!(line.contains("Jan  1  2020 notes.txt"), "{line}");
        assert_eq!(parse_unix(&line, now).unwrap().modified, e.modified);
    }

    #[test]
    fn unknown_time_shows_now_not_1970() {
        let now = at("20261126120000");
        let line = format_unix(&Entry::new("photos", Kind::Dir), now);
        assert_eq!(line, "drwxr-xr-x 1 ftp      ftp                 0 Nov 26 12:00 photos");
        assert_eq!(parse_unix(&line, now).unwrap().modified, Some(now));
    }

    #[test]
    fn line_breaks_in_names_never_leave_the_line() {
        let now = at("20261126120000");
        let mut e = Entry::new("evil\r\n226 Transfer complete.", Kind::File);
        assert!(breaks_line(&e.name) && !breaks_line("plain name"));
        e.link_target = Some("t\n230 x".into());
        e.kind = Kind::Symlink;
        let unix = format_unix(&e, now);
        let mlsx = format_mlsx(&e, &MLSX_FACTS, MlsxRole::Plain);
        for line in [&unix, &mlsx] {
            assert!(!line.contains(['\r', '\n']), "{line:?}");
        }
        assert!(unix.ends_with(" evil??226 Transfer complete. -> t?230 x"), "{unix:?}");
        assert!(mlsx.ends_with("; evil??226 Transfer complete."), "{mlsx:?}");
    }

    #[test]
    fn unix_from_other_servers() {
        let now = at("20260301000000");
        let e = parse_unix("drwxr-xr-x    2 1000     1000         4096 Dec 31 23:59 with space", now).unwrap();
        assert_eq!((e.kind, e.name.as_str()), (Kind::Dir, "with space"));
        assert_eq!(e.modified, Some(at("20251231235900")), "December seen in March is last year");
        let l = parse_unix("lrwxrwxrwx 1 root root 7 Jan 01 2024 link -> target", now).unwrap();
        assert_eq!((l.kind, l.name.as_str(), l.link_target.as_deref()), (Kind::Symlink, "link", Some("target")));
        let no_group = parse_unix("-rw-r--r-- 1 owner 99 Feb  3 10:00 f", now).unwrap();
        assert_eq!(no_group.size, 99);
        assert_eq!(parse_unix("total 48", now), None);
    }

    /// The hand-written number and mode writers say what `format!` said.
    #[test]
    fn unix_and_mlsx_fields_match_the_general_formatter() {
        let now = at("20261126120000");
        for (i, size) in [0u64, 7, 10, 99, 12_345, 999_999_999_999, 1_000_000_000_000, u64::MAX].into_iter().enumerate() {
            for mode in [0, 0o7, 0o644, 0o755, 0o4755, 0o7777] {
                let t = at(["20261120083000", "20200101000000", "20270101000000", "19700101000000"][i % 4]);
                let mut e = Entry::new("n", if mode == 0o755 { Kind::Dir } else { Kind::File });
                (e.size, e.mode, e.modified) = (size, Some(mode), Some(t));
                let bits: String = (0..9).rev().map(|b| if mode & (1 << b) != 0 { ['r', 'w', 'x'][(8 - b) % 3] } else { '-' }).collect();
                let c = time::civil(t);
                let age = time::unix_seconds(now) - time::unix_seconds(t);
                let month = MONTHS[(c.month - 1) as usize];
                let date = if (0..183 * 86_400).contains(&age) {
                    format!("{month} {:>2} {:02}:{:02}", c.day, c.hour, c.minute)
                } else {
                    format!("{month} {:>2}  {:>4}", c.day, c.year)
                };
                let kind = if e.kind == Kind::Dir { 'd' } else { '-' };
                assert_eq!(format_unix(&e, now), format!("{kind}{bits} 1 ftp      ftp      {size:>12} {date} n"));
                let mlsx = format_mlsx(&e, &["size", "unix.mode"], MlsxRole::Plain);
                let size_fact = if e.kind == Kind::Dir { String::new() } else { format!("size={size};") };
                assert_eq!(mlsx, format!("{size_fact}UNIX.mode=0{mode:o}; n"));
            }
        }
    }

    #[test]
    fn dos_lines() {
        let d = parse_dos("01-31-24  10:22PM       <DIR>          My Dir").unwrap();
        assert_eq!((d.kind, d.name.as_str(), d.modified), (Kind::Dir, "My Dir", Some(at("20240131222200"))));
        let f = parse_dos("12-05-99  12:01AM              1,234 a.txt").unwrap();
        assert_eq!((f.kind, f.size, f.modified), (Kind::File, 1234, Some(at("19991205000100"))));
    }

    #[test]
    fn list_parses_what_the_formatter_writes() {
        let now = at("20261126120000");
        let mut file = Entry::new("report 2026.pdf", Kind::File);
        (file.size, file.modified, file.mode) = (104_857_600, Some(at("20261120083000")), Some(0o600));
        let mut old = Entry::new("old.txt", Kind::File);
        (old.size, old.modified, old.mode) = (3, Some(at("20200102000000")), Some(0o644));
        let mut dir = Entry::new("photos", Kind::Dir);
        (dir.modified, dir.mode) = (Some(at("20261125000000")), Some(0o755));
        let mut link = Entry::new("latest", Kind::Symlink);
        (link.size, link.modified, link.mode, link.link_target) =
            (15, Some(at("20261101101000")), Some(0o777), Some("report 2026.pdf".into()));
        let entries = [file, old, dir, link];
        let mut body = String::from("total 4\r\n");
        for e in &entries {
            write_unix(&mut body, e.view(), now);
            body.push_str("\r\n");
        }
        assert_eq!(parse_list(&body, now), entries);
    }

    #[test]
    fn list_skips_dot_entries_and_noise_and_reads_dos_lines() {
        let now = at("20261126120000");
        let body = "total 8\r\n\r\ndrwxr-xr-x 2 0 0 4096 Nov 26 05:12 .\r\ndrwxr-xr-x 2 0 0 4096 Nov 26 05:12 ..\r\n\
                    -rw-r--r-- 1 0 0 5 Nov 26 05:12 a.txt\r\n11-25-26  11:59PM                 1234 notes.txt\r\n";
        let names: Vec<_> = parse_list(body, now).into_iter().map(|e| (e.name, e.kind, e.size)).collect();
        assert_eq!(names, [("a.txt".to_owned(), Kind::File, 5), ("notes.txt".to_owned(), Kind::File, 1234)]);
        assert!(parse_list("", now).is_empty());
    }

    #[test]
    fn mlsx_round_trip() {
        let facts = MLSX_FACTS;
        let mut e = Entry::new("a b;c.txt", Kind::File);
        e.size = 42;
        e.modified = Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        e.perm = Some("adfrw".into());
        e.unique = Some("803g1a".into());
        e.mode = Some(0o640);
        let line = format_mlsx(&e, &facts, MlsxRole::Plain);
        assert_eq!(line, "type=file;size=42;modify=20231114221320;perm=adfrw;unique=803g1a;UNIX.mode=0640; a b;c.txt");
        assert_eq!(parse_mlsx(&line), Some((e, MlsxRole::Plain)));
        let cdir = format_mlsx(&Entry::new(".", Kind::Dir), &facts[..1], MlsxRole::Current);
        assert_eq!(cdir, "type=cdir; .");
        assert_eq!(parse_mlsx(&cdir).unwrap().1, MlsxRole::Current);
    }
}
