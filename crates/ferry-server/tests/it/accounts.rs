//! Per-user settings: homes, permissions, quotas, bandwidth, anonymous
//! access; and managing the users file while the server runs.

use std::io::Write;
use std::time::{Duration, Instant};

use ferry_proto::listing;
use ferry_testkit::{Control, PASSWORD, PLAIN_PASSWORD, PLAIN_USER, TestServer, USER, pseudo_random};

#[test]
fn read_only_user_can_list_and_read_only() {
    let s = TestServer::start_with_settings("[users.bob]\nread_only = true\n", |_| {});
    std::fs::write(s.root().join("doc.txt"), b"readable").unwrap();
    std::fs::create_dir(s.root().join("dir")).unwrap();
    let mut c = Control::connect(s.addr);
    c.login(PLAIN_USER, PLAIN_PASSWORD);
    let (bytes, _) = c.download("RETR doc.txt");
    assert_eq!(bytes, b"readable");
    c.expect("SIZE doc.txt", 213);
    c.expect("HASH doc.txt", 213);
    for (line, perm) in [
        ("DELE doc.txt", "delete"),
        ("RMD dir", "delete"),
        ("MKD new", "mkdir"),
        ("RNFR doc.txt", "rename"),
        ("SITE CHMOD 777 doc.txt", "write"),
        ("MFMT 20200101000000 doc.txt", "write"),
        ("STOR x", "write"),
        ("APPE doc.txt", "write"),
        ("STOU", "write"),
    ] {
        let r = c.expect(line, 550);
        assert_eq!(r.text(), format!("Permission denied: no {perm} permission."), "{line}");
    }
    // The perm fact says so too.
    let lines = c.list_lines("MLSD");
    let file = lines.iter().filter_map(|l| listing::parse_mlsx(l)).map(|(e, _)| e).find(|e| e.name == "doc.txt").unwrap();
    assert_eq!(file.perm.as_deref(), Some("r"));
    assert!(std::fs::read(s.root().join("doc.txt")).unwrap() == b"readable");
    // Others keep full rights.
    let mut a = s.login();
    a.expect("DELE doc.txt", 250);
}

#[test]
fn permissions_list_picks_operations() {
    let s = TestServer::start_with_settings("[defaults]\npermissions = [\"list\", \"read\", \"write\"]\n", |_| {});
    let mut c = s.login();
    assert_eq!(c.upload("STOR a.txt", b"a").code, 226);
    c.expect("DELE a.txt", 550);
    c.expect("MKD d", 550);
    c.expect("RNFR a.txt", 550);
    assert_eq!(c.upload("APPE a.txt", b"b").code, 226);
    assert_eq!(std::fs::read(s.root().join("a.txt")).unwrap(), b"ab");
}

#[test]
fn home_folders_confine_each_user() {
    let s = TestServer::start_with_settings("[users.alice]\nhome = \"homes/alice\"\n", |_| {});
    std::fs::write(s.root().join("top-secret.txt"), b"for root users").unwrap();
    let mut c = s.login();
    assert_eq!(c.expect("PWD", 257).text(), "\"/\" is the current directory.");
    assert_eq!(c.upload("STOR mine.txt", b"alice's").code, 226);
    assert_eq!(std::fs::read(s.root().join("homes/alice/mine.txt")).unwrap(), b"alice's");
    c.expect("SIZE /top-secret.txt", 550);
    c.expect("SIZE ../../top-secret.txt", 550);
    c.expect("CWD ..", 250);
    assert_eq!(c.list_lines("NLST"), ["mine.txt"]);
    // bob has no home set: the whole root.
    let mut b = Control::connect(s.addr);
    b.login(PLAIN_USER, PLAIN_PASSWORD);
    b.expect("SIZE top-secret.txt", 213);
    b.expect("SIZE homes/alice/mine.txt", 213);
}

#[test]
fn byte_quota_refuses_and_leaves_nothing() {
    let s = TestServer::start_with_settings("[users.alice]\nquota_bytes = \"100K\"\n", |_| {});
    let mut c = s.login();
    assert_eq!(c.upload("STOR one.bin", &pseudo_random(60_000, 1)).code, 226);
    // Past the quota: 552, and no file.
    let r = c.upload("STOR two.bin", &pseudo_random(60_000, 2));
    assert_eq!(r.code, 552, "{r:?}");
    assert!(!s.root().join("two.bin").exists(), "a refused upload leaves nothing behind");
    // Replacing a file frees its bytes first.
    assert_eq!(c.upload("STOR one.bin", &pseudo_random(90_000, 3)).code, 226);
    // APPE past the quota is undone.
    let r = c.upload("APPE one.bin", &pseudo_random(20_000, 4));
    assert_eq!(r.code, 552);
    assert_eq!(std::fs::metadata(s.root().join("one.bin")).unwrap().len(), 90_000);
    assert!(std::fs::read(s.root().join("one.bin")).unwrap() == pseudo_random(90_000, 3));
    c.expect("NOOP", 200);
}

