//! The `ferryd` binary with `--sftp-port`, as an operator starts it: the
//! host key made beside the users file on the first start (mode 0600, its
//! fingerprint printed and the same as `ssh-keygen -lf` says), kept on the
//! next; a key readable by others refused with what to do; SFTP sessions
//! in `/metrics`; a port clash refused before anything starts; and a
//! reload reaching open sessions and their open files.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testkit::{Spawned, free_port, require, wait_for_port};

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");

/// Start ferryd in `dir` with `args`; its stdout goes to `dir/out.txt`.
fn start(dir: &Path, sftp_port: u16, args: &[&str]) -> Spawned {
    let out = std::fs::File::create(dir.join("out.txt")).unwrap();
    let child = Command::new(FERRYD)
        .args(["--port", &free_port().to_string(), "--sftp-port", &sftp_port.to_string(), "--no-tls", "--log-level", "warn"])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run = Spawned(child);
    wait_for_port(sftp_port);
    run
}

fn scrape(port: u16) -> String {
    let mut http = TcpStream::connect(("127.0.0.1", port)).unwrap();
    http.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    http.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    http.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn the_first_start_makes_a_private_host_key_and_says_its_fingerprint() {
    if !require("ssh-keygen") || !require("python3") || !super::paramiko::have_paramiko() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("etc")).unwrap();
    ferry_server::auth::users_file::set_user(&d.join("etc/users.txt"), "alice", "pw").unwrap();
    let (sftp, metrics) = (free_port(), free_port());
    let metrics_addr = format!("127.0.0.1:{metrics}");
    let run = start(d, sftp, &["--users", "etc/users.txt", "--root", "files", "--metrics-listen", &metrics_addr]);
    let key = d.join("etc/ssh_host_ed25519_key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "the host key is private");
    let keygen = Command::new("ssh-keygen").arg("-lf").arg(d.join("etc/ssh_host_ed25519_key.pub")).output().unwrap();
    let fingerprint = String::from_utf8(keygen.stdout).unwrap().split_whitespace().nth(1).unwrap().to_owned();
    let printed = std::fs::read_to_string(d.join("out.txt")).unwrap();
    assert!(printed.contains("created an SSH host key in etc/ssh_host_ed25519_key"), "{printed}");
    assert!(printed.contains(&format!("SHA-256 fingerprint: {fingerprint}")), "{printed}\nssh-keygen says {fingerprint}");
    // A session open now is counted in /metrics.
    let host_key = std::fs::read_to_string(d.join("etc/ssh_host_ed25519_key.pub")).unwrap();
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(format!("{}\nprint('in', flush=True)\nsys.stdin.read()\n", super::paramiko::PRELUDE))
        .env("SFTP_PORT", sftp.to_string())
        .env("HOST_KEY", host_key.split_whitespace().nth(1).unwrap())
        .env("SFTP_USER", "alice")
        .env("SFTP_PASSWORD", "pw")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line, "in\n");
    let text = scrape(metrics);
    assert!(text.contains("ferry_sessions_open 1"), "{text}");
    drop(child.stdin.take());
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !scrape(metrics).contains("ferry_sessions_open 0") {
        assert!(Instant::now() < deadline, "the ended session is still counted");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(run);
    // The next start keeps the key and says nothing of it.
    let before = std::fs::read(&key).unwrap();
    let run = start(d, free_port(), &["--users", "etc/users.txt", "--root", "files"]);
    assert_eq!(std::fs::read(&key).unwrap(), before, "the host key changed on a restart");
    assert!(!std::fs::read_to_string(d.join("out.txt")).unwrap().contains("created an SSH host key"));
    drop(run);
}

#[test]
fn an_exposed_host_key_or_a_port_clash_stops_the_start_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ferry_server::auth::users_file::set_user(&d.join("users.txt"), "alice", "pw").unwrap();
    let key = d.join("my_key");
    // Made by ferryd's own code path, then opened up.
    ferry_sftp_server::host_key::load_or_create(&key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(FERRYD)
        .args(["--port", &free_port().to_string(), "--sftp-port", &free_port().to_string(), "--no-tls", "--sftp-host-key"])
        .arg(&key)
        .current_dir(d)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("chmod 600"), "{err}");
    let port = free_port();
    let out = Command::new(FERRYD)
        .args(["--port", &port.to_string(), "--sftp-port", &port.to_string(), "--no-tls"])
        .current_dir(d)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("SFTP needs a port of its own"), "{err}");
}

