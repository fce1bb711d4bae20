//! PostgreSQL as a [`UserDirectory`]: the row's `secret` for the password,
//! its `settings` column (JSON) for everything else.
//!
//! Paging and searching happen in SQL, so a listing costs one query
//! whatever the table's size: the matches are counted by a window
//! (`count(*) OVER ()`, taken before `OFFSET`/`LIMIT`), sorted by name
//! byte by byte (`COLLATE "C"`, the order the users file lists in), and
//! searched with `ILIKE` after escaping `%`, `_` and `\`, so a search for
//! `50%` finds names holding "50%" and nothing else. Every query runs
//! under the store's deadline and pool.
//!
//! A row keeps its settings written out in full:
//! no node knows another's `users.toml`, so `enabled`, `read_only` and
//! `allowed_networks` are stored as they are, and mean the same on every
//! node. Only the optional fields left unset fall back to a node's
//! `[defaults]`. A row whose `settings` is NULL (made by `ferryd user
//! add`) shows as an account with the defaults; its `users.toml` table,
//! which a login uses for it, is not shown (the database cannot see it).

use super::{PgError, PgStore, settings_of};
use crate::auth::directory::{self, DirectoryError, UserDirectory, UserPage, UserQuery};
use crate::auth::hash;
use crate::auth::record::{Baseline, UserRecord};
use crate::auth::settings::UserSettings;
use crate::auth::store::{BoxFuture, StoreError};

/// A LIKE pattern that matches `text` literally, anywhere in a name.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The record of the row `name` whose `settings` column is `column`.
fn record_of(name: &str, column: Option<String>) -> Result<UserRecord, PgError> {
    Ok(match settings_of(name, column)? {
        Some(s) => UserRecord::from_settings(name, Some(&s), &UserSettings::default()),
        None => UserRecord::new(name),
    })
}

/// The `settings` column for a checked record.
fn column_of(record: &UserRecord) -> Result<String, DirectoryError> {
    let settings = record.to_settings(Baseline::Explicit).map_err(DirectoryError::Invalid)?;
    serde_json::to_string(&settings).map_err(|e| StoreError::Failed(format!("the settings do not serialize: {e}")).into())
}

/// An argon2id hash of `password`, made on a blocking thread.
async fn hashed(password: &str) -> Result<String, DirectoryError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash::hash_password(&password))
        .await
        .map_err(|e| StoreError::Failed(format!("the password hashing task failed: {e}")).into())
}

fn clamp(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgStore {
    /// One page of the accounts matching `q`.
    pub async fn list_records(&self, q: &UserQuery) -> Result<UserPage, PgError> {
        let pattern = contains_pattern(q.search.as_deref().unwrap_or(""));
        let (offset, limit) = (clamp(q.offset), clamp(q.limit));
        let rows = with_client!(self, |c| c.query(
            "SELECT name, settings, count(*) OVER () FROM ferry_users
             WHERE name ILIKE $1 ESCAPE '\\' ORDER BY name COLLATE \"C\" OFFSET $2 LIMIT $3",
            &[&pattern, &offset, &limit],
        ))
        .await?;
        let total: i64 = match rows.first() {
            Some(row) => row.try_get(2)?,
            // A page past the end has no row to carry the count.
            None => with_client!(self, |c| c.query_one("SELECT count(*) FROM ferry_users WHERE name ILIKE $1 ESCAPE '\\'", &[&pattern]))
                .await?
                .try_get(0)?,
        };
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            let name: String = row.try_get(0)?;
            users.push(record_of(&name, row.try_get(1)?)?);
        }
        Ok(UserPage { users, total: usize::try_from(total).unwrap_or(0) })
    }

    /// The account `name`, if there is one.
    pub async fn record(&self, name: &str) -> Result<Option<UserRecord>, PgError> {
        let row = with_client!(self, |c| c.query_opt("SELECT settings FROM ferry_users WHERE name = $1", &[&name])).await?;
        row.map(|r| record_of(name, r.try_get(0)?)).transpose()
    }
}

