//! Listings: RFC 959 §4.1.3 (LIST, NLST, STAT) and RFC 3659 §7 (MLSD,
//! MLST). `LIST` and `NLST` also take a wildcard in the last component
//! (`NLST *.txt`, which tnftp and ncftpget send for `mget`) and ignore
//! `ls`-style options (`LIST -la`), as clients expect.

use std::time::SystemTime;

use ferry_proto::glob::{self, Pattern};
use ferry_proto::listing::{self, EntryRef, Kind, MlsxRole};
use ferry_proto::reply::{self, code};
use ferry_proto::{Reply, VirtualPath};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::{fs_refusal, storage_refusal};
use crate::auth::settings::{Permission, Policy};
use crate::ftp_errors::UniqueFact;
use crate::session::answer::{Handled, reply};
use crate::session::job::Job;
use crate::session::{ListKind, Session};
use crate::storage::{Detail, Entries, FileInfo, StorageError};
use ferry_core::userfs::{FsError, UserFs};

/// `perm` fact letters (RFC 3659 §7.5.5) for what this user may do.
pub(crate) fn perm_fact(kind: Kind, policy: &Policy) -> String {
    let letters: &[(char, Permission)] = if kind == Kind::Dir {
        &[
            ('c', Permission::Write),
            ('d', Permission::Delete),
            ('e', Permission::List),
            ('f', Permission::Rename),
            ('l', Permission::List),
            ('m', Permission::Mkdir),
            ('p', Permission::Delete),
        ]
    } else {
        &[('a', Permission::Write), ('d', Permission::Delete), ('f', Permission::Rename), ('r', Permission::Read), ('w', Permission::Write)]
    };
    letters.iter().filter(|(_, p)| policy.allows(*p)).map(|(c, _)| *c).collect()
}

/// Drop leading `ls` options such as `-la`.
fn strip_ls_options(arg: Option<&str>) -> Option<&str> {
    let mut rest = arg?.trim_start();
    while rest.starts_with('-') {
        rest = rest.find(' ').map_or("", |i| rest[i + 1..].trim_start());
    }
    (!rest.is_empty()).then_some(rest)
}

/// Folders with at most this many entries are sorted by name before they
/// are sent, as `ls` would; a bigger one streams in the order the storage
/// reads it, so a listing's memory stays bounded whatever the folder's size.
const SORTED_UP_TO: usize = 4096;

/// Formatted bytes handed to the data connection at a time.
const CHUNK: usize = 64 * 1024;

/// Chunks in flight between the folder reader and the data connection.
const IN_FLIGHT: usize = 4;

/// Wildcard-matching steps a listing may spend: this much to start with,
/// and [`GLOB_STEPS_PER_ENTRY`] more for each entry looked at (vsftpd allows
/// 1,000 per name). An ordinary pattern such as `*.txt` takes two or three
/// per character of a name; only a pattern built to be slow runs out.
const GLOB_STEPS_START: u64 = 1_000_000;
const GLOB_STEPS_PER_ENTRY: u64 = 1_000;

/// What a listing argument names.
struct Target {
    /// Entries to show, as the storage reads them.
    entries: Entries,
    /// For `NLST` of a file or glob: the prefix the client typed, so names
    /// come back as paths it can use.
    prefix: String,
    /// True when the argument named a single file rather than a folder or
    /// a wildcard.
    single_file: bool,
    /// The wildcard in the last component, compiled once for the listing.
    pattern: Option<Pattern>,
}

fn gather(fs: &UserFs, cwd: &VirtualPath, arg: Option<&str>, detail: Detail) -> Result<(VirtualPath, Target), FsError> {
    let folder = |prefix: &str, entries| Target { entries, prefix: prefix.to_owned(), single_file: false, pattern: None };
    let Some(arg) = arg else {
        return Ok((cwd.clone(), folder("", fs.read_dir(cwd, detail)?)));
    };
    let (dir_part, last) = match arg.rfind('/') {
        Some(i) => (&arg[..=i], &arg[i + 1..]),
        None => ("", arg),
    };
    if glob::is_glob(last) {
        let dir = cwd.resolve(if dir_part.is_empty() { "." } else { dir_part }).ok_or(StorageError::InvalidName)?;
        let pattern = Pattern::new(last);
        // Opened even for a pattern that matches nothing, so that a missing
        // folder is still reported as missing.
        let mut entries = fs.read_dir(&dir, detail)?;
        if pattern.matches_nothing() {
            // As Pure-FTPd and vsftpd answer such patterns: no match, and
            // no entry of the folder is read for it.
            tracing::info!(chars = last.chars().count(), "wildcard pattern too long; it matches nothing");
            entries = Box::new(std::iter::empty());
        }
        let target = Target { pattern: Some(pattern), ..folder(dir_part, entries) };
        return Ok((dir, target));
    }
    let path = cwd.resolve(arg).ok_or(StorageError::InvalidName)?;
    let info = fs.metadata(&path)?;
    let target = if info.kind == Kind::Dir {
        folder("", fs.read_dir(&path, detail)?)
    } else {
        Target { entries: Box::new(std::iter::once(Ok(info))), prefix: dir_part.to_owned(), single_file: true, pattern: None }
    };
    Ok((path, target))
}

