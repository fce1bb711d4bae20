//! Event hooks through the real binary: a webhook receiver (Python's
//! `http.server`, checking the signature itself) and a command hook (a
//! real script), fed by uploads from curl, lftp and ftplib.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testkit::{Control, Spawned, free_port, pseudo_random, wait_for_port};

const FERRYD: &str = env!("CARGO_BIN_EXE_ferryd");
const SECRET: &str = "s3cret";

/// Appends one JSON line per POST: the event and whether its signature
/// was right (recomputed here, HMAC-SHA256 with the shared secret).
const RECEIVER: &str = r#"
import hashlib, hmac, http.server, json, sys
out, secret, port = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(self.headers.get("X-Ferry-Signature", ""), want)
        with open(out, "a") as f:
            f.write(json.dumps({"signed": signed, "id_header": self.headers.get("X-Ferry-Event-Id"), "event": json.loads(body)}) + "\n")
        self.send_response(200 if signed else 401)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

struct Setup {
    dir: tempfile::TempDir,
    port: u16,
    receiver_port: u16,
}

impl Setup {
    fn new(extra_hooks: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.txt");
        ferry_server::auth::users_file::set_user(&users, "alice", "pw").unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        let (port, receiver_port) = (free_port(), free_port());
        let config = format!(
            r#"port = {port}
tls = false
root = "{root}"
users = "{users}"
hook-spool = "{spool}"

[[hooks]]
name = "ingest"
events = ["upload", "upload-failed"]
url = "http://127.0.0.1:{receiver_port}/ferry"
secret = "{SECRET}"
digest = "sha256"
timeout = "5s"
{extra_hooks}
"#,
            root = dir.path().join("root").display(),
            users = users.display(),
            spool = dir.path().join("spool").display(),
        );
        std::fs::write(dir.path().join("ferryd.toml"), config).unwrap();
        Setup { dir, port, receiver_port }
    }

