use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::auth::settings::Permission;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    users: PathBuf,
    settings: PathBuf,
    d: FileDirectory,
}

fn fixture(users: &str, settings: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.txt");
    std::fs::write(&path, users).unwrap();
    let settings_path = dir.path().join("users.toml");
    if let Some(s) = settings {
        std::fs::write(&settings_path, s).unwrap();
    }
    Fixture { d: FileDirectory::new(path.clone()), users: path, settings: settings_path, _dir: dir }
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn all() -> UserQuery {
    UserQuery { search: None, offset: 0, limit: 100 }
}

fn names(page: &UserPage) -> Vec<&str> {
    page.users.iter().map(|r| r.name.as_str()).collect()
}

/// The password a users.txt line verifies.
fn verifies(users: &Path, name: &str, password: &str) -> bool {
    let text = text(users);
    let phc = text.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap_or_default();
    phc.starts_with("$argon2id$") && hash::verify(password, phc)
}

const SETTINGS: &str = "# operator's notes\n[defaults]\ndownload_rate = \"8M\"\n\n[users.alice]   # the boss\nhome = \"alice\"\n\n# orphan: no line in users.txt\n[users.ghost]\nread_only = true\n\n[anonymous]\nenabled = true\n";

#[test]
fn records_come_from_both_files() {
    let f = fixture("# accounts\nalice:pw\nbob:pw\n", Some(SETTINGS));
    rt().block_on(async {
        let page = f.d.list(&all()).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["alice", "bob"], 2), "ghost has a table but no line: not an account");
        assert_eq!(page.users[0], UserRecord { home: Some("alice".into()), ..UserRecord::new("alice") });
        assert_eq!(page.users[1], UserRecord::new("bob"), "no table: the defaults (None for download_rate)");
        assert_eq!(f.d.get("bob").await.unwrap(), Some(UserRecord::new("bob")));
        assert_eq!(f.d.get("ghost").await.unwrap(), None);
    });
    // No files at all: no accounts, and the first one creates both.
    let dir = tempfile::tempdir().unwrap();
    let d = FileDirectory::new(dir.path().join("users.txt"));
    rt().block_on(async {
        assert_eq!(d.list(&all()).await.unwrap(), UserPage { users: vec![], total: 0 });
        let r = UserRecord { read_only: true, ..UserRecord::new("first") };
        d.create(&r, "pw").await.unwrap();
        assert_eq!(d.get("first").await.unwrap(), Some(r));
    });
    assert_eq!(text(&dir.path().join("users.toml")), "[users.first]\nread_only = true\n");
    for file in ["users.txt", "users.toml"] {
        let mode = std::fs::metadata(dir.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} holds hashes or sits beside them");
    }
}

#[test]
fn create_update_delete_keep_the_operators_text() {
    let f = fixture("# accounts\nalice:pw\n", Some(SETTINGS));
    let rt = rt();
    rt.block_on(async {
        let mut bob = UserRecord::new("bob");
        bob.allowed_networks = vec!["2001:DB8::/32".into()];
        bob.expires = Some("2026-12-31".into());
        bob.permissions = Some(vec![Permission::Read, Permission::List]);
        f.d.create(&bob, "s3cret").await.unwrap();
        assert!(verifies(&f.users, "bob", "s3cret"));
        assert!(text(&f.users).starts_with("# accounts\nalice:pw\nbob:$argon2id$"));
        let table = "[users.bob]\npermissions = [\"list\", \"read\"]\nallowed_networks = [\"2001:db8::/32\"]\nexpires = \"2026-12-31\"\n";
        assert_eq!(text(&f.settings), SETTINGS.replace("\n[anonymous]", &format!("\n{table}\n[anonymous]")));
        let stored = f.d.get("bob").await.unwrap().unwrap();
        assert_eq!(stored.allowed_networks, ["2001:db8::/32"], "kept in canonical text");

        // Update alice's settings, not her password: users.txt untouched.
        let before = text(&f.users);
        let alice = UserRecord { quota_bytes: Some(1 << 30), enabled: false, ..f.d.get("alice").await.unwrap().unwrap() };
        f.d.update(&alice, None).await.unwrap();
        assert_eq!(text(&f.users), before);
        assert_eq!(
            text(&f.settings),
            SETTINGS.replace("home = \"alice\"\n", "home = \"alice\"\nquota_bytes = \"1G\"\ndisabled = true\n").replace(
                "\n[anonymous]",
                &format!("\n{table}\n[anonymous]")
            )
        );
        assert_eq!(f.d.get("alice").await.unwrap(), Some(alice.clone()));
        // A new password for alice: her plain line becomes a hash in place.
        f.d.update(&alice, Some("new")).await.unwrap();
        assert!(verifies(&f.users, "alice", "new"));
        assert!(text(&f.users).starts_with("# accounts\nalice:$argon2id$"));

        // Bob back to the defaults: his table goes.
        f.d.update(&UserRecord::new("bob"), None).await.unwrap();
        assert!(!text(&f.settings).contains("bob"));
        // Deleting alice removes her line and her table, with its comment.
        f.d.delete("alice").await.unwrap();
        assert!(!text(&f.users).contains("alice") && text(&f.users).starts_with("# accounts\nbob:"));
        assert_eq!(text(&f.settings), "# operator's notes\n[defaults]\ndownload_rate = \"8M\"\n\n# orphan: no line in users.txt\n[users.ghost]\nread_only = true\n\n[anonymous]\nenabled = true\n");
        assert_eq!(names(&f.d.list(&all()).await.unwrap()), ["bob"]);
    });
}

