//! Refusals that do not depend on what a file holds: permissions, names,
//! the home.

use std::time::SystemTime;

use super::*;
use crate::storage::{Detail, StorageError, WriteMode};
use crate::userfs::{FsError, ReadPurpose};

/// Try the operations that need `p` with a policy lacking it; each must be
/// refused naming `p`, and nothing may change.
#[test]
fn every_operation_needs_its_permission() {
    let f = fixture();
    f.put("f.txt", b"contents");
    f.put("g.txt", b"other");
    std::fs::create_dir(f.disk("dir")).unwrap();
    type Op = Box<dyn Fn(&UserFs) -> Result<(), FsError>>;
    let ops: Vec<(Permission, &str, Op)> = vec![
        (Permission::List, "metadata", Box::new(|fs| fs.metadata(&path("f.txt")).map(drop))),
        (Permission::List, "change_dir", Box::new(|fs| fs.change_dir(&path("dir")))),
        (Permission::List, "read_dir", Box::new(|fs| fs.read_dir(&path("/"), Detail::Full).map(drop))),
        (Permission::List, "measure", Box::new(|fs| fs.open_read(&path("f.txt"), 0, ReadPurpose::Measure).map(drop))),
        (Permission::Read, "download", Box::new(|fs| fs.open_download(&path("f.txt"), 0).map(drop))),
        (Permission::Read, "random", Box::new(|fs| fs.open_random(&path("f.txt")).map(drop))),
        (Permission::Read, "checksum", Box::new(|fs| fs.open_read(&path("f.txt"), 0, ReadPurpose::Checksum).map(drop))),
        (Permission::Write, "upload", Box::new(|fs| fs.open_upload(&path("f.txt"), WriteMode::Replace).map(drop))),
        (Permission::Write, "append", Box::new(|fs| fs.open_upload(&path("f.txt"), WriteMode::Append).map(drop))),
        (Permission::Write, "unique", Box::new(|fs| fs.create_unique(&path("/"), "u").map(drop))),
        (Permission::Write, "set_modified", Box::new(|fs| fs.set_modified(&path("f.txt"), SystemTime::UNIX_EPOCH))),
        (Permission::Write, "set_times", Box::new(|fs| fs.set_times(&path("f.txt"), None, Some(SystemTime::UNIX_EPOCH)))),
        (Permission::Write, "set_mode", Box::new(|fs| fs.set_mode(&path("f.txt"), 0o600))),
        (Permission::Delete, "remove_file", Box::new(|fs| fs.remove_file(&path("f.txt")))),
        (Permission::Delete, "rmdir", Box::new(|fs| fs.rmdir(&path("dir")))),
        (Permission::Delete, "rmdir_outside", Box::new(|fs| fs.rmdir_outside(&path("dir"), &path("/")))),
        (Permission::Rename, "rename_source", Box::new(|fs| fs.rename_source(&path("f.txt")).map(drop))),
        (Permission::Rename, "rename", Box::new(|fs| fs.rename(&path("f.txt"), &path("h.txt")))),
        (Permission::Mkdir, "mkdir", Box::new(|fs| fs.mkdir(&path("new")))),
    ];
    let before = std::fs::metadata(f.disk("f.txt")).unwrap();
    for (p, name, op) in &ops {
        let fs = f.fs(all_but(*p));
        match op(&fs) {
            Err(FsError::PermissionDenied(q)) if q == *p => {}
            other => panic!("{name} without {}: {other:?}", p.name()),
        }
        assert_eq!(FsError::PermissionDenied(*p).to_string(), format!("Permission denied: no {} permission", p.name()));
    }
    let after = std::fs::metadata(f.disk("f.txt")).unwrap();
    assert_eq!(f.read("f.txt").unwrap(), b"contents");
    assert_eq!((before.modified().unwrap(), before.permissions()), (after.modified().unwrap(), after.permissions()));
    let mut names: Vec<_> = std::fs::read_dir(f.root()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["dir", "f.txt", "g.txt"], "nothing made, moved or left behind");
    assert!(f.heard.events().is_empty(), "refusals are no events: {:?}", f.heard.names());
    // And with the permission, each of them works.
    let fs = f.fs(all());
    for (_, name, op) in ops.iter().filter(|(p, ..)| *p != Permission::Delete && *p != Permission::Rename) {
        op(&fs).unwrap_or_else(|e| panic!("{name} with every permission: {e}"));
    }
}

