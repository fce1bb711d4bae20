//! The random-access operations of [`LocalStorage`], against real files in
//! a temporary folder.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use ferry_proto::VirtualPath;

use super::LocalStorage;
use crate::storage::{PartialOutcome, RESERVED_PREFIX, Storage, StorageError, WriteMode};

fn fixture() -> (tempfile::TempDir, LocalStorage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::open(dir.path()).unwrap();
    (dir, storage)
}

fn path(p: &str) -> VirtualPath {
    VirtualPath::root().resolve(p).unwrap()
}

/// Names in the folder, temporary upload files included.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn reads_at_any_offset_in_any_order() {
    let (dir, s) = fixture();
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    std::fs::write(dir.path().join("f.bin"), &data).unwrap();
    let f = s.open_random(&path("f.bin")).unwrap();
    assert_eq!(f.size(), 10_000);
    let mut buf = [0u8; 100];
    assert_eq!(f.read_at(&mut buf, 5000).unwrap(), 100);
    assert_eq!(&buf[..], &data[5000..5100]);
    assert_eq!(f.read_at(&mut buf, 10).unwrap(), 100);
    assert_eq!(&buf[..], &data[10..110]);
    assert_eq!(f.read_at(&mut buf, 9950).unwrap(), 50, "short only at the end");
    assert_eq!(&buf[..50], &data[9950..]);
    assert_eq!(f.read_at(&mut buf, 10_000).unwrap(), 0);
    assert_eq!(f.read_at(&mut buf, u64::MAX).unwrap(), 0);
    assert!(s.capabilities().read_at && s.capabilities().write_at);
}

#[test]
fn random_reads_refuse_folders_missing_files_and_reserved_names() {
    let (dir, s) = fixture();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join(format!("{RESERVED_PREFIX}x.part")), b"secret").unwrap();
    assert!(matches!(s.open_random(&path("sub")), Err(StorageError::IsDirectory)));
    assert!(matches!(s.open_random(&path("nope")), Err(StorageError::NotFound)));
    assert!(matches!(s.open_random(&path(&format!("{RESERVED_PREFIX}x.part"))), Err(StorageError::InvalidName)));
}

#[test]
fn positional_writes_stay_hidden_until_the_atomic_commit() {
    let (dir, s) = fixture();
    std::fs::write(dir.path().join("f.txt"), b"old contents").unwrap();
    let mut up = s.open_write(&path("f.txt"), WriteMode::Replace).unwrap();
    // Blocks out of order, as an SFTP client pipelines them.
    up.write_at(b"world", 6).unwrap();
    up.write_at(b"hello ", 0).unwrap();
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"old contents", "the old file until the commit");
    assert!(names(dir.path()).iter().any(|n| n.starts_with(RESERVED_PREFIX)), "written beside, in a temporary file");
    up.commit().unwrap();
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"hello world");
    assert_eq!(names(dir.path()), ["f.txt"], "no temporary file left");
}

#[test]
fn an_aborted_positional_upload_leaves_the_old_file() {
    let (dir, s) = fixture();
    std::fs::write(dir.path().join("f.txt"), b"keep me").unwrap();
    let mut up = s.open_write(&path("f.txt"), WriteMode::Replace).unwrap();
    up.write_at(b"garbage", 100).unwrap();
    assert_eq!(up.abort(true), PartialOutcome::Discarded, "an existing file is never replaced by a part");
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"keep me");
    assert_eq!(names(dir.path()), ["f.txt"]);
}

#[test]
fn in_place_positional_writes_keep_what_precedes_the_restart_point() {
    let (dir, s) = fixture();
    std::fs::write(dir.path().join("f.txt"), b"0123456789").unwrap();
    let mut up = s.open_write(&path("f.txt"), WriteMode::At(4)).unwrap();
    assert!(matches!(up.write_at(b"x", 3), Err(StorageError::Unsupported(_))), "before the restart point");
    up.write_at(b"CD", 6).unwrap();
    up.write_at(b"AB", 4).unwrap();
    up.commit().unwrap();
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"0123ABCD");
}

#[test]
fn appending_positional_writes_land_at_the_end() {
    let (dir, s) = fixture();
    std::fs::write(dir.path().join("f.txt"), b"log:").unwrap();
    let mut up = s.open_write(&path("f.txt"), WriteMode::Append).unwrap();
    up.write_at(b"one,", 0).unwrap();
    up.write_all(b"two").unwrap();
    up.commit().unwrap();
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"log:one,two");
}

#[test]
fn unique_uploads_take_positional_writes() {
    let (dir, s) = fixture();
    let (p, mut up) = s.create_unique(&VirtualPath::root(), "u.txt").unwrap();
    up.write_at(b"b", 1).unwrap();
    up.write_at(b"a", 0).unwrap();
    up.commit().unwrap();
    assert_eq!(std::fs::read(dir.path().join(p.relative())).unwrap(), b"ab");
}

#[test]
fn set_times_sets_modification_and_access_times() {
    let (dir, s) = fixture();
    std::fs::write(dir.path().join("f.txt"), b"x").unwrap();
    let (m, a) = (SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000), SystemTime::UNIX_EPOCH + Duration::from_secs(1_100_000_000));
    s.set_times(&path("f.txt"), Some(m), Some(a)).unwrap();
    let meta = std::fs::metadata(dir.path().join("f.txt")).unwrap();
    assert_eq!((meta.modified().unwrap(), meta.accessed().unwrap()), (m, a));
    // Only the access time: the modification time stays.
    let a2 = a + Duration::from_secs(60);
    s.set_times(&path("f.txt"), None, Some(a2)).unwrap();
    let meta = std::fs::metadata(dir.path().join("f.txt")).unwrap();
    assert_eq!((meta.modified().unwrap(), meta.accessed().unwrap()), (m, a2));
    assert_eq!(s.metadata(&path("f.txt")).unwrap().modified, Some(m));
    assert!(s.capabilities().set_accessed);
    assert!(matches!(s.set_times(&path("missing"), Some(m), None), Err(StorageError::NotFound)));
}
