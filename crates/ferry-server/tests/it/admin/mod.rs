//! The admin API and web admin through the real binary: `ferryd
//! --admin-listen`, driven by curl (HTTP and FTP), by a second node on
//! the same PostgreSQL, and by headless Chromium over WebDriver.

mod api;
mod browser;
#[cfg(feature = "postgres")]
mod postgres;
mod review;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testkit::{Spawned, free_port, wait_for_port};
use serde_json::Value;

pub(crate) const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");
pub(crate) const ADMIN: &str = "root";
pub(crate) const ADMIN_PASSWORD: &str = "admin-pw-1";

/// `ferryd admin ARGS` on the accounts of `users` (or the database), with
/// `stdin` as the password; its success and what it printed.
pub(crate) fn ferryd_admin(users: &Path, postgres: Option<&str>, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut cmd = Command::new(FERRYD);
    cmd.arg("admin").args(args).arg("--users").arg(users);
    if let Some(pg) = postgres {
        cmd.args(["--postgres", pg]);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A running ferryd with its admin listener.
pub(crate) struct Node {
    pub(crate) dir: PathBuf,
    pub(crate) ftp: u16,
    pub(crate) admin: u16,
    pub(crate) _ferryd: Spawned,
}

/// How a node is started.
#[derive(Default)]
pub(crate) struct Start<'a> {
    /// The account database, if not the users file.
    pub(crate) postgres: Option<&'a str>,
    /// More ferryd arguments.
    pub(crate) args: &'a [&'a str],
    /// Make the admin account first (else ferryd makes one and prints it).
    pub(crate) no_admin: bool,
}

impl Node {
    /// A node serving `dir/root` to `dir/users.txt` (which gets user
    /// `alice`/`alicepw` unless it exists), with admin `root`.
    pub(crate) fn start(dir: &Path, how: Start<'_>) -> Node {
        let users = dir.join("users.txt");
        let root = dir.join("root");
        std::fs::create_dir_all(&root).unwrap();
        if how.postgres.is_none() && !users.exists() {
            ferry_server::auth::users_file::set_user(&users, "alice", "alicepw").unwrap();
        }
        if !how.no_admin {
            let (ok, _, err) = ferryd_admin(&users, how.postgres, &["add", ADMIN, "--password-stdin"], &format!("{ADMIN_PASSWORD}\n"));
            assert!(ok, "{err}");
        }
        let (ftp, admin) = (free_port(), free_port());
        let mut cmd = Command::new(FERRYD);
        cmd.args(["--port", &ftp.to_string(), "--admin-listen", &format!("127.0.0.1:{admin}"), "--failure-delay-ms", "50"])
            .arg("--root")
            .arg(&root)
            .arg("--users")
            .arg(&users)
            .args(how.args)
            .stdout(std::fs::File::create(dir.join(format!("ferryd-{ftp}.out"))).unwrap())
            .stderr(std::fs::File::create(dir.join(format!("ferryd-{ftp}.log"))).unwrap());
        if let Some(pg) = how.postgres {
            cmd.env("FERRYD_POSTGRES", pg);
        }
        let child = cmd.spawn().unwrap();
        let spawned = Spawned(child);
        wait_for_port(ftp);
        wait_for_port(admin);
        Node { dir: dir.to_owned(), ftp, admin, _ferryd: spawned }
    }

    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin)
    }

    /// What ferryd printed on standard output so far.
    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("ferryd-{}.out", self.ftp))).unwrap_or_default()
    }

    /// Its log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("ferryd-{}.log", self.ftp))).unwrap_or_default()
    }

    /// `METHOD path` on the API with curl: the status and the body.
    pub(crate) fn api(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
        curl_http(&self.base(), method, path, token, body, &[])
    }

    /// The same, expecting `status`, with the body as JSON (`null` if empty).
    pub(crate) fn api_json(&self, method: &str, path: &str, token: &str, body: Option<&str>, status: u16) -> Value {
        let (got, text) = self.api(method, path, Some(token), body);
        assert_eq!(got, status, "{method} {path}: {text}\n{}", self.log());
        if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")) }
    }

    /// A short-lived token for `root`.
    pub(crate) fn login(&self) -> String {
        let body = format!(r#"{{"name":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#);
        let (status, text) = self.api("POST", "/api/v1/login", None, Some(&body));
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<Value>(&text).unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Poll `GET /sessions` until `pick` finds one (within 15 s).
    pub(crate) fn wait_session(&self, token: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let list = self.api_json("GET", "/api/v1/sessions", token, None, 200);
            if let Some(s) = list["sessions"].as_array().unwrap().iter().find(|s| pick(s)) {
                return s.clone();
            }
            assert!(Instant::now() < deadline, "no such session in {list}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// curl over HTTP: `METHOD base+path` with a bearer token and a JSON body.
pub(crate) fn curl_http(base: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>, extra: &[&str]) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "-X", method, "-w", "\n%{http_code}"]).args(extra);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary", b]);
    }
    let out = cmd.arg(format!("{base}{path}")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// curl as an FTP client: its exit code and standard error.
pub(crate) fn curl_ftp(args: &[&str]) -> (i32, String) {
    let out = Command::new("curl").args(["-sS", "--max-time", "30"]).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}