#[test]
fn reserved_names_are_refused_for_every_operation() {
    let f = fixture();
    f.put(".~ferry-0123.part", b"someone's upload");
    std::fs::create_dir(f.disk("sub")).unwrap();
    let fs = f.fs(all());
    for reserved in ["/.~ferry-0123.part", "/sub/.~ferry-x", "/.ferry-dir", "/.~ferry-dir/inside"] {
        let p = path(reserved);
        let refused = |r: Result<(), FsError>| assert!(matches!(r, Err(FsError::NameNotAllowed)), "{reserved}: {r:?}");
        refused(fs.metadata(&p).map(drop));
        refused(fs.read_dir(&p, Detail::Names).map(drop));
        refused(fs.open_download(&p, 0).map(drop));
        refused(fs.open_random(&p).map(drop));
        refused(fs.open_read(&p, 0, ReadPurpose::Checksum).map(drop));
        refused(fs.open_upload(&p, WriteMode::Replace).map(drop));
        refused(fs.create_unique(&p, "x").map(drop));
        refused(fs.remove_file(&p));
        refused(fs.rmdir(&p));
        refused(fs.mkdir(&p));
        refused(fs.rename_source(&p).map(drop));
        refused(fs.rename(&p, &path("/stolen")));
        refused(fs.rename(&path("/sub"), &p));
        refused(fs.set_mode(&p, 0o777));
        refused(fs.set_modified(&p, SystemTime::UNIX_EPOCH));
        refused(UserFs::resolve(&VirtualPath::root(), reserved).map(drop));
    }
    assert!(matches!(UserFs::resolve(&path("/sub"), "a\0b"), Err(FsError::NameNotAllowed)), "not a path at all");
    assert_eq!(UserFs::resolve(&path("/sub"), "../../x").unwrap().as_str(), "/x", "never above the home");
    assert_eq!(f.read(".~ferry-0123.part").unwrap(), b"someone's upload");
    assert!(f.heard.events().is_empty());
}

#[test]
fn new_names_with_control_characters_are_refused_but_old_ones_can_go() {
    let f = fixture();
    f.put("ok.txt", b"x");
    f.put("old\rname", b"made outside the server");
    let fs = f.fs(all());
    for bad in ["/a\rb", "/line\nbreak", "/esc\x1b[2J", "/c1\u{9b}"] {
        let p = path(bad);
        assert!(matches!(fs.mkdir(&p), Err(FsError::NewNameNotAllowed)), "{bad:?}");
        assert!(matches!(fs.open_upload(&p, WriteMode::Replace), Err(FsError::NewNameNotAllowed)), "{bad:?}");
        assert!(matches!(fs.rename(&path("ok.txt"), &p), Err(FsError::NewNameNotAllowed)), "{bad:?}");
    }
    assert_eq!(f.read("ok.txt").unwrap(), b"x");
    fs.remove_file(&path("old\rname")).unwrap();
    assert!(f.read("old\rname").is_none());
    assert_eq!(f.heard.names(), ["delete"]);
}

#[test]
fn the_home_is_the_users_root_and_is_made_at_login() {
    let f = fixture();
    f.put("secret.txt", b"the administrator's");
    let home = Policy { home: path("/homes/alice"), ..all() };
    let fs = f.fs(home.clone());
    assert!(f.disk("homes/alice").is_dir(), "created at login");
    assert_eq!(fs.home().as_str(), "/homes/alice");
    assert!(matches!(fs.metadata(&path("/secret.txt")), Err(FsError::Storage(StorageError::NotFound))));
    assert!(matches!(fs.open_download(&path("/../secret.txt"), 0), Err(FsError::Storage(StorageError::NotFound))));
    let mut up = fs.open_upload(&path("/mine.txt"), WriteMode::Replace).unwrap();
    up.write(b"hers").unwrap();
    up.commit().unwrap();
    assert_eq!(f.read("homes/alice/mine.txt").unwrap(), b"hers");
    assert!(fs.change_dir(&path("/")).is_ok());
    assert!(matches!(fs.change_dir(&path("/mine.txt")), Err(FsError::Storage(StorageError::NotDirectory))));
    assert!(matches!(fs.set_mode(&path("/"), 0), Err(FsError::HomeMode)), "the home's mode is the administrator's");
    for special in [0o4755, 0o2755, 0o1777] {
        assert!(matches!(fs.set_mode(&path("/mine.txt"), special), Err(FsError::SpecialMode)), "{special:o}");
    }
    fs.set_mode(&path("/mine.txt"), 0o640).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(f.disk("homes/alice/mine.txt")).unwrap().permissions()) & 0o7777,
        0o640
    );
    // A home that cannot be made (a file is in the way) refuses the view.
    f.put("homes/bob", b"a file");
    let account = Account { name: "bob".into(), policy: Policy { home: path("/homes/bob"), ..all() }, anonymous: false };
    let session = SessionInfo { id: 2, protocol: "ftp", peer: "192.0.2.2:1".parse().unwrap() };
    assert!(matches!(UserFs::open(&f.services, &account, session), Err(FsError::Storage(_))));
}

#[test]
fn a_reloaded_policy_applies_from_the_next_call() {
    let f = fixture();
    f.put("f.txt", b"x");
    let fs = f.fs(all());
    let copy = fs.clone();
    assert!(copy.set_policy(Policy::read_only(VirtualPath::root(), None)));
    assert!(matches!(fs.remove_file(&path("f.txt")), Err(FsError::PermissionDenied(Permission::Delete))), "clones share it");
    assert!(fs.metadata(&path("f.txt")).is_ok());
    assert!(!fs.set_policy(Policy { home: path("/elsewhere"), ..all() }), "another home is another view");
    assert!(!fs.allows(Permission::Delete), "and is not taken");
}
