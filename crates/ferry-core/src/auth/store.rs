//! Where accounts are kept: an [`AccountStore`] looks up the stored secret
//! of a user name, lists the names, sets a password and removes an account,
//! nothing more. The users file answers from memory (and is changed on
//! disk, see [`super::users_file::UsersFileStore`]), PostgreSQL over the
//! network; the password checks, the login cache and the per-user settings
//! are the [`super::password::PasswordAuth`]'s, above every store. Tools
//! that manage accounts (`ferryd user …`) go through the same trait, so
//! that they work the same on every store.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::settings::UserSettings;

/// A boxed future, for object-safe async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a login reads from a store: the secret, and the account's own
/// settings when the store keeps them (see
/// [`AccountStore::lookup_account`]).
pub type StoredAccount = (Secret, Option<UserSettings>);

/// How a password is stored.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// An argon2 PHC string (`$argon2id$…`).
    Argon2(String),
    /// The password itself (the seed's users file format).
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

/// What a user name may be made of, for error messages.
pub const NAME_RULE: &str = "use letters and digits (any script), '.', '_', '-' or '@', at most 64 characters, not only dots";

/// True if `name` is usable as a user name in every store: 1 to 64
/// letters or digits of any script, `.`, `_`, `-` or `@` (no spaces,
/// controls or `:`, which would break the users file, the FTP command line
/// or the logs).
pub fn valid_name(name: &str) -> bool {
    // Only dots (`.`, `..`) would be a path segment that URLs (the admin
    // pages' `/users/{name}`) and file names collapse.
    !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c))
        && !name.chars().all(|c| c == '.')
}

/// The store could not do what was asked. [`Unavailable`](Self::Unavailable)
/// and [`TimedOut`](Self::TimedOut) are outages (a login answers "try
/// later", not "wrong password"); the others refuse a change. Its text
/// never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store failed (connection refused, query error, …).
    #[error("account database unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer in time (a hung database).
    #[error("account database did not answer within {} s", .0.as_secs_f32())]
    TimedOut(Duration),
    /// A user name no store accepts (see [`valid_name`]).
    #[error("invalid user name {0:?}: {NAME_RULE}")]
    BadName(String),
    /// There is no account of that name to change or remove.
    #[error("no user {name:?} in {place}")]
    NoSuchUser {
        /// The name asked for.
        name: String,
        /// Where it was looked for: "the users file", "the database".
        place: &'static str,
    },
    /// The store's own data cannot be used or changed (a users file that
    /// does not parse or cannot be written); the text, the store's own,
    /// names the file and line.
    #[error("{0}")]
    Failed(String),
    /// This store does not do that (a store that can only be read).
    #[error("this account store cannot {0}")]
    Unsupported(&'static str),
}

/// A place that holds accounts.
///
/// Only [`lookup`](Self::lookup) is required: it is all a login needs.
/// The others, which manage accounts, refuse with
/// [`StoreError::Unsupported`] unless the store implements them.
pub trait AccountStore: Send + Sync + 'static {
    /// The stored secret of `name`: `Ok(None)` if there is no such account,
    /// `Err` if the store cannot tell right now.
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>>;

    /// The stored secret of `name` and the account's own settings when
    /// the store keeps them with the account (a database row's `settings`
    /// column; `None`: the store keeps none, or this account has none).
    /// What a login reads: a store that keeps settings answers both in one
    /// look-up, so a change made on one node counts on every node at the
    /// next login. The default asks [`lookup`](Self::lookup) and has no
    /// settings.
    fn lookup_account<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<StoredAccount>, StoreError>> {
        Box::pin(async move { Ok(self.lookup(name).await?.map(|secret| (secret, None))) })
    }

    /// Every user name, sorted.
    fn names(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::Unsupported("list its accounts"))))
    }

    /// Add `name` with `password`, or give an existing `name` this new
    /// password; the store keeps an argon2id hash, never the password.
    /// `Ok(true)` if the account existed.
    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let _ = (name, password);
        Box::pin(std::future::ready(Err(StoreError::Unsupported("change accounts"))))
    }

    /// Remove the account `name` ([`StoreError::NoSuchUser`] if there is
    /// none).
    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = name;
        Box::pin(std::future::ready(Err(StoreError::Unsupported("change accounts"))))
    }
}
