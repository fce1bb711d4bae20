//! Where accounts are kept: an [`AccountStore`] looks up the stored secret
//! of a user name, nothing more. The users file answers from memory,
//! PostgreSQL over the network; the password checks, the login cache and
//! the per-user settings are the [`super::password::PasswordAuth`]'s, above
//! every store.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, for object-safe async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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

/// The store could not answer: an outage, not a wrong password. Its text
/// never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store failed (connection refused, query error, …).
    #[error("account database unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer in time (a hung database).
    #[error("account database did not answer within {} s", .0.as_secs_f32())]
    TimedOut(Duration),
}

/// A place that holds accounts.
pub trait AccountStore: Send + Sync + 'static {
    /// The stored secret of `name`: `Ok(None)` if there is no such account,
    /// `Err` if the store cannot tell right now.
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>>;
}