/// How each entry becomes a line of a listing.
struct LineFormat {
    kind: ListKind,
    /// `NLST` of a glob or file: the prefix the client typed.
    prefix: String,
    facts: Vec<&'static str>,
    /// `perm` facts for folders and for everything else (they depend only
    /// on the kind and the user's policy).
    perm_dir: String,
    perm_other: String,
    now: SystemTime,
    /// The lines go inside a multi-line reply (`STAT <dir>`).
    in_reply: bool,
}

impl LineFormat {
    /// Append `e`'s line, with its CRLF, to `out`. An entry whose name holds
    /// a CR or LF is left out (and logged): no listing line can carry it,
    /// and a name written with the line break escaped would be a different
    /// name, perhaps another file's (Pure-FTPd also leaves such names out).
    fn write(&self, e: FileInfo, out: &mut String) {
        if listing::breaks_line(&e.name) {
            tracing::warn!(name = ?e.name, "left out of a listing: a line break in the name");
            return;
        }
        let start = out.len();
        let perm = if e.kind == Kind::Dir { &self.perm_dir } else { &self.perm_other };
        // What `ftp_errors::entry` would make, borrowed instead of owned:
        // nothing is allocated per line.
        let unique = e.unique.filter(|_| self.kind == ListKind::Facts).map(|(dev, ino)| UniqueFact::new(dev, ino));
        let view = EntryRef {
            name: &e.name,
            kind: e.kind,
            size: e.size,
            modified: e.modified,
            mode: Some(e.mode),
            perm: Some(perm),
            unique: unique.as_ref().map(UniqueFact::as_str),
            link_target: e.link_target.as_deref(),
        };
        match self.kind {
            ListKind::Long => listing::write_unix(out, view, self.now),
            ListKind::Names => {
                out.push_str(&self.prefix);
                out.push_str(&e.name);
            }
            ListKind::Facts => listing::write_mlsx(out, view, &self.facts, MlsxRole::Plain),
        }
        if self.in_reply && reply::could_close_reply(&out[start..]) {
            out.insert(start, ' ');
        }
        out.push_str("\r\n");
    }
}

/// A listing's wildcard and what is left of its matching budget.
struct Filter {
    pattern: Pattern,
    budget: u64,
}

impl Filter {
    fn new(pattern: Pattern) -> Filter {
        Filter { pattern, budget: GLOB_STEPS_START }
    }

    /// Whether `name` matches; an error once the budget is spent.
    fn admits(&mut self, name: &str) -> Result<bool, StorageError> {
        self.budget = self.budget.saturating_add(GLOB_STEPS_PER_ENTRY);
        self.pattern.matches_within(name, &mut self.budget).ok_or_else(|| {
            tracing::warn!("wildcard pattern too costly to match; listing stopped");
            StorageError::PatternTooCostly
        })
    }
}

type ChunkSender = mpsc::Sender<Result<Vec<u8>, StorageError>>;

/// Read the folder, keep the entries the wildcard matches, and format them
/// into chunks (on a blocking thread: reading a folder is disk work). Small
/// folders come sorted by name; past [`SORTED_UP_TO`] entries the listing
/// streams in the storage's order. Stops as soon as the receiver is gone
/// (transfer aborted or failed, session ended): that is checked at every
/// entry read, matching or not, since a wildcard that matches nothing
/// would otherwise read a whole folder for a client that has left.
fn produce(mut entries: Entries, mut filter: Option<Filter>, format: &LineFormat, tx: &ChunkSender) {
    let mut wanted = std::iter::from_fn(|| {
        loop {
            if tx.is_closed() {
                return None;
            }
            match (entries.next()?, &mut filter) {
                (Ok(e), Some(f)) => match f.admits(&e.name) {
                    Ok(true) => return Some(Ok(e)),
                    Ok(false) => continue,
                    Err(err) => return Some(Err(err)),
                },
                (other, _) => return Some(other),
            }
        }
    });
    let mut first = Vec::new();
    let mut streaming = false;
    for e in wanted.by_ref() {
        match e {
            Ok(e) => first.push(e),
            Err(err) => {
                let _ = tx.blocking_send(Err(err));
                return;
            }
        }
        if first.len() > SORTED_UP_TO {
            streaming = true;
            break;
        }
    }
    if !streaming {
        first.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let mut buf = String::with_capacity(CHUNK + 1024);
    for e in first.into_iter().map(Ok).chain(wanted) {
        match e {
            Ok(e) => format.write(e, &mut buf),
            Err(err) => {
                let _ = tx.blocking_send(Err(err));
                return;
            }
        }
        if buf.len() >= CHUNK
            && tx.blocking_send(Ok(std::mem::replace(&mut buf, String::with_capacity(CHUNK + 1024)).into_bytes())).is_err()
        {
            return;
        }
    }
    if !buf.is_empty() {
        let _ = tx.blocking_send(Ok(buf.into_bytes()));
    }
}

/// Start [`produce`] on the blocking pool, holding one of the session's
/// slots until it ends; its chunks arrive on the returned channel.
fn start_producer(
    slot: OwnedSemaphorePermit,
    entries: Entries,
    pattern: Option<Pattern>,
    format: LineFormat,
) -> mpsc::Receiver<Result<Vec<u8>, StorageError>> {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let _span = span.enter();
        produce(entries, pattern.map(Filter::new), &format, &tx);
    });
    rx
}

