//! What a daily user meets (issue 15): partial downloads kept as
//! `NAME.ferry-part` and continued, streaming through `-` and special files,
//! honest listings, usage errors before connecting, mirror's tally.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use ferry_testkit::{PASSWORD, TestServer, USER, make_sample_tree, pseudo_random};

use crate::peers::{self, scratch};
use crate::program::{ferry, killed_get, text};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

#[test]
fn a_broken_download_is_kept_as_part_and_the_same_get_continues_it() {
    let data = pseudo_random(8_000_000, 151);
    let dir = scratch();
    let first = TestServer::start();
    std::fs::write(first.root().join("big"), &data).unwrap();
    let child = Command::new(FERRY)
        .args(["get", "--limit-rate", "2M", &first.url("big")])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    drop(first); // the server goes away mid-transfer
    let out = child.wait_with_output().unwrap();
    assert!(matches!(out.status.code(), Some(3 | 7)), "{}", text(&out));
    assert!(!dir.path().join("big").exists(), "nothing incomplete under the final name: {}", text(&out));
    let kept = std::fs::metadata(dir.path().join("big.ferry-part")).map(|m| m.len()).unwrap_or(0);
    assert!(kept > 0 && kept < 8_000_000, "kept {kept} bytes: {}", text(&out));
    assert!(text(&out).contains("in big.ferry-part; the same `ferry get` continues it"), "{}", text(&out));

    // The same command against the server (back, same file) continues it
    // after checking the prefix, and the result is whole.
    let again = TestServer::start();
    std::fs::write(again.root().join("big"), &data).unwrap();
    let out = ferry(dir.path(), &["get", &again.url("big")], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(&format!("Partial file big.ferry-part checked (SHA-256); resuming at byte {kept}.")), "{}", text(&out));
    assert!(std::fs::read(dir.path().join("big")).unwrap() == data, "continued file differs");
    assert!(!dir.path().join("big.ferry-part").exists());
}

#[test]
fn a_killed_get_is_continued_by_reget_against_every_peer() {
    for p in peers::all() {
        let data = pseudo_random(6_000_000, 152);
        std::fs::write(p.root().join("k.bin"), &data).unwrap();
        let dir = scratch();
        // An older file of the same name is there: the copy goes to new_.
        std::fs::write(dir.path().join("k.bin"), b"mine").unwrap();
        killed_get(dir.path(), &p.url("k.bin"));
        let kept = std::fs::metadata(dir.path().join("new_k.bin.ferry-part")).map(|m| m.len()).unwrap_or(0);
        assert!(kept > 0 && kept < 6_000_000, "{}: kept {kept} bytes", p.name());
        assert!(!dir.path().join("new_k.bin").exists(), "{}", p.name());
        let out = ferry(dir.path(), &["-c", &format!("get {}", p.remote("k.bin")), &p.server_url()], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        let t = text(&out);
        if p.name() == "ferryd" {
            assert!(t.contains("new_k.bin.ferry-part checked (SHA-256)"), "{t}");
        } else {
            assert!(t.contains("matches by size and modification time only") && t.contains("not verified"), "{}: {t}", p.name());
        }
        assert!(std::fs::read(dir.path().join("new_k.bin")).unwrap() == data, "{}: continued file differs", p.name());
        assert_eq!(std::fs::read(dir.path().join("k.bin")).unwrap(), b"mine", "{}", p.name());
    }
}

#[test]
fn a_part_that_does_not_match_is_left_alone_with_a_clear_error() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f.bin"), pseudo_random(100_000, 153)).unwrap();
    let dir = scratch();
    std::fs::write(dir.path().join("f.bin.ferry-part"), b"not the start of it").unwrap();
    let out = ferry(dir.path(), &["get", &s.url("f.bin")], "");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("f.bin.ferry-part: an earlier download left this, and it cannot be continued"), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("f.bin.ferry-part")).unwrap(), b"not the start of it");
    // --overwrite may replace ferry's own leftover.
    let out = ferry(dir.path(), &["get", "--overwrite", &s.url("f.bin")], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("f.bin")).unwrap(), pseudo_random(100_000, 153));
    assert!(!dir.path().join("f.bin.ferry-part").exists());
}

