//! Local-file policy: where a download lands, and what a partial file holds.
//!
//! The seed's promise: a `get` never overwrites an existing local file. The
//! copy goes to `new_NAME`, then `new1_NAME`, `new2_NAME`, … ; the name is
//! taken only when the copy is complete, and without replacing anything
//! (see [`crate::partial`]).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ferry_proto::command::ChecksumAlgo;
use sha2::Digest;

/// What `get` does when the local file exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clobber {
    /// Save under a fresh `new_` name (the seed's rule).
    #[default]
    NewName,
    /// Replace the file (atomically, once the download is complete).
    Overwrite,
    /// Continue a partial file, after checking it matches the remote.
    Resume,
    /// Leave it and skip the download.
    Skip,
    /// Ask each time.
    Ask,
}

/// A clobber policy name that is none of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown clobber policy {0:?}: use new, overwrite, resume, skip or ask")]
pub struct UnknownClobber(pub String);

impl std::str::FromStr for Clobber {
    type Err = UnknownClobber;
    fn from_str(s: &str) -> Result<Self, UnknownClobber> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "new" | "rename" | "newname" => Clobber::NewName,
            "overwrite" => Clobber::Overwrite,
            "resume" => Clobber::Resume,
            "skip" => Clobber::Skip,
            "ask" => Clobber::Ask,
            _ => return Err(UnknownClobber(s.to_owned())),
        })
    }
}

/// The last component of a remote path (`pub/a.txt` → `a.txt`).
pub fn base_name(remote: &str) -> &str {
    remote.trim_end_matches('/').rsplit('/').next().unwrap_or(remote)
}

/// Where a download of `remote` goes, given an optional local argument: a
/// folder (named with a trailing `/`, or existing) gets the remote's base
/// name inside it; anything else is the file name itself; nothing means
/// the base name here.
pub fn local_target(remote: &str, local: Option<&str>) -> PathBuf {
    let base = base_name(remote);
    match local {
        Some(l) if l.ends_with('/') || Path::new(l).is_dir() => Path::new(l).join(base),
        Some(l) => PathBuf::from(l),
        None => PathBuf::from(base),
    }
}

/// The folder a local path lies in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// How many `new` names are tried before giving up.
pub const MAX_NEW_NAMES: u32 = 100;

/// The n-th alternative name: 0 → `new_NAME`, 1 → `new1_NAME`, …
pub fn new_name(name: &str, n: u32) -> String {
    if n == 0 { format!("new_{name}") } else { format!("new{n}_{name}") }
}

/// Digest of the first `len` bytes of a local file, in lower-case hex
/// (upper-case for CRC-32, as servers print it).
pub fn prefix_digest(path: &Path, len: u64, algo: ChecksumAlgo) -> io::Result<String> {
    let mut f = File::open(path)?.take(len);
    let mut buf = vec![0u8; 256 * 1024];
    enum H {
        Crc(crc32fast::Hasher),
        Md5(md5::Md5),
        Sha1(sha1::Sha1),
        Sha256(sha2::Sha256),
    }
    let mut h = match algo {
        ChecksumAlgo::Crc32 => H::Crc(crc32fast::Hasher::new()),
        ChecksumAlgo::Md5 => H::Md5(md5::Md5::new()),
        ChecksumAlgo::Sha1 => H::Sha1(sha1::Sha1::new()),
        ChecksumAlgo::Sha256 => H::Sha256(sha2::Sha256::new()),
    };
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        match &mut h {
            H::Crc(h) => h.update(&buf[..n]),
            H::Md5(h) => h.update(&buf[..n]),
            H::Sha1(h) => h.update(&buf[..n]),
            H::Sha256(h) => h.update(&buf[..n]),
        }
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Ok(match h {
        H::Crc(h) => format!("{:08x}", h.finalize()),
        H::Md5(h) => hex(&h.finalize()),
        H::Sha1(h) => hex(&h.finalize()),
        H::Sha256(h) => hex(&h.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_naming_scheme() {
        assert_eq!([0, 1, 2, 10].map(|n| new_name("f.txt", n)), ["new_f.txt", "new1_f.txt", "new2_f.txt", "new10_f.txt"]);
    }

    #[test]
    fn a_bare_name_stays_bare() {
        assert_eq!(parent_dir(Path::new("b")), Path::new("."));
        assert_eq!(parent_dir(Path::new("d/b")), Path::new("d"));
    }

    #[test]
    fn where_downloads_land() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(base_name("pub/dir/a.txt"), "a.txt");
        assert_eq!(base_name("pub/dir/"), "dir");
        assert_eq!(local_target("pub/a.txt", None), PathBuf::from("a.txt"));
        assert_eq!(local_target("pub/a.txt", Some("b.txt")), PathBuf::from("b.txt"));
        assert_eq!(local_target("pub/a.txt", Some("sub/")), PathBuf::from("sub/a.txt"));
        assert_eq!(local_target("pub/a.txt", Some(d)), dir.path().join("a.txt"));
    }

    #[test]
    fn clobber_policies_by_name() {
        assert_eq!("NEW".parse(), Ok(Clobber::NewName));
        assert_eq!("overwrite".parse(), Ok(Clobber::Overwrite));
        let e = "always".parse::<Clobber>().unwrap_err();
        assert_eq!(e.to_string(), "unknown clobber policy \"always\": use new, overwrite, resume, skip or ask");
    }

    #[test]
    fn digest_of_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abcdef").unwrap();
        assert_eq!(prefix_digest(&p, 3, ChecksumAlgo::Md5).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(prefix_digest(&p, 3, ChecksumAlgo::Crc32).unwrap(), "352441c2");
    }
}
