//! The `ferry` program: the seed's walkthrough from a script, one-shot
//! commands with exit statuses, resume, mirror, segments.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ferry_testkit::{PASSWORD, TestServer, USER, make_sample_tree, pseudo_random, tree};

use crate::peers::{self, scratch};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

pub(crate) fn ferry(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(FERRY)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir.join(".state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A program that stops before reading it all (a usage error) closes
    // the pipe: what it printed tells, not the write.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn seed_walkthrough_from_a_script() {
    let s = TestServer::start();
    std::fs::write(s.root().join("hello.txt"), b"hello from the server\n").unwrap();
    let dir = scratch();
    std::fs::write(dir.path().join("hello.txt"), b"my own copy\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"notes\n").unwrap();
    let script = format!("{USER}\n{PASSWORD}\nget\nhello.txt\nget hello.txt\nupload\nnotes.txt\nexit\n");
    let out = ferry(dir.path(), &["127.0.0.1", &s.port().to_string()], &script);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Name: "), "{t}");
    assert!(t.contains("Enter filename to download: "), "{t}");
    assert!(t.contains("Enter filename to upload: "), "{t}");
    assert!(t.contains("saved hello.txt as new_hello.txt"), "{t}");
    assert!(t.contains("saved hello.txt as new1_hello.txt"), "{t}");
    assert!(t.contains("221 Goodbye."), "{t}");
    // The existing local file is untouched; the copies are exact.
    assert_eq!(std::fs::read(dir.path().join("hello.txt")).unwrap(), b"my own copy\n");
    assert_eq!(std::fs::read(dir.path().join("new_hello.txt")).unwrap(), b"hello from the server\n");
    assert_eq!(std::fs::read(dir.path().join("new1_hello.txt")).unwrap(), b"hello from the server\n");
    assert_eq!(std::fs::read(s.root().join("notes.txt")).unwrap(), b"notes\n");
}

#[test]
fn ftp1_commands_from_a_script_and_abbreviations() {
    let s = TestServer::start();
    std::fs::write(s.root().join("a.txt"), b"A\n").unwrap();
    std::fs::write(s.root().join("b.txt"), b"B\n").unwrap();
    std::fs::write(s.root().join("c.log"), b"C\n").unwrap();
    let dir = scratch();
    std::fs::create_dir(dir.path().join("up")).unwrap();
    std::fs::write(dir.path().join("up/x.dat"), b"x").unwrap();
    std::fs::write(dir.path().join("up/y.dat"), b"yy").unwrap();
    let script = "prompt\nmkd made\ncd made\npwd\ncdup\nmget *.txt\nlcd up\nmput *.dat\nlcd ..\nsize x.dat\nren x.dat z.dat\nmdelete *.dat\nls\nascii\nbinary\nstatus\nquote SYST\nmodtime a.txt\nchmod 600 a.txt\n!true\nhelp\nbogus\nbye\n";
    let out = ferry(dir.path(), &["-u", USER, &format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", s.port())], script);
    let t = text(&out);
    assert!(t.contains("Remote directory: /made"), "{t}");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"A\n", "{t}");
    assert_eq!(std::fs::read(dir.path().join("b.txt")).unwrap(), b"B\n", "{t}");
    assert!(!dir.path().join("c.log").exists());
    assert!(t.contains("x.dat\t1"), "{t}");
    assert!(!s.root().join("x.dat").exists() && !s.root().join("z.dat").exists() && !s.root().join("y.dat").exists(), "{t}");
    assert!(t.contains("215 UNIX Type: L8"), "{t}");
    assert!(t.contains("?Invalid command: bogus"), "{t}");
    // One failed command makes the exit status non-zero (usage error: 2).
    assert_eq!(out.status.code(), Some(2), "{t}");
}

#[test]
fn dash_c_runs_commands() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), b"data").unwrap();
    let dir = scratch();
    let url = s.url("");
    let out = ferry(dir.path(), &["-c", "get f; get f; ls", &url], "");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"data");
    assert_eq!(std::fs::read(dir.path().join("new_f")).unwrap(), b"data");
}

