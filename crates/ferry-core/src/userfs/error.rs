//! Why a user's file operation was refused, in words the user understands
//! and with no protocol's codes: each front-end maps these to its own
//! replies (FTP: `550`, `552`, `553`, `450` ...).

use crate::auth::settings::Permission;
use crate::storage::StorageError;

/// A refused or failed operation on a user's files.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The user's permissions do not include this.
    #[error("Permission denied: no {} permission", .0.name())]
    PermissionDenied(Permission),
    /// The path goes through a name reserved for the server's own files
    /// (temporary uploads, folder markers), or cannot be a path at all.
    #[error("File name not allowed")]
    NameNotAllowed,
    /// A new name with control characters (a CR or LF in a name would
    /// forge lines in listings and logs).
    #[error("File name not allowed: it contains control characters")]
    NewNameNotAllowed,
    /// The upload would take the home past its byte quota.
    #[error("Disk quota exceeded")]
    QuotaExceeded,
    /// A new file would take the home past its file count.
    #[error("file quota exceeded ({files} files)")]
    FileQuotaExceeded {
        /// Files the home holds now.
        files: u64,
    },
    /// The file is being uploaded; deleting or renaming it must wait.
    #[error("an upload to this file is in progress; try again later")]
    Busy,
    /// Another upload to the same file is running.
    #[error("another upload to this file is in progress; try again later")]
    AlreadyUploading,
    /// The target of a rename exists, and replacing it destroys it: that
    /// needs the delete permission.
    #[error("already exists; replacing it needs the delete permission")]
    ReplaceNeedsDelete,
    /// A folder cannot be moved into itself.
    #[error("cannot move a directory into itself")]
    IntoItself,
    /// The folder is the session's current folder or one of its parents.
    #[error("Cannot remove the current directory or its parent")]
    CurrentDirectory,
    /// The home folder's own mode is the administrator's to set.
    #[error("Permission denied: the mode of your home folder is the administrator's")]
    HomeMode,
    /// Set-user-id, set-group-id and sticky bits are not the user's to
    /// set: only the permission bits (up to 0777).
    #[error("Permission denied: only permission bits (up to 777) may be set")]
    SpecialMode,
    /// A restart (resume) point the file does not reach: it would make a
    /// sparse file of any size out of nothing.
    #[error("restart point {offset} is past the end of the file ({size} bytes)")]
    RestartPastEnd {
        /// The restart point asked for.
        offset: u64,
        /// The file's size.
        size: u64,
    },
    /// An outside system asked before the upload (a `pre-upload` hook)
    /// refused it; its message.
    #[error("{0}")]
    Refused(String),
    /// The storage failed or refused.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl FsError {
    /// Whether the bytes of an upload that failed with this are worth
    /// keeping for a resume: not after a quota refusal or a full disk,
    /// when keeping them would only hold on to the space.
    pub fn keeps_partial(&self) -> bool {
        !matches!(self, FsError::QuotaExceeded | FsError::Storage(StorageError::QuotaExceeded | StorageError::NoSpace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_say_what_to_do() {
        assert_eq!(FsError::PermissionDenied(Permission::Delete).to_string(), "Permission denied: no delete permission");
        assert_eq!(FsError::FileQuotaExceeded { files: 3 }.to_string(), "file quota exceeded (3 files)");
        assert_eq!(FsError::RestartPastEnd { offset: 9, size: 4 }.to_string(), "restart point 9 is past the end of the file (4 bytes)");
        assert_eq!(FsError::Storage(StorageError::NotFound).to_string(), "No such file or directory");
        assert!(!FsError::QuotaExceeded.keeps_partial() && !FsError::Storage(StorageError::NoSpace).keeps_partial());
        assert!(FsError::Storage(StorageError::Io(std::io::Error::other("x"))).keeps_partial());
    }
}
