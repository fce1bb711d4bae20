//! The administrator's view of one account store: whole
//! [`UserRecord`]s listed a page at a time, read, created, changed and
//! removed. The admin API works through this trait alone, so the users
//! file ([`super::file_directory::FileDirectory`]) and PostgreSQL (the
//! `postgres` store, feature `postgres`) behave the same behind it.
//!
//! Every change is checked first ([`UserRecord::validate`]): a refused
//! record changes nothing and says, field by field, what to write instead.
//! Passwords go in, never out: they are stored as argon2id hashes, and no
//! record holds one.

use super::record::{FieldError, UserRecord};
use super::store::{BoxFuture, StoreError};

/// Which accounts to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// Only names holding this text, case-insensitively; `None`: all.
    pub search: Option<String>,
    /// How many of the matches (sorted by name) to skip.
    pub offset: usize,
    /// At most this many records.
    pub limit: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The records of the page, sorted by name.
    pub users: Vec<UserRecord>,
    /// How many accounts matched, before paging.
    pub total: usize,
}

/// A change or a listing that did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The record (or the password) cannot be used; each error names its
    /// field.
    #[error("{}", invalid(.0))]
    Invalid(Vec<FieldError>),
    /// An account of that name is already there.
    #[error("user {0:?} already exists: choose another name, or change that account instead")]
    Exists(String),
    /// No account of that name.
    #[error("no user {0:?}: check the name, or create the account first")]
    NotFound(String),
    /// The store failed or refused (its text names the file, or says the
    /// database is unavailable).
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(errors: &[FieldError]) -> String {
    let each: Vec<String> = errors.iter().map(FieldError::to_string).collect();
    format!("the user record cannot be used: {}", each.join("; "))
}

/// A refused password, or `None`. Empty passwords are never stored: an
/// FTP client sends one for "no password", and it must not open an
/// account.
pub(crate) fn password_error(password: &str) -> Option<FieldError> {
    password.is_empty().then(|| FieldError::new("password", "an empty password is not allowed: give one of at least one character"))
}

/// Check `record` and `password` together; the record comes back in its
/// canonical form (see [`UserRecord::canonical`]).
pub(crate) fn checked(record: &UserRecord, password: Option<&str>) -> Result<UserRecord, DirectoryError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let canonical = record.canonical().map_err(|e| errors.extend(e)).ok();
    errors.extend(password.and_then(password_error));
    match canonical {
        Some(record) if errors.is_empty() => Ok(record),
        _ => Err(DirectoryError::Invalid(errors)),
    }
}

/// Accounts, as an administrator manages them.
pub trait UserDirectory: Send + Sync + 'static {
    /// The accounts matching `q`, sorted by name, one page of them.
    fn list<'a>(&'a self, q: &'a UserQuery) -> BoxFuture<'a, Result<UserPage, DirectoryError>>;

    /// The account `name`, if there is one.
    fn get<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<UserRecord>, DirectoryError>>;

    /// Add the account `record` with `password`
    /// ([`DirectoryError::Exists`] if the name is taken).
    fn create<'a>(&'a self, record: &'a UserRecord, password: &'a str) -> BoxFuture<'a, Result<(), DirectoryError>>;

    /// Replace the settings of the account `record.name` with `record`,
    /// and its password when one is given ([`DirectoryError::NotFound`] if
    /// there is no such account).
    fn update<'a>(&'a self, record: &'a UserRecord, password: Option<&'a str>) -> BoxFuture<'a, Result<(), DirectoryError>>;

    /// Remove the account `name` and its settings.
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), DirectoryError>>;
}

/// The page `q` asks for out of `matches` (sorted, all of them).
pub(crate) fn page<'r>(matches: impl Iterator<Item = &'r UserRecord>, q: &UserQuery) -> UserPage {
    let mut total = 0;
    let mut users = Vec::with_capacity(q.limit.min(1000));
    for r in matches {
        if total >= q.offset && users.len() < q.limit {
            users.push(r.clone());
        }
        total += 1;
    }
    UserPage { users, total }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_tell_what_to_do() {
        let e = checked(&UserRecord { home: Some("../x".into()), ..UserRecord::new("a b") }, Some("")).unwrap_err();
        let DirectoryError::Invalid(fields) = &e else { panic!("{e:?}") };
        assert_eq!(fields.iter().map(|f| f.field).collect::<Vec<_>>(), ["name", "home", "password"]);
        assert!(e.to_string().starts_with("the user record cannot be used: name: \"a b\" cannot be a user name: use letters"), "{e}");
        assert!(e.to_string().ends_with("; password: an empty password is not allowed: give one of at least one character"), "{e}");
        assert_eq!(
            DirectoryError::Exists("bob".into()).to_string(),
            "user \"bob\" already exists: choose another name, or change that account instead"
        );
        assert_eq!(DirectoryError::NotFound("bob".into()).to_string(), "no user \"bob\": check the name, or create the account first");
        assert!(checked(&UserRecord::new("ok"), None).is_ok());
    }

    #[test]
    fn paging_counts_every_match() {
        let all: Vec<UserRecord> = (0..10).map(|i| UserRecord::new(format!("u{i}"))).collect();
        let p = page(all.iter(), &UserQuery { search: None, offset: 8, limit: 5 });
        assert_eq!((p.users.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), p.total), (vec!["u8", "u9"], 10));
        assert_eq!(page(all.iter(), &UserQuery { search: None, offset: 20, limit: 5 }).total, 10);
        assert!(page(all.iter(), &UserQuery { search: None, offset: 0, limit: 0 }).users.is_empty());
    }
}
