//! Checksums so clients can verify transfers and resume safely:
//! draft-bryan-ftpext-hash (HASH, with OPTS HASH and RANG) and the older
//! XCRC, XMD5, XSHA1 and XSHA256 that many clients and servers use.
//!
//! A digest reads the whole file (a sparse 64 GiB file takes a core for a
//! minute), so it runs as a cancellable job: `ABOR`, `QUIT` or the client
//! leaving stops it within a chunk.

use std::io::Read;

use ferry_proto::VirtualPath;
use ferry_proto::command::ChecksumAlgo;
use ferry_proto::reply::code;
use sha2::Digest;

use super::Cancel;
use super::fs_refusal;
use crate::session::Session;
use crate::session::answer::{Handled, reply};
use crate::storage::StorageError;
use ferry_core::userfs::{FsError, ReadPurpose, UserFs};

/// A running digest of one of the supported algorithms.
enum Hasher {
    Crc32(crc32fast::Hasher),
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn new(algo: ChecksumAlgo) -> Hasher {
        match algo {
            ChecksumAlgo::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgo::Md5 => Hasher::Md5(md5::Md5::new()),
            ChecksumAlgo::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            ChecksumAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        fn hex(bytes: &[u8]) -> String {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
        match self {
            // CRC-32 is conventionally shown as 8 upper-case hex digits.
            Hasher::Crc32(h) => format!("{:08X}", h.finalize()),
            Hasher::Md5(h) => hex(&h.finalize()),
            Hasher::Sha1(h) => hex(&h.finalize()),
            Hasher::Sha256(h) => hex(&h.finalize()),
        }
    }
}

/// Digest bytes `start..=end` of a file (to its end when `end` is `None`).
/// Returns the digest and the last byte actually covered. Stops with an
/// error between chunks once `cancel` is set.
pub(crate) fn digest(
    fs: &UserFs,
    path: &VirtualPath,
    algo: ChecksumAlgo,
    start: u64,
    end: Option<u64>,
    cancel: &Cancel,
) -> Result<(String, u64), FsError> {
    let (size, mut reader) = fs.open_read(path, start, ReadPurpose::Checksum)?;
    let last = end.map_or(size.saturating_sub(1), |e| e.min(size.saturating_sub(1)));
    let mut remaining = if size == 0 || start > last { 0 } else { last - start + 1 };
    let mut h = Hasher::new(algo);
    let mut buf = vec![0u8; 256 * 1024];
    while remaining > 0 {
        cancel.check()?;
        let want = remaining.min(buf.len() as u64) as usize;
        let n = reader.read(&mut buf[..want]).map_err(StorageError::from)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        remaining -= n as u64;
    }
    Ok((h.hex(), last))
}

impl Session {
    pub(crate) async fn hash(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let algo = self.hash_algo;
        let (start, end) = match self.state.rang.take() {
            Some((s, e)) => (s, Some(e)),
            None => (0, None),
        };
        let p = path.clone();
        let what = format!("HASH of {path}");
        let result = match self.cancellable(&what, move |s, cancel| digest(s, &p, algo, start, end, cancel)).await {
            Ok(result) => result,
            Err(stopped) => return stopped,
        };
        match result {
            // draft-bryan-ftpext-hash §3.1: "213 <algo> <start>-<end> <hash> <path>".
            Ok((digest, end)) => {
                let text = ferry_proto::hash::HashReply { algo, start, end, digest, path: input.to_owned() };
                reply(code::FILE_STATUS, text.to_string())
            }
            Err(e) => Err(fs_refusal(&path, e)),
        }
    }

    pub(crate) async fn checksum(&mut self, algo: ChecksumAlgo, input: &str, start: Option<u64>, end: Option<u64>) -> Handled {
        let path = self.resolve(input)?;
        let p = path.clone();
        // The X-commands give an exclusive end offset, like a length from 0.
        let end = end.map(|e| e.saturating_sub(1));
        let what = format!("{} of {path}", algo.verb());
        let result = match self.cancellable(&what, move |s, cancel| digest(s, &p, algo, start.unwrap_or(0), end, cancel)).await {
            Ok(result) => result,
            Err(stopped) => return stopped,
        };
        match result {
            Ok((hex, _)) => reply(code::FILE_ACTION_OK, hex),
            Err(e) => Err(fs_refusal(&path, e)),
        }
    }
}
