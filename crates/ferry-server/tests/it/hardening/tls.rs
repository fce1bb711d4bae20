//! Issue 10 hardening tests: tls. Item 1: FTPS stopped after two transfers
//! per login, and rclone failed over TLS. ferryd sent two single-use TLS
//! 1.3 tickets per login and none on data connections, gave every session
//! its own ticket key (so a ticket from rclone's other control connection
//! could not be opened), and refused every data connection that did not
//! resume. Now one ticket key serves the server, every TLS session is bound
//! to its login, logins of one user from one address may share, downloads
//! and listings bring fresh tickets, and uploads never get one they would
//! not read (`ferry` is tested in ferry-client's `ftps` tests).

mod rustls_client;

use std::process::{Command, Output, Stdio};

use ferry_testkit::{PASSWORD, PLAIN_PASSWORD, PLAIN_USER, STEP_TIMEOUT, Spawned, TestServer, USER, pseudo_random, require, tree};
use rustls_client::{Copied, Ftps, SERVER_NAME, VERSIONS, Version, config, config_with_suites, store};

#[track_caller]
fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// rustls clients, TLS 1.3 and TLS 1.2 (tickets and session IDs): many
/// transfers on one login, every data connection resumed.
#[test]
fn i01_rustls_many_transfers_per_login_on_tls12_and_tls13() {
    let s = TestServer::start_tls(|_| {});
    for v in VERSIONS {
        let mut c = Ftps::explicit(s.addr, &config(v, store()));
        c.login(USER, PASSWORD);
        for i in 0..12u64 {
            let name = format!("{v:?}-{i}");
            let data = pseudo_random(10_000 + i as usize * 7_777, i);
            std::fs::write(s.root().join(format!("{name}.down")), &data).unwrap();
            let d = c.download(&format!("RETR {name}.down"));
            assert_eq!((d.reply.code, d.resumed), (226, true), "{v:?} RETR {i}: {:?}", d.reply);
            assert!(d.bytes == data, "{v:?}: download {i} differs");
            let l = c.download("NLST");
            assert_eq!((l.reply.code, l.resumed), (226, true), "{v:?} NLST {i}: {:?}", l.reply);
            assert!(String::from_utf8_lossy(&l.bytes).contains(&format!("{name}.down")));
            let up = pseudo_random(20_000 + i as usize * 5_555, 100 + i);
            let u = c.upload_like_curl(&format!("STOR {name}.up"), &up);
            assert_eq!((u.reply.code, u.resumed), (226, true), "{v:?} STOR {i}: {:?}", u.reply);
            assert!(std::fs::read(s.root().join(format!("{name}.up"))).unwrap() == up, "{v:?}: upload {i} differs");
        }
        assert_eq!(
            c.version(),
            Some(if v == Version::Tls13 { rustls::ProtocolVersion::TLSv1_3 } else { rustls::ProtocolVersion::TLSv1_2 })
        );
        c.expect("QUIT", 221);
    }
}

