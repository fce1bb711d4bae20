//! The admin files: the bytes on disk, and two store instances on one
//! pair of files, as `ferryd admin …` and a running server are.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use super::*;
use crate::admin::token::{self, TokenKind};
use crate::admin::{AdminAuth, CHECK_CACHE, ensure_first_admin};
use crate::auth::hash;

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn record(id: &str, admin: &str, expires: Option<SystemTime>) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        admin: admin.into(),
        kind: TokenKind::Api,
        hash: [1; 32],
        created: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        expires,
    }
}

#[test]
fn admins_txt_is_kept_like_the_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admins.txt");
    let store = FileAdminStore::new(path.clone());
    assert_eq!(store.tokens_path(), dir.path().join("admin-tokens.txt"));
    block_on(async {
        assert_eq!(store.names().await.unwrap(), Vec::<String>::new(), "no file, no admins");
        assert_eq!(store.lookup("root").await.unwrap(), None);
        std::fs::write(&path, "# the admins\n").unwrap();
        assert!(!store.set_password("zoë", "one").await.unwrap(), "added");
        assert!(!store.set_password("root", "two").await.unwrap());
        assert!(store.set_password("root", "three").await.unwrap(), "replaced");
        assert_eq!(store.names().await.unwrap(), ["root", "zoë"]);
        let phc = store.lookup("root").await.unwrap().unwrap();
        assert!(hash::verify("three", &phc) && !hash::verify("two", &phc));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# the admins\nzoë:$argon2id$") && text.contains("\nroot:$argon2id$"), "{text}");
        assert_eq!(mode(&path), 0o600);

        let e = store.remove("nobody").await.unwrap_err();
        assert_eq!(e.to_string(), "no user \"nobody\" in the admins file");
        let e = store.set_password("two words", "x").await.unwrap_err();
        assert_eq!(e, StoreError::BadName("two words".into()));
        store.remove("zoë").await.unwrap();
        assert_eq!(store.names().await.unwrap(), ["root"]);

        // A plain-text password (a hand edit) opens nothing; a broken line
        // is an error naming it.
        std::fs::write(&path, format!("root:{phc}\nbob:secret\n")).unwrap();
        assert_eq!(store.lookup("bob").await.unwrap(), None);
        assert_eq!(store.names().await.unwrap(), ["bob", "root"], "listed, so that it can be removed or fixed");
        std::fs::write(&path, "root\n").unwrap();
        let e = store.names().await.unwrap_err();
        assert_eq!(e.to_string(), format!("{}:1: expected `name:secret`", path.display()));
    });
}

#[test]
fn tokens_live_until_revoked_expired_or_their_admin_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileAdminStore::new(dir.path().join("admins.txt"));
    let tokens = store.tokens_path().to_owned();
    // Whole seconds, as the file keeps them.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs());
    block_on(async {
        let e = store.add_token(&record("00000000000000a1", "root", None)).await.unwrap_err();
        assert_eq!(e, StoreError::NoSuchUser { name: "root".into(), place: PLACE });
        store.set_password("root", "pw").await.unwrap();
        store.set_password("other", "pw").await.unwrap();
        let forever = record("00000000000000a1", "root", None);
        let later = record("00000000000000b2", "root", Some(now + Duration::from_secs(3600)));
        let past = record("00000000000000c3", "root", Some(now - Duration::from_secs(1)));
        let others = record("00000000000000d4", "other", None);
        for t in [&forever, &later, &others, &past] {
            store.add_token(t).await.unwrap();
        }
        assert_eq!(mode(&tokens), 0o600);
        let e = store.add_token(&forever).await.unwrap_err();
        assert!(e.to_string().ends_with("a token with id 00000000000000a1 exists already"), "{e}");
        assert_eq!(store.find_token("00000000000000a1").await.unwrap(), Some(forever.clone()));
        assert_eq!(store.find_token("00000000000000c3").await.unwrap(), None, "expired");
        assert_eq!(store.tokens("root").await.unwrap(), [forever.clone(), later.clone()]);
        assert_eq!(store.tokens("nobody").await.unwrap_err(), StoreError::NoSuchUser { name: "nobody".into(), place: PLACE });
        // The expired one was still on disk (written a moment before it
        // was past); the next write drops it.
        assert!(std::fs::read_to_string(&tokens).unwrap().contains("00000000000000c3"));
        assert!(store.revoke_token("00000000000000b2").await.unwrap());
        assert!(!store.revoke_token("00000000000000b2").await.unwrap(), "gone already");
        let text = std::fs::read_to_string(&tokens).unwrap();
        assert!(!text.contains("00000000000000c3") && !text.contains("00000000000000b2"), "{text}");
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 2, "{text}");
        assert!(text.contains(&format!("00000000000000a1 api root 1000000 - {}\n", "01".repeat(32))), "{text}");

        // Removing an admin removes their tokens, on disk.
        store.remove("root").await.unwrap();
        assert_eq!(store.find_token("00000000000000a1").await.unwrap(), None);
        let text = std::fs::read_to_string(&tokens).unwrap();
        assert!(!text.contains(" root ") && text.contains("00000000000000d4"), "{text}");
        // And deleting an admin's line by hand ends their tokens too.
        let admins = std::fs::read_to_string(store.admins_path()).unwrap();
        std::fs::write(
            store.admins_path(),
            admins.lines().filter(|l| !l.starts_with("other:")).map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
        assert_eq!(store.find_token("00000000000000d4").await.unwrap(), None);
    });
}

