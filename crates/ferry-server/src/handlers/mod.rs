//! Command handlers, grouped by concern. Each file opens with the RFC
//! sections it implements; each handler sends its own reply.

mod access;
mod files;
mod info;
mod integrity;
mod jobs;
mod listing;
mod nav;
mod params;
mod security;
mod transfer;

use std::io;

use crate::auth::settings::Permission;
use crate::ftp_errors::ReplyCode as _;
use crate::session::Session;
use crate::storage::StorageError;
use ferry_proto::VirtualPath;

pub(crate) use jobs::Cancel;

impl Session {
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
        match &e {
            StorageError::Io(_) => tracing::warn!(%path, error = %e, "storage error"),
            // The details name internal endpoints: for the log only.
            StorageError::Unavailable(detail) => tracing::warn!(%path, %detail, "storage unavailable"),
            // "Does this exist?" probes (SIZE, MDTM, MLST before an upload)
            // are routine: one ncftpput of 501 files made 1,017 such lines.
            StorageError::NotFound => tracing::debug!(%path, error = %e, "refused"),
            _ => tracing::info!(%path, error = %e, "refused"),
        }
        self.ctl.reply(e.code(), format!("{path}: {e}.")).await
    }
}
