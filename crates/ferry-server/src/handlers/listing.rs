//! Listings: RFC 959 §4.1.3 (LIST, NLST, STAT) and RFC 3659 §7 (MLSD,
//! MLST). `LIST` and `NLST` also take a wildcard in the last component
//! (`NLST *.txt`, which tnftp and ncftpget send for `mget`) and ignore
//! `ls`-style options (`LIST -la`), as clients expect.

use std::io;
use std::time::SystemTime;

use ferry_proto::glob;
use ferry_proto::listing::{self, Kind, MlsxRole};
use ferry_proto::reply::code;
use ferry_proto::{Reply, VirtualPath};
use tokio::sync::mpsc;

use crate::auth::settings::{Permission, Policy};
use crate::session::transfer;
use crate::session::{ListKind, Session};
use crate::storage::{Detail, Entries, FileInfo, Storage, StorageError};

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
}

fn gather(storage: &dyn Storage, cwd: &VirtualPath, arg: Option<&str>, detail: Detail) -> Result<(VirtualPath, Target), StorageError> {
    let folder = |prefix: &str, entries| Target { entries, prefix: prefix.to_owned(), single_file: false };
    let Some(arg) = arg else {
        return Ok((cwd.clone(), folder("", storage.read_dir(cwd, detail)?)));
    };
    let (dir_part, last) = match arg.rfind('/') {
        Some(i) => (&arg[..=i], &arg[i + 1..]),
        None => ("", arg),
    };
    if glob::is_glob(last) {
        let dir = cwd.resolve(if dir_part.is_empty() { "." } else { dir_part }).ok_or(StorageError::InvalidName)?;
        let pattern = last.to_owned();
        let entries = storage.read_dir(&dir, detail)?.filter(move |e| e.as_ref().map_or(true, |e| glob::matches(&pattern, &e.name)));
        let target = folder(dir_part, Box::new(entries));
        return Ok((dir, target));
    }
    let path = cwd.resolve(arg).ok_or(StorageError::InvalidName)?;
    let info = storage.metadata(&path)?;
    let target = if info.kind == Kind::Dir {
        folder("", storage.read_dir(&path, detail)?)
    } else {
        Target { entries: Box::new(std::iter::once(Ok(info))), prefix: dir_part.to_owned(), single_file: true }
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
}

impl LineFormat {
    /// Append `e`'s line, with its CRLF, to `out`.
    fn write(&self, e: FileInfo, out: &mut String) {
        let perm = if e.kind == Kind::Dir { &self.perm_dir } else { &self.perm_other };
        match self.kind {
            ListKind::Long => listing::write_unix(out, &e.into_entry(perm), self.now),
            ListKind::Names => {
                out.push_str(&self.prefix);
                out.push_str(&e.name);
            }
            ListKind::Facts => listing::write_mlsx(out, &e.into_entry(perm), &self.facts, MlsxRole::Plain),
        }
        out.push_str("\r\n");
    }
}

/// Read the folder and format it into chunks for the data connection (on
/// a blocking thread: reading a folder is disk work). Small folders come
/// sorted by name; past [`SORTED_UP_TO`] entries the listing streams in the
/// storage's order. Stops quietly when the receiver is gone (transfer
/// failed or aborted).
fn produce(mut entries: Entries, format: &LineFormat, tx: &mpsc::Sender<Result<Vec<u8>, StorageError>>) {
    let mut first = Vec::new();
    let mut streaming = false;
    for e in entries.by_ref() {
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
    for e in first.into_iter().map(Ok).chain(entries) {
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

impl Session {
    pub(crate) async fn list(&mut self, arg: Option<String>, kind: ListKind) -> io::Result<()> {
        if !self.permit(Permission::List).await? {
            return Ok(());
        }
        self.rest = None;
        let arg = if kind == ListKind::Facts { arg } else { strip_ls_options(arg.as_deref()).map(str::to_owned) };
        let cwd = self.cwd.clone();
        let a = arg.clone();
        let detail = if kind == ListKind::Names { Detail::Names } else { Detail::Full };
        let gathered = self.storage(move |s| gather(s, &cwd, a.as_deref(), detail)).await;
        let (path, target) = match gathered {
            Ok(x) => x,
            Err(e) => {
                let shown = self.cwd.resolve(arg.as_deref().unwrap_or(".")).unwrap_or_else(|| self.cwd.clone());
                return self.storage_error(&shown, e).await;
            }
        };
        if kind == ListKind::Facts && target.single_file {
            // RFC 3659 §7.2.2: MLSD of a file is an error (MLST is for files).
            return self.ctl.reply(code::FILE_UNAVAILABLE, format!("{path}: Not a directory.")).await;
        }
        let policy = self.policy();
        let format = LineFormat {
            kind,
            prefix: target.prefix,
            facts: self.facts(),
            perm_dir: perm_fact(Kind::Dir, &policy),
            perm_other: perm_fact(Kind::File, &policy),
            now: SystemTime::now(),
        };
        // The folder is read while the data connection opens; the channel
        // bounds how far reading runs ahead of sending.
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let entries = target.entries;
        tokio::task::spawn_blocking(move || produce(entries, &format, &tx));
        let text = format!("Opening ASCII mode data connection for listing of {path}.");
        self.run_transfer(&path, text, None, move |sock, pump| transfer::send_chunks(rx, sock, pump)).await
    }

    pub(crate) async fn mlst(&mut self, arg: Option<String>) -> io::Result<()> {
        if !self.permit(Permission::List).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(arg.as_deref().unwrap_or(".")).await? else {
            return Ok(());
        };
        let p = path.clone();
        match self.storage(move |s| s.metadata(&p)).await {
            Ok(info) => {
                let policy = self.policy();
                let facts = self.facts();
                let mut entry = info.to_entry(&perm_fact(info.kind, &policy));
                entry.name = path.to_string();
                let line = listing::format_mlsx(&entry, &facts, MlsxRole::Plain);
                // RFC 3659 §7.2: the entry line starts with one space.
                let reply = Reply::multi(code::FILE_ACTION_OK, vec![format!("Listing {path}"), format!(" {line}"), "End.".into()]);
                self.ctl.send(&reply).await
            }
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    pub(crate) async fn stat(&mut self, arg: Option<String>) -> io::Result<()> {
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
            return self.ctl.send(&Reply::multi(code::SYSTEM_STATUS, lines)).await;
        };
        if !self.permit(Permission::List).await? {
            return Ok(());
        }
        let cwd = self.cwd.clone();
        let a = strip_ls_options(Some(&arg)).map(str::to_owned);
        let gathered = self.storage(move |s| gather(s, &cwd, a.as_deref(), Detail::Full)).await;
        match gathered {
            Ok((path, target)) => {
                let now = SystemTime::now();
                let policy = self.policy();
                let mut lines = vec![format!("Status of {path}:")];
                let mut entries = match target.entries.collect::<Result<Vec<_>, _>>() {
                    Ok(v) => v,
                    Err(e) => return self.storage_error(&path, e).await,
                };
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                lines.extend(entries.iter().map(|e| listing::format_unix(&e.to_entry(&perm_fact(e.kind, &policy)), now)));
                lines.push("End of status.".to_owned());
                self.ctl.send(&Reply::multi(code::FILE_STATUS, lines)).await
            }
            Err(e) => {
                let shown = self.cwd.resolve(&arg).unwrap_or_else(|| self.cwd.clone());
                self.storage_error(&shown, e).await
            }
        }
    }
}
