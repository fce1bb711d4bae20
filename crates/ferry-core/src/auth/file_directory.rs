//! The users file as a [`UserDirectory`]: the password line in
//! `users.txt`, everything else in the user's `[users.NAME]` table of the
//! `users.toml` beside it.
//!
//! # Two files, one change
//!
//! Neither file can be changed together with the other, so each change
//! writes them in the order whose half-way state is harmless. What makes
//! an account is its line in users.txt; a table without a line is inert
//! (not an account), while a line without its table is an account with
//! the defaults — possibly more than it should have (no `allowed_networks`,
//! not read-only, not disabled). Hence:
//!
//! - create and update write users.toml first, then users.txt: the
//!   settings are in place before the line that uses them;
//! - delete removes the line first, then the table: the account is gone
//!   before its restrictions are.
//!
//! If the second write fails, the first file is put back as it was, and
//! the error says which file could not be written. Both are replaced
//! atomically (written beside, synced, renamed) with mode 0600, so a
//! crash leaves each either old or new, never torn. Changes made through
//! one `FileDirectory` are serialised by a lock, so two at once both land;
//! `ferryd user …` in another process is not covered by it.
//!
//! # Listing
//!
//! An admin page lists, searches and pages through maybe tens of
//! thousands of accounts, often. Parsing both files each time would cost
//! tens of milliseconds, so the directory keeps the parsed records, keyed
//! by each file's identity (device, inode, modification time, length): an
//! edit by hand or an atomic replacement shows as a new key and the files
//! are read again, while a change made here updates the kept records in
//! place.
//!
//! A running server does not log in from these files directly: it reads
//! them at start and on reload (see [`super::users_file`]), so after a
//! change its authenticator must be rebuilt, as on `SIGHUP`.

use std::io::Read as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::directory::{self, DirectoryError, UserDirectory, UserPage, UserQuery};
use super::hash;
use super::record::{Baseline, UserRecord};
use super::settings::{SettingsFile, UserSettings};
use super::settings_edit;
use super::store::{BoxFuture, StoreError};
use super::users_file::{self, UsersFile, write_atomically};

/// Accounts in a users file and its settings file.
#[derive(Clone)]
pub struct FileDirectory {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FileDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDirectory").field("users", &self.inner.users).field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

struct Inner {
    users: PathBuf,
    settings: PathBuf,
    /// Held by each change from reading the files to writing them.
    writer: Mutex<()>,
    /// The records as last read or written.
    snapshot: Mutex<Option<Arc<Snapshot>>>,
}

/// Which version of a file was read: none (no file), or its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp(Option<(u64, u64, SystemTime, u64)>);

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp(Some((meta.dev(), meta.ino(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len())))
    }

    fn now(path: &Path) -> Result<Stamp, StoreError> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Stamp::of(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Stamp(None)),
            Err(e) => Err(io_error(path, e)),
        }
    }
}

/// A file's text (`None`: there is no file) and the version it came from.
struct Version {
    text: Option<String>,
    stamp: Stamp,
}

/// The stamp is taken from the open file, so it names the text read.
fn read(path: &Path) -> Result<Version, StoreError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Version { text: None, stamp: Stamp(None) }),
        Err(e) => return Err(io_error(path, e)),
    };
    let stamp = Stamp::of(&file.metadata().map_err(|e| io_error(path, e))?);
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| io_error(path, e))?;
    Ok(Version { text: Some(text), stamp })
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Failed(format!("{}: {e}", path.display()))
}

/// Both files, parsed.
struct Files {
    users: Version,
    accounts: UsersFile,
    settings: Version,
    parsed: SettingsFile,
}

impl Files {
    fn read(users: &Path, settings: &Path) -> Result<Files, StoreError> {
        let u = read(users)?;
        let accounts = UsersFile::parse(u.text.as_deref().unwrap_or(""), users).map_err(StoreError::from)?;
        let s = read(settings)?;
        let parsed = SettingsFile::parse(s.text.as_deref().unwrap_or(""), settings).map_err(|e| StoreError::Failed(e.to_string()))?;
        Ok(Files { users: u, accounts, settings: s, parsed })
    }

    fn record(&self, name: &str) -> UserRecord {
        UserRecord::from_settings(name, self.parsed.users.get(name), &self.parsed.defaults)
    }
}

/// Every account's record, sorted by name, with the names in lower case
/// for searching.
#[derive(Clone)]
struct Snapshot {
    stamps: (Stamp, Stamp),
    entries: Vec<(String, UserRecord)>,
}

