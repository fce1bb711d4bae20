//! The text of a `HASH` reply (draft-bryan-ftpext-hash §3.1), written by the
//! server and read by the client:
//!
//! ```text
//! 213 SHA-256 0-1234 9f86d081884c7d65…0f00a08 report.pdf
//!     ^algo   ^range ^digest              ^path (may hold spaces)
//! ```
//!
//! The range is inclusive (`0-1234` covers 1,235 bytes), so a client that
//! asked for a prefix with `RANG 0 1234` can check that the server really
//! hashed what it asked for and not, say, the whole file.

use std::fmt;

use crate::command::ChecksumAlgo;

/// One `HASH` reply: which bytes of which file, digested how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashReply {
    /// The algorithm, by its `HASH` name.
    pub algo: ChecksumAlgo,
    /// First byte covered.
    pub start: u64,
    /// Last byte covered (inclusive).
    pub end: u64,
    /// The digest in hex, as the server printed it.
    pub digest: String,
    /// The path as the client gave it.
    pub path: String,
}

impl HashReply {
    /// Read the text of a `213` reply to `HASH`; `None` when it is not in
    /// the draft's form (an unknown algorithm, a malformed range, a digest
    /// that is not hex).
    pub fn parse(text: &str) -> Option<HashReply> {
        let mut words = text.splitn(4, ' ');
        let algo = ChecksumAlgo::from_hash_name(words.next()?)?;
        let (start, end) = words.next()?.split_once('-')?;
        let (start, end) = (start.parse().ok()?, end.parse().ok()?);
        let digest = words.next()?;
        if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let path = words.next().unwrap_or("").to_owned();
        Some(HashReply { algo, start, end, digest: digest.to_owned(), path })
    }

    /// True when the reply covers exactly the first `len` bytes (`len > 0`).
    pub fn covers_prefix(&self, len: u64) -> bool {
        len > 0 && self.start == 0 && self.end == len - 1
    }
}

/// The reply text, without the code: `SHA-256 0-1234 <hex> <path>`.
impl fmt::Display for HashReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}-{} {} {}", self.algo.hash_name(), self.start, self.end, self.digest, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: &str) -> HashReply {
        HashReply {
            algo: ChecksumAlgo::Sha256,
            start: 0,
            end: 1234,
            digest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            path: path.into(),
        }
    }

    #[test]
    fn the_drafts_example_form() {
        assert_eq!(
            sample("report.pdf").to_string(),
            "SHA-256 0-1234 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 report.pdf"
        );
    }

    #[test]
    fn round_trips_every_algorithm_and_paths_with_spaces() {
        for algo in ChecksumAlgo::ALL {
            for path in ["f", "a b  c.txt", "dir/x y"] {
                let r = HashReply { algo, start: 7, end: 99, digest: "00ABcd".into(), path: path.into() };
                assert_eq!(HashReply::parse(&r.to_string()), Some(r));
            }
        }
    }

    #[test]
    fn prefix_coverage() {
        let r = sample("f");
        assert!(r.covers_prefix(1235));
        assert!(!r.covers_prefix(1234) && !r.covers_prefix(0));
        assert!(!HashReply { start: 1, ..r }.covers_prefix(1235));
    }

    #[test]
    fn malformed_replies_are_refused() {
        for text in
            ["", "SHA-256", "SHA-256 0-9", "SHA-256 0-9  f", "BLAKE3 0-9 ab f", "SHA-256 9 ab f", "SHA-256 0-x ab f", "MD5 0-9 xyz f"]
        {
            assert_eq!(HashReply::parse(text), None, "{text:?}");
        }
        // A missing path is tolerated: some servers leave it off.
        assert_eq!(HashReply::parse("MD5 0-9 ab").map(|r| r.path), Some(String::new()));
    }
}
