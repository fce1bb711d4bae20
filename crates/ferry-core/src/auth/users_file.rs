//! The users file: the seed's `users.txt`, grown up.
//!
//! One account per line, `name:secret`. Blank lines and lines starting with
//! `#` are ignored. Names are letters and digits of any script plus
//! `. _ - @` (see [`valid_name`]), each defined once. `secret` is an argon2id PHC string (`$argon2id$…`), or —
//! as in the seed — the password in plain text, which still works but draws a
//! warning naming the line at start-up. `ferryd user add` always writes
//! hashes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::hash;
use super::settings::{SettingsError, SettingsFile};
use super::store::{AccountStore, BoxFuture, Secret, StoreError};

// The name rule is every store's; it is written beside the trait.
pub use super::store::{NAME_RULE, valid_name};

/// A problem reading or writing the users file.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// The OS's error.
        source: std::io::Error,
    },
    /// A line is not `name:secret`.
    #[error("{path}:{line}: expected `name:secret`")]
    Syntax {
        /// Which file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A line's user name is not allowed.
    #[error("{path}:{line}: invalid user name {name:?}: {NAME_RULE}")]
    NameOnLine {
        /// Which file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The name as written.
        name: String,
    },
    /// The same user twice.
    #[error("{path}:{line}: {name} is already defined on line {first}")]
    Duplicate {
        /// Which file.
        path: PathBuf,
        /// 1-based line number of the second definition.
        line: usize,
        /// The user name.
        name: String,
        /// 1-based line number of the first.
        first: usize,
    },
    /// A user name that cannot work in FTP or in this file.
    #[error("invalid user name {0:?}: {NAME_RULE}")]
    BadName(String),
    /// `passwd` or `del` of a user that is not there.
    #[error("no user {0:?} in the users file")]
    NoSuchUser(String),
    /// The per-user settings file is wrong.
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// The settings file that goes with a users file: same name, `.toml`.
pub fn settings_path(users: &Path) -> PathBuf {
    users.with_extension("toml")
}

/// The accounts of one users file.
#[derive(Debug, Clone, Default)]
pub struct UsersFile {
    users: HashMap<String, Secret>,
    /// Line numbers of plain-text secrets, for the start-up warning.
    plain_lines: Vec<(usize, String)>,
}

impl UsersFile {
    /// Parse the text of a users file; `path` is used in error messages.
    ///
    /// Names are trimmed; a plain-text password is everything after the
    /// first `:` up to the line end, spaces included.
    pub fn parse(text: &str, path: &Path) -> Result<UsersFile, UsersFileError> {
        let mut out = UsersFile::default();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_start();
            if line.trim_end().is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, secret) = line.split_once(':').ok_or_else(|| UsersFileError::Syntax { path: path.to_owned(), line: line_no })?;
            let name = name.trim();
            if !valid_name(name) {
                return Err(UsersFileError::NameOnLine { path: path.to_owned(), line: line_no, name: name.to_owned() });
            }
            let secret = if secret.trim_start().starts_with("$argon2") {
                // A PHC string has no spaces: stray ones around it are not part of it.
                Secret::Argon2(secret.trim().to_owned())
            } else {
                out.plain_lines.push((line_no, name.to_owned()));
                Secret::Plain(secret.to_owned())
            };
            match first_line.entry(name.to_owned()) {
                Entry::Occupied(first) => {
                    return Err(UsersFileError::Duplicate {
                        path: path.to_owned(),
                        line: line_no,
                        name: name.to_owned(),
                        first: *first.get(),
                    });
                }
                Entry::Vacant(v) => {
                    v.insert(line_no);
                }
            }
            out.users.insert(name.to_owned(), secret);
        }
        Ok(out)
    }

    /// Read and parse a users file.
    pub fn load(path: &Path) -> Result<UsersFile, UsersFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| UsersFileError::Io { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    /// `(line, user)` for each account whose password is stored in plain text.
    pub fn plain_text_lines(&self) -> &[(usize, String)] {
        &self.plain_lines
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// True if `name` has an account.
    pub fn contains(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }

    /// The user names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.users.keys().cloned().collect();
        v.sort();
        v
    }
}

/// Read a users file and the settings file beside it (`users.toml` for
/// `users.txt`), if there is one.
pub fn load_with_settings(path: &Path) -> Result<(UsersFile, SettingsFile), UsersFileError> {
    let users = UsersFile::load(path)?;
    let settings = SettingsFile::load_optional(&settings_path(path))?;
    Ok((users, settings))
}

/// A snapshot answers logins from memory; it is changed through the file
/// ([`UsersFileStore`]) and read again on reload.
impl AccountStore for UsersFile {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.users.get(name).cloned())))
    }

    fn names(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(std::future::ready(Ok(UsersFile::names(self))))
    }
}