#[test]
fn file_quota_refuses_new_files() {
    let s = TestServer::start_with_settings("[users.alice]\nquota_files = 2\n", |_| {});
    let mut c = s.login();
    assert_eq!(c.upload("STOR a", b"1").code, 226);
    assert_eq!(c.upload("STOR b", b"2").code, 226);
    let _d = c.epsv();
    let r = c.expect("STOR c", 552);
    assert!(r.text().contains("file quota"), "{r:?}");
    assert_eq!(c.upload("STOR a", b"replaced").code, 226, "replacing is not a new file");
    assert!(!s.root().join("c").exists());
}

#[test]
fn bandwidth_limits_per_user() {
    let s = TestServer::start_with_settings("[users.alice]\ndownload_rate = \"1M\"\nupload_rate = \"1M\"\n", |_| {});
    std::fs::write(s.root().join("two-megs"), pseudo_random(2 << 20, 5)).unwrap();
    let mut c = s.login();
    // A limit only ever slows a transfer down, so a lower bound on the
    // time is safe to assert on any machine.
    let start = Instant::now();
    let (bytes, r) = c.download("RETR two-megs");
    assert_eq!((bytes.len(), r.code), (2 << 20, 226));
    assert!(start.elapsed() >= Duration::from_millis(1500), "download took {:?}", start.elapsed());
    let start = Instant::now();
    assert_eq!(c.upload("STOR up", &pseudo_random(1 << 20, 6)).code, 226);
    assert!(start.elapsed() >= Duration::from_millis(700), "upload took {:?}", start.elapsed());
    // Other users have their own (here: no) limits.
    let mut b = Control::connect(s.addr);
    b.login(PLAIN_USER, PLAIN_PASSWORD);
    let (bytes, r) = b.download("RETR two-megs");
    assert_eq!((bytes.len(), r.code), (2 << 20, 226));
}

#[test]
fn anonymous_is_off_by_default_and_read_only_when_on() {
    let s = TestServer::start();
    let mut c = Control::connect(s.addr);
    c.expect("USER anonymous", 331);
    c.expect("PASS guest@", 530);
    let s = TestServer::start_with_settings("[anonymous]\nenabled = true\nhome = \"pub\"\n", |_| {});
    std::fs::create_dir(s.root().join("pub")).unwrap();
    std::fs::write(s.root().join("pub/readme"), b"public").unwrap();
    std::fs::write(s.root().join("private"), b"no").unwrap();
    let mut c = Control::connect(s.addr);
    c.login("anonymous", "guest@");
    let (bytes, _) = c.download("RETR readme");
    assert_eq!(bytes, b"public");
    c.expect("SIZE /private", 550);
    let _d = c.epsv();
    c.expect("STOR x", 550);
    c.expect("MKD y", 550);
    let mut f = Control::connect(s.addr);
    f.login("ftp", "x");
    // Named accounts are unaffected.
    let mut a = s.login();
    a.expect("SIZE private", 213);
    let _ = (USER, PASSWORD);
}