/// The trap that made data connections ticket-free: a TLS 1.3 ticket on an
/// upload connection that the client never reads makes the client's
/// kernel reset the connection when it closes, and the end of the upload
/// is lost. Uploads closed the way curl closes them (close_notify, then
/// close without reading) must arrive whole, every time.
#[test]
fn i01_uploads_closed_like_curl_are_complete() {
    let s = TestServer::start_tls(|_| {});
    // A raw rustls client that never reads an upload connection.
    for v in VERSIONS {
        let mut c = Ftps::explicit(s.addr, &config(v, store()));
        c.login(USER, PASSWORD);
        for i in 0..30u64 {
            let data = pseudo_random(300_000 + i as usize * 40_009, 500 + i);
            let name = format!("raw-{v:?}-{i}.bin");
            let u = c.upload_like_curl(&format!("STOR {name}"), &data);
            assert_eq!((u.reply.code, u.resumed), (226, true), "{v:?} upload {i}: {:?}", u.reply);
            let got = std::fs::read(s.root().join(&name)).unwrap();
            assert!(got == data, "{v:?} upload {i}: {} of {} bytes arrived", got.len(), data.len());
            if v == Version::Tls13 {
                // A rustls client that does not ask for tickets on uploads
                // (RFC 9149) gets its next ones from a listing.
                assert_eq!(c.download("NLST").reply.code, 226);
            }
        }
    }
    if !require("curl") {
        return;
    }
    let local = s.scratch().join("curl");
    std::fs::create_dir_all(&local).unwrap();
    let mut names = Vec::new();
    for i in 0..30u64 {
        let name = format!("c{i:02}.bin");
        std::fs::write(local.join(&name), pseudo_random(300_000 + i as usize * 40_009, 600 + i)).unwrap();
        names.push(name);
    }
    let curl = |args: &[&str]| {
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "120", "--ssl-reqd", "--insecure", "-u", &format!("{USER}:{PASSWORD}")])
            .args(args)
            .current_dir(&local)
            .output()
            .expect("run curl")
    };
    // TLS 1.2: thirty uploads on one login.
    let glob = format!("{{{}}}", names.join(","));
    let out = curl(&["-v", "--tls-max", "1.2", "--ftp-create-dirs", "-T", &glob, &format!("ftp://{}/c12/", s.addr)]);
    assert_ok("curl -T over TLS 1.2", &out);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(log.matches("< 234 ").count(), 1, "one login:\n{log}");
    assert!(log.contains("SSL connection using TLSv1.2"), "{log}");
    // TLS 1.3: curl 7.88 uses each cached TLS 1.3 session once and learns a
    // new one only from a ticket, so after an upload it cannot resume on
    // the same login (curl issue #4654); thirty logins, one upload each.
    for name in &names {
        let out = curl(&["--tlsv1.3", "--ftp-create-dirs", "-T", name, &format!("ftp://{}/c13/{name}", s.addr)]);
        assert_ok("curl -T over TLS 1.3", &out);
    }
    for dir in ["c12", "c13"] {
        assert_eq!(tree(&s.root().join(dir)), tree(&local), "curl uploads over {dir} arrived incomplete");
    }
}

/// A TLS upload cut off without `close_notify` is a truncation: it is
/// not committed, the file it would have replaced keeps its bytes, and
/// the session goes on. So does one ended by `ABOR` mid-download.
#[test]
fn i01_a_truncated_tls_upload_or_an_aborted_download_loses_nothing() {
    let s = TestServer::start_tls(|_| {});
    let old = pseudo_random(100_000, 7);
    std::fs::write(s.root().join("keep.bin"), &old).unwrap();
    let big = pseudo_random(16 << 20, 8);
    std::fs::write(s.root().join("big.bin"), &big).unwrap();
    for v in VERSIONS {
        let mut c = Ftps::explicit(s.addr, &config(v, store()));
        c.login(USER, PASSWORD);
        let r = c.upload_cut("STOR keep.bin", &pseudo_random(300_000, 9));
        assert_eq!(r.code, 426, "{v:?}: {r:?}");
        assert!(std::fs::read(s.root().join("keep.bin")).unwrap() == old, "{v:?}: the old file changed");
        let (first, second) = c.abort_download("big.bin");
        assert_eq!((first.code, second.code), (426, 226), "{v:?}: {first:?} {second:?}");
        c.expect("NOOP", 200);
        let d = c.download("RETR keep.bin");
        assert_eq!(d.reply.code, 226);
        assert!(d.bytes == old, "{v:?}: the session's next download");
    }
}