#[test]
fn refusals_change_nothing() {
    let f = fixture("alice:pw\n", Some(SETTINGS));
    rt().block_on(async {
        let (users, settings) = (text(&f.users), text(&f.settings));
        assert_eq!(f.d.create(&UserRecord::new("alice"), "x").await, Err(DirectoryError::Exists("alice".into())));
        assert_eq!(f.d.update(&UserRecord::new("nobody"), None).await, Err(DirectoryError::NotFound("nobody".into())));
        assert_eq!(f.d.delete("nobody").await, Err(DirectoryError::NotFound("nobody".into())));
        assert_eq!(f.d.delete("ghost").await, Err(DirectoryError::NotFound("ghost".into())), "a table alone is no account");
        let Err(DirectoryError::Invalid(e)) = f.d.create(&UserRecord::new("carol"), "").await else { panic!("empty password") };
        assert_eq!(e.iter().map(|e| e.field).collect::<Vec<_>>(), ["password"]);
        let Err(DirectoryError::Invalid(e)) = f.d.update(&UserRecord::new("alice"), Some("")).await else { panic!("empty password") };
        assert_eq!(e[0].field, "password");
        let bad = UserRecord { home: Some("../etc".into()), ..UserRecord::new("alice") };
        assert!(matches!(f.d.update(&bad, None).await, Err(DirectoryError::Invalid(e)) if e[0].field == "home"));
        assert_eq!((text(&f.users), text(&f.settings)), (users, settings));

        // A settings file that does not parse: refused, naming it; nothing written.
        std::fs::write(&f.settings, "[users.alice]\nquota = 5\n").unwrap();
        let e = f.d.create(&UserRecord::new("carol"), "pw").await.unwrap_err();
        assert!(matches!(&e, DirectoryError::Store(StoreError::Failed(t)) if t.starts_with(&f.settings.display().to_string()) && t.contains("quota")), "{e}");
        assert_eq!(text(&f.users), "alice:pw\n");
        assert!(f.d.list(&all()).await.is_err(), "listing says so too");
    });
}

/// users.txt cannot be written (a folder where its temporary file would
/// go): the settings written just before are put back.
#[test]
fn a_failed_second_write_puts_the_first_back() {
    let f = fixture("alice:pw\n", Some(SETTINGS));
    let tmp = f.users.with_file_name(format!(".users.txt.tmp{}", std::process::id()));
    std::fs::create_dir(&tmp).unwrap();
    rt().block_on(async {
        let r = UserRecord { read_only: true, ..UserRecord::new("carol") };
        let e = f.d.create(&r, "pw").await.unwrap_err();
        assert!(e.to_string().starts_with(&f.users.display().to_string()), "{e}");
        assert_eq!(text(&f.settings), SETTINGS, "carol's table was taken back");
        assert_eq!(text(&f.users), "alice:pw\n");
        assert_eq!(f.d.get("carol").await.unwrap(), None);
        // Deleting writes users.txt first: it fails before touching users.toml.
        assert!(f.d.delete("alice").await.is_err());
        assert_eq!((text(&f.users), text(&f.settings)), ("alice:pw\n".to_owned(), SETTINGS.to_owned()));
    });
    std::fs::remove_dir(&tmp).unwrap();
    // users.toml cannot be written: a delete puts alice's line back.
    let tmp = f.settings.with_file_name(format!(".users.toml.tmp{}", std::process::id()));
    std::fs::create_dir(&tmp).unwrap();
    rt().block_on(async {
        assert!(f.d.delete("alice").await.unwrap_err().to_string().starts_with(&f.settings.display().to_string()));
        assert_eq!((text(&f.users), text(&f.settings)), ("alice:pw\n".to_owned(), SETTINGS.to_owned()));
        assert!(f.d.get("alice").await.unwrap().is_some());
    });
}