/// The users file on disk as an [`AccountStore`]: every call reads the
/// file afresh, and changes go to the file at once (see [`set_user`] and
/// [`remove_user`]). This is what `ferryd user …` works on. A running
/// server logs in from a [`UsersFile`] snapshot instead, read at start and
/// on reload, so that it never sees an edit half made.
#[derive(Debug, Clone)]
pub struct UsersFileStore {
    path: PathBuf,
}

impl UsersFileStore {
    /// The users file at `path` (which [`set_password`] creates if
    /// missing).
    ///
    /// [`set_password`]: AccountStore::set_password
    pub fn new(path: impl Into<PathBuf>) -> UsersFileStore {
        UsersFileStore { path: path.into() }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `work` on the file, on a blocking thread: file I/O and argon2
    /// hashing must not hold up an async worker.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Path) -> Result<T, UsersFileError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let path = self.path.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || work(&path)).await {
                Ok(done) => done.map_err(StoreError::from),
                Err(e) => Err(StoreError::Failed(format!("the users file task failed: {e}"))),
            }
        })
    }
}

impl AccountStore for UsersFileStore {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
        let name = name.to_owned();
        self.blocking(move |path| Ok(UsersFile::load(path)?.users.remove(&name)))
    }

    fn names(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        self.blocking(|path| Ok(UsersFile::load(path)?.names()))
    }

    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (name, password) = (name.to_owned(), password.to_owned());
        self.blocking(move |path| set_user(path, &name, &password))
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let name = name.to_owned();
        self.blocking(move |path| remove_user(path, &name))
    }
}

/// The store's view of a users file error: bad names and missing users
/// keep their kind; the rest keep their text, which names the file (and
/// line).
impl From<UsersFileError> for StoreError {
    fn from(e: UsersFileError) -> StoreError {
        match e {
            UsersFileError::BadName(name) => StoreError::BadName(name),
            UsersFileError::NoSuchUser(name) => StoreError::NoSuchUser { name, place: "the users file" },
            other => StoreError::Failed(other.to_string()),
        }
    }
}

/// Add or replace `name` in the users file at `path` with a hashed
/// password, keeping every other line (comments included) as it was. The
/// file is replaced atomically: written beside, synced, renamed.
pub fn set_user(path: &Path, name: &str, password: &str) -> Result<bool, UsersFileError> {
    if !valid_name(name) {
        return Err(UsersFileError::BadName(name.to_owned()));
    }
    let io_err = |source| UsersFileError::Io { path: path.to_owned(), source };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err(e)),
    };
    UsersFile::parse(&text, path)?;
    let new_line = format!("{name}:{}", hash::hash_password(password));
    let (out, replaced) = with_line(&text, name, Some(&new_line));
    write_atomically(path, out.as_bytes()).map_err(io_err)?;
    Ok(replaced)
}

/// Remove `name` from the users file at `path`, keeping every other line.
pub fn remove_user(path: &Path, name: &str) -> Result<(), UsersFileError> {
    let io_err = |source| UsersFileError::Io { path: path.to_owned(), source };
    let text = std::fs::read_to_string(path).map_err(io_err)?;
    let (out, found) = with_line(&text, name, None);
    if !found {
        return Err(UsersFileError::NoSuchUser(name.to_owned()));
    }
    write_atomically(path, out.as_bytes()).map_err(io_err)
}