#[test]
fn dash_streams_to_stdout_and_from_stdin() {
    let s = TestServer::start();
    let data = pseudo_random(3_000_000, 154);
    std::fs::write(s.root().join("s.bin"), &data).unwrap();
    let dir = scratch();
    let out = Command::new(FERRY).args(["get", &s.url("s.bin"), "-"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stdout == data, "stdout held {} bytes", out.stdout.len());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Downloaded s.bin to standard output"), "{}", text(&out));
    assert!(!dir.path().join("-").exists() && !dir.path().join("s.bin").exists());

    // JSON goes out of the data's way, to standard error; a stream is
    // not retried (its first bytes are already out).
    let out = Command::new(FERRY).args(["get", "--json", "--retries", "2", &s.url("s.bin"), "-"]).current_dir(dir.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--retries does not apply to standard input or output"), "{}", text(&out));
    assert!(out.stdout == data);
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"ok\":true"), "{}", text(&out));

    // … | ferry put - URL
    let mut child = Command::new(FERRY)
        .args(["put", "-", &s.url("up/from-stdin.bin")])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::create_dir(s.root().join("up")).unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(std::fs::read(s.root().join("up/from-stdin.bin")).unwrap() == data);
    // Standard input has no name to upload under.
    let out = ferry(dir.path(), &["put", "-", &s.url("up/")], "x");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn special_files_are_written_to_never_renamed() {
    let s = TestServer::start();
    let data = pseudo_random(500_000, 155);
    std::fs::write(s.root().join("d.bin"), &data).unwrap();
    let dir = scratch();
    let out = ferry(dir.path(), &["get", &s.url("d.bin"), "/dev/null"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Downloaded d.bin to /dev/null"), "{}", text(&out));
    assert!(!text(&out).contains("exists"), "{}", text(&out));
    // A FIFO: the reader gets the bytes, and no new_ file appears.
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::open(fifo).unwrap().read_to_end(&mut got).unwrap();
            got
        })
    };
    let out = ferry(dir.path(), &["get", &s.url("d.bin"), "pipe"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(reader.join().unwrap() == data);
    assert!(!dir.path().join("new_pipe").exists());
}

#[test]
fn usage_mistakes_exit_2_before_connecting() {
    let dir = scratch();
    // Nothing listens on port 1: a usage error must come first.
    let out = ferry(dir.path(), &["get", "ftp://127.0.0.1:1/"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("names a folder, not a file"), "{}", text(&out));
    let out = ferry(dir.path(), &["put", "-", "ftp://127.0.0.1:1/dir/"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn listings_are_long_and_aligned_and_names_only_on_request() {
    let s = TestServer::start();
    std::fs::write(s.root().join("hello.txt"), b"hello from the server\n").unwrap();
    std::fs::create_dir(s.root().join("upload")).unwrap();
    std::fs::write(s.root().join("evil\x1b[2J.txt"), b"x").unwrap();
    let dir = scratch();
    let out = ferry(dir.path(), &["ls", &s.url("")], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let hello = stdout.lines().find(|l| l.ends_with("  hello.txt")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(hello.starts_with('-') && hello.contains("      22  "), "{hello}");
    assert!(stdout.lines().any(|l| l.starts_with('d') && l.ends_with("  upload/")), "{stdout}");
    assert!(stdout.contains("evil\\x1b[2J.txt") && !stdout.contains('\x1b'), "control characters reach the terminal: {stdout:?}");
    // The same in the shell; -1 and nlist give names only.
    let out = ferry(dir.path(), &["-c", "ls; ls -1; nlist", &format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.port())], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.lines().any(|l| l.ends_with("  hello.txt") && l.starts_with('-')), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| *l == "hello.txt").count(), 2, "{stdout}");
    // JSON times are ISO 8601.
    let out = ferry(dir.path(), &["ls", "--json", &s.url("")], "");
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(json.contains("\"modified\":\"20") && json.contains("Z\""), "{json}");
}

#[test]
fn the_end_of_a_transfer_says_size_time_and_rate() {
    let s = TestServer::start();
    std::fs::write(s.root().join("one.txt"), b"1").unwrap();
    std::fs::write(s.root().join("m.bin"), pseudo_random(2 * 1024 * 1024, 156)).unwrap();
    let dir = scratch();
    let out = ferry(
        dir.path(),
        &["-c", "get one.txt; get m.bin; get -n 2 m.bin seg.bin", &format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.port())],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(std::fs::read(dir.path().join("seg.bin")).unwrap() == pseudo_random(2 * 1024 * 1024, 156), "get -n 2 REMOTE LOCAL");
    let t = text(&out);
    assert!(t.contains("Downloaded one.txt to one.txt (1 byte in "), "{t}");
    assert!(t.contains("Downloaded m.bin to m.bin (2.00 MiB (2097152 bytes) in "), "{t}");
    assert!(t.contains(" MiB/s).") || t.contains(" GiB/s)."), "{t}");
}

#[test]
fn mirror_skips_what_is_up_to_date_and_says_so() {
    let s = TestServer::start();
    let dir = scratch();
    let src = dir.path().join("src");
    make_sample_tree(&src);
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.port());
    let out = ferry(dir.path(), &["-c", "mirror -R src tree", &url], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let files = ferry_testkit::tree(&src).values().filter(|v| v.is_some()).count();
    assert!(text(&out).contains(&format!("0 up to date, {files} transferred, 0 deleted")), "{}", text(&out));
    // Again: nothing to send, by default.
    let out = ferry(dir.path(), &["-c", "mirror -R src tree", &url], "");
    assert!(text(&out).contains(&format!("{files} up to date, 0 transferred, 0 deleted")), "{}", text(&out));
    std::fs::write(src.join("added.txt"), b"new").unwrap();
    let out = ferry(dir.path(), &["-c", "mirror -R --dry-run src tree", &url], "");
    assert!(text(&out).contains("would put") && text(&out).contains("1 would be transferred"), "{}", text(&out));
    assert!(!s.root().join("tree/added.txt").exists());
    // --all sends everything again.
    let out = ferry(dir.path(), &["-c", "mirror -R --all src tree", &url], "");
    assert!(text(&out).contains(&format!("0 up to date, {} transferred", files + 1)), "{}", text(&out));
}

#[test]
fn a_script_with_a_wrong_password_stops_with_status_4() {
    let s = TestServer::start();
    std::fs::create_dir_all(s.root().join("t")).unwrap();
    std::fs::write(s.root().join("t/a"), b"a").unwrap();
    let dir = scratch();
    let url = format!("ftp://{USER}:wrong@127.0.0.1:{}/", s.port());
    let out = ferry(dir.path(), &["-c", "mirror --parallel 4 t t2", &url], "");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("login failed: 530"), "{t}");
    assert!(!t.contains("transferred"), "{t}");
    assert!(!dir.path().join("t2/a").exists());
}

#[test]
fn a_script_without_a_login_is_not_fed_to_the_name_prompt() {
    let s = TestServer::start();
    std::fs::write(s.root().join("x.txt"), b"x").unwrap();
    let dir = scratch();
    let out = ferry(dir.path(), &["127.0.0.1", &s.port().to_string()], "get x.txt\nbye\n");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("standard input holds commands (\"get x.txt\") where the user name was expected"), "{}", text(&out));
    assert!(!dir.path().join("x.txt").exists());
    // The seed's scripted login (name and password first) still works.
    let out = ferry(dir.path(), &["127.0.0.1", &s.port().to_string()], &format!("{USER}\n{PASSWORD}\nget x.txt\nbye\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("x.txt")).unwrap(), b"x");
}

#[test]
fn per_command_help_with_options() {
    let s = TestServer::start();
    let dir = scratch();
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.port());
    let out = ferry(dir.path(), &["-c", "help mirror; mirror --help; get --help", &url], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(t.matches("usage: mirror [-R] [OPTIONS] SOURCE [DEST]").count(), 2, "{t}");
    assert!(t.contains("-n, --only-newer") && t.contains("-P, --parallel N"), "{t}");
    assert!(t.contains("usage: get [REMOTE [LOCAL]]") && t.contains("NAME.ferry-part"), "{t}");
}

#[test]
fn a_rate_schedule_limits_by_time_of_day() {
    let s = TestServer::start();
    std::fs::write(s.root().join("big"), pseudo_random(20_000_000, 157)).unwrap();
    let dir = scratch();
    // One entry is in force all day: 1 MiB/s.
    let mut child = Command::new(FERRY)
        .args(["--limit-rate", "00:00,1M", "get", &s.url("big")])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = std::fs::metadata(dir.path().join("big.ferry-part")).map(|m| m.len()).unwrap_or(0);
    assert!(kept > 0 && kept < 6_000_000, "{kept} bytes in 1.5 s at 1 MiB/s");
    let out = ferry(dir.path(), &["--limit-rate", "7,1M", "get", &s.url("big")], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("write the time as HH:MM"), "{}", text(&out));
}
