//! `ferry` against a hostile SFTP server (paramiko, scripted here): a
//! listing whose names are paths (`../../x`, `/abs/x`) must never make
//! `mirror` or `mget` write outside its local folder, a file named `-` is
//! not standard output, and names are never printed raw.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use ferry_testkit::{Spawned, free_port, have_paramiko, require};

use crate::program::text;

/// Serves one folder whose entries are `ok.txt` and the names given,
/// each holding the same bytes; logs in anyone.
const SERVER: &str = r#"
import os, socket, stat, sys, time, paramiko
port, key, bad = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
DATA = b"from the server\n"
def attrs(name, folder=False):
    a = paramiko.SFTPAttributes(); a.filename = name
    a.st_size = 0 if folder else len(DATA)
    a.st_mode = (stat.S_IFDIR | 0o755) if folder else (stat.S_IFREG | 0o644)
    a.st_mtime = a.st_atime = int(time.time()) - 100
    return a
class Login(paramiko.ServerInterface):
    def check_auth_password(self, u, p): return paramiko.AUTH_SUCCESSFUL
    def get_allowed_auths(self, u): return "password"
    def check_channel_request(self, kind, chanid): return paramiko.OPEN_SUCCEEDED
class File(paramiko.SFTPHandle):
    def read(self, offset, n): return DATA[offset:offset + n]
    def stat(self): return attrs("f")
class Files(paramiko.SFTPServerInterface):
    def canonicalize(self, p): return os.path.normpath("/" + p.strip("/")) if p not in (".", "") else "/"
    def list_folder(self, p): return [attrs(n) for n in bad + ["ok.txt"]]
    def stat(self, p): return attrs("d", True) if os.path.normpath(p) == "/" else attrs(os.path.basename(p))
    lstat = stat
    def open(self, p, flags, a):
        h = File(flags); h.filename = p; return h
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, _ = s.accept()
t = paramiko.Transport(c); t.add_server_key(paramiko.Ed25519Key.from_private_key_file(key))
t.set_subsystem_handler("sftp", paramiko.SFTPServer, Files)
t.start_server(server=Login())
t.join(30)
"#;

#[test]
fn mirror_never_follows_a_listed_name_out_of_its_folder() {
    if !require("ssh-keygen") || !have_paramiko() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = d.join("key");
    let made = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let home = d.join("home/a/b");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let port = free_port();
    let public = std::fs::read_to_string(d.join("key.pub")).unwrap();
    let public: Vec<&str> = public.split_whitespace().take(2).collect();
    std::fs::write(home.join(".ssh/known_hosts"), format!("[127.0.0.1]:{port} {} {}\n", public[0], public[1])).unwrap();
    let absolute = d.join("abs-pwned.txt");
    let mut server = Command::new("python3")
        .args(["-c", SERVER, &port.to_string()])
        .arg(&key)
        .args(["../../pwned.txt", absolute.to_str().unwrap(), "sub/../../x.txt", "-", "esc\x1b[2Jname"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    let _server = Spawned(server);
    let out = crate::sftp_shell::shell(&home, &[&format!("sftp://x:y@127.0.0.1:{port}/")], "mirror / copy\nmget *\nexit\n");
    let t = text(&out);
    // Names are shown escaped, never as the terminal codes they hold.
    assert!(!t.contains('\x1b') && t.contains("esc\\x1b[2Jname"), "{t}");
    assert!(home.join("copy/ok.txt").exists(), "the good file did not come: {t}");
    for escaped in [d.join("home/a/pwned.txt"), absolute.clone(), home.join("x.txt"), d.join("home/x.txt")] {
        assert!(!escaped.exists(), "{} was written: {t}", escaped.display());
    }
    let written: Vec<String> = walk(&d.join("home"));
    // `-` is a file like any other, never standard output.
    let esc = "esc\x1b[2Jname";
    let want = [
        "a/b/-".to_owned(),
        "a/b/.ssh/known_hosts".into(),
        "a/b/copy/-".into(),
        format!("a/b/copy/{esc}"),
        "a/b/copy/ok.txt".into(),
        format!("a/b/{esc}"),
        "a/b/ok.txt".into(),
    ];
    assert_eq!(written, want, "{t}");
    assert_eq!(std::fs::read(home.join("-")).unwrap(), b"from the server\n");
}

/// The files under `root`, relative, sorted.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}