#[test]
fn a_reload_reaches_open_sftp_sessions() {
    if !require("python3") || !super::paramiko::have_paramiko() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ferry_server::auth::users_file::set_user(&d.join("users.txt"), "alice", "pw").unwrap();
    ferry_server::auth::users_file::set_user(&d.join("users.txt"), "bob", "pw").unwrap();
    let sftp = free_port();
    let run = start(d, sftp, &["--users", "users.txt", "--root", "files"]);
    let host_key = std::fs::read_to_string(d.join("ssh_host_ed25519_key.pub")).unwrap();
    // Each client lists `/` every 50 ms until refused, then says how.
    let code = "print('in', flush=True)\ntry:\n    while True:\n        sftp.listdir('/'); time.sleep(0.05)\nexcept Exception as e:\n    print('ended', type(e).__name__, flush=True)\n";
    let client = |user: &str| {
        let (child, out, line) = paramiko_client(sftp, &host_key, user, code);
        assert_eq!(line, "in\n", "{user} did not log in");
        (child, out)
    };
    let (mut alice, mut alice_out) = client("alice");
    let (mut bob, mut bob_out) = client("bob");
    // Alice is disabled; Bob may now log in only from 10.0.0.0/8.
    std::fs::write(d.join("users.toml"), "[users.alice]\ndisabled = true\n\n[users.bob]\nallowed_networks = [\"10.0.0.0/8\"]\n").unwrap();
    assert!(Command::new("kill").args(["-HUP", &run.0.id().to_string()]).status().unwrap().success());
    for (who, child, out) in [("alice", &mut alice, &mut alice_out), ("bob", &mut bob, &mut bob_out)] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "{who}'s session outlived the reload");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert!(rest.contains("ended"), "{who}: {rest}");
    }
    drop(run);
}

/// As FTP stops running transfers when a reload takes a permission away,
/// open SFTP handles stop: an upload without `write` fails and its close
/// commits nothing (the old file stays), a download without `read` reads
/// no more.
#[test]
fn a_reload_that_takes_permissions_away_stops_open_handles() {
    if !require("python3") || !super::paramiko::have_paramiko() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ferry_server::auth::users_file::set_user(&d.join("users.txt"), "alice", "pw").unwrap();
    std::fs::create_dir(d.join("files")).unwrap();
    std::fs::write(d.join("files/over.bin"), b"old content\n").unwrap();
    std::fs::write(d.join("files/big.bin"), vec![7u8; 1_000_000]).unwrap();
    let sftp = free_port();
    let run = start(d, sftp, &["--users", "users.txt", "--root", "files"]);
    let host_key = std::fs::read_to_string(d.join("ssh_host_ed25519_key.pub")).unwrap();
    let code = "w = sftp.open('/over.bin', 'w')\nw.write(b'x' * 1000); w.flush()\nr = sftp.open('/big.bin', 'r')\nr.read(1000)\n\
                print('open', flush=True)\nsys.stdin.readline()\n\
                for i in range(200):\n    try:\n        r.read(1000); time.sleep(0.05)\n    except IOError as e:\n        print('read refused', e, flush=True); break\n\
                else:\n    print('read went on', flush=True)\n\
                try:\n    w.write(b'y' * 1000); w.flush(); w.close(); print('upload saved', flush=True)\n\
                except IOError as e:\n    print('upload refused', e, flush=True)\n";
    let (mut child, mut out, line) = paramiko_client(sftp, &host_key, "alice", code);
    assert_eq!(line, "open\n");
    std::fs::write(d.join("users.toml"), "[users.alice]\npermissions = [\"list\"]\n").unwrap();
    assert!(Command::new("kill").args(["-HUP", &run.0.id().to_string()]).status().unwrap().success());
    // The reload is read in the background: the client reads until the
    // session sees it (10 s at most).
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("read refused") && rest.contains("no read permission"), "{rest}");
    assert!(rest.contains("upload refused") && rest.contains("write permission withdrawn"), "{rest}");
    assert_eq!(std::fs::read(d.join("files/over.bin")).unwrap(), b"old content\n");
    drop(run);
}

/// paramiko running `code` as `user` (password `pw`) against ferryd's SFTP
/// port, its standard input piped; with its first line of output.
fn paramiko_client(
    sftp: u16,
    host_key: &str,
    user: &str,
    code: &str,
) -> (std::process::Child, std::io::BufReader<std::process::ChildStdout>, String) {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(format!("{}\n{code}", super::paramiko::PRELUDE))
        .env("SFTP_PORT", sftp.to_string())
        .env("HOST_KEY", host_key.split_whitespace().nth(1).unwrap())
        .env("SFTP_USER", user)
        .env("SFTP_PASSWORD", "pw")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    (child, out, line)
}
