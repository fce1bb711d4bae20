//! Folders, deletions and renames: what they refuse, what they change in
//! the quota, and the events they emit.

use super::*;
use crate::events::EventKind;
use crate::storage::{StorageError, WriteMode};
use crate::userfs::FsError;

/// A policy with a quota large enough not to refuse anything.
fn counted() -> Policy {
    Policy { quota_bytes: Some(1 << 30), quota_files: Some(1000), ..all() }
}

#[test]
fn folders_made_and_removed_are_events() {
    let f = fixture();
    let fs = f.fs(all());
    fs.mkdir(&path("/a")).unwrap();
    fs.mkdir(&path("/a/b")).unwrap();
    assert!(f.disk("a/b").is_dir());
    assert!(matches!(fs.mkdir(&path("/a")), Err(FsError::Storage(StorageError::AlreadyExists))));
    assert!(matches!(fs.rmdir(&path("/a")), Err(FsError::Storage(StorageError::NotEmpty))));
    fs.rmdir(&path("/a/b")).unwrap();
    assert!(!f.disk("a/b").exists());
    let got = f.heard.events();
    assert_eq!(f.heard.names(), ["mkdir", "mkdir", "rmdir"], "failures emit nothing");
    assert_eq!(got[1].kind, EventKind::Mkdir { actor: fs.actor().clone(), path: path("/a/b") });
    assert_eq!(got[2].kind, EventKind::Rmdir { actor: fs.actor().clone(), path: path("/a/b") });
}

#[test]
fn the_working_folder_and_its_parents_stay() {
    let f = fixture();
    std::fs::create_dir_all(f.disk("a/b/c")).unwrap();
    std::fs::create_dir_all(f.disk("ab")).unwrap();
    let fs = f.fs(all());
    let cwd = path("/a/b");
    for busy in ["/a/b", "/a"] {
        assert!(matches!(fs.rmdir_outside(&path(busy), &cwd), Err(FsError::CurrentDirectory)), "{busy}");
    }
    assert_eq!(FsError::CurrentDirectory.to_string(), "Cannot remove the current directory or its parent");
    fs.rmdir_outside(&path("/a/b/c"), &cwd).unwrap();
    fs.rmdir_outside(&path("/ab"), &cwd).unwrap();
    assert!(f.disk("a/b").is_dir() && !f.disk("ab").exists(), "a name that only starts like the working folder may go");
    assert!(matches!(fs.rmdir_outside(&path("/"), &cwd), Err(FsError::Storage(StorageError::PermissionDenied))), "never the home");
    assert_eq!(f.heard.names(), ["rmdir", "rmdir"]);
}

#[test]
fn a_deleted_file_is_an_event_and_leaves_the_quota() {
    let f = fixture();
    f.put("f.bin", &[7u8; 300]);
    f.put("g.bin", &[7u8; 100]);
    let fs = f.fs(counted());
    // The first upload walks the home: 400 bytes in 2 files.
    fs.open_upload(&path("/h.bin"), WriteMode::Replace).unwrap().commit().unwrap();
    let ledger = f.services.quotas().ledger(&VirtualPath::root());
    assert_eq!(ledger.usage(), (400, 3));
    fs.remove_file(&path("/f.bin")).unwrap();
    assert!(f.read("f.bin").is_none());
    assert_eq!(ledger.usage(), (100, 2), "counted, not walked again");
    let last = f.heard.events().pop().unwrap();
    assert_eq!(last.kind, EventKind::Delete { actor: fs.actor().clone(), path: path("/f.bin"), size: 300 });
    assert!(matches!(fs.remove_file(&path("/f.bin")), Err(FsError::Storage(StorageError::NotFound))));
    std::fs::create_dir(f.disk("dir")).unwrap();
    assert!(matches!(fs.remove_file(&path("/dir")), Err(FsError::Storage(StorageError::IsDirectory))));
    assert_eq!(ledger.usage(), (100, 2), "failed deletions change nothing");
    assert_eq!(f.heard.names().iter().filter(|n| **n == "delete").count(), 1);
}

#[test]
fn without_delete_a_rename_never_replaces_a_file() {
    let f = fixture();
    f.put("from.txt", b"new");
    f.put("to.txt", b"precious");
    let fs = f.fs(all_but(Permission::Delete));
    assert!(matches!(fs.rename(&path("from.txt"), &path("to.txt")), Err(FsError::ReplaceNeedsDelete)));
    assert_eq!(f.read("to.txt").unwrap(), b"precious", "the target is untouched");
    assert_eq!(f.read("from.txt").unwrap(), b"new", "and so is the source");
    assert!(f.heard.events().is_empty());
    // A free name needs no delete permission.
    fs.rename(&path("from.txt"), &path("free.txt")).unwrap();
    assert_eq!(f.read("free.txt").unwrap(), b"new");
    assert_eq!(f.heard.events()[0].kind, EventKind::Rename { actor: fs.actor().clone(), from: path("/from.txt"), to: path("/free.txt") });
}

#[test]
fn with_delete_a_rename_replaces_and_the_replaced_file_leaves_the_quota() {
    let f = fixture();
    f.put("from.txt", b"new");
    f.put("to.txt", b"old contents");
    let fs = f.fs(counted());
    let ledger = f.services.quotas().ledger(&VirtualPath::root());
    ledger.refresh(&**f.services.storage(), std::time::Instant::now()).unwrap();
    assert_eq!(ledger.usage(), (15, 2));
    fs.rename(&path("from.txt"), &path("to.txt")).unwrap();
    assert_eq!(f.read("to.txt").unwrap(), b"new");
    assert!(f.read("from.txt").is_none());
    assert_eq!(ledger.usage(), (3, 1));
    // A rename onto itself frees nothing.
    fs.rename(&path("to.txt"), &path("to.txt")).unwrap();
    assert_eq!(ledger.usage(), (3, 1));
    assert_eq!(f.heard.names(), ["rename", "rename"]);
}

#[test]
fn a_folder_cannot_move_into_itself_and_the_home_cannot_move() {
    let f = fixture();
    std::fs::create_dir_all(f.disk("a/b")).unwrap();
    let fs = f.fs(all());
    assert!(matches!(fs.rename(&path("/a"), &path("/a/b/a")), Err(FsError::IntoItself)));
    assert!(matches!(fs.rename_source(&path("/")), Err(FsError::Storage(StorageError::PermissionDenied))));
    assert!(matches!(fs.rename(&path("/"), &path("/x")), Err(FsError::Storage(StorageError::PermissionDenied))));
    assert!(matches!(fs.rename_source(&path("/missing")), Err(FsError::Storage(StorageError::NotFound))));
    assert_eq!(fs.rename_source(&path("/a")).unwrap().name, "a");
    fs.rename(&path("/a"), &path("/ab")).unwrap();
    assert!(f.disk("ab/b").is_dir());
    assert_eq!(f.heard.names(), ["rename"]);
}
