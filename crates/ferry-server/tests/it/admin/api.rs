//! The REST API on the users file: users, sessions, bans, events, auth.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testkit::{Spawned, pseudo_random, require};
use serde_json::{Value, json};

use super::{ADMIN, ADMIN_PASSWORD, Node, Start, curl_ftp, curl_http, ferryd_admin};

fn names(page: &Value) -> Vec<String> {
    page["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_owned()).collect()
}

/// Create a user over the API, log in with curl as that user, change and
/// disable them, page and search, delete; every change lands in the
/// users file at once and no password is ever stored or shown in clear.
#[test]
fn users_made_over_the_api_log_in_with_curl_and_changes_count_at_once() {
    if !require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start::default());
    let token = node.login();
    let ftp = |user: &str, pw: &str, args: &[&str]| {
        let url = format!("ftp://127.0.0.1:{}/", node.ftp);
        let userpw = format!("{user}:{pw}");
        let mut all = vec!["-u", userpw.as_str()];
        all.extend_from_slice(args);
        all.push(&url);
        curl_ftp(&all)
    };

    let created = node.api_json(
        "POST",
        "/api/v1/users",
        &token,
        Some(r#"{"name":"bob","password":"bob-secret","home":"bob","quota_bytes":"1M","permissions":["list","read","write"]}"#),
        201,
    );
    assert_eq!(created["name"], "bob");
    assert_eq!(created["quota_bytes"], 1 << 20);
    assert!(created.get("password").is_none(), "{created}");
    let users_txt = std::fs::read_to_string(dir.path().join("users.txt")).unwrap();
    assert!(users_txt.contains("bob:$argon2id$") && !users_txt.contains("bob-secret"), "{users_txt}");
    let toml = std::fs::read_to_string(dir.path().join("users.toml")).unwrap();
    assert!(toml.contains("[users.bob]") && toml.contains("home = \"bob\""), "{toml}");

    // bob logs in at once (no reload by hand) and lands in his home.
    let file = dir.path().join("up.txt");
    std::fs::write(&file, b"hello from bob\n").unwrap();
    let (code, err) = ftp("bob", "bob-secret", &["-T", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(dir.path().join("root/bob/up.txt")).unwrap(), b"hello from bob\n");
    let (code, _) = ftp("bob", "bob-secret", &["-Q", "DELE up.txt"]);
    assert_ne!(code, 0, "no delete permission");

    // Validation: each error names its field.
    for (body, field) in [
        (r#"{"name":"x1","password":"p","home":"../etc"}"#, "home"),
        (r#"{"name":"bad name","password":"p"}"#, "name"),
        (r#"{"name":"x2","password":"p","allowed_networks":["nonsense"]}"#, "allowed_networks"),
        (r#"{"name":"x3","password":"p","expires":"2026-02-30"}"#, "expires"),
        (r#"{"name":"x4","password":""}"#, "password"),
        (r#"{"name":"x5","password":"p","permissions":["fly"]}"#, "permissions"),
        (r#"{"name":"x6","password":"p","quota_files":"many"}"#, "quota_files"),
    ] {
        let answer = node.api_json("POST", "/api/v1/users", &token, Some(body), 422);
        assert_eq!(answer["fields"][0]["field"], field, "{body}: {answer}");
        assert!(!answer["error"].as_str().unwrap().is_empty());
    }
    node.api_json("POST", "/api/v1/users", &token, Some(r#"{"name":"bob","password":"x"}"#), 409);
    let (status, _) = node.api("POST", "/api/v1/users", Some(&token), Some("{not json"));
    assert_eq!(status, 400);

    // Disabled: refused at once; networks: refused from elsewhere.
    let changed = node.api_json("PUT", "/api/v1/users/bob", &token, Some(r#"{"enabled":false}"#), 200);
    assert_eq!((changed["enabled"].clone(), changed["home"].clone()), (json!(false), json!("bob")), "other fields kept");
    let (code, _) = ftp("bob", "bob-secret", &["-l"]);
    assert_eq!(code, 67, "a disabled user cannot log in");
    node.api_json("PUT", "/api/v1/users/bob", &token, Some(r#"{"enabled":true,"allowed_networks":["10.0.0.0/8"]}"#), 200);
    let (code, _) = ftp("bob", "bob-secret", &["-l"]);
    assert_eq!(code, 67, "not from 127.0.0.1");
    node.api_json("PUT", "/api/v1/users/bob", &token, Some(r#"{"allowed_networks":["127.0.0.0/8"],"password":"new-pw"}"#), 200);
    assert_eq!(ftp("bob", "bob-secret", &["-l"]).0, 67, "the old password is gone");
    assert_eq!(ftp("bob", "new-pw", &["-l"]).0, 0);

    // Paging and search on the server.
    for i in 0..12 {
        node.api_json("POST", "/api/v1/users", &token, Some(&format!(r#"{{"name":"team{i:02}","password":"pw{i}"}}"#)), 201);
    }
    let page = node.api_json("GET", "/api/v1/users?search=TEAM&offset=5&limit=4", &token, None, 200);
    assert_eq!(page["total"], 12);
    assert_eq!(names(&page), ["team05", "team06", "team07", "team08"]);
    let all = node.api_json("GET", "/api/v1/users?limit=1000", &token, None, 200);
    assert_eq!(all["total"], 14, "alice, bob and twelve: {all}");
    let (status, _) = node.api("GET", "/api/v1/users?offset=-1", Some(&token), None);
    assert_eq!(status, 400);

    // Delete: gone from the file and from logins.
    node.api_json("DELETE", "/api/v1/users/bob", &token, None, 204);
    node.api_json("GET", "/api/v1/users/bob", &token, None, 404);
    node.api_json("DELETE", "/api/v1/users/bob", &token, None, 404);
    assert_eq!(ftp("bob", "new-pw", &["-l"]).0, 67);
    assert!(!std::fs::read_to_string(dir.path().join("users.txt")).unwrap().contains("bob:"));
    assert_eq!(std::fs::read(dir.path().join("root/bob/up.txt")).unwrap(), b"hello from bob\n", "files stay");

    // Every change is an admin event with the admin's name.
    let events = node.api_json("GET", "/api/v1/events?event=admin-*&limit=1000", &token, None, 200);
    let seen: Vec<(String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"]["event"].as_str().unwrap().to_owned(), e["event"]["admin"].as_str().unwrap_or("").to_owned()))
        .collect();
    for wanted in ["admin-login", "admin-user-create", "admin-user-update", "admin-user-delete"] {
        assert!(seen.iter().any(|(e, a)| e == wanted && a == ADMIN), "{wanted} in {seen:?}");
    }
    let log = node.log();
    assert!(!log.contains("bob-secret") && !log.contains("new-pw") && !log.contains(ADMIN_PASSWORD), "no password in the log");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join("admins.txt")).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

/// A user made over the API uploads with curl; the live upload shows in `GET /sessions` with its bytes; `DELETE` ends
/// it: curl's connection is closed, the file it was replacing is intact,
/// and the event says the upload was interrupted.
#[test]
fn a_kicked_upload_leaves_the_old_file_and_the_session_is_gone() {
    if !require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start::default());
    let token = node.login();
    // A user made over the API, whose upload is then ended over the API.
    node.api_json("POST", "/api/v1/users", &token, Some(r#"{"name":"erin","password":"erin-pw"}"#), 201);
    let old = pseudo_random(100_000, 1);
    std::fs::write(dir.path().join("root/data.bin"), &old).unwrap();
    let new = dir.path().join("new.bin");
    std::fs::write(&new, pseudo_random(4 << 20, 2)).unwrap();
    let upload = Spawned(
        Command::new("curl")
            .args(["-sS", "--limit-rate", "200k", "-u", "erin:erin-pw", "-T"])
            .arg(&new)
            .arg(format!("ftp://127.0.0.1:{}/data.bin", node.ftp))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let session = node.wait_session(&token, |s| s["user"] == "erin" && s["transfer"]["bytes"].as_u64().is_some_and(|b| b > 0));
    let t = &session["transfer"];
    assert_eq!(
        (t["path"].clone(), t["direction"].clone(), session["protocol"].clone()),
        (json!("/data.bin"), json!("upload"), json!("ftp"))
    );
    assert!(session["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{session}");
    let id = session["id"].as_u64().unwrap();
    node.api_json("DELETE", &format!("/api/v1/sessions/{id}"), &token, None, 204);
    let mut upload = upload;
    let started = Instant::now();
    let status = loop {
        if let Some(s) = upload.0.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "curl still running after the kick");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "curl's upload must fail");
    assert_eq!(std::fs::read(dir.path().join("root/data.bin")).unwrap(), old, "the old file is intact");
    let left: Vec<String> =
        std::fs::read_dir(dir.path().join("root")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["data.bin"], "no temporary file left");
    let gone = node.api_json("GET", "/api/v1/sessions", &token, None, 200);
    assert!(gone["sessions"].as_array().unwrap().iter().all(|s| s["id"] != id), "{gone}");
    node.api_json("DELETE", &format!("/api/v1/sessions/{id}"), &token, None, 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let failed = node.api_json("GET", "/api/v1/events?event=upload-failed&user=erin", &token, None, 200);
        if let Some(e) = failed["events"].as_array().unwrap().first() {
            assert_eq!(e["event"]["path"], "/data.bin");
            assert_eq!(e["event"]["session"], id);
            break;
        }
        assert!(Instant::now() < deadline, "no upload-failed event");
        std::thread::sleep(Duration::from_millis(100));
    }
    let kicks = node.api_json("GET", "/api/v1/events?event=admin-session-kick", &token, None, 200);
    assert_eq!(kicks["events"][0]["event"]["target"], id.to_string());
}

/// No token, a wrong one, an expired one, a revoked one; a cookie
/// without its CSRF token and a cross-site form post: all refused.
/// Failed admin logins count towards the same ban as FTP logins; the ban
/// is listed and lifted over the API.
#[test]
fn auth_refusals_expiry_csrf_and_bans() {
    if !require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start { args: &["--ban-after", "3"], ..Start::default() });
    let users = dir.path().join("users.txt");
    assert_eq!(node.api("GET", "/api/v1/healthz", None, None), (200, r#"{"status":"ok"}"#.to_owned()));
    let (status, body) = node.api("GET", "/api/v1/status", None, None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(node.api("GET", "/api/v1/status", Some("fy_0000000000000000_nope"), None).0, 401);

    // `ferryd admin token`: works in the running server at once; expires; is revoked.
    let (ok, short, err) = ferryd_admin(&users, None, &["token", ADMIN, "--ttl", "1s"], "");
    assert!(ok, "{err}");
    let short = short.trim().to_owned();
    let status = node.api_json("GET", "/api/v1/status", &short, None, 200);
    assert!(status["listeners"].as_array().unwrap().iter().any(|l| l["address"] == format!("127.0.0.1:{}", node.ftp)), "{status}");
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(node.api("GET", "/api/v1/status", Some(&short), None).0, 401, "expired");
    let (ok, long, err) = ferryd_admin(&users, None, &["token", ADMIN], "");
    assert!(ok, "{err}");
    let long = long.trim().to_owned();
    node.api_json("GET", "/api/v1/sessions", &long, None, 200);
    node.api_json("POST", "/api/v1/logout", &long, None, 204);
    assert_eq!(node.api("GET", "/api/v1/sessions", Some(&long), None).0, 401, "revoked by logout");

    // A browser session: the cookie alone cannot change anything.
    let jar = dir.path().join("cookies");
    let jar_s = jar.to_str().unwrap();
    let (status, _) = curl_http(
        &node.base(),
        "POST",
        "/login",
        None,
        None,
        &["-c", jar_s, "--data-urlencode", &format!("name={ADMIN}"), "--data-urlencode", &format!("password={ADMIN_PASSWORD}")],
    );
    assert_eq!(status, 303);
    let cookies = std::fs::read_to_string(&jar).unwrap();
    assert!(cookies.contains("#HttpOnly_127.0.0.1") && cookies.contains("ferry_admin"), "{cookies}");
    let (status, page) = curl_http(&node.base(), "GET", "/users", None, None, &["-b", jar_s]);
    assert_eq!(status, 200);
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = ["-b", jar_s, "-d", "name=mallory&password=pw&permissions_set=1"];
    assert_eq!(curl_http(&node.base(), "POST", "/users/new", None, None, &form).0, 403, "no CSRF token");
    let with_token = format!("name=mallory&password=pw&permissions_set=1&csrf={csrf}");
    let cross = ["-b", jar_s, "-H", "Origin: http://evil.example", "-d", &with_token];
    assert_eq!(curl_http(&node.base(), "POST", "/users/new", None, None, &cross).0, 403, "cross-site, even with the token");
    let json_with_cookie = ["-b", jar_s];
    assert_eq!(
        curl_http(&node.base(), "POST", "/api/v1/users", None, Some(r#"{"name":"mallory","password":"pw"}"#), &json_with_cookie).0,
        403,
        "the API with a cookie needs X-CSRF-Token"
    );
    let token = node.login();
    node.api_json("GET", "/api/v1/users/mallory", &token, None, 404);
    let same_site = ["-b", jar_s, "-d", &with_token];
    assert_eq!(curl_http(&node.base(), "POST", "/users/new", None, None, &same_site).0, 303);
    node.api_json("GET", "/api/v1/users/mallory", &token, None, 200);

    // Bans: two wrong FTP passwords and one wrong admin password.
    for _ in 0..2 {
        let (code, _) = curl_ftp(&["-u", "alice:wrong", "-l", &format!("ftp://127.0.0.1:{}/", node.ftp)]);
        assert_eq!(code, 67);
    }
    let (status, body) = node.api("POST", "/api/v1/login", None, Some(&format!(r#"{{"name":"{ADMIN}","password":"wrong"}}"#)));
    assert_eq!(status, 403, "the third failure bans: {body}");
    let (status, body) = node.api("POST", "/api/v1/login", None, Some(&format!(r#"{{"name":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#)));
    assert_eq!(status, 403, "banned even with the right password: {body}");
    let bans = node.api_json("GET", "/api/v1/bans", &token, None, 200);
    assert_eq!(bans["bans"][0]["address"], "127.0.0.1", "{bans}");
    node.api_json("DELETE", "/api/v1/bans/127.0.0.1", &token, None, 204);
    node.api_json("DELETE", "/api/v1/bans/127.0.0.1", &token, None, 404);
    node.api_json("DELETE", "/api/v1/bans/not-an-ip", &token, None, 400);
    node.login();
    let failed = node.api_json("GET", "/api/v1/events?event=admin-login-failed", &token, None, 200);
    assert_eq!(failed["events"][0]["event"]["admin"], ADMIN);
    node.api_json("POST", "/api/v1/reload", &token, None, 200);
    let doc = node.api_json("GET", "/api/v1/openapi.json", &token, None, 200);
    assert!(doc["paths"]["/api/v1/sessions/{id}"]["delete"].is_object(), "{doc}");
}

/// The first start with `--admin-listen` and no admin makes one and shows
/// its password once; a clear-text listener on a public address is
/// refused; `--admin-https` serves HTTPS with the server's certificate.
#[test]
fn first_admin_https_and_no_clear_text_off_loopback() {
    if !require("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start { no_admin: true, args: &["--admin-https"], ..Start::default() });
    let out = node.stdout();
    let password = out.lines().find_map(|l| l.trim().strip_prefix("password: ")).filter(|p| p.len() >= 16);
    // The FTP account's first-run line comes first; the admin's is the last.
    let password = out.lines().rev().find_map(|l| l.trim().strip_prefix("password: ")).or(password).unwrap().to_owned();
    assert!(out.contains("created the admin account \"admin\""), "{out}");
    let cert = dir.path().join("ferryd-cert.pem");
    let base = format!("https://127.0.0.1:{}", node.admin);
    let body = format!(r#"{{"name":"admin","password":"{password}"}}"#);
    let (status, text) = curl_http(&base, "POST", "/api/v1/login", None, Some(&body), &["--cacert", cert.to_str().unwrap()]);
    assert_eq!(status, 200, "{text}");
    let (status, _) = curl_http(&base, "GET", "/api/v1/healthz", None, None, &[]);
    assert_eq!(status, 0, "curl refuses an unknown certificate");
    let (status, _) = curl_http(&node.base(), "GET", "/api/v1/healthz", None, None, &[]);
    assert_ne!(status, 200, "no clear text on an HTTPS listener");
    let jar = dir.path().join("jar");
    let login = ["--cacert", cert.to_str().unwrap(), "-c", jar.to_str().unwrap(), "-d", &format!("name=admin&password={password}")];
    assert_eq!(curl_http(&base, "POST", "/login", None, None, &login).0, 303);
    assert!(std::fs::read_to_string(&jar).unwrap().contains("\t/\tTRUE\t"), "the cookie is Secure under HTTPS");

    let out = Command::new(super::FERRYD)
        .args(["--no-tls", "--admin-listen", "192.0.2.1:9999", "--port", &ferry_testkit::free_port().to_string(), "--users"])
        .arg(dir.path().join("users.txt"))
        .arg("--root")
        .arg(dir.path().join("root"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("clear text") && err.contains("loopback"), "{err}");
}