/// `ferryd admin token` and `revoke` are another process with a store
/// of its own: what it writes counts in the server's store at once, even
/// twice within one tick of the file clock.
#[test]
fn a_second_store_on_the_same_files_sees_every_change_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = FileAdminStore::new(dir.path().join("admins.txt"));
    let command = FileAdminStore::new(dir.path().join("admins.txt"));
    block_on(async {
        command.set_password("root", "pw").await.unwrap();
        let auth = AdminAuth::new(Arc::new(server.clone()));
        let by_command = AdminAuth::new(Arc::new(command.clone()));
        assert!(auth.login("root", "pw").await.unwrap(), "an admin added by the command logs in");
        for _ in 0..20 {
            let issued = by_command.issue("root", TokenKind::Api, None).await.unwrap();
            assert_eq!(server.find_token(&issued.record.id).await.unwrap(), Some(issued.record.clone()));
            assert!(command.revoke_token(&issued.record.id).await.unwrap());
            assert_eq!(server.find_token(&issued.record.id).await.unwrap(), None, "revoked at once");
        }
        // A hand edit in place that keeps the length (and, within a
        // tick, the time) is seen too.
        let issued = by_command.issue("root", TokenKind::Api, None).await.unwrap();
        assert!(auth.check(&issued.token, SystemTime::now()).await.unwrap().is_some());
        let text = std::fs::read_to_string(command.tokens_path()).unwrap();
        let digest = token::hex(&issued.record.hash);
        let flipped = format!("{}{}", if digest.starts_with('0') { '1' } else { '0' }, &digest[1..]);
        std::fs::write(command.tokens_path(), text.replace(&digest, &flipped)).unwrap();
        let seen = server.find_token(&issued.record.id).await.unwrap().unwrap();
        assert_ne!(seen.hash, issued.record.hash);
    });
}

/// A token that passed is taken on trust for at most [`CHECK_CACHE`]: a
/// revocation by another process counts within it.
#[test]
fn a_revocation_elsewhere_counts_within_the_check_cache() {
    let dir = tempfile::tempdir().unwrap();
    let server = FileAdminStore::new(dir.path().join("admins.txt"));
    let command = FileAdminStore::new(dir.path().join("admins.txt"));
    block_on(async {
        command.set_password("root", "pw").await.unwrap();
        let auth = AdminAuth::new(Arc::new(server));
        let issued = auth.issue("root", TokenKind::Browser, None).await.unwrap();
        assert!(auth.check(&issued.token, SystemTime::now()).await.unwrap().is_some());
        assert!(command.revoke_token(&issued.record.id).await.unwrap());
        let revoked = std::time::Instant::now();
        while auth.check(&issued.token, SystemTime::now()).await.unwrap().is_some() {
            assert!(revoked.elapsed() < CHECK_CACHE + Duration::from_millis(500), "still valid after {:?}", revoked.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(revoked.elapsed() > CHECK_CACHE / 2, "answered from memory meanwhile: {:?}", revoked.elapsed());
    });
}

/// A file whose stamp has not changed is not read again (here the cache
/// is deceived on purpose: the contents change, the stamp is put back).
#[test]
fn a_settled_file_with_the_same_stamp_is_not_parsed_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileAdminStore::new(dir.path().join("admins.txt"));
    block_on(async {
        store.set_password("aaaa", "pw").await.unwrap();
        let path = store.admins_path().to_owned();
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        assert_eq!(store.names().await.unwrap(), ["aaaa"]);
        let text = std::fs::read_to_string(&path).unwrap().replacen("aaaa:", "bbbb:", 1);
        std::fs::write(&path, &text).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        assert_eq!(store.names().await.unwrap(), ["aaaa"], "same inode, length and time: the parse is reused");
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old + Duration::from_secs(1)).unwrap();
        assert_eq!(store.names().await.unwrap(), ["bbbb"]);
    });
}

/// Two stores (two processes) writing at once lose nothing: the lock is
/// between processes, not only threads.
#[test]
fn concurrent_writers_lose_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admins.txt");
    block_on(FileAdminStore::new(path.clone()).set_password("root", "pw")).unwrap();
    let writers: Vec<_> = (0..4u8)
        .map(|w| {
            let store = FileAdminStore::new(path.clone());
            std::thread::spawn(move || {
                block_on(async {
                    for i in 0..10u8 {
                        store.add_token(&record(&format!("{w:08x}{i:08x}"), "root", None)).await.unwrap();
                    }
                })
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let store = FileAdminStore::new(path);
    assert_eq!(block_on(store.tokens("root")).unwrap().len(), 40);
}

#[test]
fn the_first_admin_is_made_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileAdminStore::new(dir.path().join("admins.txt"));
    block_on(async {
        let (name, password) = ensure_first_admin(&store).await.unwrap().unwrap();
        assert_eq!((name.as_str(), password.len()), ("admin", 16));
        assert_eq!(ensure_first_admin(&store).await.unwrap(), None);
        let auth = AdminAuth::new(Arc::new(store.clone()));
        assert!(auth.login("admin", &password).await.unwrap());
        assert!(!auth.login("admin", "wrong").await.unwrap());
        assert!(!auth.login("nobody", &password).await.unwrap(), "an unknown name is a wrong password");
        assert_eq!(store.names().await.unwrap(), ["admin"]);
    });
}
