//! Where admin accounts and their tokens are kept: the [`AdminStore`]
//! trait, which the admin files ([`super::file::FileAdminStore`]) and
//! PostgreSQL (`super::postgres`, feature `postgres`) implement, and which
//! [`super::AdminAuth`] and `ferryd admin …` go through, so both work the
//! same on every store.
//!
//! It keeps what [`crate::auth::AccountStore`] keeps for FTP users — a name
//! and an argon2id hash — in a place of its own: an FTP account never opens
//! the admin API, and an admin is no FTP user.

use crate::auth::{BoxFuture, StoreError};

use super::token::TokenRecord;

/// A place that holds admin accounts and their tokens.
///
/// Expired tokens are as if they were not there: reads leave them out,
/// and every write also deletes them, so that the store does not grow
/// with every sign-in.
pub trait AdminStore: Send + Sync + 'static {
    /// The argon2id PHC string of `name`: `Ok(None)` if there is no such
    /// admin, `Err` if the store cannot tell right now.
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>>;

    /// Every admin name, sorted.
    fn names(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>>;

    /// Add `name` with `password`, or give an existing `name` this new
    /// password; the store keeps an argon2id hash (made on a blocking
    /// thread), never the password. `Ok(true)` if the admin existed. Its
    /// tokens stay valid: revoke them to end sessions.
    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Remove the admin `name` and every token of theirs
    /// ([`StoreError::NoSuchUser`] if there is none).
    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Keep a new token ([`StoreError::NoSuchUser`] if its admin is not
    /// there).
    fn add_token<'a>(&'a self, token: &'a TokenRecord) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The token with this id, if it is there and has not expired.
    fn find_token<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<TokenRecord>, StoreError>>;

    /// Delete the token with this id; `Ok(false)` if there was none.
    fn revoke_token<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// The live tokens of `admin`, oldest first
    /// ([`StoreError::NoSuchUser`] if there is no such admin).
    fn tokens<'a>(&'a self, admin: &'a str) -> BoxFuture<'a, Result<Vec<TokenRecord>, StoreError>>;
}