/// OpenSSL (curl): at least ten transfers on one login, TLS 1.2 and 1.3.
#[test]
fn i01_curl_many_transfers_per_login() {
    if !require("curl") {
        return;
    }
    let s = TestServer::start_tls(|_| {});
    let local = s.scratch();
    for i in 0..5u64 {
        std::fs::write(s.root().join(format!("d{i}.bin")), pseudo_random(50_000 + i as usize * 33_333, 700 + i)).unwrap();
        std::fs::write(local.join(format!("u{i}.bin")), pseudo_random(60_000 + i as usize * 44_444, 800 + i)).unwrap();
    }
    for (version, tag) in [("--tls-max 1.2", "TLSv1.2"), ("--tlsv1.3", "TLSv1.3")] {
        let common = format!("--silent --show-error --max-time 120 --ssl-reqd --insecure -u {USER}:{PASSWORD} {version}");
        let common: Vec<&str> = common.split(' ').collect();
        let mut args: Vec<String> = vec!["-v".into()];
        let mut next = |extra: Vec<String>| {
            if args.len() > 1 {
                args.push("--next".into());
            }
            args.extend(common.iter().map(|s| s.to_string()));
            args.extend(extra);
        };
        let dir = format!("{}/{tag}", s.addr);
        for i in 0..5 {
            next(vec![format!("ftp://{}/d{i}.bin", s.addr), "-o".into(), format!("{tag}-d{i}.bin")]);
            next(vec![format!("ftp://{}/", s.addr), "-o".into(), format!("{tag}-list{i}.txt")]);
            // curl 7.88 cannot resume after an upload on a TLS 1.3 login
            // (see above): there, one upload, last.
            if tag == "TLSv1.2" || i == 4 {
                next(vec!["--ftp-create-dirs".into(), "-T".into(), format!("u{i}.bin"), format!("ftp://{dir}/u{i}.bin")]);
            }
        }
        let out = Command::new("curl").args(&args).current_dir(&local).output().expect("run curl");
        assert_ok(&format!("curl over {tag}"), &out);
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(log.matches("< 234 ").count(), 1, "one login:\n{log}");
        assert!(log.matches(&format!("SSL connection using {tag}")).count() >= 11, "{log}");
        for i in 0..5 {
            assert!(
                std::fs::read(local.join(format!("{tag}-d{i}.bin"))).unwrap() == std::fs::read(s.root().join(format!("d{i}.bin"))).unwrap()
            );
            assert!(std::fs::read_to_string(local.join(format!("{tag}-list{i}.txt"))).unwrap().contains("d4.bin"));
            if tag == "TLSv1.2" || i == 4 {
                assert!(
                    std::fs::read(s.root().join(format!("{tag}/u{i}.bin"))).unwrap()
                        == std::fs::read(local.join(format!("u{i}.bin"))).unwrap()
                );
            }
        }
    }
}

/// GnuTLS (lftp), TLS 1.2 and 1.3: twelve transfers on one login.
#[test]
fn i01_lftp_many_transfers_per_login() {
    if !require("lftp") {
        return;
    }
    let s = TestServer::start_tls(|_| {});
    let local = s.scratch();
    for i in 0..4u64 {
        std::fs::write(s.root().join(format!("d{i}.bin")), pseudo_random(70_000 + i as usize * 55_555, 900 + i)).unwrap();
        std::fs::write(local.join(format!("u{i}.bin")), pseudo_random(80_000 + i as usize * 66_666, 950 + i)).unwrap();
    }
    for (tag, priority) in [("tls12", "NORMAL:-VERS-ALL:+VERS-TLS1.2"), ("tls13", "NORMAL:-VERS-ALL:+VERS-TLS1.3")] {
        let mut script = format!(
            "set net:max-retries 1; set net:timeout 20; set cmd:fail-exit yes; set xfer:clobber yes; set ftp:ssl-force true; \
             set ftp:ssl-protect-data true; set ssl:verify-certificate no; set ssl:priority \"{priority}\"; \
             open -u {USER},{PASSWORD} -p {} 127.0.0.1; mkdir {tag}",
            s.port()
        );
        for i in 0..4 {
            script += &format!("; put u{i}.bin -o {tag}/u{i}.bin; get d{i}.bin -o {tag}-d{i}.bin; cls -1 {tag}");
        }
        script += "; quit";
        let out = Command::new("lftp").args(["-e", &script]).current_dir(&local).output().expect("run lftp");
        assert_ok(&format!("lftp over {tag}"), &out);
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(listed.contains("u3.bin"), "{listed}");
        for i in 0..4 {
            assert!(
                std::fs::read(local.join(format!("{tag}-d{i}.bin"))).unwrap() == std::fs::read(s.root().join(format!("d{i}.bin"))).unwrap()
            );
            assert!(
                std::fs::read(s.root().join(format!("{tag}/u{i}.bin"))).unwrap() == std::fs::read(local.join(format!("u{i}.bin"))).unwrap()
            );
        }
    }
}