    fn ferryd(&self) -> Spawned {
        let child = Command::new(FERRYD)
            .arg("--config")
            .arg(self.dir.path().join("ferryd.toml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("ferryd.log")).unwrap())
            .spawn()
            .unwrap();
        wait_for_port(self.port);
        Spawned(child)
    }

    fn receiver(&self) -> Spawned {
        let child = Command::new("python3")
            .args(["-c", RECEIVER])
            .arg(self.received_path())
            .arg(SECRET)
            .arg(self.receiver_port.to_string())
            .spawn()
            .unwrap();
        wait_for_port(self.receiver_port);
        Spawned(child)
    }

    fn received_path(&self) -> PathBuf {
        self.dir.path().join("received.jsonl")
    }

    /// What the receiver got, once `n` events arrived (or the deadline).
    fn received(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received_now();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the receiver got so far.
    fn received_now(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.received_path()).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn local(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn one_signed_event_per_upload_from_curl_lftp_and_ftplib() {
    if !ferry_testkit::require("curl") || !ferry_testkit::require("lftp") || !ferry_testkit::require("python3") {
        return;
    }
    let s = Setup::new("");
    let _ferryd = s.ferryd();
    let _receiver = s.receiver();
    let (a, b, c) = (pseudo_random(300_000, 1), pseudo_random(70_000, 2), pseudo_random(5, 3));
    let (la, lb, lc) = (s.local("a.bin", &a), s.local("b.bin", &b), s.local("c.bin", &c));
    run(Command::new("curl").args(["-sS", "--max-time", "60", "-T"]).arg(&la).arg(format!("ftp://alice:pw@127.0.0.1:{}/a.bin", s.port)));
    run(Command::new("lftp")
        .args(["-u", "alice,pw", "-p", &s.port.to_string(), "-e"])
        .arg(format!("set ftp:ssl-allow no; set net:max-retries 1; put {} -o b.bin; bye", lb.display()))
        .arg("127.0.0.1"));
    run(Command::new("python3").args([
        "-c",
        &format!(
            "import ftplib; f = ftplib.FTP(); f.connect('127.0.0.1', {}); f.login('alice', 'pw'); f.storbinary('STOR c.bin', open('{}', 'rb')); f.quit()",
            s.port,
            lc.display()
        ),
    ]));
    // An upload aborted half-way is an upload-failed, never an upload.
    let mut ctl = Control::connect(format!("127.0.0.1:{}", s.port).parse().unwrap());
    ctl.login("alice", "pw");
    ctl.aborted_upload("STOR part.bin", b"half");
    ctl.expect("QUIT", 221);
    let got = s.received(4);
    assert_eq!(got.len(), 4, "{got:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.received_now().len(), 4, "no more than one event per upload");
    for g in &got {
        assert_eq!(g["signed"], true, "{g}");
        assert_eq!(g["id_header"], g["event"]["id"], "{g}");
        assert!(!g["event"]["path"].as_str().unwrap().contains(".~ferry-"), "a temporary name: {g}");
    }
    let by_path =
        |p: &str| got.iter().find(|g| g["event"]["path"] == p).unwrap_or_else(|| panic!("no event for {p}: {got:?}"))["event"].clone();
    for (path, bytes) in [("/a.bin", &a), ("/b.bin", &b), ("/c.bin", &c)] {
        let e = by_path(path);
        assert_eq!(e["event"], "upload", "{e}");
        assert_eq!(e["version"], 1, "{e}");
        assert_eq!((e["user"].as_str(), e["protocol"].as_str()), (Some("alice"), Some("ftp")), "{e}");
        assert_eq!(e["size"], bytes.len() as u64, "{e}");
        assert_eq!(e["sha256"], sha256_hex(bytes), "{e}");
    }
    assert_eq!(by_path("/part.bin")["event"], "upload-failed");
}

#[test]
fn events_spooled_while_the_receiver_is_down_arrive_after_a_restart() {
    if !ferry_testkit::require("python3") {
        return;
    }
    let s = Setup::new("");
    let ferryd = s.ferryd();
    let mut ctl = Control::connect(format!("127.0.0.1:{}", s.port).parse().unwrap());
    ctl.login("alice", "pw");
    for i in 0..3 {
        assert_eq!(ctl.upload(&format!("STOR f{i}.txt"), format!("file {i}").as_bytes()).code, 226);
    }
    ctl.expect("QUIT", 221);
    // ferryd stops with the three events undelivered (nobody listens).
    drop(ferryd);
    let _ferryd = s.ferryd();
    let _receiver = s.receiver();
    let got = s.received(3);
    std::thread::sleep(Duration::from_millis(500));
    let got_later = s.received_now();
    assert_eq!(got_later.len(), 3, "each event once: {got_later:?}");
    let mut paths: Vec<&str> = got.iter().map(|g| g["event"]["path"].as_str().unwrap()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/f0.txt", "/f1.txt", "/f2.txt"]);
    let mut ids: Vec<&str> = got.iter().map(|g| g["event"]["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn a_command_hook_gets_the_event_on_stdin_and_in_its_environment() {
    let s0 = tempfile::tempdir().unwrap();
    let script = s0.path().join("hook.sh");
    let out = s0.path().join("hook.out");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n{{ env | grep '^FERRY_' | sort; echo STDIN; cat; echo; echo END; }} >> '{}'\n", out.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Setup::new(&format!(
        "[[hooks]]\nname = \"script\"\nevents = [\"upload\"]\npaths = [\"*.csv\"]\ncommand = [\"{}\", \"--queue\", \"ftp\"]\ndigest = \"sha256\"\n",
        script.display()
    ));
    let _ferryd = s.ferryd();
    let mut ctl = Control::connect(format!("127.0.0.1:{}", s.port).parse().unwrap());
    ctl.login("alice", "pw");
    assert_eq!(ctl.upload("STOR report.csv", b"a,b\n1,2\n").code, 226);
    assert_eq!(ctl.upload("STOR skipped.txt", b"not a csv").code, 226);
    ctl.expect("QUIT", 221);
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let t = std::fs::read_to_string(&out).unwrap_or_default();
        if t.contains("\nEND\n") || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (env, stdin) = text.split_once("STDIN\n").unwrap_or_else(|| panic!("the hook did not run: {text:?}"));
    for want in [
        "FERRY_EVENT=upload".to_owned(),
        "FERRY_USER=alice".to_owned(),
        "FERRY_PATH=/report.csv".to_owned(),
        format!("FERRY_FS_PATH={}", s.dir.path().join("root/report.csv").display()),
        "FERRY_SIZE=8".to_owned(),
        format!("FERRY_SHA256={}", sha256_hex(b"a,b\n1,2\n")),
        "FERRY_PROTOCOL=ftp".to_owned(),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} missing in:\n{env}");
    }
    assert!(env.lines().any(|l| l.starts_with("FERRY_EVENT_ID=")), "{env}");
    assert!(env.lines().any(|l| l.starts_with("FERRY_PEER=127.0.0.1")), "{env}");
    let event: serde_json::Value = serde_json::from_str(stdin.trim_end().trim_end_matches("END").trim()).unwrap();
    assert_eq!((event["event"].as_str(), event["path"].as_str()), (Some("upload"), Some("/report.csv")));
    assert!(!text.contains("skipped.txt"), "the path filter let a .txt through:\n{text}");
}

#[test]
fn check_config_names_the_hook_and_the_key_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let check = |hooks: &str| {
        let conf = dir.path().join("ferryd.toml");
        std::fs::write(&conf, format!("users = \"{}\"\n{hooks}", dir.path().join("users.txt").display())).unwrap();
        let out = Command::new(FERRYD).arg("check-config").arg("--config").arg(&conf).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, text) = check("[[hooks]]\nname = \"ingest\"\nevents = [\"uplaod\"]\nurl = \"http://127.0.0.1:1/\"\n");
    assert!(!ok && text.contains("hook \"ingest\"") && text.contains("`events`") && text.contains("uplaod"), "{text}");
    // The file and the line of the hook's table are named: the config has
    // the users key on line 1, so [[hooks]] is on line 2.
    assert!(text.contains("ferryd.toml, line 2: [[hooks]]"), "{text}");
    let (ok, text) = check("[[hooks]]\nname = \"run\"\nevents = [\"upload\"]\n");
    assert!(!ok && text.contains("hook \"run\"") && (text.contains("`url`") || text.contains("`command`")), "{text}");
    let (ok, text) = check("[[hooks]]\nname = \"g\"\nevents = [\"upload\"]\npaths = [\"/a/[\"]\ncommand = [\"/bin/true\"]\n");
    assert!(!ok && text.contains("`paths`"), "{text}");
    // Passwords never go to a plain-HTTP receiver elsewhere.
    let (ok, text) = check("[[hooks]]\nname = \"sso\"\nevents = [\"pre-login\"]\nurl = \"http://192.0.2.1/login\"\n");
    assert!(!ok && text.contains("hook \"sso\"") && text.contains("`url`") && text.contains("https://"), "{text}");
    let (ok, text) = check("[[hooks]]\nname = \"sso\"\nevents = [\"pre-login\"]\nurl = \"http://127.0.0.1:9/login\"\n");
    assert!(ok, "loopback is fine: {text}");
    // A key that is no hook key is refused with its line, as everywhere.
    let (ok, text) = check("[[hooks]]\nname = \"x\"\nevents = [\"upload\"]\ncommand = [\"/bin/true\"]\nretries = 3\n");
    assert!(!ok && text.contains("retries") && text.contains("line"), "{text}");
    let (ok, text) =
        check("[[hooks]]\nname = \"fine\"\nevents = [\"upload\", \"rename\"]\npaths = [\"*.csv\"]\ncommand = [\"/bin/true\"]\n");
    assert!(ok, "{text}");
    // What check-config prints back says the hooks too, never the secret.
    let (ok, text) = check("[[hooks]]\nname = \"signed\"\nevents = [\"upload\"]\nurl = \"http://127.0.0.1:1/\"\nsecret = \"s3cret\"\n");
    assert!(ok, "{text}");
    let printed = "[[hooks]]\nname = \"signed\"\nevents = [\"upload\"]\nurl = \"http://127.0.0.1:1/\"\nsecret = \"***\"";
    assert!(text.contains(printed), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

/// README's worked example, as shipped in `contrib/hooks/move-csv.sh`.
#[test]
fn the_readme_example_moves_each_uploaded_csv_into_a_processing_folder() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contrib/hooks/move-csv.sh");
    let processing = tempfile::tempdir().unwrap();
    let s = Setup::new(&format!(
        "[[hooks]]\nname = \"csv-to-processing\"\nevents = [\"upload\"]\npaths = [\"*.csv\"]\ncommand = [\"{script}\", \"{}\"]\n",
        processing.path().display()
    ));
    let _ferryd = s.ferryd();
    let mut ctl = Control::connect(format!("127.0.0.1:{}", s.port).parse().unwrap());
    ctl.login("alice", "pw");
    assert_eq!(ctl.upload("STOR report.csv", b"a,b\n1,2\n").code, 226);
    assert_eq!(ctl.upload("STOR notes.txt", b"stays").code, 226);
    ctl.expect("QUIT", 221);
    let deadline = Instant::now() + Duration::from_secs(30);
    let moved = loop {
        let found: Vec<PathBuf> = std::fs::read_dir(processing.path()).unwrap().map(|e| e.unwrap().path()).collect();
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(moved.len(), 1, "{moved:?}");
    let name = moved[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.ends_with("-report.csv") && name.len() == 32 + "-report.csv".len(), "named by the event id: {name}");
    assert_eq!(std::fs::read(&moved[0]).unwrap(), b"a,b\n1,2\n");
    assert!(!s.dir.path().join("root/report.csv").exists(), "moved, not copied");
    assert_eq!(std::fs::read(s.dir.path().join("root/notes.txt")).unwrap(), b"stays");
}

#[test]
fn a_pre_upload_hook_refuses_what_it_says_and_an_unreachable_one_refuses_by_default() {
    let tools = tempfile::tempdir().unwrap();
    let script = tools.path().join("pre-upload.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ncase \"$FERRY_PATH\" in\n  *.exe) echo \"executables are not accepted ($FERRY_SIZE bytes announced)\"; exit 1;;\nesac\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let down = free_port();
    let s = Setup::new(&format!(
        "[[hooks]]\nname = \"no-exe\"\nevents = [\"pre-upload\"]\ncommand = [\"{}\"]\n\n\
         [[hooks]]\nname = \"down\"\nevents = [\"pre-upload\"]\npaths = [\"/guarded/**\"]\nurl = \"http://127.0.0.1:{down}/\"\ntimeout = \"2s\"\n\n\
         [[hooks]]\nname = \"lenient\"\nevents = [\"pre-upload\"]\npaths = [\"/open/**\"]\nurl = \"http://127.0.0.1:{down}/\"\non-error = \"allow\"\n",
        script.display()
    ));
    std::fs::create_dir(s.dir.path().join("root/guarded")).unwrap();
    std::fs::create_dir(s.dir.path().join("root/open")).unwrap();
    let _ferryd = s.ferryd();
    let mut c = Control::connect(format!("127.0.0.1:{}", s.port).parse().unwrap());
    c.login("alice", "pw");
    c.expect("ALLO 9", 202);
    let r = c.expect("STOR setup.exe", 553);
    assert_eq!(r.text(), "/setup.exe: executables are not accepted (9 bytes announced)");
    assert!(!s.dir.path().join("root/setup.exe").exists(), "nothing on disk");
    assert_eq!(c.upload("STOR notes.txt", b"fine").code, 226);
    let r = c.expect("STOR guarded/x.txt", 553);
    assert_eq!(r.text(), "/guarded/x.txt: the upload check is unavailable; try again later");
    assert!(!s.dir.path().join("root/guarded/x.txt").exists());
    assert_eq!(c.upload("STOR open/y.txt", b"let through").code, 226, "on-error = allow");
    c.expect("QUIT", 221);
}

#[test]
fn a_pre_login_hook_decides_who_gets_in_and_with_which_home() {
    let tools = tempfile::tempdir().unwrap();
    let script = tools.path().join("pre-login.sh");
    // Knows one user; reads the password from the JSON on stdin (never
    // from the environment), and gives the user's settings back.
    std::fs::write(
        &script,
        "#!/bin/sh\nbody=$(cat)\ncase \"$body\" in\n  *'\"user\":\"carol\"'*'\"password\":\"letmein\"'*) echo '{\"home\": \"/carol\", \"permissions\": [\"list\", \"read\", \"write\"]}'; exit 0;;\nesac\necho denied >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Setup::new(&format!(
        "[[hooks]]\nname = \"sso\"\nevents = [\"pre-login\"]\nusers = [\"carol\", \"dave\"]\ncommand = [\"{}\"]\n",
        script.display()
    ));
    let _ferryd = s.ferryd();
    let addr = format!("127.0.0.1:{}", s.port).parse().unwrap();
    let mut c = Control::connect(addr);
    c.login("carol", "letmein");
    c.expect("PWD", 257);
    assert_eq!(c.upload("STOR in-home.txt", b"carol's").code, 226);
    assert_eq!(std::fs::read(s.dir.path().join("root/carol/in-home.txt")).unwrap(), b"carol's", "the home the hook gave");
    c.expect("DELE in-home.txt", 550);
    c.expect("QUIT", 221);
    let mut c = Control::connect(addr);
    c.expect("USER carol", 331);
    c.expect("PASS wrong", 530);
    c.expect("USER dave", 331);
    c.expect("PASS anything", 530);
    // Users no hook covers log in as before.
    c.login("alice", "pw");
    c.expect("QUIT", 221);
}

#[test]
fn a_pre_login_hook_that_cannot_be_asked_gives_421_and_no_ban() {
    let s = Setup::new(
        "[[hooks]]\nname = \"sso\"\nevents = [\"pre-login\"]\nusers = [\"carol\"]\ncommand = [\"/nonexistent/ferry-pre-login\"]\n",
    );
    let conf = s.dir.path().join("ferryd.toml");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replacen("tls = false\n", "tls = false\nban-after = 2\nfailure-delay-ms = 0\n", 1)).unwrap();
    let _ferryd = s.ferryd();
    let addr = format!("127.0.0.1:{}", s.port).parse().unwrap();
    for _ in 0..4 {
        let mut c = Control::connect(addr);
        c.expect("USER carol", 331);
        let r = c.expect("PASS letmein", 421);
        assert_eq!(r.text(), "Account database unavailable; try again later.");
    }
    // Four outages later the address is not banned.
    let mut c = Control::connect(addr);
    c.login("alice", "pw");
    c.expect("QUIT", 221);
}

#[test]
fn a_pre_login_answer_is_reused_for_the_cache_time_only_for_the_same_password() {
    let tools = tempfile::tempdir().unwrap();
    let (script, calls) = (tools.path().join("pre-login.sh"), tools.path().join("calls"));
    std::fs::write(&script, format!("#!/bin/sh\necho call >> '{}'\ncat | grep -q '\"password\":\"right\"'\n", calls.display())).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Setup::new(&format!(
        "[[hooks]]\nname = \"sso\"\nevents = [\"pre-login\"]\nusers = [\"erin\"]\ncommand = [\"{}\"]\ncache = \"60s\"\n",
        script.display()
    ));
    let _ferryd = s.ferryd();
    let addr = format!("127.0.0.1:{}", s.port).parse().unwrap();
    let count = || std::fs::read_to_string(&calls).unwrap_or_default().lines().count();
    for _ in 0..3 {
        let mut c = Control::connect(addr);
        c.login("erin", "right");
        c.expect("QUIT", 221);
    }
    assert_eq!(count(), 1, "two logins came from the cache");
    let mut c = Control::connect(addr);
    c.expect("USER erin", 331);
    c.expect("PASS wrong", 530);
    assert_eq!(count(), 2, "another password is asked about");
    c.expect("QUIT", 221);
}

#[test]
fn hook_deliveries_show_in_the_servers_metrics() {
    if !ferry_testkit::require("curl") || !ferry_testkit::require("python3") {
        return;
    }
    let s = Setup::new("");
    let metrics = free_port();
    let conf = s.dir.path().join("ferryd.toml");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replacen("tls = false\n", &format!("tls = false\nmetrics-listen = \"127.0.0.1:{metrics}\"\n"), 1)).unwrap();
    let _ferryd = s.ferryd();
    let _receiver = s.receiver();
    let mut c = Control::connect(format!("127.0.0.1:{}", s.port).parse().unwrap());
    c.login("alice", "pw");
    assert_eq!(c.upload("STOR m.txt", b"counted").code, 226);
    c.expect("QUIT", 221);
    assert_eq!(s.received(1).len(), 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let out =
            Command::new("curl").args(["-sS", "--max-time", "10"]).arg(format!("http://127.0.0.1:{metrics}/metrics")).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("ferry_hook_deliveries_total{hook=\"ingest\",result=\"delivered\"} 1") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(text.contains("ferry_hook_deliveries_total{hook=\"ingest\",result=\"delivered\"} 1"), "{text}");
    assert!(text.contains("ferry_hook_spool_depth 0"), "{text}");
    assert!(text.contains("ferry_transfers_total{direction=\"in\",result=\"ok\"} 1"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1, "one exposition: {text}");
}

#[test]
fn pre_login_denials_count_towards_a_ban_as_wrong_passwords_do() {
    let s = Setup::new("[[hooks]]\nname = \"sso\"\nevents = [\"pre-login\"]\nusers = [\"carol\"]\ncommand = [\"/bin/false\"]\n");
    let conf = s.dir.path().join("ferryd.toml");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replacen("tls = false\n", "tls = false\nban-after = 2\nfailure-delay-ms = 0\n", 1)).unwrap();
    let _ferryd = s.ferryd();
    let mut c = Control::connect(format!("127.0.0.1:{}", s.port).parse().unwrap());
    c.expect("USER carol", 331);
    c.expect("PASS guess1", 530);
    c.expect("USER carol", 331);
    let r = c.expect("PASS guess2", 421);
    assert_eq!(r.text(), "Too many failed logins from your address; try again later.");
}
