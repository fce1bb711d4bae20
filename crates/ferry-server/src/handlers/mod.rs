//! Command handlers, grouped by concern. Each file opens with the RFC
//! sections it implements. A handler returns its answer (see
//! `session::answer`); the dispatcher sends it.

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

use crate::auth::settings::Permission;
use crate::ftp_errors::ReplyCode as _;
use crate::session::Session;
use crate::session::answer::{Refusal, refuse};
use crate::storage::StorageError;
use ferry_core::userfs::FsError;
use ferry_proto::VirtualPath;

pub(crate) use jobs::Cancel;

impl Session {
    /// Check a permission: a refusal with 550 when it is denied.
    pub(crate) fn permit(&self, p: Permission) -> Result<(), Refusal> {
        if self.account().is_some_and(|a| a.policy.allows(p)) {
            return Ok(());
        }
        tracing::warn!(permission = p.name(), "denied");
        Err(refuse(ferry_proto::reply::code::FILE_UNAVAILABLE, format!("Permission denied: no {} permission.", p.name())))
    }
}

/// The refusal for a failed storage call, naming the path (and the log
/// line for it).
pub(crate) fn storage_refusal(path: &VirtualPath, e: StorageError) -> Refusal {
    match &e {
        StorageError::Io(_) => tracing::warn!(%path, error = %e, "storage error"),
        // The details name internal endpoints: for the log only.
        StorageError::Unavailable(detail) => tracing::warn!(%path, %detail, "storage unavailable"),
        // "Does this exist?" probes (SIZE, MDTM, MLST before an upload)
        // are routine: one ncftpput of 501 files made 1,017 such lines.
        StorageError::NotFound => tracing::debug!(%path, error = %e, "refused"),
        _ => tracing::info!(%path, error = %e, "refused"),
    }
    refuse(e.code(), format!("{path}: {e}."))
}

/// The refusal for a user's file operation the core refused, naming the
/// path where the words need one (and the log line for it).
pub(crate) fn fs_refusal(path: &VirtualPath, e: FsError) -> Refusal {
    match e {
        FsError::Storage(e) => storage_refusal(path, e),
        FsError::PermissionDenied(p) => {
            tracing::warn!(permission = p.name(), "denied");
            refuse(e.code(), format!("{e}."))
        }
        FsError::NameNotAllowed | FsError::NewNameNotAllowed => {
            tracing::info!(path = ?path.as_str(), error = %e, "refused");
            refuse(e.code(), format!("{e}."))
        }
        FsError::HomeMode => refuse(e.code(), format!("/: {e}.")),
        _ => {
            tracing::info!(%path, error = %e, "refused");
            refuse(e.code(), format!("{path}: {e}."))
        }
    }
}