impl Session {
    pub(crate) async fn list(&mut self, arg: Option<String>, kind: ListKind) -> Handled {
        self.state.rest = None;
        let arg = if kind == ListKind::Facts { arg } else { strip_ls_options(arg.as_deref()).map(str::to_owned) };
        let cwd = self.cwd.clone();
        let a = arg.clone();
        let detail = if kind == ListKind::Names { Detail::Names } else { Detail::Full };
        let gathered = self.storage(move |fs| gather(fs, &cwd, a.as_deref(), detail)).await;
        let (path, target) = match gathered {
            Ok(x) => x,
            Err(e) => {
                let shown = self.cwd.resolve(arg.as_deref().unwrap_or(".")).unwrap_or_else(|| self.cwd.clone());
                return Err(fs_refusal(&shown, e));
            }
        };
        if kind == ListKind::Facts && target.single_file {
            // RFC 3659 §7.2.2: MLSD of a file is an error (MLST is for files).
            return reply(code::FILE_UNAVAILABLE, format!("{path}: Not a directory."));
        }
        if kind == ListKind::Names && listing::breaks_line(&target.prefix) {
            // NLST echoes the typed prefix in every line.
            return Err(storage_refusal(&path, StorageError::InvalidName));
        }
        let format = self.line_format(kind, target.prefix, false);
        let slot = match self.blocking_slot().await {
            Ok(slot) => slot,
            Err(e) => return Err(storage_refusal(&path, e)),
        };
        // The folder is read while the data connection opens; the channel
        // bounds how far reading runs ahead of sending.
        let rx = start_producer(slot, target.entries, target.pattern, format);
        let text = format!("Opening ASCII mode data connection for listing of {path}.");
        self.run_transfer(&path, text, Job::Listing(rx)).await
    }

    fn line_format(&self, kind: ListKind, prefix: String, in_reply: bool) -> LineFormat {
        let policy = self.policy();
        LineFormat {
            kind,
            prefix,
            facts: self.facts(),
            perm_dir: perm_fact(Kind::Dir, &policy),
            perm_other: perm_fact(Kind::File, &policy),
            now: SystemTime::now(),
            in_reply,
        }
    }

    pub(crate) async fn mlst(&mut self, arg: Option<String>) -> Handled {
        let path = self.resolve(arg.as_deref().unwrap_or("."))?;
        let p = path.clone();
        match self.storage(move |fs| fs.metadata(&p)).await {
            Ok(info) => {
                let policy = self.policy();
                let facts = self.facts();
                let perm = perm_fact(info.kind, &policy);
                let mut entry = crate::ftp_errors::entry(info, &perm);
                entry.name = path.to_string();
                let line = listing::format_mlsx(&entry, &facts, MlsxRole::Plain);
                // RFC 3659 §7.2: the entry line starts with one space.
                let reply = Reply::multi(code::FILE_ACTION_OK, vec![format!("Listing {path}"), format!(" {line}"), "End.".into()]);
                Ok(reply.into())
            }
            Err(e) => Err(fs_refusal(&path, e)),
        }
    }

