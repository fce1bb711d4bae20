//! Checked resume: before continuing a partial copy, make sure it really is
//! the beginning of the file it claims to be.
//!
//! A resumed transfer appends the rest of one file to the start of
//! another. If the partial copy came from an older version, or another
//! file of the same name, the result is silently corrupt, so ferry checks
//! first, in the strongest way the server allows:
//!
//! 1. **Sizes**: the partial copy must not be larger than the whole file.
//!    An empty partial copy needs no further check.
//! 2. **A digest of the prefix** when the server offers `HASH` with `RANG`:
//!    both sides hash the first `have` bytes and the digests must match.
//! 3. Otherwise **modification times**: the whole file must not have
//!    changed after the partial copy was written.
//! 4. Otherwise (no `MDTM` either) the sizes are all there is.
//!
//! The comparison is done once per transfer:
//! [`Client::check_resume_get`](crate::Client::check_resume_get) and
//! [`Client::check_resume_put`](crate::Client::check_resume_put) (in
//! `resume/evidence.rs`) gather the evidence and return a [`Resume`],
//! which the transfer then follows. The judging itself ([`Case::by_size`],
//! [`Case::judge`]) does no I/O, so it is tested without a server.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ferry_proto::command::ChecksumAlgo;

mod evidence;

pub(crate) use evidence::{check_get, check_put, times};

/// Which side holds the partial copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A download stopped half-way: the local file is the partial copy.
    Local,
    /// An upload stopped half-way: the remote file is the partial copy.
    Remote,
}

/// How a partial copy was found to match (shown to the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A digest of the prefix, computed on both sides.
    Digest(ChecksumAlgo),
    /// Sizes, and the whole file not changed since the partial copy.
    SizeAndTime,
    /// Sizes only: the server offers neither `HASH` nor `MDTM`.
    Size,
    /// The local partial copy was empty: nothing to compare.
    EmptyLocal,
    /// The remote partial copy was empty: nothing to compare.
    EmptyRemote,
    /// There was no remote file: the upload starts from the beginning.
    NoRemote,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Digest(algo) => algo.hash_name(),
            Check::SizeAndTime => "size and modification time",
            Check::Size => "size",
            Check::EmptyLocal => "empty local file",
            Check::EmptyRemote => "empty remote file",
            Check::NoRemote => "no remote file",
        })
    }
}

/// A checked resume: where to continue, and why that is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    /// Bytes the partial copy already holds: the transfer continues here
    /// (0: start from the beginning).
    pub offset: u64,
    /// Size of the whole file.
    pub whole: u64,
    /// How the partial copy was checked.
    pub checked: Check,
}

/// Why a resume was refused. Each says which files, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeRefused {
    /// The local partial copy is larger than the remote file.
    #[error("{}: the local file ({have} bytes) is larger than {remote} ({whole} bytes); refusing to resume (use --overwrite)", local.display())]
    LocalLarger {
        /// The local file.
        local: PathBuf,
        /// The remote file.
        remote: String,
        /// Bytes in the local file.
        have: u64,
        /// Bytes in the remote file.
        whole: u64,
    },
    /// The remote partial copy is larger than the local file.
    #[error("{remote} ({have} bytes) is larger than {} ({whole} bytes); refusing to resume", local.display())]
    RemoteLarger {
        /// The local file.
        local: PathBuf,
        /// The remote file.
        remote: String,
        /// Bytes in the remote file.
        have: u64,
        /// Bytes in the local file.
        whole: u64,
    },
    /// The digests of the common prefix differ.
    #[error("the first {have} bytes of {} and {remote} differ ({} check); refusing to resume{}", local.display(), algo.hash_name(), hint(*.partial))]
    Differs {
        /// The local file.
        local: PathBuf,
        /// The remote file.
        remote: String,
        /// Bytes compared.
        have: u64,
        /// The digest used.
        algo: ChecksumAlgo,
        /// Which side holds the partial copy.
        partial: Side,
    },
    /// The whole file is newer than the partial copy.
    #[error("{changed} changed after the partial copy was written; refusing to resume{}", hint(*.partial))]
    Changed {
        /// The file that changed, as the user named it.
        changed: String,
        /// Which side holds the partial copy.
        partial: Side,
    },
}

/// A local partial copy can be replaced instead; say how.
fn hint(partial: Side) -> &'static str {
    if partial == Side::Local { " (use --overwrite)" } else { "" }
}

/// What is known about the two copies beyond their sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Digests of the first `have` bytes on both sides (hex, any case).
    Digests {
        /// The algorithm both used.
        algo: ChecksumAlgo,
        /// The local file's digest.
        local: String,
        /// The server's digest.
        remote: String,
    },
    /// Both modification times.
    Times {
        /// The local file's.
        local: SystemTime,
        /// The remote file's (`MDTM`).
        remote: SystemTime,
    },
    /// Neither could be had.
    Nothing,
}

/// One resume to judge: which files, which side is partial, and the sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Which side holds the partial copy.
    pub partial: Side,
    /// The local file.
    pub local: PathBuf,
    /// The remote file.
    pub remote: String,
    /// Bytes in the partial copy.
    pub have: u64,
    /// Bytes in the whole file.
    pub whole: u64,
}

/// Clocks of two machines; a file written in the same second as its
/// partial copy is not "newer".
const CLOCK_SLACK: Duration = Duration::from_secs(1);

