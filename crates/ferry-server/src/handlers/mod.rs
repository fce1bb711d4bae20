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
        if self.fs.as_ref().is_some_and(|fs| fs.allows(p)) {
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
        // The gate's own words, as they are.
        FsError::Refused(_) => {
            tracing::info!(%path, reason = %e, "upload refused by a pre-upload hook");
            refuse(e.code(), format!("{path}: {e}"))
        }
        _ => {
            tracing::info!(%path, error = %e, "refused");
            refuse(e.code(), format!("{path}: {e}."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::answer::Refusal;

    fn said(path: &str, e: FsError) -> (u16, String) {
        let path = VirtualPath::root().resolve(path).unwrap();
        match fs_refusal(&path, e) {
            Refusal::Reply(r) => (r.code, r.text()),
            Refusal::Lost(e) => panic!("{e}"),
        }
    }

    /// The core's refusals, as an FTP client reads them: the codes and
    /// texts ferryd answered with before the core existed.
    #[test]
    fn the_cores_refusals_keep_their_ftp_replies() {
        let cases = [
            (said("/a", FsError::PermissionDenied(Permission::Delete)), (550, "Permission denied: no delete permission.")),
            (said("/a", FsError::NameNotAllowed), (553, "File name not allowed.")),
            (said("/a", FsError::NewNameNotAllowed), (553, "File name not allowed: it contains control characters.")),
            (said("/a", FsError::QuotaExceeded), (552, "/a: Disk quota exceeded.")),
            (said("/a", FsError::FileQuotaExceeded { files: 3 }), (552, "/a: file quota exceeded (3 files).")),
            (said("/a", FsError::Busy), (450, "/a: an upload to this file is in progress; try again later.")),
            (said("/a", FsError::AlreadyUploading), (450, "/a: another upload to this file is in progress; try again later.")),
            (said("/b", FsError::ReplaceNeedsDelete), (550, "/b: already exists; replacing it needs the delete permission.")),
            (said("/d/e", FsError::IntoItself), (550, "/d/e: cannot move a directory into itself.")),
            (said("/d", FsError::CurrentDirectory), (550, "/d: Cannot remove the current directory or its parent.")),
            (said("/", FsError::HomeMode), (550, "/: Permission denied: the mode of your home folder is the administrator's.")),
            (
                said("/a", FsError::RestartPastEnd { offset: 9, size: 4 }),
                (554, "/a: restart point 9 is past the end of the file (4 bytes)."),
            ),
            (said("/a", FsError::Storage(StorageError::NotFound)), (550, "/a: No such file or directory.")),
            (said("/x.exe", FsError::Refused("no executables here".into())), (553, "/x.exe: no executables here")),
            (said("/a", FsError::Storage(StorageError::NoSpace)), (452, "/a: No space left on device.")),
            (
                said("/a", FsError::Storage(StorageError::Unavailable("s3 at 10.0.0.1".into()))),
                (451, "/a: Storage unavailable; try again later."),
            ),
        ];
        for (got, (code, text)) in cases {
            assert_eq!(got, (code, text.to_owned()));
        }
    }
}
