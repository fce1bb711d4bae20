//! Python's paramiko against ferryd's SFTP: the operations a script or an
//! integration uses (listing with attributes, offsets, stat, chmod, utime,
//! posix-rename, fsync, statvfs), each checked on disk; and the helper
//! the attack and operations tests drive paramiko through.

use std::process::{Command, Output, Stdio};

use ferry_testkit::{PASSWORD, TestServer, USER, pseudo_random, require};

/// What every script starts with: a connection whose host key is checked
/// against the server's before any password is sent, a logged-in `sftp`,
/// and `refused(fn, *args)`, which returns the error text of a call that
/// must fail (and fails the script if it did not).
pub(super) const PRELUDE: &str = r#"
import os, sys, stat, time, errno, socket, paramiko
sock = socket.create_connection(("127.0.0.1", int(os.environ["SFTP_PORT"])), timeout=20)
t = paramiko.Transport(sock)
t.banner_timeout = t.auth_timeout = 20
t.start_client(timeout=20)
if t.get_remote_server_key().get_base64() != os.environ["HOST_KEY"]:
    sys.exit("host key mismatch")
t.auth_password(os.environ["SFTP_USER"], os.environ["SFTP_PASSWORD"])
sftp = paramiko.SFTPClient.from_transport(t)
sftp.get_channel().settimeout(20)
def refused(fn, *args):
    try:
        fn(*args)
    except (IOError, OSError) as e:
        return str(e)
    sys.exit("not refused: %s%r" % (fn.__name__, args))
"#;

/// Run `code` after [`PRELUDE`] as `user`.
pub(super) fn paramiko_as(s: &TestServer, user: &str, password: &str, code: &str) -> Output {
    let key = s.sftp_host_key().split_whitespace().nth(1).unwrap().to_owned();
    Command::new("python3")
        .arg("-c")
        .arg(format!("{PRELUDE}\n{code}"))
        .env("SFTP_PORT", s.sftp_port().to_string())
        .env("HOST_KEY", key)
        .env("SFTP_USER", user)
        .env("SFTP_PASSWORD", password)
        .env("ROOT", s.root())
        .env("SCRATCH", s.scratch())
        .stdin(Stdio::null())
        .output()
        .expect("run python3")
}

/// Run `code` as the hashed test account and require success; returns
/// what it printed.
#[track_caller]
pub(super) fn paramiko(s: &TestServer, code: &str) -> String {
    let out = paramiko_as(s, USER, PASSWORD, code);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "paramiko script failed:\n{code}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// paramiko is there (CI installs it from PyPI).
pub(super) use ferry_testkit::have_paramiko;

#[test]
fn paramiko_lists_with_attributes_and_moves_files_around() {
    if !require("python3") || !have_paramiko() {
        return;
    }
    let s = TestServer::start_sftp();
    std::fs::create_dir(s.root().join("docs")).unwrap();
    std::fs::write(s.root().join("docs/a.txt"), "alpha\n").unwrap();
    std::fs::write(s.root().join("b.bin"), pseudo_random(70_000, 3)).unwrap();
    let out = paramiko(
        &s,
        r#"
for a in sorted(sftp.listdir_attr("/"), key=lambda a: a.filename):
    print(a.filename, "dir" if stat.S_ISDIR(a.st_mode) else a.st_size)
print("cwd", sftp.normalize("."), sftp.normalize("docs/../docs"))
sftp.posix_rename("/b.bin", "/docs/b.bin")
sftp.rename("/docs/a.txt", "/docs/renamed.txt")
sftp.mkdir("/new")
sftp.rmdir("/new")
print("stat", sftp.stat("/docs/b.bin").st_size, stat.S_ISREG(sftp.lstat("/docs/renamed.txt").st_mode))
sftp.remove("/docs/renamed.txt")
print("missing", refused(sftp.stat, "/docs/renamed.txt"))
print("rmdir-full", refused(sftp.rmdir, "/docs"))
"#,
    );
    assert!(out.contains("b.bin 70000\ndocs dir\n"), "{out}");
    assert!(out.contains("cwd / /docs\n"), "{out}");
    assert!(out.contains("stat 70000 True\n"), "{out}");
    assert!(out.contains("missing [Errno 2] No such file"), "{out}");
    assert!(out.contains("rmdir-full"), "{out}");
    assert!(s.root().join("docs/b.bin").is_file() && !s.root().join("b.bin").exists());
    assert!(!s.root().join("docs/renamed.txt").exists() && !s.root().join("new").exists());
}

#[test]
fn paramiko_writes_and_reads_at_offsets_syncs_and_sets_attributes() {
    if !require("python3") || !have_paramiko() {
        return;
    }
    let s = TestServer::start_sftp();
    let out = paramiko(
        &s,
        r#"
with sftp.open("/f.bin", "wb") as f:
    f.write(b"0123456789")
    f.seek(20); f.write(b"tail")          # a hole, zero-filled
    f.flush()
    sftp._request(paramiko.sftp.CMD_EXTENDED, "fsync@openssh.com", f.handle)
    print("size-open", f.stat().st_size)
with sftp.open("/f.bin", "r+b") as f:     # no TRUNC: in place
    f.seek(2); f.write(b"AB")
with sftp.open("/f.bin", "rb") as f:
    f.seek(8); print("read", f.read(4))
    f.seek(0); print("all", f.read())
sftp.truncate("/f.bin", 6)
print("truncated", sftp.stat("/f.bin").st_size)
sftp.chmod("/f.bin", 0o600)
sftp.utime("/f.bin", (1400000000, 1500000000))
a = sftp.stat("/f.bin")
print("attrs", oct(a.st_mode & 0o777), a.st_mtime, a.st_size)
kind, msg = sftp._request(paramiko.sftp.CMD_EXTENDED, "statvfs@openssh.com", "/")
v = [msg.get_int64() for _ in range(11)]
print("statvfs", kind == paramiko.sftp.CMD_EXTENDED_REPLY, v[0] > 0, v[2] >= v[3] >= v[4], v[10])
"#,
    );
    assert!(out.contains("size-open 24\n"), "{out}");
    assert!(out.contains("read b'89\\x00\\x00'\n"), "{out}");
    assert!(out.contains("all b'01AB456789"), "{out}");
    assert!(out.contains("attrs 0o600 1500000000 6\n"), "{out}");
    assert!(out.contains("truncated 6\n"), "{out}");
    assert!(
        out.contains("statvfs True True True 255\n"),
        "statvfs@openssh.com: block size, blocks >= free >= available, name length:\n{out}"
    );
    assert_eq!(std::fs::read(s.root().join("f.bin")).unwrap(), b"01AB45");
    let meta = std::fs::metadata(s.root().join("f.bin")).unwrap();
    assert_eq!(meta.modified().unwrap(), std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000));
}

#[test]
fn paramiko_gets_and_puts_large_files_with_pipelined_requests() {
    if !require("python3") || !have_paramiko() {
        return;
    }
    let s = TestServer::start_sftp();
    let data = pseudo_random(6_000_000, 4);
    std::fs::write(s.scratch().join("src.bin"), &data).unwrap();
    paramiko(
        &s,
        r#"
sftp.put(os.environ["SCRATCH"] + "/src.bin", "/up.bin")
sftp.get("/up.bin", os.environ["SCRATCH"] + "/down.bin", prefetch=True, max_concurrent_prefetch_requests=64)
"#,
    );
    assert!(std::fs::read(s.root().join("up.bin")).unwrap() == data, "put differs");
    assert!(std::fs::read(s.scratch().join("down.bin")).unwrap() == data, "get differs");
}