impl Case {
    /// The first step, sizes alone: a refusal, a resume that needs no more
    /// checking (an empty partial copy), or `None` when the contents must
    /// be compared.
    pub fn by_size(&self) -> std::result::Result<Option<Resume>, ResumeRefused> {
        if self.have > self.whole {
            let (local, remote, have, whole) = (self.local.clone(), self.remote.clone(), self.have, self.whole);
            return Err(match self.partial {
                Side::Local => ResumeRefused::LocalLarger { local, remote, have, whole },
                Side::Remote => ResumeRefused::RemoteLarger { local, remote, have, whole },
            });
        }
        if self.have == 0 {
            let checked = if self.partial == Side::Local { Check::EmptyLocal } else { Check::EmptyRemote };
            return Ok(Some(Resume { offset: 0, whole: self.whole, checked }));
        }
        Ok(None)
    }

    /// The second step: judge the evidence about a non-empty prefix.
    pub fn judge(&self, evidence: &Evidence) -> std::result::Result<Resume, ResumeRefused> {
        let checked = match evidence {
            Evidence::Digests { algo, local, remote } => {
                if !local.eq_ignore_ascii_case(remote) {
                    return Err(ResumeRefused::Differs {
                        local: self.local.clone(),
                        remote: self.remote.clone(),
                        have: self.have,
                        algo: *algo,
                        partial: self.partial,
                    });
                }
                Check::Digest(*algo)
            }
            Evidence::Times { local, remote } => {
                // The whole file must be no newer than its partial copy.
                let (changed, whole_time, partial_time) = match self.partial {
                    Side::Local => (self.remote.clone(), *remote, *local),
                    Side::Remote => (self.local.display().to_string(), *local, *remote),
                };
                if whole_time > partial_time + CLOCK_SLACK {
                    return Err(ResumeRefused::Changed { changed, partial: self.partial });
                }
                Check::SizeAndTime
            }
            Evidence::Nothing => Check::Size,
        };
        Ok(Resume { offset: self.have, whole: self.whole, checked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(partial: Side, have: u64, whole: u64) -> Case {
        Case { partial, local: PathBuf::from("dl/r.bin"), remote: "pub/r.bin".into(), have, whole }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn sizes_first() {
        let e = case(Side::Local, 11, 10).by_size().unwrap_err();
        assert_eq!(
            e.to_string(),
            "dl/r.bin: the local file (11 bytes) is larger than pub/r.bin (10 bytes); refusing to resume (use --overwrite)"
        );
        let e = case(Side::Remote, 11, 10).by_size().unwrap_err();
        assert_eq!(e.to_string(), "pub/r.bin (11 bytes) is larger than dl/r.bin (10 bytes); refusing to resume");
        let r = case(Side::Local, 0, 10).by_size().unwrap().unwrap();
        assert_eq!((r.offset, r.whole, r.checked.to_string()), (0, 10, "empty local file".to_owned()));
        assert_eq!(case(Side::Remote, 0, 10).by_size().unwrap().unwrap().checked, Check::EmptyRemote);
        // A complete copy (have == whole) is still compared: same size is
        // not the same file.
        assert_eq!(case(Side::Local, 10, 10).by_size(), Ok(None));
    }

    #[test]
    fn digests_decide_when_there_are_digests() {
        let c = case(Side::Local, 5, 10);
        let same = Evidence::Digests { algo: ChecksumAlgo::Sha256, local: "abcd".into(), remote: "ABCD".into() };
        let r = c.judge(&same).unwrap();
        assert_eq!((r.offset, r.whole, r.checked.to_string()), (5, 10, "SHA-256".to_owned()));
        let differ = Evidence::Digests { algo: ChecksumAlgo::Md5, local: "abcd".into(), remote: "abce".into() };
        assert_eq!(
            c.judge(&differ).unwrap_err().to_string(),
            "the first 5 bytes of dl/r.bin and pub/r.bin differ (MD5 check); refusing to resume (use --overwrite)"
        );
        let e = case(Side::Remote, 5, 10).judge(&differ).unwrap_err();
        assert!(e.to_string().ends_with("(MD5 check); refusing to resume"), "{e}");
    }

    #[test]
    fn otherwise_the_whole_file_must_not_be_newer() {
        // Downloading: the remote file is the whole one.
        let c = case(Side::Local, 5, 10);
        let older = Evidence::Times { local: at(1000), remote: at(900) };
        assert_eq!(c.judge(&older).unwrap().checked.to_string(), "size and modification time");
        let same_second = Evidence::Times { local: at(1000), remote: at(1001) };
        assert_eq!(c.judge(&same_second).unwrap().checked, Check::SizeAndTime);
        let newer = Evidence::Times { local: at(1000), remote: at(1002) };
        assert_eq!(
            c.judge(&newer).unwrap_err().to_string(),
            "pub/r.bin changed after the partial copy was written; refusing to resume (use --overwrite)"
        );
        // Uploading: the local file is the whole one.
        let c = case(Side::Remote, 5, 10);
        assert!(c.judge(&older).is_err());
        assert_eq!(c.judge(&older).unwrap_err().to_string(), "dl/r.bin changed after the partial copy was written; refusing to resume");
        assert!(c.judge(&newer).is_ok());
    }

    #[test]
    fn without_evidence_sizes_are_all_there_is() {
        let r = case(Side::Local, 5, 10).judge(&Evidence::Nothing).unwrap();
        assert_eq!((r.offset, r.checked.to_string()), (5, "size".to_owned()));
    }

    #[test]
    fn no_remote_file_reads_as_such() {
        assert_eq!(Check::NoRemote.to_string(), "no remote file");
    }
}
