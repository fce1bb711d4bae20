//! `mirror` as a deploy tool (issue 15): content comparison, excludes and
//! `.ferryignore`, and files that fail: retried, listed, exit 7.

use std::path::Path;
use std::time::{Duration, SystemTime};

use ferry_testkit::{PASSWORD, TestServer, USER, make_sample_tree};

use crate::peers::{self, scratch};
use crate::program::{ferry, text};

/// Rewrite `path` with `content` (of the same length) and put its
/// modification time back: size and time say nothing changed.
fn sneaky_change(path: &Path, content: &[u8]) {
    let before = std::fs::metadata(path).unwrap();
    assert_eq!(before.len(), content.len() as u64);
    let mtime = before.modified().unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::File::options().write(true).open(path).unwrap().set_times(std::fs::FileTimes::new().set_modified(mtime)).unwrap();
}

fn url(s: &TestServer) -> String {
    format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.port())
}

#[test]
fn checksum_catches_a_same_size_same_time_change_both_ways() {
    let s = TestServer::start();
    let dir = scratch();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("index.html"), b"<h1>version 1</h1>").unwrap();
    std::fs::write(src.join("other.css"), b"body{}").unwrap();
    let out = ferry(dir.path(), &["-c", "mirror -R src site", &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    sneaky_change(&src.join("index.html"), b"<h1>version 2</h1>");
    let out = ferry(dir.path(), &["-c", "mirror -R src site", &url(&s)], "");
    assert!(text(&out).contains("2 up to date, 0 transferred"), "sizes and times cannot see it: {}", text(&out));
    let out = ferry(dir.path(), &["-c", "mirror -R --checksum src site", &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 up to date, 1 transferred"), "{}", text(&out));
    assert_eq!(std::fs::read(s.root().join("site/index.html")).unwrap(), b"<h1>version 2</h1>");

    // Down: the remote copy changes the same way.
    let out = ferry(dir.path(), &["-c", "mirror site back", &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    sneaky_change(&s.root().join("site/other.css"), b"a{b:c}");
    let out = ferry(dir.path(), &["-c", "mirror --checksum site back", &url(&s)], "");
    assert!(text(&out).contains("1 up to date, 1 transferred"), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("back/other.css")).unwrap(), b"a{b:c}");
}

#[test]
fn checksum_against_a_server_without_hashes_says_so_and_falls_back() {
    let Some(p) = peers::all().into_iter().find(|p| p.name() == "pyftpdlib") else { return };
    let dir = scratch();
    let src = dir.path().join("src");
    make_sample_tree(&src);
    let remote = p.remote("t");
    let out = ferry(dir.path(), &["-c", &format!("mirror -R src {remote}"), &p.server_url()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = ferry(dir.path(), &["-c", &format!("mirror -R --checksum src {remote}"), &p.server_url()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("offers no HASH or XSHA256/XSHA1/XMD5/XCRC; --checksum falls back to sizes and times"), "{}", text(&out));
    assert!(text(&out).contains(" 0 transferred"), "{}", text(&out));
}

#[test]
fn excludes_includes_and_ferryignore_against_every_peer() {
    for p in peers::all() {
        let dir = scratch();
        let src = dir.path().join("src");
        for f in [
            "index.html",
            "build/out.bin",
            "app/build/keep.txt",
            "a.log",
            "deep/b.log",
            "keep.log",
            "node_modules/m.js",
            "web/node_modules/n.js",
        ] {
            let path = src.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, f).unwrap();
        }
        std::fs::write(src.join(".ferryignore"), "# dependencies\nnode_modules/\n").unwrap();
        let remote = p.remote("site");
        let cmd = format!("mirror -R --exclude /build/ --exclude *.log --include keep.log src {remote}");
        let out = ferry(dir.path(), &["-c", &cmd, &p.server_url()], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        let site = p.root().join("site");
        for sent in ["index.html", "app/build/keep.txt", "keep.log", ".ferryignore"] {
            assert!(site.join(sent).is_file(), "{}: {sent} was not sent: {}", p.name(), text(&out));
        }
        for left in ["build", "a.log", "deep/b.log", "node_modules", "web/node_modules"] {
            assert!(!site.join(left).exists(), "{}: {left} was sent", p.name());
        }
        // An excluded file on the other side is not deleted.
        std::fs::write(site.join("server.log"), b"theirs").unwrap();
        std::fs::remove_file(src.join("index.html")).unwrap();
        let cmd = format!("mirror -R --delete --exclude *.log --include keep.log src {remote}");
        let out = ferry(dir.path(), &["-c", &cmd, &p.server_url()], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        assert!(!site.join("index.html").exists(), "{}: --delete left index.html", p.name());
        assert_eq!(std::fs::read(site.join("server.log")).unwrap(), b"theirs", "{}", p.name());
    }
}

#[test]
fn an_empty_pattern_is_a_usage_error() {
    let s = TestServer::start();
    let dir = scratch();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let out = ferry(dir.path(), &["-c", "mirror -R --delete --exclude \"\" src site", &url(&s)], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--exclude needs a pattern"), "{}", text(&out));
}

#[test]
fn failed_files_are_listed_and_exit_7() {
    let s = TestServer::start();
    let dir = scratch();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("good.txt"), b"good").unwrap();
    std::fs::write(src.join("blocked"), b"a file where the server has a folder").unwrap();
    std::fs::create_dir_all(s.root().join("site/blocked")).unwrap();
    let out = ferry(dir.path(), &["-c", "mirror -R src site", &url(&s)], "");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("0 up to date, 1 transferred, 0 deleted, 1 failed"), "{t}");
    assert!(t.contains("mirror: 1 file(s) failed:\n  site/blocked: STOR site/blocked: 55"), "{t}");
    assert_eq!(std::fs::read(s.root().join("site/good.txt")).unwrap(), b"good");
}

#[test]
fn retries_carry_a_file_past_a_transient_refusal() {
    // Two sessions at most: the shell's and one worker; the second worker
    // is refused with 421 until the first is done and gone.
    let s = TestServer::start_with(|c| c.max_sessions = 2);
    let dir = scratch();
    let src = dir.path().join("src");
    make_sample_tree(&src);
    let started = SystemTime::now();
    let out = ferry(dir.path(), &["-c", "mirror -R --parallel 2 --retries 4 src site", &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("trying again in 1 s (1/4)"), "{}", text(&out));
    assert_eq!(ferry_testkit::tree(&s.root().join("site")), ferry_testkit::tree(&src));
    assert!(started.elapsed().unwrap() < Duration::from_secs(60));
    // Without retries the refused worker's file is listed as failed.
    let dir = scratch();
    let src = dir.path().join("src");
    make_sample_tree(&src);
    let out = ferry(dir.path(), &["-c", "mirror -R --parallel 2 src site2", &url(&s)], "");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(text(&out).contains("421"), "{}", text(&out));
}

/// Uploads the server's xferlog has recorded so far.
fn stors(xferlog: &Path) -> usize {
    std::fs::read_to_string(xferlog).unwrap_or_default().lines().filter(|l| l.contains(" i r ")).count()
}

/// Files recorded in a state file (0 when it is not there yet).
fn recorded(state: &Path) -> usize {
    let Ok(bytes) = std::fs::read(state) else { return 0 };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    v["files"].as_object().map_or(0, |f| f.len())
}

#[test]
fn a_killed_deploy_of_2000_files_is_finished_by_a_second_run_that_sends_only_the_rest() {
    let logs = scratch();
    let xferlog = logs.path().join("xferlog");
    let log = std::sync::Arc::new(ferry_testkit::XferLog::open(&xferlog).unwrap());
    let s = TestServer::start_with(move |c| c.xferlog = Some(log));
    let dir = scratch();
    let src = dir.path().join("public");
    for i in 0..2000 {
        let path = src.join(format!("d{}/f{i}.html", i % 20));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("page {i}\n").repeat(100)).unwrap();
    }
    let state = dir.path().join("deploy-state.json");
    let script = format!("mirror -R --state {} public www", state.display());
    // The first run is killed once its checkpoints show some files done.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["--limit-rate", "1M", "-c", &script, &url(&s)])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    while recorded(&state) < 100 && SystemTime::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = recorded(&state);
    assert!((100..2000).contains(&done), "{done} files recorded when killed");
    // The upload cut by the kill is logged once the server has seen the
    // session end: count after that.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !s.services().sessions().list().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the killed client's session is still open");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = stors(&xferlog);
    assert!(before >= done, "{before} uploads, {done} recorded");

    let out = ferry(dir.path(), &["-c", &script, &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let second = stors(&xferlog) - before;
    // The rest, and the state's own copy on the server.
    assert_eq!(second, 2000 - done + 1, "{}", text(&out));
    assert!(text(&out).contains(&format!("{done} up to date, {} transferred, 0 deleted", 2000 - done)), "{}", text(&out));
    let mut on_server = ferry_testkit::tree(&s.root().join("www"));
    assert!(on_server.remove(".ferry-state.json").is_some(), "the state's copy is on the server");
    assert_eq!(on_server, ferry_testkit::tree(&src));

    // Nothing changed: nothing is sent (only the state again), and no
    // listing of the server is needed.
    let before = stors(&xferlog);
    let out = ferry(dir.path(), &["-c", &script, &url(&s)], "");
    assert!(text(&out).contains("2000 up to date, 0 transferred"), "{}", text(&out));
    assert_eq!(stors(&xferlog) - before, 1);

    // A fresh runner (no local state) continues from the server's copy:
    // one changed file and one removed are all that is done.
    std::fs::remove_file(&state).unwrap();
    std::fs::write(src.join("d3/f3.html"), b"changed\n").unwrap();
    std::fs::remove_file(src.join("d4/f4.html")).unwrap();
    let before = stors(&xferlog);
    let script = format!("mirror -R --delete --state {} public www", state.display());
    let out = ferry(dir.path(), &["-c", &script, &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("No local state: starting from www/.ferry-state.json on the server (2000 files)."), "{}", text(&out));
    assert!(text(&out).contains("1998 up to date, 1 transferred, 1 deleted"), "{}", text(&out));
    assert_eq!(stors(&xferlog) - before, 2);
    assert_eq!(std::fs::read(s.root().join("www/d3/f3.html")).unwrap(), b"changed\n");
    assert!(!s.root().join("www/d4/f4.html").exists());
    assert_eq!(recorded(&state), 1999);
}

#[test]
fn control_and_data_connections_go_through_socks5_and_http_proxies() {
    use ferry_testkit::proxy::TestProxy;
    let s = TestServer::start();
    let data = ferry_testkit::pseudo_random(300_000, 171);
    std::fs::write(s.root().join("p.bin"), &data).unwrap();
    std::fs::write(s.root().join("q.txt"), b"q").unwrap();
    let port = s.port().to_string();
    for (proxy, url_host, login) in [
        (TestProxy::socks5(None), "127.0.0.1", ""),
        (TestProxy::socks5(Some(("pu", "pw"))), "localhost", "pu:pw@"),
        (TestProxy::http(), "127.0.0.1", "hu:hp@"),
    ] {
        let dir = scratch();
        let scheme = match (url_host, login) {
            (_, "hu:hp@") => "http",
            ("localhost", _) => "socks5h",
            _ => "socks5",
        };
        let via = format!("{scheme}://{login}127.0.0.1:{}", proxy.port);
        let url = format!("ftp://{USER}:{PASSWORD}@{url_host}:{port}/p.bin");
        let out = ferry(dir.path(), &["--proxy", &via, "get", &url], "");
        assert_eq!(out.status.code(), Some(0), "{via}: {}", text(&out));
        assert!(std::fs::read(dir.path().join("p.bin")).unwrap() == data, "{via}");
        let seen = proxy.destinations();
        // The control connection, then at least the SIZE-less data one.
        assert!(seen.len() >= 2, "{via}: {seen:?}");
        assert!(seen[0].starts_with(&format!("{url_host}:{port}")), "{via}: {seen:?}");
        assert!(
            seen[1..].iter().all(|d| d.starts_with(&format!("{url_host}:")) && !d.starts_with(&format!("{url_host}:{port}"))),
            "{via}: {seen:?}"
        );
        if scheme == "http" {
            // hu:hp, in base64.
            assert!(seen[0].ends_with(" Basic aHU6aHA="), "{seen:?}");
        }
        // A mirror's extra connections go the same way: its control
        // connection and listing, then two workers' control and data.
        let out = ferry(
            dir.path(),
            &["--proxy", &via, "-c", "mirror --parallel 2 / back", &format!("ftp://{USER}:{PASSWORD}@{url_host}:{port}/")],
            "",
        );
        assert_eq!(out.status.code(), Some(0), "{via}: {}", text(&out));
        assert!(proxy.destinations().len() >= seen.len() + 6, "{via}: {:?}", proxy.destinations());
    }
    // A wrong proxy login is a clear connection error.
    let proxy = TestProxy::socks5(Some(("pu", "pw")));
    let dir = scratch();
    let out = ferry(dir.path(), &["--proxy", &format!("socks5://pu:nope@127.0.0.1:{}", proxy.port), "get", &s.url("p.bin")], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("the SOCKS5 proxy refused the login"), "{}", text(&out));
    // Active mode cannot work through a proxy, and says so.
    let proxy = TestProxy::socks5(None);
    let out = ferry(dir.path(), &["--proxy", &format!("socks5://127.0.0.1:{}", proxy.port), "--active", "get", &s.url("p.bin")], "");
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).contains("active mode cannot work through a proxy"), "{}", text(&out));
}

#[test]
fn a_deploy_never_deletes_what_is_excluded_now() {
    let s = TestServer::start();
    let dir = scratch();
    let src = dir.path().join("site");
    std::fs::create_dir_all(src.join("config")).unwrap();
    std::fs::write(src.join("index.html"), b"home").unwrap();
    std::fs::write(src.join("config/local.php"), b"defaults").unwrap();
    let state = dir.path().join("st.json");
    let script = format!("mirror -R --delete --state {} site www", state.display());
    let out = ferry(dir.path(), &["-c", &script, &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The server's copy is edited there from now on: excluded, and gone here.
    std::fs::write(s.root().join("www/config/local.php"), b"edited on the server").unwrap();
    std::fs::write(src.join(".ferryignore"), "config/\n").unwrap();
    std::fs::remove_dir_all(src.join("config")).unwrap();
    let out = ferry(dir.path(), &["-c", &script, &url(&s)], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(" 0 deleted"), "{}", text(&out));
    assert_eq!(std::fs::read(s.root().join("www/config/local.php")).unwrap(), b"edited on the server");
    // The same state for another folder is refused: it vouches for www only.
    let out = ferry(dir.path(), &["-c", &format!("mirror -R --state {} site other", state.display()), &url(&s)], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(&format!("describes {USER}@127.0.0.1:{}/www, not", s.port())), "{}", text(&out));
    assert!(!s.root().join("other").exists());
}
