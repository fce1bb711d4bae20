//! The users file: the seed's `users.txt`, grown up.
//!
//! One account per line, `name:secret`. Blank lines and lines starting with
//! `#` are ignored. `secret` is an argon2id PHC string (`$argon2id$…`), or —
//! as in the seed — the password in plain text, which still works but draws a
//! warning naming the line at start-up. `ferryd user add` always writes
//! hashes.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ferry_proto::command::Password;

use super::cache::LoginCache;
use super::settings::{SettingsError, SettingsFile};
use super::{Account, Authenticator, hash};

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
    /// A user name that cannot work in FTP or in this file.
    #[error("invalid user name {0:?}: use letters, digits, '.', '_', '-' or '@'")]
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

/// How a secret is stored.
#[derive(Clone, PartialEq, Eq)]
enum Secret {
    Argon2(String),
    Plain(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Argon2(_) => "Argon2(****)",
            Secret::Plain(_) => "Plain(****)",
        })
    }
}

/// The accounts of one users file, with their settings.
#[derive(Debug, Clone, Default)]
pub struct UsersFile {
    users: HashMap<String, Secret>,
    settings: SettingsFile,
    /// Line numbers of plain-text secrets, for the start-up warning.
    plain_lines: Vec<(usize, String)>,
    /// Recently verified logins (a reload starts a fresh one).
    cache: std::sync::Arc<LoginCache>,
}

/// True if `name` is usable as a user name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

impl UsersFile {
    /// Parse the text of a users file; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<UsersFile, UsersFileError> {
        let mut out = UsersFile::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, secret) = line.split_once(':').ok_or_else(|| UsersFileError::Syntax { path: path.to_owned(), line: i + 1 })?;
            let name = name.trim();
            if !valid_name(name) {
                return Err(UsersFileError::Syntax { path: path.to_owned(), line: i + 1 });
            }
            let secret = if secret.starts_with("$argon2") {
                Secret::Argon2(secret.to_owned())
            } else {
                out.plain_lines.push((i + 1, name.to_owned()));
                Secret::Plain(secret.to_owned())
            };
            out.users.insert(name.to_owned(), secret);
        }
        Ok(out)
    }

    /// Read and parse a users file, and the settings file beside it
    /// (`users.toml` for `users.txt`) if there is one.
    pub fn load(path: &Path) -> Result<UsersFile, UsersFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| UsersFileError::Io { path: path.to_owned(), source })?;
        let settings = SettingsFile::load_optional(&settings_path(path))?;
        Ok(Self::parse(&text, path)?.with_settings(settings))
    }

    /// Use these per-user settings.
    pub fn with_settings(mut self, settings: SettingsFile) -> UsersFile {
        self.settings = settings;
        self
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

    /// The user names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.users.keys().cloned().collect();
        v.sort();
        v
    }
}

impl Authenticator for UsersFile {
    fn authenticate_quick(&self, user: &str, password: &Password) -> Option<Option<Account>> {
        match self.users.get(user) {
            Some(Secret::Argon2(_)) if self.cache.hit(user, &password.0, std::time::Instant::now()) => {
                Some(Some(Account { name: user.to_owned(), policy: self.settings.policy(user) }))
            }
            _ => None,
        }
    }