impl Snapshot {
    fn of(files: &Files) -> Snapshot {
        let entries = files.accounts.names().into_iter().map(|name| (name.to_lowercase(), files.record(&name))).collect();
        Snapshot { stamps: (files.users.stamp, files.settings.stamp), entries }
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(_, r)| r.name.as_str().cmp(name))
    }
}

/// What a change does to one account.
enum Change {
    Create { record: UserRecord, line: String },
    Update { record: UserRecord, line: Option<String> },
    Delete,
}

impl FileDirectory {
    /// The accounts of the users file `users_txt` and of the settings file
    /// beside it ([`users_file::settings_path`]). Neither needs to exist
    /// yet: the first account creates them.
    pub fn new(users_txt: PathBuf) -> FileDirectory {
        let settings = users_file::settings_path(&users_txt);
        FileDirectory { inner: Arc::new(Inner { users: users_txt, settings, writer: Mutex::new(()), snapshot: Mutex::new(None) }) }
    }

    /// The users file.
    pub fn users_path(&self) -> &Path {
        &self.inner.users
    }

    /// The settings file beside it.
    pub fn settings_path(&self) -> &Path {
        &self.inner.settings
    }

    /// `work` on a blocking thread: file I/O and hashing must not hold up
    /// an async worker.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, DirectoryError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, DirectoryError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || work(&inner)).await {
                Ok(done) => done,
                Err(e) => Err(StoreError::Failed(format!("the users file task failed: {e}")).into()),
            }
        })
    }
}

impl Inner {
    /// The records, read again only if a file changed since.
    fn current(&self) -> Result<Arc<Snapshot>, StoreError> {
        let stamps = (Stamp::now(&self.users)?, Stamp::now(&self.settings)?);
        if let Some(s) = crate::sync::lock(&self.snapshot).as_ref()
            && s.stamps == stamps
        {
            return Ok(s.clone());
        }
        let fresh = Arc::new(Snapshot::of(&Files::read(&self.users, &self.settings)?));
        *crate::sync::lock(&self.snapshot) = Some(fresh.clone());
        Ok(fresh)
    }

    fn list(&self, q: &UserQuery) -> Result<UserPage, StoreError> {
        let snapshot = self.current()?;
        let needle = q.search.as_deref().map(str::to_lowercase).unwrap_or_default();
        let matches = snapshot.entries.iter().filter(|(lower, _)| lower.contains(&needle)).map(|(_, r)| r);
        Ok(directory::page(matches, q))
    }

    fn get(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let snapshot = self.current()?;
        Ok(snapshot.find(name).ok().map(|i| snapshot.entries[i].1.clone()))
    }

    /// Make `change` to account `name` in both files (see the module doc
    /// for the order), then bring the snapshot up to date.
    fn change(&self, name: &str, change: Change) -> Result<(), DirectoryError> {
        let _writer = crate::sync::lock(&self.writer);
        let files = Files::read(&self.users, &self.settings)?;
        let exists = files.accounts.contains(name);
        match (&change, exists) {
            (Change::Create { .. }, true) => return Err(DirectoryError::Exists(name.to_owned())),
            (Change::Update { .. } | Change::Delete, false) => return Err(DirectoryError::NotFound(name.to_owned())),
            _ => {}
        }
        let (new, line) = match &change {
            Change::Create { record, line } => (record.to_settings(Baseline::Defaults(&files.parsed.defaults)), Some(line.as_str())),
            Change::Update { record, line } => (record.to_settings(Baseline::Defaults(&files.parsed.defaults)), line.as_deref()),
            Change::Delete => (Ok(UserSettings::default()), None),
        };
        let mut new = new.map_err(DirectoryError::Invalid)?;
        // The admin API does not edit public keys: an update keeps them.
        if let Change::Update { .. } = change {
            new.authorized_keys = files.parsed.users.get(name).and_then(|u| u.authorized_keys.clone());
        }

        let old_settings = files.settings.text.as_deref().unwrap_or("");
        let settings_text = settings_edit::set_user(old_settings, name, files.parsed.users.get(name), &new)
            .map_err(|e| StoreError::Failed(format!("{}: {e}", self.settings.display())))?;
        self.check_readback(&settings_text, name, &new)?;
        let settings_changes = settings_text != old_settings;
        let users_text = match (&change, line) {
            (Change::Delete, _) => Some(users_file::with_line(files.users.text.as_deref().unwrap_or(""), name, None).0),
            (_, Some(line)) => Some(users_file::with_line(files.users.text.as_deref().unwrap_or(""), name, Some(line)).0),
            (_, None) => None,
        };

        let settings_write = || write_atomically(&self.settings, settings_text.as_bytes()).map_err(|e| io_error(&self.settings, e));
        let settings_undo = || restore(&self.settings, files.settings.text.as_deref());
        let users_write = |text: &str| write_atomically(&self.users, text.as_bytes()).map_err(|e| io_error(&self.users, e));
        if let Change::Delete = change {
            // The line first: the account is gone before its restrictions.
            users_write(users_text.as_deref().unwrap_or(""))?;
            if settings_changes && let Err(e) = settings_write() {
                restore(&self.users, files.users.text.as_deref());
                return Err(e.into());
            }
        } else {
            // The settings first: in place before the line that uses them.
            if settings_changes {
                settings_write()?;
            }
            if let Some(text) = &users_text
                && let Err(e) = users_write(text)
            {
                if settings_changes {
                    settings_undo();
                }
                return Err(e.into());
            }
        }
        self.patch(
            &files,
            name,
            match change {
                Change::Delete => None,
                _ => Some(UserRecord::from_settings(name, Some(&new), &files.parsed.defaults)),
            },
        );
        Ok(())
    }

