//! Admin accounts and tokens in PostgreSQL (cargo feature `postgres`),
//! beside the FTP accounts of [`crate::auth::postgres`], on the same
//! connections:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS ferry_admins (
//!     name       TEXT PRIMARY KEY,
//!     secret     TEXT NOT NULL,              -- argon2id PHC string
//!     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
//! );
//! CREATE TABLE IF NOT EXISTS ferry_admin_tokens (
//!     id         TEXT PRIMARY KEY,           -- 16 hex digits
//!     admin      TEXT NOT NULL REFERENCES ferry_admins (name) ON DELETE CASCADE,
//!     kind       TEXT NOT NULL,              -- api, login, browser
//!     hash       BYTEA NOT NULL,             -- SHA-256 of the secret
//!     created_at TIMESTAMPTZ NOT NULL,
//!     expires_at TIMESTAMPTZ                 -- NULL: until revoked
//! );
//! ```
//!
//! ferryd creates both when missing. Every check reads the row, so a
//! token issued on one node works on all of them, and a revoked one stops
//! on all of them (within [`CHECK_CACHE`](super::CHECK_CACHE)): a load
//! balancer may send a dashboard's requests to any node. Deleting an admin
//! deletes their tokens with them (`ON DELETE CASCADE`). Expiry is judged
//! by each node's clock.

use std::sync::Arc;
use std::time::SystemTime;

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use crate::auth::postgres::{PgError, PgStore};
use crate::auth::store::valid_name;
use crate::auth::{BoxFuture, StoreError};

use super::store::AdminStore;
use super::token::{TokenKind, TokenRecord};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS ferry_admins (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ferry_admin_tokens (
    id         TEXT PRIMARY KEY,
    admin      TEXT NOT NULL REFERENCES ferry_admins (name) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    hash       BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS ferry_admin_tokens_admin ON ferry_admin_tokens (admin)";

/// How [`StoreError::NoSuchUser`] names this store.
pub const PLACE: &str = "the database's ferry_admins table";

const PRUNE: &str = "DELETE FROM ferry_admin_tokens WHERE expires_at <= $1";
const TOKEN_COLUMNS: &str = "id, admin, kind, hash, created_at, expires_at";

/// Admins and tokens in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgAdminStore {
    db: Arc<PgStore>,
}

impl PgAdminStore {
    /// The admin tables of the database `db` is connected to, created if
    /// missing.
    pub async fn new(db: Arc<PgStore>) -> Result<PgAdminStore, PgError> {
        db.run_batch(SCHEMA).await?;
        Ok(PgAdminStore { db })
    }

    /// The connection below (shared with the FTP accounts).
    pub fn db(&self) -> &Arc<PgStore> {
        &self.db
    }

    async fn prune(&self, now: SystemTime) -> Result<(), StoreError> {
        self.db.run_execute(PRUNE, &[&now]).await?;
        Ok(())
    }

    async fn exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(!self.db.run_query("SELECT 1 FROM ferry_admins WHERE name = $1", &[&name]).await?.is_empty())
    }
}

/// A token row, or why it cannot be one (a row written by something else
/// than ferryd).
fn token_of(row: &Row) -> Result<TokenRecord, StoreError> {
    let bad = |what: &str| StoreError::Failed(format!("a ferry_admin_tokens row has {what}; delete it"));
    let db = |e: tokio_postgres::Error| StoreError::from(PgError::Db(e));
    let kind: String = row.try_get("kind").map_err(db)?;
    let hash: Vec<u8> = row.try_get("hash").map_err(db)?;
    Ok(TokenRecord {
        id: row.try_get("id").map_err(db)?,
        admin: row.try_get("admin").map_err(db)?,
        kind: TokenKind::parse(&kind).ok_or_else(|| bad("an unknown kind"))?,
        hash: hash.try_into().map_err(|_| bad("a hash that is not 32 bytes"))?,
        created: row.try_get("created_at").map_err(db)?,
        expires: row.try_get("expires_at").map_err(db)?,
    })
}

impl AdminStore for PgAdminStore {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let rows = self.db.run_query("SELECT secret FROM ferry_admins WHERE name = $1", &[&name]).await?;
            let Some(row) = rows.first() else { return Ok(None) };
            let secret: String = row.try_get(0).map_err(PgError::Db)?;
            if !secret.starts_with("$argon2") {
                tracing::warn!(
                    admin = name,
                    "the ferry_admins row is not an argon2 hash and opens nothing; set it with `ferryd admin passwd --postgres`"
                );
                return Ok(None);
            }
            Ok(Some(secret))
        })
    }

    fn names(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let rows = self.db.run_query("SELECT name FROM ferry_admins ORDER BY name", &[]).await?;
            rows.iter().map(|r| r.try_get(0).map_err(|e| PgError::Db(e).into())).collect()
        })
    }

    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            if !valid_name(name) {
                return Err(StoreError::BadName(name.to_owned()));
            }
            let password = password.to_owned();
            let secret = tokio::task::spawn_blocking(move || crate::auth::hash::hash_password(&password))
                .await
                .map_err(|e| StoreError::Failed(format!("hashing the password failed: {e}")))?;
            self.prune(SystemTime::now()).await?;
            let rows = self
                .db
                .run_query(
                    "INSERT INTO ferry_admins (name, secret) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()
                     RETURNING (xmax <> 0) AS existed",
                    &[&name, &secret],
                )
                .await?;
            let row = rows.first().ok_or_else(|| StoreError::Failed("INSERT … RETURNING returned no row".into()))?;
            Ok(row.try_get::<_, bool>(0).map_err(PgError::Db)?)
        })
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.prune(SystemTime::now()).await?;
            // Its tokens go with it (ON DELETE CASCADE).
            match self.db.run_execute("DELETE FROM ferry_admins WHERE name = $1", &[&name]).await? {
                0 => Err(StoreError::NoSuchUser { name: name.to_owned(), place: PLACE }),
                _ => Ok(()),
            }
        })
    }

    fn add_token<'a>(&'a self, token: &'a TokenRecord) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.prune(SystemTime::now()).await?;
            let insert = self
                .db
                .run_execute(
                    "INSERT INTO ferry_admin_tokens (id, admin, kind, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&token.id, &token.admin, &token.kind.as_str(), &&token.hash[..], &token.created, &token.expires],
                )
                .await;
            match insert {
                Ok(_) => Ok(()),
                Err(PgError::Db(e)) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                    Err(StoreError::NoSuchUser { name: token.admin.clone(), place: PLACE })
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    fn find_token<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        Box::pin(async move {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM ferry_admin_tokens WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)");
            let rows = self.db.run_query(&sql, &[&id, &SystemTime::now()]).await?;
            rows.first().map(token_of).transpose()
        })
    }

    fn revoke_token<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.prune(SystemTime::now()).await?;
            Ok(self.db.run_execute("DELETE FROM ferry_admin_tokens WHERE id = $1", &[&id]).await? > 0)
        })
    }

    fn tokens<'a>(&'a self, admin: &'a str) -> BoxFuture<'a, Result<Vec<TokenRecord>, StoreError>> {
        Box::pin(async move {
            if !self.exists(admin).await? {
                return Err(StoreError::NoSuchUser { name: admin.to_owned(), place: PLACE });
            }
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM ferry_admin_tokens WHERE admin = $1 AND (expires_at IS NULL OR expires_at > $2)
                 ORDER BY created_at, id"
            );
            let rows = self.db.run_query(&sql, &[&admin, &SystemTime::now()]).await?;
            rows.iter().map(token_of).collect()
        })
    }
}