#[test]
fn paging_and_search() {
    let f = fixture("Zoe:pw\nalice:pw\nbob:pw\nALBERT:pw\nmalia:pw\n", None);
    rt().block_on(async {
        let q = |search: Option<&str>, offset, limit| UserQuery { search: search.map(str::to_owned), offset, limit };
        let page = f.d.list(&q(None, 0, 2)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["ALBERT", "Zoe"], 5), "sorted by name (byte order)");
        let page = f.d.list(&q(None, 4, 2)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["malia"], 5));
        let page = f.d.list(&q(Some("AL"), 0, 10)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["ALBERT", "alice", "malia"], 3), "case-insensitive substring");
        let page = f.d.list(&q(Some("al"), 1, 1)).await.unwrap();
        assert_eq!((names(&page), page.total), (vec!["alice"], 3));
        let page = f.d.list(&q(Some("%"), 0, 10)).await.unwrap();
        assert_eq!(page.total, 0, "no wildcards");
    });
}

/// 20,000 accounts: listed through the kept snapshot, which follows
/// changes made here and edits made by hand.
#[test]
fn twenty_thousand_users() {
    let mut users = String::new();
    let mut settings = String::from("[defaults]\nread_only = true\n");
    for i in 0..20_000 {
        users.push_str(&format!("user{i:05}:pw\n"));
        if i % 10 == 0 {
            settings.push_str(&format!("[users.user{i:05}]\nquota_files = {}\n", i + 1));
        }
    }
    let f = fixture(&users, Some(&settings));
    rt().block_on(async {
        let page = f.d.list(&UserQuery { search: None, offset: 19_990, limit: 50 }).await.unwrap();
        assert_eq!(page.total, 20_000);
        assert_eq!(names(&page), (19_990..20_000).map(|i| format!("user{i:05}")).collect::<Vec<_>>());
        assert_eq!(page.users[0].quota_files, Some(19_991));
        assert!(page.users.iter().all(|r| r.read_only), "the defaults apply");
        let page = f.d.list(&UserQuery { search: Some("USER1999".into()), offset: 0, limit: 5 }).await.unwrap();
        assert_eq!((page.total, names(&page)[0]), (10, "user19990"));
        // Listed again: the same snapshot (one Arc, not a re-read).
        let kept = f.d.inner.current().unwrap();
        f.d.list(&all()).await.unwrap();
        assert!(Arc::ptr_eq(&kept, &f.d.inner.current().unwrap()));
        drop(kept);

        // A change made here updates it in place…
        f.d.create(&UserRecord::new("user10000x"), "pw").await.unwrap();
        let page = f.d.list(&UserQuery { search: Some("user10000".into()), offset: 0, limit: 5 }).await.unwrap();
        assert_eq!(names(&page), ["user10000", "user10000x"]);
        f.d.delete("user00000").await.unwrap();
        assert_eq!(f.d.list(&all()).await.unwrap().total, 20_000);
        assert_eq!(f.d.get("user00000").await.unwrap(), None);

        // …and an edit by hand is seen.
        std::fs::write(&f.users, "only:pw\n").unwrap();
        assert_eq!(names(&f.d.list(&all()).await.unwrap()), ["only"]);
    });
}

#[test]
fn two_creates_at_once_both_land() {
    let f = fixture("", None);
    rt().block_on(async {
        let (a, b) =
            (UserRecord { home: Some("a".into()), ..UserRecord::new("a") }, UserRecord { home: Some("b".into()), ..UserRecord::new("b") });
        let (ra, rb) = tokio::join!(f.d.create(&a, "pa"), f.d.create(&b, "pb"));
        ra.unwrap();
        rb.unwrap();
        assert_eq!(f.d.list(&all()).await.unwrap().users, [a, b]);
        // Many at once, through clones of the directory.
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let d = f.d.clone();
                tokio::spawn(
                    async move { d.create(&UserRecord { quota_files: Some(i + 1), ..UserRecord::new(format!("u{i}")) }, "pw").await },
                )
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    let parsed = SettingsFile::load_optional(&f.settings).unwrap();
    assert_eq!(UsersFile::load(&f.users).unwrap().len(), 10);
    assert_eq!((0..8).map(|i| parsed.users[&format!("u{i}")].quota_files).collect::<Vec<_>>(), (1..=8).map(Some).collect::<Vec<_>>());
    assert!(verifies(&f.users, "a", "pa") && verifies(&f.users, "b", "pb"));
}
