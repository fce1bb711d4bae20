//! Admin accounts in files: `admins.txt` and `admin-tokens.txt` beside it.
//!
//! `admins.txt` is written like the users file (`name:$argon2id$…`, one per
//! line, blank lines and `#` comments kept; see
//! [`crate::auth::users_file`]), but only argon2id hashes count: a line
//! with a plain-text password opens nothing (a warning names it). The
//! tokens file is described in [`super::tokens_file`].
//!
//! # Two processes, one pair of files
//!
//! A running server and `ferryd admin …` change the same files. So:
//!
//! - Every read looks at the file as it is now. It is parsed again only
//!   when its identity, length or modification time changed — one `fstat`
//!   per read otherwise — so that a token made by `ferryd admin token`
//!   works in a running server at once, and a revoked one stops at once.
//!   File times are coarse (a few milliseconds on Linux, seconds
//!   elsewhere): two changes in one tick could leave all three alike, so a
//!   file changed less than [`RACY`] before it was read is read again
//!   every time, as git does with its index.
//! - Every change is a read-modify-write under a lock: a mutex within the
//!   process, and `flock` on `admins.txt.lock` between processes (waited
//!   for at most [`LOCK_DEADLINE`]), so that a sign-in written by the
//!   server cannot undo a revocation written by the command at the same
//!   moment.
//! - Both files are replaced atomically with mode 0600
//!   ([`write_atomically`]): a reader sees the old file or the new one,
//!   never half of one.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::auth::users_file::{self, UsersFile, UsersFileError, write_atomically};
use crate::auth::{BoxFuture, StoreError};

use super::store::AdminStore;
use super::token::TokenRecord;
use super::tokens_file::{self, Tokens};

/// How [`StoreError::NoSuchUser`] names this store.
pub const PLACE: &str = "the admins file";
/// A file changed less than this long before it was read is read again
/// at every use (see the module's doc).
pub const RACY: Duration = Duration::from_secs(2);
/// The longest a change waits for another process's lock.
pub const LOCK_DEADLINE: Duration = Duration::from_secs(5);

/// Admin accounts in `admins.txt`, their tokens in `admin-tokens.txt`
/// beside it.
#[derive(Clone)]
pub struct FileAdminStore {
    inner: Arc<Inner>,
}

struct Inner {
    admins: PathBuf,
    tokens: PathBuf,
    lock: PathBuf,
    /// Held around every read-modify-write in this process.
    writing: Mutex<()>,
    admins_seen: Mutex<Option<Seen<Admins>>>,
    tokens_seen: Mutex<Option<Seen<Tokens>>>,
}

impl std::fmt::Debug for FileAdminStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileAdminStore").field("admins", &self.inner.admins).field("tokens", &self.inner.tokens).finish()
    }
}

/// A file as last parsed, and how it looked then.
struct Seen<T> {
    stamp: Stamp,
    /// It was older than [`RACY`] when read: an equal stamp means the
    /// same contents.
    settled: bool,
    parsed: Arc<T>,
}

/// What tells one version of a file from another without reading it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

/// The parsed admins file: each name's PHC string, or the line of its
/// plain-text password (refused).
#[derive(Default)]
struct Admins {
    secrets: HashMap<String, Result<String, usize>>,
}

impl FileAdminStore {
    /// The admins in `admins_txt` (a missing file has none; the first
    /// change creates it), their tokens in `admin-tokens.txt` in the same
    /// folder.
    pub fn new(admins_txt: PathBuf) -> FileAdminStore {
        let beside = |name: &str| admins_txt.with_file_name(name);
        let mut lock = admins_txt.clone().into_os_string();
        lock.push(".lock");
        FileAdminStore {
            inner: Arc::new(Inner {
                tokens: beside("admin-tokens.txt"),
                lock: PathBuf::from(lock),
                admins: admins_txt,
                writing: Mutex::new(()),
                admins_seen: Mutex::new(None),
                tokens_seen: Mutex::new(None),
            }),
        }
    }

    /// Where the admins are.
    pub fn admins_path(&self) -> &Path {
        &self.inner.admins
    }

    /// Where their tokens are.
    pub fn tokens_path(&self) -> &Path {
        &self.inner.tokens
    }

