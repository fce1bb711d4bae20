//! The core's file facts as SFTP attributes and `ls -l` long names.

use std::time::SystemTime;

use ferry_core::storage::FileInfo;
use ferry_proto::listing::{self, Entry, Kind};
use ferry_sftp::attrs::{file_type, seconds};
use ferry_sftp::{Attrs, NameEntry};

/// The attributes of `info`. Owner and group are not told: every file
/// belongs to the server, and clients show the names of the long name.
pub(crate) fn attrs_of(info: &FileInfo) -> Attrs {
    let kind_bits = match info.kind {
        Kind::Dir => file_type::DIR,
        Kind::Symlink => file_type::SYMLINK,
        Kind::File => file_type::FILE,
        // A FIFO, socket or device: no type bits, which clients show as
        // unknown, rather than a regular file they would try to read.
        Kind::Other => 0,
    };
    let mtime = info.modified.map(seconds);
    Attrs {
        size: Some(info.size),
        uid_gid: None,
        permissions: Some(kind_bits | (info.mode & 0o7777)),
        times: mtime.map(|m| (m, m)),
        extended: Vec::new(),
    }
}

/// A folder entry, with the `ls -l` line OpenSSH's `sftp` prints for
/// `ls -l`. Control characters of the name are shown as `?` there (the
/// name itself is sent as it is: clients need it exact to ask for it).
pub(crate) fn name_entry(info: &FileInfo, now: SystemTime) -> NameEntry {
    let shown: String = info.name.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    let mut e = Entry::new(shown, info.kind);
    e.size = info.size;
    e.modified = info.modified;
    e.mode = Some(info.mode & 0o7777);
    let longname = listing::format_unix(&e, now);
    NameEntry { filename: info.name.clone().into_bytes(), longname: longname.into_bytes(), attrs: attrs_of(info) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_s_facts_and_long_name() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let info = FileInfo {
            name: "bad\nname".into(),
            kind: Kind::File,
            size: 42,
            modified: Some(t),
            mode: 0o640,
            unique: None,
            link_target: None,
        };
        let e = name_entry(&info, t);
        assert_eq!(e.attrs.permissions, Some(0o100640));
        assert_eq!(e.attrs.size, Some(42));
        assert_eq!(e.attrs.times, Some((1_700_000_000, 1_700_000_000)));
        let long = String::from_utf8(e.longname).unwrap();
        assert!(long.starts_with("-rw-r-----") && long.ends_with("bad?name"), "{long}");
        assert_eq!(e.filename, b"bad\nname");
    }

    #[test]
    fn a_fifo_is_not_called_a_regular_file() {
        let info =
            FileInfo { name: "pipe".into(), kind: Kind::Other, size: 0, modified: None, mode: 0o644, unique: None, link_target: None };
        let a = attrs_of(&info);
        assert_eq!(a.permissions, Some(0o644));
        assert!(!a.is_file() && !a.is_dir() && !a.is_symlink());
    }
}