/// The users file `text` with `name`'s line replaced by `new_line` (or
/// removed, with `None`; appended when there was none), every other line
/// as it was; and whether `name` had a line.
pub(crate) fn with_line(text: &str, name: &str, new_line: Option<&str>) -> (String, bool) {
    let mut found = false;
    let mut out = String::with_capacity(text.len() + new_line.map_or(0, |l| l.len() + 1));
    for line in text.lines() {
        let is_user = !line.trim_start().starts_with('#') && line.trim().split_once(':').is_some_and(|(n, _)| n.trim() == name);
        if !is_user {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if !found && let Some(new_line) = new_line {
            out.push_str(new_line);
            out.push('\n');
        }
        found = true;
    }
    if !found && let Some(new_line) = new_line {
        out.push_str(new_line);
        out.push('\n');
    }
    (out, found)
}

/// Write `contents` to `path` via a temporary file in the same folder, with
/// owner-only permissions (the file holds password hashes).
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::password::PasswordAuth;
    use super::*;

    fn login(f: &UsersFile, user: &str, password: &str) -> bool {
        let auth = PasswordAuth::new(Arc::new(f.clone()), SettingsFile::default());
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(auth.login(user, password)).unwrap().is_some()
    }

    #[test]
    fn parse_comments_plain_and_hashed() {
        let h = hash::hash_password("pw2");
        let text = format!("# users\n\n  # indented comment\nalice:pw1\nbob:{h}\n");
        let f = UsersFile::parse(&text, Path::new("u.txt")).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f.plain_text_lines(), &[(4, "alice".to_owned())]);
        assert!(login(&f, "alice", "pw1"));
        assert!(login(&f, "bob", "pw2"));
        assert!(!login(&f, "bob", "pw1"));
        assert!(!login(&f, "carol", "pw1"));
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = UsersFile::parse("ok:1\nbroken\n", Path::new("u.txt")).unwrap_err();
        assert_eq!(e.to_string(), "u.txt:2: expected `name:secret`");
    }

    #[test]
    fn duplicate_names_are_an_error_naming_both_lines() {
        let e = UsersFile::parse("# x\nalice:1\nbob:2\n\n alice :3\n", Path::new("users.txt")).unwrap_err();
        assert_eq!(e.to_string(), "users.txt:5: alice is already defined on line 2");
    }

    #[test]
    fn unicode_names_are_accepted_and_bad_names_say_what_is_allowed() {
        let f = UsersFile::parse("José:pw\nюлия.k@example:pw\n李雷_2:pw\nx-y:pw\n", Path::new("u.txt")).unwrap();
        assert_eq!(f.len(), 4);
        assert!(login(&f, "李雷_2", "pw"));
        assert!(login(&f, "юлия.k@example", "pw"));
        let long = "é".repeat(65);
        for bad in ["two words", "tab\there", "semi;colon", "", long.as_str()] {
            let e = UsersFile::parse(&format!("ok:1\n{bad}:pw\n"), Path::new("u.txt")).unwrap_err();
            assert_eq!(e.to_string(), format!("u.txt:2: invalid user name {bad:?}: {NAME_RULE}"), "{bad:?}");
        }
        assert!(valid_name(&"é".repeat(64)), "64 characters, 128 bytes");
        assert!(!valid_name("bell\u{7}"));
        assert!(!valid_name(".") && !valid_name("..") && !valid_name("...") && valid_name(".hidden") && valid_name("a.b"), "not only dots");
    }

    #[test]
    fn plain_passwords_keep_their_spaces() {
        let f = UsersFile::parse("  alice :pass word  \r\nbob: lead\n", Path::new("u.txt")).unwrap();
        assert!(login(&f, "alice", "pass word  "), "trailing spaces are part of the password");
        assert!(!login(&f, "alice", "pass word"));
        assert!(login(&f, "bob", " lead"));
    }

    /// `ferryd user …` goes through the trait: the file on disk is read
    /// and changed by every call, and refusals keep their kind.
    #[test]
    fn the_file_on_disk_as_an_account_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.txt");
        let store = UsersFileStore::new(&path);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let missing = store.names().await.unwrap_err();
            assert!(matches!(&missing, StoreError::Failed(text) if text.starts_with(&format!("{}: ", path.display()))), "{missing}");
            assert!(!store.set_password("bob", "b0b").await.unwrap(), "added");
            assert!(!store.set_password("alice", "one").await.unwrap());
            assert!(store.set_password("alice", "two").await.unwrap(), "replaced");
            assert_eq!(store.names().await.unwrap(), ["alice", "bob"]);
            let Some(Secret::Argon2(phc)) = store.lookup("alice").await.unwrap() else { panic!("not hashed") };
            assert!(hash::verify("two", &phc));
            assert_eq!(store.lookup("carol").await.unwrap(), None);
            store.remove("bob").await.unwrap();
            assert_eq!(store.names().await.unwrap(), ["alice"]);
            let e = store.remove("bob").await.unwrap_err();
            assert_eq!(e, StoreError::NoSuchUser { name: "bob".into(), place: "the users file" });
            assert_eq!(e.to_string(), "no user \"bob\" in the users file");
            let e = store.set_password("two words", "x").await.unwrap_err();
            assert_eq!(e.to_string(), format!("invalid user name \"two words\": {NAME_RULE}"));
            std::fs::write(&path, "alice:x\nbroken\n").unwrap();
            let e = store.lookup("alice").await.unwrap_err();
            assert_eq!(e.to_string(), format!("{}:2: expected `name:secret`", path.display()));
        });
        // A snapshot lists its names but is changed only through the file.
        let snapshot = UsersFile::parse("zed:pw\namy:pw\n", Path::new("u.txt")).unwrap();
        rt.block_on(async {
            assert_eq!(AccountStore::names(&snapshot).await.unwrap(), ["amy", "zed"]);
            assert_eq!(snapshot.remove("amy").await.unwrap_err(), StoreError::Unsupported("change accounts"));
        });
    }

    #[test]
    fn set_user_adds_and_replaces_keeping_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.txt");
        std::fs::write(&path, "# keep me\nalice:old\n").unwrap();
        assert!(set_user(&path, "alice", "new").unwrap());
        assert!(!set_user(&path, "bob", "b").unwrap());
        assert!(!set_user(&path, "zoë", "z").unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# keep me\nalice:$argon2id$"), "{text}");
        let f = UsersFile::load(&path).unwrap();
        assert!(login(&f, "alice", "new"));
        assert!(login(&f, "bob", "b"));
        assert!(login(&f, "zoë", "z"));
        assert!(f.plain_text_lines().is_empty());
        let e = set_user(&path, "bad name", "x").unwrap_err();
        assert!(e.to_string().contains(NAME_RULE), "{e}");
    }
}