    /// `work` on a blocking thread: file I/O and argon2 must not hold up an
    /// async worker.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || work(&inner)).await {
                Ok(done) => done,
                Err(e) => Err(StoreError::Failed(format!("the admin files task failed: {e}"))),
            }
        })
    }
}

impl Inner {
    fn admins(&self) -> Result<Arc<Admins>, StoreError> {
        current(&self.admins_seen, &self.admins, parse_admins)
    }

    fn tokens(&self) -> Result<Arc<Tokens>, StoreError> {
        current(&self.tokens_seen, &self.tokens, tokens_file::parse)
    }

    /// `change` under both locks, on the files as they are now.
    fn changing<T>(&self, change: impl FnOnce(&Inner) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let _in_process = crate::sync::lock(&self.writing);
        let _between_processes = lock_file(&self.lock)?;
        // Nothing cached is trusted inside the lock: another process may
        // have written a moment ago, within one tick of the file clock.
        *crate::sync::lock(&self.admins_seen) = None;
        *crate::sync::lock(&self.tokens_seen) = None;
        let result = change(self);
        *crate::sync::lock(&self.admins_seen) = None;
        *crate::sync::lock(&self.tokens_seen) = None;
        result
    }

    /// Write the tokens file without the tokens expired by `now` and
    /// without those `drop` picks; `Ok(true)` if `drop` picked any.
    fn rewrite_tokens(&self, now: SystemTime, drop: impl Fn(&TokenRecord) -> bool) -> Result<bool, StoreError> {
        let mut tokens = Tokens::clone(&*self.tokens()?);
        let before = tokens.len();
        tokens.retain(|_, t| !t.expired(now));
        let live = tokens.len();
        tokens.retain(|_, t| !drop(t));
        if tokens.len() != before {
            self.write_tokens(&tokens)?;
        }
        Ok(tokens.len() != live)
    }

    fn write_tokens(&self, tokens: &Tokens) -> Result<(), StoreError> {
        write_atomically(&self.tokens, tokens_file::render(tokens).as_bytes())
            .map_err(|e| StoreError::Failed(format!("{}: {e}", self.tokens.display())))
    }

    fn exists(&self, admin: &str) -> Result<bool, StoreError> {
        Ok(self.admins()?.secrets.contains_key(admin))
    }
}

/// The parse of the file at `path`, from `seen` if the file has not
/// changed since, else read again (and remembered).
fn current<T: Default>(
    seen: &Mutex<Option<Seen<T>>>,
    path: &Path,
    parse: fn(&str, &Path) -> Result<T, StoreError>,
) -> Result<Arc<T>, StoreError> {
    let io_err = |e: std::io::Error| StoreError::Failed(format!("{}: {e}", path.display()));
    let now = SystemTime::now();
    // The stamp and the text come from one open file: a replacement in
    // between cannot pair the new stamp with the old text.
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Arc::new(T::default())),
        Err(e) => return Err(io_err(e)),
    };
    let meta = file.metadata().map_err(io_err)?;
    let stamp = Stamp { dev: meta.dev(), ino: meta.ino(), len: meta.len(), mtime: (meta.mtime(), meta.mtime_nsec()) };
    if let Some(s) = crate::sync::lock(seen).as_ref().filter(|s| s.settled && s.stamp == stamp) {
        return Ok(s.parsed.clone());
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io_err)?;
    let parsed = Arc::new(parse(&text, path)?);
    let settled = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age >= RACY);
    *crate::sync::lock(seen) = Some(Seen { stamp, settled, parsed: parsed.clone() });
    Ok(parsed)
}

/// Take the lock between processes, waiting at most [`LOCK_DEADLINE`].
/// It is released when the returned file is closed.
fn lock_file(path: &Path) -> Result<File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: &dyn std::fmt::Display| StoreError::Failed(format!("{}: {e}", path.display()));
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path).map_err(|e| fail(&e))?;
    let deadline = Instant::now() + LOCK_DEADLINE;
    loop {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(file),
            Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(fail(&format_args!(
                    "another process has held this lock for more than {} s; is a `ferryd admin` command stuck?",
                    LOCK_DEADLINE.as_secs()
                )));
            }
            Err(e) => return Err(fail(&e)),
        }
    }
}