    fn authenticate(&self, user: &str, password: &Password) -> Option<Account> {
        if matches!(user, "anonymous" | "ftp") && !self.users.contains_key(user) {
            // RFC 1635 anonymous access: only when enabled, and read-only.
            return self.settings.anonymous_policy().map(|policy| Account { name: "anonymous".to_owned(), policy });
        }
        let now = std::time::Instant::now();
        let ok = match self.users.get(user) {
            Some(Secret::Argon2(_)) if self.cache.hit(user, &password.0, now) => true,
            Some(Secret::Argon2(phc)) => {
                let ok = hash::verify(&password.0, phc);
                if ok {
                    self.cache.remember(user, &password.0, now);
                }
                ok
            }
            Some(Secret::Plain(p)) => {
                // Pay the hash anyway, so timing does not tell plain from
                // missing accounts.
                hash::verify_dummy(&password.0);
                hash::plain_eq(&password.0, p)
            }
            None => {
                hash::verify_dummy(&password.0);
                false
            }
        };
        ok.then(|| Account { name: user.to_owned(), policy: self.settings.policy(user) })
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
    let mut replaced = false;
    let mut out = String::with_capacity(text.len() + new_line.len() + 1);
    for line in text.lines() {
        let is_user = line.trim().split_once(':').is_some_and(|(n, _)| n.trim() == name) && !line.trim_start().starts_with('#');
        if is_user && !replaced {
            out.push_str(&new_line);
            replaced = true;
        } else if !is_user {
            out.push_str(line);
        } else {
            continue;
        }
        out.push('\n');
    }
    if !replaced {
        out.push_str(&new_line);
        out.push('\n');
    }
    write_atomically(path, out.as_bytes()).map_err(io_err)?;
    Ok(replaced)
}

/// Remove `name` from the users file at `path`, keeping every other line.
pub fn remove_user(path: &Path, name: &str) -> Result<(), UsersFileError> {
    let io_err = |source| UsersFileError::Io { path: path.to_owned(), source };
    let text = std::fs::read_to_string(path).map_err(io_err)?;
    let mut found = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let is_user = !line.trim_start().starts_with('#') && line.trim().split_once(':').is_some_and(|(n, _)| n.trim() == name);
        if is_user {
            found = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !found {
        return Err(UsersFileError::NoSuchUser(name.to_owned()));
    }
    write_atomically(path, out.as_bytes()).map_err(io_err)
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
    use super::*;

    #[test]
    fn quick_answers_only_recent_successes() {
        let h = hash::hash_password("right");
        let f = UsersFile::parse(&format!("alice:{h}\nbob:plain\n"), Path::new("u.txt")).unwrap();
        let pw = |p: &str| Password(p.to_owned());
        assert!(f.authenticate_quick("alice", &pw("right")).is_none(), "not verified yet: needs the hash");
        assert!(f.authenticate("alice", &pw("right")).is_some());
        assert_eq!(f.authenticate_quick("alice", &pw("right")).flatten().map(|a| a.name), Some("alice".to_owned()));
        assert!(f.authenticate_quick("alice", &pw("wrong")).is_none(), "a wrong password is never answered quickly");
        assert!(f.authenticate_quick("nobody", &pw("right")).is_none());
        assert!(f.authenticate_quick("bob", &pw("plain")).is_none(), "plain-text accounts always pay the hash");
    }

    #[test]
    fn parse_comments_plain_and_hashed() {
        let h = hash::hash_password("pw2");
        let text = format!("# users\n\nalice:pw1\nbob:{h}\n");
        let f = UsersFile::parse(&text, Path::new("u.txt")).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f.plain_text_lines(), &[(3, "alice".to_owned())]);
        assert!(f.authenticate("alice", &Password("pw1".into())).is_some());
        assert!(f.authenticate("bob", &Password("pw2".into())).is_some());
        assert!(f.authenticate("bob", &Password("pw1".into())).is_none());
        assert!(f.authenticate("carol", &Password("pw1".into())).is_none());
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = UsersFile::parse("ok:1\nbroken\n", Path::new("u.txt")).unwrap_err();
        assert_eq!(e.to_string(), "u.txt:2: expected `name:secret`");
    }

    #[test]
    fn set_user_adds_and_replaces_keeping_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.txt");
        std::fs::write(&path, "# keep me\nalice:old\n").unwrap();
        assert!(set_user(&path, "alice", "new").unwrap());
        assert!(!set_user(&path, "bob", "b").unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# keep me\nalice:$argon2id$"), "{text}");
        let f = UsersFile::load(&path).unwrap();
        assert!(f.authenticate("alice", &Password("new".into())).is_some());
        assert!(f.authenticate("bob", &Password("b".into())).is_some());
        assert!(f.plain_text_lines().is_empty());
        assert!(set_user(&path, "bad name", "x").is_err());
    }
}
