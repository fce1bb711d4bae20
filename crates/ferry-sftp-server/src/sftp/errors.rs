//! The core's refusals in SFTP's words. Version 3 has few codes: what the
//! user may not do is `PERMISSION_DENIED`, what is not there
//! `NO_SUCH_FILE`, what the server does not do `OP_UNSUPPORTED`, and the
//! rest `FAILURE` with the core's own text, which says what happened and
//! what to do (clients show it: "remote open: Disk quota exceeded").

use ferry_core::storage::StorageError;
use ferry_core::userfs::FsError;
use ferry_sftp::StatusCode;

/// The status and message for `e`. Outage details stay in the log.
pub(crate) fn status_of(e: &FsError) -> (StatusCode, String) {
    let code = match e {
        FsError::PermissionDenied(_) | FsError::HomeMode | FsError::SpecialMode | FsError::ReplaceNeedsDelete => {
            StatusCode::PermissionDenied
        }
        FsError::NameNotAllowed | FsError::NewNameNotAllowed => StatusCode::PermissionDenied,
        FsError::Storage(s) => match s {
            StorageError::NotFound => StatusCode::NoSuchFile,
            StorageError::PermissionDenied | StorageError::InvalidName => StatusCode::PermissionDenied,
            StorageError::Unsupported(_) => StatusCode::OpUnsupported,
            StorageError::Unavailable(detail) => {
                tracing::error!(error = %detail, "storage unavailable");
                StatusCode::Failure
            }
            _ => StatusCode::Failure,
        },
        _ => StatusCode::Failure,
    };
    (code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::auth::settings::Permission;

    #[test]
    fn refusals_keep_the_core_s_words() {
        assert_eq!(
            status_of(&FsError::PermissionDenied(Permission::Write)),
            (StatusCode::PermissionDenied, "Permission denied: no write permission".into())
        );
        assert_eq!(status_of(&StorageError::NotFound.into()).0, StatusCode::NoSuchFile);
        assert_eq!(status_of(&FsError::QuotaExceeded), (StatusCode::Failure, "Disk quota exceeded".into()));
        let (code, text) = status_of(&StorageError::Unavailable("s3://secret-bucket".into()).into());
        assert_eq!(code, StatusCode::Failure);
        assert!(!text.contains("secret"), "{text}");
    }
}