/// The admins file: the users file's syntax (its parser's messages name
/// the line), argon2 hashes only.
fn parse_admins(text: &str, path: &Path) -> Result<Admins, StoreError> {
    UsersFile::parse(text, path).map_err(file_error)?;
    let mut admins = Admins::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Checked by the parse above.
        let Some((name, secret)) = line.split_once(':') else { continue };
        let secret = secret.trim();
        let secret = if secret.starts_with("$argon2") { Ok(secret.to_owned()) } else { Err(i + 1) };
        admins.secrets.insert(name.trim().to_owned(), secret);
    }
    Ok(admins)
}

/// A users-file error as this store says it.
fn file_error(e: UsersFileError) -> StoreError {
    match e {
        UsersFileError::NoSuchUser(name) => StoreError::NoSuchUser { name, place: PLACE },
        UsersFileError::BadName(name) => StoreError::BadName(name),
        other => StoreError::Failed(other.to_string()),
    }
}

impl AdminStore for FileAdminStore {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let name = name.to_owned();
        self.blocking(move |inner| match inner.admins()?.secrets.get(&name) {
            Some(Ok(phc)) => Ok(Some(phc.clone())),
            Some(Err(line)) => {
                tracing::warn!(
                    "{}:{line}: the password of admin {name:?} is not an argon2id hash and opens nothing; set it with `ferryd admin passwd {name}`",
                    inner.admins.display()
                );
                Ok(None)
            }
            None => Ok(None),
        })
    }

    fn names(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        self.blocking(|inner| {
            let mut names: Vec<String> = inner.admins()?.secrets.keys().cloned().collect();
            names.sort();
            Ok(names)
        })
    }

    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (name, password) = (name.to_owned(), password.to_owned());
        self.blocking(move |inner| inner.changing(|inner| users_file::set_user(&inner.admins, &name, &password).map_err(file_error)))
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let name = name.to_owned();
        self.blocking(move |inner| {
            inner.changing(|inner| {
                if !inner.exists(&name)? {
                    return Err(StoreError::NoSuchUser { name, place: PLACE });
                }
                // Tokens first: were the second write to fail, the admin
                // would still be there to retry with, and no token of a
                // removed admin would be left.
                inner.rewrite_tokens(SystemTime::now(), |t| t.admin == name)?;
                users_file::remove_user(&inner.admins, &name).map_err(file_error)
            })
        })
    }

    fn add_token<'a>(&'a self, token: &'a TokenRecord) -> BoxFuture<'a, Result<(), StoreError>> {
        let token = token.clone();
        self.blocking(move |inner| {
            inner.changing(|inner| {
                if !inner.exists(&token.admin)? {
                    return Err(StoreError::NoSuchUser { name: token.admin, place: PLACE });
                }
                let now = SystemTime::now();
                let mut tokens = Tokens::clone(&*inner.tokens()?);
                tokens.retain(|_, t| !t.expired(now));
                if tokens.contains_key(&token.id) {
                    return Err(StoreError::Failed(format!("{}: a token with id {} exists already", inner.tokens.display(), token.id)));
                }
                tokens.insert(token.id.clone(), token);
                inner.write_tokens(&tokens)
            })
        })
    }

    fn find_token<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        let id = id.to_owned();
        self.blocking(move |inner| {
            let Some(token) = inner.tokens()?.get(&id).filter(|t| !t.expired(SystemTime::now())).cloned() else { return Ok(None) };
            // An admin deleted from admins.txt by hand takes their tokens along.
            Ok(inner.exists(&token.admin)?.then_some(token))
        })
    }

    fn revoke_token<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let id = id.to_owned();
        self.blocking(move |inner| inner.changing(|inner| inner.rewrite_tokens(SystemTime::now(), |t| t.id == id)))
    }

    fn tokens<'a>(&'a self, admin: &'a str) -> BoxFuture<'a, Result<Vec<TokenRecord>, StoreError>> {
        let admin = admin.to_owned();
        self.blocking(move |inner| {
            if !inner.exists(&admin)? {
                return Err(StoreError::NoSuchUser { name: admin, place: PLACE });
            }
            let now = SystemTime::now();
            let mut mine: Vec<TokenRecord> = inner.tokens()?.values().filter(|t| t.admin == admin && !t.expired(now)).cloned().collect();
            mine.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            Ok(mine)
        })
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