/// Python's `ssl` through ftplib. Stock `ftplib.FTP_TLS` never offers
/// session resumption on data connections (CPython issue #63699), so it
/// cannot work with any server that requires it (vsftpd's
/// `require_ssl_reuse` included); this uses the usual fix, a subclass that
/// passes the control connection's session.
const FTPLIB_SCRIPT: &str = r#"
import ftplib, io, ssl, sys
port, variant, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class ResumingFTP_TLS(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
            assert conn.session_reused, "data connection did not resume"
        return conn, size
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if variant != "tls13":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
else:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
if variant == "tls12-session-ids":
    ctx.options |= ssl.OP_NO_TICKET
f = ResumingFTP_TLS(context=ctx, timeout=20)
f.connect("127.0.0.1", port)
f.login(user, password)
f.prot_p()
for i in range(4):
    data = bytes((i * 7 + j) % 251 for j in range(100000 + i * 1000))
    f.storbinary("STOR %s-%d.bin" % (variant, i), io.BytesIO(data))
    got = io.BytesIO()
    f.retrbinary("RETR %s-%d.bin" % (variant, i), got.write)
    assert got.getvalue() == data, "download differs"
    assert "%s-%d.bin" % (variant, i) in f.nlst()
print(f.sock.version())
f.quit()
"#;

#[test]
fn i01_python_ssl_many_transfers_per_login() {
    if !require("python3") {
        return;
    }
    let s = TestServer::start_tls(|_| {});
    for (variant, version) in [("tls12-tickets", "TLSv1.2"), ("tls12-session-ids", "TLSv1.2"), ("tls13", "TLSv1.3")] {
        let out = Command::new("python3")
            .args(["-c", FTPLIB_SCRIPT, &s.port().to_string(), variant, USER, PASSWORD])
            .output()
            .expect("run python3");
        assert_ok(&format!("ftplib {variant}"), &out);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), version);
        for i in 0..4 {
            let data: Vec<u8> = (0..100_000 + i * 1000).map(|j| ((i * 7 + j) % 251) as u8).collect();
            assert!(std::fs::read(s.root().join(format!("{variant}-{i}.bin"))).unwrap() == data);
        }
    }
}

/// rclone (Go's crypto/tls) shares one session cache between its control
/// connections and offers whichever ticket came last, so data connections
/// resume other logins' sessions. 500 files up and back at its default
/// concurrency, over explicit and implicit TLS, with retries turned off so
/// that no failure hides.
#[test]
fn i01_rclone_syncs_500_files_over_explicit_and_implicit_tls() {
    if !require("rclone") {
        return;
    }
    let s = TestServer::start_tls(|_| {});
    let src = s.scratch().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..500u64 {
        std::fs::write(src.join(format!("f{i:03}.bin")), pseudo_random((i as usize * 7_919) % 6_000, 1000 + i)).unwrap();
    }
    let obscured = Command::new("rclone").args(["obscure", PASSWORD]).output().expect("run rclone");
    let pass = String::from_utf8(obscured.stdout).unwrap().trim().to_owned();
    let implicit_port = s.ftps_addr.unwrap().port();
    for (mode, port, tls) in [("explicit", s.port(), "explicit_tls=true"), ("implicit", implicit_port, "tls=true")] {
        let remote = format!(":ftp,host=127.0.0.1,port={port},user={USER},pass={pass},{tls},no_check_certificate=true:{mode}");
        let back = s.scratch().join(format!("back-{mode}"));
        for (from, to) in [(src.to_str().unwrap(), remote.as_str()), (remote.as_str(), back.to_str().unwrap())] {
            let out = Command::new("rclone")
                .args(["--config", "/dev/null", "sync", from, to, "--retries", "1", "--low-level-retries", "1", "--contimeout", "20s"])
                .args(["--timeout", "60s"])
                .stdin(Stdio::null())
                .output()
                .expect("run rclone");
            assert_ok(&format!("rclone sync over {mode} TLS"), &out);
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(!log.contains("ERROR"), "{log}");
        }
        assert_eq!(tree(&s.root().join(mode)), tree(&src), "{mode}: uploaded tree differs");
        assert_eq!(tree(&back), tree(&src), "{mode}: downloaded tree differs");
    }
}

