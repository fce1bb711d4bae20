//! Who may run the server: admin accounts and their tokens, for the admin
//! API and the web admin.
//!
//! Admins are not FTP users. They are kept apart — `admins.txt` beside the
//! users file, or tables of their own in PostgreSQL — so that an FTP
//! password never opens the admin API, and removing an FTP user never
//! locks an admin out.
//!
//! Layers, from the bottom:
//!
//! - [`AdminStore`]: where admins and tokens are — the files
//!   ([`FileAdminStore`]) or PostgreSQL (`postgres`, feature `postgres`,
//!   whose tokens work on every node that shares the database).
//! - [`token`]: what a token is, `fy_<id>_<secret>`, of which stores keep
//!   a SHA-256 only.
//! - [`AdminAuth`]: password logins in equal time, tokens issued,
//!   checked (cheaply, with a 2 s memory) and revoked, CSRF tokens for
//!   the web admin's forms.
//! - [`ensure_first_admin`]: a first admin with a random password, so that
//!   a new installation can be managed at all.
//!
//! Limiting guesses is not done here: the HTTP layer reports failures to
//! the server's [`Defender`](crate::auth::defender::Defender).

pub mod auth;
pub mod file;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod store;
pub mod token;
pub mod tokens_file;

pub use auth::{AdminAuth, CHECK_CACHE, IssuedToken};
pub use file::FileAdminStore;
pub use store::AdminStore;
pub use token::{BROWSER_TTL, LOGIN_TTL, TokenKind, TokenRecord};

use crate::auth::StoreError;

/// The name of the admin [`ensure_first_admin`] makes.
pub const FIRST_ADMIN: &str = "admin";
/// The length of its random password.
pub const FIRST_PASSWORD_LEN: usize = 16;

/// If `store` has no admin at all, make [`FIRST_ADMIN`] with a random
/// password of [`FIRST_PASSWORD_LEN`] characters and return its name and
/// password — to be shown once, since only the hash is kept. `Ok(None)`
/// if there is an admin already.
///
/// Two nodes starting at the same moment on one empty database could each
/// make it; the later password wins, and the earlier one printed opens
/// nothing (`ferryd admin passwd admin` sets one).
pub async fn ensure_first_admin(store: &dyn AdminStore) -> Result<Option<(String, String)>, StoreError> {
    if !store.names().await?.is_empty() {
        return Ok(None);
    }
    let password = crate::auth::hash::random_password(FIRST_PASSWORD_LEN);
    store.set_password(FIRST_ADMIN, &password).await?;
    Ok(Some((FIRST_ADMIN.to_owned(), password)))
}