impl UserDirectory for PgStore {
    fn list<'a>(&'a self, q: &'a UserQuery) -> BoxFuture<'a, Result<UserPage, DirectoryError>> {
        Box::pin(async move { Ok(self.list_records(q).await.map_err(StoreError::from)?) })
    }

    fn get<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<UserRecord>, DirectoryError>> {
        Box::pin(async move { Ok(self.record(name).await.map_err(StoreError::from)?) })
    }

    fn create<'a>(&'a self, record: &'a UserRecord, password: &'a str) -> BoxFuture<'a, Result<(), DirectoryError>> {
        Box::pin(async move {
            let record = directory::checked(record, Some(password))?;
            let settings = column_of(&record)?;
            let secret = hashed(password).await?;
            let name = record.name.as_str();
            let added = with_client!(self, |c| c.execute(
                "INSERT INTO ferry_users (name, secret, settings) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                &[&name, &secret, &settings],
            ))
            .await
            .map_err(StoreError::from)?;
            if added == 0 {
                return Err(DirectoryError::Exists(record.name));
            }
            Ok(())
        })
    }

    fn update<'a>(&'a self, record: &'a UserRecord, password: Option<&'a str>) -> BoxFuture<'a, Result<(), DirectoryError>> {
        Box::pin(async move {
            let record = directory::checked(record, password)?;
            let settings = column_of(&record)?;
            let secret = match password {
                Some(p) => Some(hashed(p).await?),
                None => None,
            };
            let name = record.name.as_str();
            let changed = with_client!(self, |c| c.execute(
                // The admin API does not edit public keys: an update keeps those
                // the row has.
                // (Both branches text: the parameter's type is read from its
                // first use.)
                "UPDATE ferry_users SET settings = CASE WHEN settings IS NOT NULL AND settings::jsonb ? 'authorized_keys' \
                 THEN (COALESCE($2::text::jsonb, '{}'::jsonb) || jsonb_build_object('authorized_keys', settings::jsonb -> 'authorized_keys'))::text \
                 ELSE $2::text END, \
                 secret = COALESCE($3, secret), updated_at = now() WHERE name = $1",
                &[&name, &settings, &secret],
            ))
            .await
            .map_err(StoreError::from)?;
            if changed == 0 {
                return Err(DirectoryError::NotFound(record.name));
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), DirectoryError>> {
        Box::pin(async move {
            match self.remove_user(name).await {
                Ok(()) => Ok(()),
                Err(PgError::NoSuchUser(name)) => Err(DirectoryError::NotFound(name)),
                Err(e) => Err(StoreError::from(e).into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(contains_pattern(""), "%%");
        assert_eq!(contains_pattern("al"), "%al%");
        assert_eq!(contains_pattern("50%_off\\x"), "%50\\%\\_off\\\\x%");
    }

    #[test]
    fn rows_without_settings_have_the_defaults_and_bad_ones_say_so() {
        assert_eq!(record_of("a", None).unwrap(), UserRecord::new("a"));
        let r = UserRecord { read_only: true, allowed_networks: vec!["10.0.0.0/8".into()], ..UserRecord::new("a") };
        let column = column_of(&r).unwrap();
        assert_eq!(column, r#"{"read_only":true,"disabled":false,"allowed_networks":["10.0.0.0/8"]}"#);
        assert_eq!(record_of("a", Some(column)).unwrap(), r);
        let e = record_of("a", Some(r#"{"home":"../x"}"#.into())).unwrap_err().to_string();
        assert!(e.starts_with("the settings of user \"a\" in ferry_users cannot be used (home \"../x\" must stay below the root"), "{e}");
        let e = record_of("a", Some(r#"{"colour":"red"}"#.into())).unwrap_err().to_string();
        assert!(e.contains("unknown field `colour`") && e.ends_with("save the user again through the admin API"), "{e}");
    }
}