    pub(crate) async fn stat(&mut self, arg: Option<String>) -> Handled {
        let Some(arg) = arg else {
            let user = self.account().map_or_else(|| "Not logged in".to_owned(), |a| format!("Logged in as {}", a.name));
            let lines = vec![
                "Ferry FTP server status:".to_owned(),
                format!(" Connected from {}", self.peer),
                format!(" {user}"),
                format!(" TYPE: {}, STRUcture: File, MODE: Stream", self.mode_name()),
                format!(" Working directory: {}", self.cwd),
                "End of status.".to_owned(),
            ];
            return Ok(Reply::multi(code::SYSTEM_STATUS, lines).into());
        };
        let cwd = self.cwd.clone();
        let a = strip_ls_options(Some(&arg)).map(str::to_owned);
        let gathered = self.storage(move |fs| gather(fs, &cwd, a.as_deref(), Detail::Full)).await;
        let (path, target) = match gathered {
            Ok(x) => x,
            Err(e) => {
                let shown = self.cwd.resolve(&arg).unwrap_or_else(|| self.cwd.clone());
                return Err(fs_refusal(&shown, e));
            }
        };
        let slot = match self.blocking_slot().await {
            Ok(slot) => slot,
            Err(e) => return Err(storage_refusal(&path, e)),
        };
        let format = self.line_format(ListKind::Long, String::new(), true);
        let mut rx = start_producer(slot, target.entries, target.pattern, format);
        // Streamed over the control connection as the lines are made, like
        // LIST over a data connection: memory stays bounded whatever the
        // folder's size. A failure before the first line is an ordinary
        // error reply; one later can only close the reply.
        let first = match rx.recv().await {
            Some(Err(e)) => return Err(storage_refusal(&path, e)),
            first => first,
        };
        let limit = self.shared.config.data_timeout;
        let mut head = Vec::with_capacity(CHUNK + 256);
        reply::encode_opening(code::FILE_STATUS, &format!("Status of {path}:"), &mut head);
        if let Some(Ok(chunk)) = first {
            head.extend_from_slice(&chunk);
            self.ctl.send_encoded(&head, limit).await?;
            while let Some(chunk) = rx.recv().await {
                match chunk {
                    Ok(chunk) => self.ctl.send_encoded(&chunk, limit).await?,
                    Err(e) => {
                        tracing::warn!(%path, error = %e, "STAT listing failed");
                        return reply(code::FILE_STATUS, format!("End of status (incomplete: {e})."));
                    }
                }
            }
        } else {
            self.ctl.send_encoded(&head, limit).await?;
        }
        reply(code::FILE_STATUS, "End of status.")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn names_format(in_reply: bool) -> LineFormat {
        LineFormat {
            kind: ListKind::Names,
            prefix: String::new(),
            facts: Vec::new(),
            perm_dir: String::new(),
            perm_other: String::new(),
            now: SystemTime::now(),
            in_reply,
        }
    }

    fn file(name: &str) -> FileInfo {
        FileInfo { name: name.to_owned(), kind: Kind::File, size: 0, modified: None, mode: 0o644, unique: None, link_target: None }
    }

    /// Ten million entries named `x.txt`, counting how many were read.
    fn huge_folder(read: &Arc<AtomicUsize>) -> Entries {
        let read = read.clone();
        Box::new(
            std::iter::repeat_with(move || {
                read.fetch_add(1, Ordering::Relaxed);
                Ok(file("x.txt"))
            })
            .take(10_000_000),
        )
    }

    #[test]
    fn a_wildcard_matching_nothing_stops_when_the_listing_is_no_longer_wanted() {
        let read = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        drop(rx);
        produce(huge_folder(&read), Some(Filter::new(Pattern::new("*.none"))), &names_format(false), &tx);
        assert_eq!(read.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_streaming_listing_stops_at_the_next_entry_once_the_receiver_is_gone() {
        let read = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel(1);
        let entries = huge_folder(&read);
        let producer = std::thread::spawn(move || produce(entries, Some(Filter::new(Pattern::new("x*"))), &names_format(false), &tx));
        let chunk = rx.blocking_recv().unwrap().unwrap();
        assert!(chunk.starts_with(b"x.txt\r\nx.txt\r\n"));
        drop(rx);
        producer.join().unwrap();
        let n = read.load(Ordering::Relaxed);
        assert!(n < 100_000, "{n} entries read");
    }

    #[test]
    fn a_costly_wildcard_ends_the_listing_with_an_error() {
        let names: Vec<_> = (0..5000).map(|i| Ok(file(&format!("{}{i}", "a".repeat(200))))).collect();
        let (tx, mut rx) = mpsc::channel(IN_FLIGHT);
        let filter = Filter::new(Pattern::new(&format!("*{}b", "a".repeat(240))));
        produce(Box::new(names.into_iter()), Some(filter), &names_format(false), &tx);
        drop(tx);
        let got = rx.blocking_recv().unwrap();
        assert!(got.is_err_and(|e| e.to_string().contains("too costly")));
    }

    #[test]
    fn names_with_line_breaks_are_left_out_and_reply_lines_cannot_close_the_reply() {
        let mut out = String::new();
        for name in ["a", "evil\r\n226 Transfer complete.", "b\rc", "213 End"] {
            names_format(true).write(file(name), &mut out);
        }
        assert_eq!(out, "a\r\n 213 End\r\n");
        out.clear();
        names_format(false).write(file("213 End"), &mut out);
        assert_eq!(out, "213 End\r\n", "only inside a reply");
    }
}