/// Which data connections a TLS session may open. Clients here share one
/// session store between their control connections, as Go's crypto/tls
/// does, so a data connection offers the newest login's session.
#[test]
fn i01_a_tls_session_opens_data_connections_of_its_own_user_only() {
    let s = TestServer::start_tls(|_| {});
    std::fs::write(s.root().join("f.bin"), pseudo_random(100_000, 1)).unwrap();
    for v in VERSIONS {
        let shared = config(v, store());
        let mut a = Ftps::explicit(s.addr, &shared);
        a.login(USER, PASSWORD);
        assert_eq!(a.download("NLST").reply.code, 226, "{v:?}: own session");
        // A second control connection from the same address that did AUTH
        // TLS and no more: its session, offered on A's data connection, is
        // refused (after waiting a while for a login that does not come),
        // and a normal session works meanwhile. (The wait does not depend
        // on the TLS version; it is run once.)
        let mut b = Ftps::explicit(s.addr, &shared);
        if v == Version::Tls13 {
            let addr = s.addr;
            let normal = std::thread::spawn(move || {
                let mut n = Ftps::explicit(addr, &config(v, store()));
                n.login(USER, PASSWORD);
                (0..5).map(|_| n.download("RETR f.bin").reply.code).collect::<Vec<_>>()
            });
            let d = a.download("RETR f.bin");
            assert_eq!((d.reply.code, d.resumed), (522, true), "{v:?}: a session of a login in progress: {:?}", d.reply);
            assert!(d.bytes.is_empty());
            assert_eq!(normal.join().unwrap(), [226; 5], "{v:?}: a normal session during the attack");
        }
        // Logged in as another user: refused at once.
        b.login(PLAIN_USER, PLAIN_PASSWORD);
        let d = a.download("RETR f.bin");
        assert_eq!((d.reply.code, d.resumed), (522, true), "{v:?}: another user's session: {:?}", d.reply);
        assert!(d.reply.text().contains("another user"), "{:?}", d.reply);
        // The same user from the same address (rclone's case): accepted,
        // also after that login ended.
        let mut c = Ftps::explicit(s.addr, &shared);
        c.login(USER, PASSWORD);
        let d = a.download("RETR f.bin");
        assert_eq!((d.reply.code, d.resumed), (226, true), "{v:?}: the same user's other login: {:?}", d.reply);
        c.expect("QUIT", 221);
        drop(c);
        assert_eq!(a.download("NLST").reply.code, 226, "{v:?}: the same user's ended login");
        // A control connection that never logged in and left: refused.
        let mut e = Ftps::explicit(s.addr, &shared);
        e.expect("QUIT", 221);
        drop(e);
        let d = a.download("NLST");
        assert_eq!((d.reply.code, d.resumed), (522, true), "{v:?}: a session of a login that never was: {:?}", d.reply);
        a.expect("QUIT", 221);
    }
}