    /// Never write a settings file that would not read back as meant.
    fn check_readback(&self, text: &str, name: &str, new: &UserSettings) -> Result<(), StoreError> {
        let back = SettingsFile::parse(text, &self.settings).map_err(|e| StoreError::Failed(e.to_string()))?;
        let got = back.users.get(name).cloned().unwrap_or_default();
        if &got != new {
            return Err(StoreError::Failed(format!(
                "{}: the table of {name:?} would not read back as written; change it by hand, or report this",
                self.settings.display()
            )));
        }
        Ok(())
    }

    /// After a change read from `files`: update the kept records when they
    /// were of those very files, drop them otherwise.
    fn patch(&self, files: &Files, name: &str, record: Option<UserRecord>) {
        let mut kept = crate::sync::lock(&self.snapshot);
        let stamps = (Stamp::now(&self.users), Stamp::now(&self.settings));
        let (Some(old), (Ok(u), Ok(s))) = (kept.as_mut(), stamps) else {
            *kept = None;
            return;
        };
        if old.stamps != (files.users.stamp, files.settings.stamp) {
            *kept = None;
            return;
        }
        let snapshot = Arc::make_mut(old);
        snapshot.stamps = (u, s);
        match (snapshot.find(name), record) {
            (Ok(i), Some(r)) => snapshot.entries[i].1 = r,
            (Err(i), Some(r)) => snapshot.entries.insert(i, (name.to_lowercase(), r)),
            (Ok(i), None) => {
                snapshot.entries.remove(i);
            }
            (Err(_), None) => {}
        }
    }
}

/// Put a file back as it was (`None`: there was none). Best effort: the
/// caller reports the error that made it necessary.
fn restore(path: &Path, text: Option<&str>) {
    let undone = match text {
        Some(text) => write_atomically(path, text.as_bytes()),
        None => std::fs::remove_file(path),
    };
    if let Err(e) = undone {
        tracing::error!(file = %path.display(), error = %e, "could not put the file back after a failed change; check it");
    }
}

impl UserDirectory for FileDirectory {
    fn list<'a>(&'a self, q: &'a UserQuery) -> BoxFuture<'a, Result<UserPage, DirectoryError>> {
        let q = q.clone();
        self.blocking(move |inner| Ok(inner.list(&q)?))
    }

    fn get<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<UserRecord>, DirectoryError>> {
        let name = name.to_owned();
        self.blocking(move |inner| Ok(inner.get(&name)?))
    }

    fn create<'a>(&'a self, record: &'a UserRecord, password: &'a str) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let checked = directory::checked(record, Some(password));
        let password = password.to_owned();
        self.blocking(move |inner| {
            let record = checked?;
            // The slow hash before the lock: other changes need not wait.
            let line = format!("{}:{}", record.name, hash::hash_password(&password));
            inner.change(&record.name.clone(), Change::Create { record, line })
        })
    }

    fn update<'a>(&'a self, record: &'a UserRecord, password: Option<&'a str>) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let checked = directory::checked(record, password);
        let password = password.map(str::to_owned);
        self.blocking(move |inner| {
            let record = checked?;
            let line = password.map(|p| format!("{}:{}", record.name, hash::hash_password(&p)));
            inner.change(&record.name.clone(), Change::Update { record, line })
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let name = name.to_owned();
        self.blocking(move |inner| inner.change(&name, Change::Delete))
    }
}

#[cfg(test)]
mod tests;
