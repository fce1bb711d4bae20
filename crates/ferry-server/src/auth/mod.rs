//! Who may log in.
//!
//! An [`Authenticator`] answers one question: does this user name and
//! password pair open an account? It is synchronous because the answer costs
//! a deliberately slow password hash; sessions call it through
//! `spawn_blocking` so the hash never runs on an async worker thread.

pub mod cache;
pub mod defender;
pub mod hash;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod settings;
pub mod users_file;

use ferry_proto::command::Password;

/// A logged-in identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user name as written in the users file.
    pub name: String,
    /// What the user may do: home folder, permissions, quotas, rates.
    pub policy: settings::Policy,
}

/// Checks credentials.
pub trait Authenticator: Send + Sync + 'static {
    /// `Some(account)` if the pair is valid. Implementations must take the
    /// same time for an unknown user as for a wrong password, so that the
    /// answer does not reveal which user names exist.
    fn authenticate(&self, user: &str, password: &Password) -> Option<Account>;

    /// The answer without the slow hash, when there is one: `Some` for a
    /// pair verified moments ago (see [`cache::LoginCache`]), `None` to call
    /// [`Authenticator::authenticate`] on the blocking pool. Must never
    /// answer a failure quickly (that would make guessing cheap).
    fn authenticate_quick(&self, _user: &str, _password: &Password) -> Option<Option<Account>> {
        None
    }
}
