//! Command handlers, grouped by concern. Each file opens with the RFC
//! sections it implements; each handler sends its own reply.

mod access;
mod files;
mod info;
mod integrity;
mod listing;
mod nav;
mod params;
mod security;
mod transfer;

use std::io;

use crate::auth::settings::Permission;
use crate::session::Session;
use crate::storage::{Storage, StorageError};
use ferry_proto::VirtualPath;

impl Session {
    /// Run a storage call on the blocking pool, in the user's view.
    pub(crate) async fn storage<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || f(&*storage)).await.unwrap_or_else(|e| Err(StorageError::Io(io::Error::other(e))))
    }

    /// Check a permission; reply 550 and return false when it is denied.
    pub(crate) async fn permit(&mut self, p: Permission) -> io::Result<bool> {
        if self.account().is_some_and(|a| a.policy.allows(p)) {
            return Ok(true);
        }
        tracing::warn!(permission = p.name(), "denied");
        self.ctl.reply(ferry_proto::reply::code::FILE_UNAVAILABLE, format!("Permission denied: no {} permission.", p.name())).await?;
        Ok(false)
    }

    /// Reply to a failed storage call, naming the path.
    pub(crate) async fn storage_error(&mut self, path: &VirtualPath, e: StorageError) -> io::Result<()> {
        if matches!(e, StorageError::Io(_)) {
            tracing::warn!(%path, error = %e, "storage error");
        } else {
            tracing::info!(%path, error = %e, "refused");
        }
        self.ctl.reply(e.code(), format!("{path}: {e}.")).await
    }
}