#[test]
fn user_management_and_reload_without_dropping_sessions() {
    let ferryd = env!("CARGO_BIN_EXE_ferryd");
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    let add = |name: &str, pw: &str| {
        let mut c = std::process::Command::new(ferryd)
            .args(["user", "add", name, "--password-stdin", "--users"])
            .arg(&users)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(format!("{pw}\n").as_bytes()).unwrap();
        assert!(c.wait().unwrap().success());
    };
    add("first", "pw1");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new(ferryd)
        .args(["--port", &port.to_string(), "--no-tls", "--failure-delay-ms", "0", "--root"])
        .arg(dir.path().join("root"))
        .arg("--users")
        .arg(&users)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut first = Control::connect(addr);
    first.login("first", "pw1");
    // Add a user, change a password, delete nobody yet; reload with SIGHUP.
    add("second", "pw2");
    let mut passwd = std::process::Command::new(ferryd)
        .args(["user", "passwd", "first", "--password-stdin", "--users"])
        .arg(&users)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    passwd.stdin.take().unwrap().write_all(b"pw1-new\n").unwrap();
    assert!(passwd.wait().unwrap().success());
    let status = std::process::Command::new("kill").args(["-HUP", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
    // The session that was open is still open.
    first.expect("NOOP", 200);
    Control::connect(addr).login("second", "pw2");
    Control::connect(addr).login("first", "pw1-new");
    let mut old = Control::connect(addr);
    old.expect("USER first", 331);
    old.expect("PASS pw1", 530);
    // Delete, and passwd of a missing user fails.
    let del = std::process::Command::new(ferryd).args(["user", "del", "second", "--users"]).arg(&users).output().unwrap();
    assert!(del.status.success());
    assert!(!std::fs::read_to_string(&users).unwrap().contains("second:"));
    let missing = std::process::Command::new(ferryd).args(["user", "del", "nobody", "--users"]).arg(&users).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no user \"nobody\""));
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn server_wide_bandwidth_limit() {
    let s = TestServer::start_with(|c| c.download_rate = Some(1 << 20));
    std::fs::write(s.root().join("f"), pseudo_random(1 << 20, 7)).unwrap();
    let mut a = s.login();
    let mut b = Control::connect(s.addr);
    b.login(PLAIN_USER, PLAIN_PASSWORD);
    // Two users share the server's 1 MiB/s: 2 MiB take about 2 s in all.
    let start = Instant::now();
    let t = std::thread::spawn(move || b.download("RETR f").0.len());
    let mine = a.download("RETR f").0.len();
    let theirs = t.join().unwrap();
    assert_eq!((mine, theirs), (1 << 20, 1 << 20));
    assert!(start.elapsed() >= Duration::from_millis(1500), "took {:?}", start.elapsed());
}

/// `allowed_networks` and `expires` refuse a right password with a reply
/// of their own; a wrong password is answered as ever; the refusals are
/// not guesses (they neither close the session nor count towards a ban).
#[test]
fn login_refused_outside_allowed_networks_or_after_the_last_day() {
    let settings = "[users.alice]\nallowed_networks = [\"127.0.0.2\", \"2001:db8::/32\"]\n\n[users.bob]\nexpires = \"2000-01-01\"\n";
    let s = TestServer::start_with_settings(settings, |c| c.max_login_failures = 2);
    let mut c = Control::connect(s.addr);
    for _ in 0..3 {
        c.expect(&format!("USER {USER}"), 331);
        assert_eq!(c.expect(&format!("PASS {PASSWORD}"), 530).text(), "Login refused: not allowed from your address.");
        c.expect(&format!("USER {PLAIN_USER}"), 331);
        assert_eq!(c.expect(&format!("PASS {PLAIN_PASSWORD}"), 530).text(), "Login refused: account expired.");
    }
    c.expect(&format!("USER {USER}"), 331);
    assert_eq!(c.expect("PASS wrong", 530).text(), "Login incorrect.", "the first guess of this session");
    // From an address in the list, the same account logs in.
    let mut inside = Control::connect_from(s.addr, "127.0.0.2".parse().unwrap());
    inside.login(USER, PASSWORD);
    inside.expect("NOOP", 200);
}

/// After a reload, a session whose account expired, or whose address is
/// no longer in its list, ends like a disabled account's.
#[test]
fn reload_ends_sessions_of_expired_and_out_of_range_accounts() {
    let ferryd = env!("CARGO_BIN_EXE_ferryd");
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    for name in ["amy", "ben", "cyd"] {
        ferry_server::auth::users_file::set_user(&users, name, "pw").unwrap();
    }
    std::fs::write(dir.path().join("users.toml"), "[users.amy]\nexpires = \"2999-12-31\"\n").unwrap();
    let port = ferry_testkit::free_port();
    let server = std::process::Command::new(ferryd)
        .args(["--port", &port.to_string(), "--no-tls", "--failure-delay-ms", "0", "--root"])
        .arg(dir.path().join("root"))
        .arg("--users")
        .arg(&users)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = ferry_testkit::Spawned(server);
    ferry_testkit::wait_for_port(port);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut sessions: Vec<Control> = ["amy", "ben", "cyd"]
        .into_iter()
        .map(|name| {
            let mut c = Control::connect(addr);
            c.login(name, "pw");
            c
        })
        .collect();
    std::fs::write(
        dir.path().join("users.toml"),
        "[users.amy]\nexpires = \"2000-01-01\"\n\n[users.ben]\nallowed_networks = [\"10.0.0.0/8\"]\n\n[users.cyd]\nallowed_networks = [\"127.0.0.0/8\"]\n",
    )
    .unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &server.0.id().to_string()]).status().unwrap().success());
    // The reload is asynchronous: wait until it shows.
    let deadline = Instant::now() + Duration::from_secs(20);
    while try_login(addr, "amy") != 530 {
        assert!(Instant::now() < deadline, "the reload did not take effect");
        std::thread::sleep(Duration::from_millis(50));
    }
    for (c, text) in sessions.iter_mut().zip(["Your account expired", "no longer be used from your address"]) {
        let r = c.cmd("NOOP");
        assert!(r.code == 421 && r.text().contains(text), "{r:?}");
        assert!(c.is_closed());
    }
    sessions[2].expect("NOOP", 200);
}

fn try_login(addr: std::net::SocketAddr, user: &str) -> u16 {
    let mut c = Control::connect(addr);
    c.expect(&format!("USER {user}"), 331);
    c.cmd("PASS pw").code
}