#[test]
fn one_shot_get_put_ls_against_every_peer() {
    for p in peers::all() {
        let dir = scratch();
        let data = pseudo_random(1_234_567, 60);
        std::fs::write(dir.path().join("up.bin"), &data).unwrap();
        let out = ferry(dir.path(), &["put", "up.bin", &p.url("up.bin"), "--json"], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["bytes"], 1_234_567);
        assert!(std::fs::read(p.root().join("up.bin")).unwrap() == data, "{}", p.name());

        let out = ferry(dir.path(), &["get", &p.url("up.bin"), "down.bin"], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        assert!(std::fs::read(dir.path().join("down.bin")).unwrap() == data);
        // Again: the seed's rule, a new name.
        let out = ferry(dir.path(), &["get", &p.url("up.bin"), "down.bin", "--json"], "");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["renamed"], true, "{}", p.name());
        assert!(std::fs::read(dir.path().join("new_down.bin")).unwrap() == data);
        // --overwrite replaces; --skip leaves it.
        std::fs::write(dir.path().join("down.bin"), b"old").unwrap();
        let out = ferry(dir.path(), &["--overwrite", "get", &p.url("up.bin"), "down.bin"], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(std::fs::read(dir.path().join("down.bin")).unwrap() == data);
        std::fs::write(dir.path().join("down.bin"), b"old").unwrap();
        let out = ferry(dir.path(), &["get", "--skip", &p.url("up.bin"), "down.bin"], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(std::fs::read(dir.path().join("down.bin")).unwrap(), b"old");

        let out = ferry(dir.path(), &["ls", &p.url(""), "--json"], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let entry = v.as_array().unwrap().iter().find(|e| e["name"] == "up.bin").unwrap_or_else(|| panic!("{}: {v}", p.name()));
        assert_eq!((entry["type"].as_str(), entry["size"].as_u64()), (Some("file"), Some(1_234_567)));
    }
}

#[test]
fn exit_statuses_and_messages() {
    let s = TestServer::start();
    let dir = scratch();
    let d = dir.path();
    // Wrong password: 4.
    let out = ferry(d, &["get", &format!("ftp://{USER}:wrong@127.0.0.1:{}/f", s.port())], "");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("login failed: 530"), "{}", text(&out));
    // Missing remote file: 5, naming the file and the server's reply.
    let out = ferry(d, &["get", &s.url("missing.txt")], "");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("missing.txt") && text(&out).contains("550"), "{}", text(&out));
    assert!(!d.join("missing.txt").exists(), "no empty file is left behind");
    // Missing or unreadable local file: 6.
    let out = ferry(d, &["put", "nope.bin", &s.url("x")], "");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("nope.bin"), "{}", text(&out));
    std::fs::create_dir(d.join("a-dir")).unwrap();
    let out = ferry(d, &["put", "a-dir", &s.url("x")], "");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    // Unwritable local folder: 6.
    std::fs::write(s.root().join("f"), b"x").unwrap();
    std::fs::write(d.join("plain-file"), b"x").unwrap();
    let out = ferry(d, &["get", &s.url("f"), "plain-file/inside"], "");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    // Nobody listening: 3.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = ferry(d, &["ls", &format!("ftp://u:p@127.0.0.1:{port}/")], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // Usage: 2.
    let out = ferry(d, &["get", "not a url"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn read_only_local_folder_is_reported() {
    let dir = scratch();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"]).arg(&ro).status().is_ok_and(|s| s.success());
    if !mounted {
        assert!(std::env::var_os("CI").is_none(), "mounting a read-only tmpfs failed under CI");
        eprintln!("skipping: cannot mount here");
        return;
    }
    let s = TestServer::start();
    std::fs::write(s.root().join("f"), b"x").unwrap();
    let out = ferry(&ro, &["get", &s.url("f")], "");
    let _ = Command::new("umount").arg("-l").arg(&ro).status();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("Read-only file system"), "{}", text(&out));
}

/// Start `ferry get URL` at 3 MB/s in `dir` and kill it 0.7 s later, as
/// a `kill -9` or a dying CI runner would.
pub(crate) fn killed_get(dir: &Path, url: &str) {
    let mut child = Command::new(FERRY)
        .args(["get", "--limit-rate", "3M", url])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn resume_after_a_killed_transfer_and_refusal_when_data_differs() {
    for p in peers::all() {
        let data = pseudo_random(6_000_000, 62);
        std::fs::write(p.root().join("r.bin"), &data).unwrap();
        let dir = scratch();
        killed_get(dir.path(), &p.url("r.bin"));
        // What arrived is kept beside the final name, as r.bin.ferry-part.
        assert!(!dir.path().join("r.bin").exists(), "{}", p.name());
        let partial = std::fs::metadata(dir.path().join("r.bin.ferry-part")).map(|m| m.len()).unwrap_or(0);
        assert!(partial > 0 && partial < 6_000_000, "{}: partial is {partial} bytes", p.name());
        let out = ferry(dir.path(), &["get", "--resume", &p.url("r.bin")], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        assert!(std::fs::read(dir.path().join("r.bin")).unwrap() == data, "{}: resumed file differs", p.name());
        assert!(!dir.path().join("r.bin.ferry-part").exists(), "{}", p.name());

        // A partial file that is not a prefix: refused, nothing appended.
        let mut wrong = data[..1_000_000].to_vec();
        wrong[500] ^= 0xff;
        std::fs::write(dir.path().join("w.bin"), &wrong).unwrap();
        if p.name() != "ferryd" {
            // Without HASH the check is size and time: make the remote
            // file newer than the partial one.
            let _ = Command::new("touch").args(["-d", "2000-01-01"]).arg(dir.path().join("w.bin")).status();
        }
        let out = ferry(dir.path(), &["get", "--resume", &p.url("r.bin"), "w.bin"], "");
        assert_eq!(out.status.code(), Some(8), "{}: {}", p.name(), text(&out));
        assert!(text(&out).contains("refusing to resume"), "{}", text(&out));
        assert_eq!(std::fs::read(dir.path().join("w.bin")).unwrap(), wrong);
    }
}

#[test]
fn mirror_both_ways_against_every_peer() {
    for p in peers::all() {
        let dir = scratch();
        let src = dir.path().join("src");
        make_sample_tree(&src);
        let remote = p.remote("tree");
        let out = ferry(dir.path(), &["-c", &format!("mirror -R --parallel 3 src {remote}"), &p.server_url()], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        assert_eq!(tree(&p.root().join("tree")), tree(&src), "{}: mirror -R differs\n{}", p.name(), text(&out));
        let out = ferry(dir.path(), &["-c", &format!("mirror {remote} back"), &p.server_url()], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        assert_eq!(tree(&dir.path().join("back")), tree(&src), "{}: mirror differs", p.name());
        // A second run transfers nothing (sizes and times match, by
        // default); --delete removes what the source lost; --dry-run
        // changes nothing.
        let out = ferry(dir.path(), &["-c", &format!("mirror {remote} back"), &p.server_url()], "");
        assert!(String::from_utf8_lossy(&out.stdout).contains(" up to date, 0 transferred, 0 deleted"), "{}: {}", p.name(), text(&out));
        std::fs::remove_file(p.root().join("tree/top.txt")).unwrap();
        let out = ferry(dir.path(), &["-c", &format!("mirror --delete --dry-run {remote} back"), &p.server_url()], "");
        assert!(String::from_utf8_lossy(&out.stdout).contains("would remove"), "{}", text(&out));
        assert!(dir.path().join("back/top.txt").exists());
        let out = ferry(dir.path(), &["-c", &format!("mirror --delete {remote} back"), &p.server_url()], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(!dir.path().join("back/top.txt").exists());
    }
}

#[test]
fn segmented_download() {
    for p in peers::all() {
        let data = pseudo_random(9_000_001, 65);
        std::fs::write(p.root().join("seg.bin"), &data).unwrap();
        let dir = scratch();
        let out = ferry(dir.path(), &["get", "--segments", "4", &p.url("seg.bin")], "");
        assert_eq!(out.status.code(), Some(0), "{}: {}", p.name(), text(&out));
        assert!(std::fs::read(dir.path().join("seg.bin")).unwrap() == data, "{}: segmented download differs", p.name());
    }
}

#[test]
fn netrc_supplies_credentials() {
    let s = TestServer::start();
    std::fs::write(s.root().join("n.txt"), b"netrc").unwrap();
    let dir = scratch();
    std::fs::write(dir.path().join(".netrc"), format!("machine 127.0.0.1\n  login {USER}\n  password {PASSWORD}\n")).unwrap();
    let out = ferry(dir.path(), &["-c", "get n.txt", "127.0.0.1", &s.port().to_string()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("Name:"), "no prompt when ~/.netrc has the login: {}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("n.txt")).unwrap(), b"netrc");
    let out = ferry(dir.path(), &["get", &format!("ftp://127.0.0.1:{}/n.txt", s.port()), "m.txt"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn reput_checks_and_resumes_an_upload() {
    let s = TestServer::start();
    let data = pseudo_random(3_000_000, 66);
    let dir = scratch();
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    std::fs::write(s.root().join("big.bin"), &data[..1_000_000]).unwrap();
    let out = ferry(dir.path(), &["-c", "reput big.bin", &s.url("")], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Remote part checked (SHA-256); resuming at byte 1000000"), "{}", text(&out));
    assert!(std::fs::read(s.root().join("big.bin")).unwrap() == data);
    // A remote part that differs is refused and left alone.
    let mut other = data[..1000].to_vec();
    other[10] ^= 1;
    std::fs::write(s.root().join("big.bin"), &other).unwrap();
    let out = ferry(dir.path(), &["-c", "reput big.bin", &s.url("")], "");
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert_eq!(std::fs::read(s.root().join("big.bin")).unwrap(), other);
}

#[test]
fn ask_policy_and_set_clobber() {
    let s = TestServer::start();
    std::fs::write(s.root().join("f.txt"), b"remote").unwrap();
    let dir = scratch();
    std::fs::write(dir.path().join("f.txt"), b"local").unwrap();
    // In a script the question is answered from the script.
    let out = ferry(dir.path(), &[&s.url("")], "get --ask f.txt\no\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("f.txt exists: [n]ew name, [o]verwrite, [r]esume, [s]kip?"), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"remote");
    std::fs::write(dir.path().join("f.txt"), b"local").unwrap();
    let out = ferry(dir.path(), &[&s.url("")], "set clobber skip\nget f.txt\nset clobber overwrite\nget f.txt f2.txt\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Skipped f.txt"), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("f.txt")).unwrap(), b"local");
}

/// A control-connection proxy that drops the first `drop_first`
/// connections, then forwards to `target`: a flaky network, made here.
fn flaky_proxy(target: std::net::SocketAddr, drop_first: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (i, conn) in listener.incoming().enumerate().take(drop_first + 4) {
            let Ok(client) = conn else { continue };
            if i < drop_first {
                drop(client);
                continue;
            }
            let Ok(server) = std::net::TcpStream::connect(target) else {
                continue;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c1, mut s1) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut s1);
                let _ = s1.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn one_shot_retries_network_failures() {
    let s = TestServer::start();
    std::fs::write(s.root().join("r.txt"), b"after retry").unwrap();
    let dir = scratch();
    let port = flaky_proxy(s.addr, 1);
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{port}/r.txt");
    let out = ferry(dir.path(), &["get", "--retries", "2", &url], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("retrying in"), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("r.txt")).unwrap(), b"after retry");
    // Without retries the same failure is exit 3.
    let port = flaky_proxy(s.addr, 1);
    let url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{port}/r.txt");
    let out = ferry(dir.path(), &["get", &url, "x.txt"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn completions_and_man_page() {
    let dir = scratch();
    let out = ferry(dir.path(), &["completions", "zsh"], "");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("#compdef ferry"), "{}", text(&out));
    let out = ferry(dir.path(), &["man"], "");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains(".TH ferry"), "{}", text(&out));
}
