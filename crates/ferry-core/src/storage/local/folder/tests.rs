//! [`super::Folder`] against real folders: every entry once, with the
//! facts `std` sees, in folders big enough to use the helper thread and
//! several `getdents64` buffers.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt as _;

use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;

use crate::storage::local::LocalStorage;
use crate::storage::{Detail, FileInfo, RESERVED_PREFIX, Storage};

const FILES: usize = 5000;

/// `root/d` with [`FILES`] files of 0–6 bytes under long names (several
/// buffers), a folder, a link inside the root and one leading out of it,
/// and an upload's temporary file.
fn big_folder() -> (tempfile::TempDir, LocalStorage) {
    let top = tempfile::tempdir().unwrap();
    let d = top.path().join("root/d");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    for i in 0..FILES {
        std::fs::write(d.join(format!("file-with-a-longish-name-{i:05}.txt")), &b"abcdef"[..i % 7]).unwrap();
    }
    std::fs::write(top.path().join("outside.txt"), b"secret").unwrap();
    std::os::unix::fs::symlink("file-with-a-longish-name-00006.txt", d.join("inside-link")).unwrap();
    std::os::unix::fs::symlink(top.path().join("outside.txt"), d.join("outside-link")).unwrap();
    std::fs::write(d.join(format!("{RESERVED_PREFIX}upload.part")), b"partial").unwrap();
    let storage = LocalStorage::open(&top.path().join("root")).unwrap();
    (top, storage)
}

fn read(s: &LocalStorage, detail: Detail) -> HashMap<String, FileInfo> {
    let mut seen = HashMap::new();
    for e in s.read_dir(&VirtualPath::root().resolve("d").unwrap(), detail).unwrap() {
        let e = e.unwrap();
        assert!(seen.insert(e.name.clone(), e).is_none(), "listed twice");
    }
    seen
}

#[test]
fn a_big_folder_lists_every_entry_once_with_the_facts_std_sees() {
    let (top, s) = big_folder();
    let seen = read(&s, Detail::Full);
    assert_eq!(seen.len(), FILES + 3, "the temporary upload is hidden");
    for i in [0, 1, 6, 1234, FILES - 1] {
        let name = format!("file-with-a-longish-name-{i:05}.txt");
        let m = std::fs::metadata(top.path().join("root/d").join(&name)).unwrap();
        let e = &seen[&name];
        assert_eq!((e.kind, e.size, e.mode), (Kind::File, (i % 7) as u64, m.mode() & 0o7777));
        assert_eq!((e.modified, e.unique), (Some(m.modified().unwrap()), Some((m.dev(), m.ino()))));
    }
    assert_eq!(seen["sub"].kind, Kind::Dir);
    // A link inside the root shows its target; one leading out shows as
    // a link, never as what it points to.
    assert_eq!((seen["inside-link"].kind, seen["inside-link"].size), (Kind::File, 6));
    assert_eq!(seen["outside-link"].kind, Kind::Symlink);
}

#[test]
fn names_only_take_the_kind_from_the_folder_itself() {
    let (_top, s) = big_folder();
    let seen = read(&s, Detail::Names);
    assert_eq!(seen.len(), FILES + 3);
    assert_eq!(seen["sub"].kind, Kind::Dir);
    assert_eq!(seen["inside-link"].kind, Kind::Symlink);
    assert_eq!(seen["file-with-a-longish-name-00006.txt"].size, 0, "not stat'ed");
}

#[test]
fn a_listing_dropped_half_way_stops_its_helper() {
    let (_top, s) = big_folder();
    let mut entries = s.read_dir(&VirtualPath::root().resolve("d").unwrap(), Detail::Full).unwrap();
    assert_eq!(entries.by_ref().take(100).filter(Result::is_ok).count(), 100);
    // Dropping joins the helper thread: this returns (and does not hang).
    drop(entries);
}