/// The ticket key outlives a certificate reload (SIGHUP): a login from
/// before the reload can use the session of one made after it, as rclone's
/// control connections do.
#[test]
fn i01_tickets_outlive_a_certificate_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (ferry_testkit::TestCa::new(), ferry_testkit::TestCa::new());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(first.cert_file(), &cert).unwrap();
    std::fs::copy(first.key_file(), &key).unwrap();
    let users = dir.path().join("users.txt");
    ferry_server::auth::users_file::set_user(&users, USER, PASSWORD).unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    std::fs::write(dir.path().join("root/f.bin"), b"across reloads").unwrap();
    let port = ferry_testkit::free_port();
    let child = Spawned(
        Command::new(env!("CARGO_BIN_EXE_ferryd"))
            .args(["--port", &port.to_string(), "--tls-cert"])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .arg("--users")
            .arg(&users)
            .arg("--root")
            .arg(dir.path().join("root"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    ferry_testkit::wait_for_port(port);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    for (i, v) in VERSIONS.into_iter().enumerate() {
        let shared = config(v, store());
        let mut a = Ftps::explicit(addr, &shared);
        a.login(USER, PASSWORD);
        let before = a.peer_cert();
        let next = if i % 2 == 0 { &second } else { &first };
        std::fs::copy(next.cert_file(), &cert).unwrap();
        std::fs::copy(next.key_file(), &key).unwrap();
        assert!(Command::new("kill").args(["-HUP", &child.0.id().to_string()]).status().unwrap().success());
        let deadline = std::time::Instant::now() + STEP_TIMEOUT;
        let mut b = loop {
            let b = Ftps::explicit(addr, &shared);
            if b.peer_cert() != before {
                break b;
            }
            assert!(std::time::Instant::now() < deadline, "the certificate was not reloaded");
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        b.login(USER, PASSWORD);
        let d = a.download("RETR f.bin");
        assert_eq!((d.reply.code, d.resumed), (226, true), "{v:?}: a session made after the reload: {:?}", d.reply);
        assert_eq!(d.bytes, b"across reloads");
        assert_eq!(b.download("RETR f.bin").reply.code, 226);
    }
}

/// The fallback trap: a TLS session copied off the wire (TLS 1.3's PSK
/// identity, TLS 1.2's ticket or session ID travel in clear text), offered
/// with another cipher suite or server name, makes rustls forget it and
/// make a full handshake — after ferryd has looked at whose it is. Offered
/// on the attacker's own login's passive port, that data connection is
/// refused, but the tickets and sessions it hands out, whose keys the
/// attacker knows, must not open the victim's data connections from the
/// same address.
#[test]
fn i01_a_refused_data_connection_gets_no_ticket_of_the_victim() {
    let s = TestServer::start_tls(|_| {});
    std::fs::write(s.root().join("victim.txt"), b"the victim's file").unwrap();
    for v in VERSIONS {
        // (cipher suites of the victim, of the attacker; the attacker's server name)
        for (victims, attackers, name) in [("AES_128_GCM", "CHACHA20", SERVER_NAME), ("AES_128_GCM", "AES_128_GCM", "127.0.0.1")] {
            let case = format!("{v:?}, {attackers} to {name}");
            let victim_store = store();
            let mut victim = Ftps::explicit(s.addr, &config_with_suites(v, victim_store.clone(), victims));
            victim.login(USER, PASSWORD);
            let mut attacker = Ftps::explicit(s.addr, &config(v, store()));
            attacker.login(PLAIN_USER, PLAIN_PASSWORD);
            let copied = config_with_suites(v, Copied::from(victim_store), attackers);
            let d = attacker.download_with("NLST", &copied, name);
            assert_eq!((d.reply.code, d.resumed), (522, false), "{case}: the copied session on the attacker's port: {:?}", d.reply);
            // What that connection handed out resumes (so the attacker holds
            // a session it made), but opens no data connection of the victim.
            let d = victim.download_with("RETR victim.txt", &copied, name);
            assert_eq!((d.reply.code, d.resumed), (522, true), "{case}: on the victim's port: {:?}", d.reply);
            assert!(d.bytes.is_empty(), "{case}: the attacker got the victim's file");
            // They open nothing at all, not even the attacker's own login.
            let d = attacker.download_with("NLST", &copied, name);
            assert_eq!((d.reply.code, d.resumed), (522, true), "{case}: on the attacker's port: {:?}", d.reply);
            // Both logins go on working.
            let d = victim.download("RETR victim.txt");
            assert_eq!((d.reply.code, d.resumed, &d.bytes[..]), (226, true, &b"the victim's file"[..]), "{case}: {:?}", d.reply);
            let d = attacker.download("NLST");
            assert_eq!((d.reply.code, d.resumed), (226, true), "{case}: the attacker's own session: {:?}", d.reply);
            victim.expect("QUIT", 221);
            attacker.expect("QUIT", 221);
        }
    }
}
