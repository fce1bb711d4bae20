//! How the core's results look to an FTP client: the reply code of each
//! [`StorageError`] and [`FsError`] (RFC 959 §4.2, RFC 3659), and the
//! listing entry of a [`FileInfo`]. The core knows nothing of either.

use ferry_proto::listing::Entry;
use ferry_proto::reply::code;

use crate::storage::{FileInfo, StorageError};
use ferry_core::userfs::FsError;

/// The FTP reply code for a failure.
pub(crate) trait ReplyCode {
    /// The code to answer with.
    fn code(&self) -> u16;
}

impl ReplyCode for StorageError {
    fn code(&self) -> u16 {
        match self {
            StorageError::NoSpace => code::INSUFFICIENT_STORAGE,
            StorageError::QuotaExceeded => code::EXCEEDED_STORAGE,
            StorageError::InvalidName => code::BAD_FILE_NAME,
            StorageError::Io(_) | StorageError::Unavailable(_) | StorageError::PatternTooCostly => code::LOCAL_ERROR,
            StorageError::Unsupported(_) => code::PARAM_NOT_IMPLEMENTED,
            // RFC 3659 §5.4.
            StorageError::RestartPastEnd => code::BAD_RESTART,
            _ => code::FILE_UNAVAILABLE,
        }
    }
}

impl ReplyCode for FsError {
    fn code(&self) -> u16 {
        match self {
            FsError::Storage(e) => e.code(),
            FsError::PermissionDenied(_)
            | FsError::ReplaceNeedsDelete
            | FsError::IntoItself
            | FsError::CurrentDirectory
            | FsError::HomeMode
            | FsError::SpecialMode => code::FILE_UNAVAILABLE,
            // RFC 959: "553 Requested action not taken. File name not
            // allowed." is how servers refuse an upload by policy.
            FsError::NameNotAllowed | FsError::NewNameNotAllowed | FsError::Refused(_) => code::BAD_FILE_NAME,
            FsError::QuotaExceeded | FsError::FileQuotaExceeded { .. } => code::EXCEEDED_STORAGE,
            FsError::Busy | FsError::AlreadyUploading => code::FILE_BUSY,
            // RFC 3659 §5.4.
            FsError::RestartPastEnd { .. } => code::BAD_RESTART,
        }
    }
}

/// The listing entry for a file, consuming it (no copies of the name:
/// listings format one entry at a time).
pub(crate) fn entry(info: FileInfo, perm: &str) -> Entry {
    Entry {
        name: info.name,
        kind: info.kind,
        size: info.size,
        modified: info.modified,
        mode: Some(info.mode),
        perm: Some(perm.to_owned()),
        unique: info.unique.map(|(d, i)| unique_fact(d, i)),
        link_target: info.link_target,
    }
}

/// The `unique` fact: device and inode in hex, `DgI`.
fn unique_fact(dev: u64, ino: u64) -> String {
    UniqueFact::new(dev, ino).as_str().to_owned()
}

/// The `unique` fact written on the stack (by hand: listings make one per
/// entry, and neither `format!` nor an allocation per line is needed).
pub(crate) struct UniqueFact {
    text: [u8; 33],
    len: usize,
}

impl UniqueFact {
    pub(crate) fn new(dev: u64, ino: u64) -> UniqueFact {
        let mut f = UniqueFact { text: [0; 33], len: 0 };
        f.push_hex(dev);
        f.text[f.len] = b'g';
        f.len += 1;
        f.push_hex(ino);
        f
    }

    fn push_hex(&mut self, v: u64) {
        let digits = (64 - v.leading_zeros()).div_ceil(4).max(1);
        for k in (0..digits).rev() {
            let d = ((v >> (4 * k)) & 0xf) as u8;
            self.text[self.len] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
            self.len += 1;
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).expect("hex digits")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unique_fact_is_hex_device_g_inode() {
        for (d, i) in [(0u64, 0u64), (0x10, 0xabcdef), (u64::MAX, 1), (2049, 1_234_567_890)] {
            assert_eq!(super::unique_fact(d, i), format!("{d:x}g{i:x}"));
        }
    }
}
