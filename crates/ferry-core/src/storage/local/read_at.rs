//! Reads at any offset of a local file: `pread`, which moves no shared
//! file position, so one open file serves requests from several threads.

use std::os::unix::fs::FileExt as _;

use super::super::{ReadAt, StorageError};

/// A regular file opened by [`LocalStorage::open_random`](super::LocalStorage).
pub(super) struct LocalReadAt {
    pub(super) file: std::fs::File,
    pub(super) size: u64,
}

impl ReadAt for LocalReadAt {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, StorageError> {
        // `pread` may return short reads before the end (a signal); keep
        // reading so that "fewer bytes" always means "end of file".
        let mut filled = 0;
        while filled < buf.len() {
            // No file reaches past i64::MAX (pread refuses such offsets).
            let Some(at) = offset.checked_add(filled as u64).filter(|&at| at <= i64::MAX as u64) else { break };
            match self.file.read_at(&mut buf[filled..], at) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(filled)
    }

    fn size(&self) -> u64 {
        self.size
    }
}
