//! Login, sequencing and error replies at the protocol level.

use ferry_testkit::{Control, PASSWORD, PLAIN_PASSWORD, PLAIN_USER, TestServer, USER};

#[test]
fn greeting_and_commands_before_login() {
    let s = TestServer::start();
    let mut c = Control::connect(s.addr);
    assert_eq!(c.greeting.code, 220);
    c.expect("SYST", 215);
    c.expect("NOOP", 200);
    c.expect("FEAT", 211);
    c.expect("PWD", 530);
    c.expect("LIST", 530);
    c.expect("RETR x", 530);
    c.expect("PASS x", 503);
    c.expect("QUIT", 221);
    assert!(c.is_closed());
}

#[test]
fn hashed_and_plain_accounts_log_in() {
    let s = TestServer::start();
    let mut c = Control::connect(s.addr);
    c.login(USER, PASSWORD);
    c.expect("PWD", 257);
    let mut c = Control::connect(s.addr);
    c.login(PLAIN_USER, PLAIN_PASSWORD);
}

#[test]
fn unknown_user_and_wrong_password_look_the_same() {
    let s = TestServer::start();
    let mut c = Control::connect(s.addr);
    c.expect("USER nobody", 331);
    let unknown = c.expect("PASS whatever", 530);
    c.expect(&format!("USER {USER}"), 331);
    let wrong = c.expect("PASS whatever", 530);
    assert_eq!(unknown, wrong);
    // Still usable after failures.
    c.login(USER, PASSWORD);
}

#[test]
fn too_many_failed_logins_close_the_session() {
    let s = TestServer::start_with(|c| c.max_login_failures = 2);
    let mut c = Control::connect(s.addr);
    c.expect("USER x", 331);
    c.expect("PASS y", 530);
    c.expect("USER x", 331);
    c.expect("PASS y", 421);
    assert!(c.is_closed());
}

#[test]
fn syntax_errors_get_codes_and_the_session_goes_on() {
    let s = TestServer::start();
    let mut c = s.login();
    c.expect("", 500);
    c.expect("X", 500);
    c.expect("FROB", 502);
    c.expect("RETR", 501);
    c.expect("REST abc", 501);
    c.expect("PORT 1,2,3", 501);
    c.expect("TYPE Q", 501);
    c.expect("TYPE E", 504);
    c.expect("TYPE L 7", 504);
    c.expect("MODE B", 504);
    c.expect("STRU R", 504);
    c.expect("RNTO x", 503);
    c.expect("NOOP", 200);
    // An over-long line is refused, and the next command works.
    let long = format!("RETR {}", "a".repeat(10_000));
    c.expect(&long, 500);
    c.expect("NOOP", 200);
    // Invalid UTF-8 is a 501, not a dropped connection.
    c.send_raw(b"MKD \xff\xfe\r\n");
    assert_eq!(c.read_reply().code, 501);
    c.expect("NOOP", 200);
}

#[test]
fn telnet_sequences_are_stripped() {
    let s = TestServer::start();
    let mut c = s.login();
    c.send_raw(b"\xff\xf4\xff\xf2NOOP\r\n");
    assert_eq!(c.read_reply().code, 200);
}

#[test]
fn x_variants_and_parameters() {
    let s = TestServer::start();
    let mut c = s.login();
    assert_eq!(c.expect("XPWD", 257).text(), "\"/\" is the current directory.");
    c.expect("XMKD d", 257);
    c.expect("XCWD d", 250);
    assert!(c.expect("XPWD", 257).text().starts_with("\"/d\""));
    c.expect("XCUP", 250);
    c.expect("XRMD d", 250);
    c.expect("TYPE A", 200);
    c.expect("TYPE I", 200);
    c.expect("TYPE L 8", 200);
    c.expect("MODE S", 200);
    c.expect("STRU F", 200);
    c.expect("ALLO 1000", 202);
    c.expect("ACCT x", 202);
    c.expect("HELP", 214);
    c.expect("HELP RETR", 214);
    c.expect("STAT", 211);
    c.expect("SITE HELP", 214);
    c.expect("SITE FROB", 502);
}

#[test]
fn feat_lists_the_extensions() {
    let s = TestServer::start();
    let mut c = Control::connect(s.addr);
    let r = c.expect("FEAT", 211);
    for f in [
        " EPRT",
        " EPSV",
        " HOST",
        " MDTM",
        " MFMT",
        " PASV",
        " REST STREAM",
        " SIZE",
        " TVFS",
        " UTF8",
        " RANG STREAM",
        " XCRC",
        " XSHA256",
    ] {
        assert!(r.lines.iter().any(|l| l == f), "FEAT lacks {f:?}: {r:?}");
    }
    assert!(r.lines.iter().any(|l| l.starts_with(" MLST type*;size*;modify*;perm*;unique*;UNIX.mode;")), "{r:?}");
    assert!(r.lines.iter().any(|l| l == " HASH SHA-256*;SHA-1;MD5;CRC32"), "{r:?}");
    assert_eq!(r.lines.last().unwrap(), "End");
}

#[test]
fn host_only_before_login_and_rein_resets() {
    let s = TestServer::start();
    let mut c = Control::connect(s.addr);
    c.expect("HOST ftp.example.com", 220);
    c.login(USER, PASSWORD);
    c.expect("HOST other", 503);
    c.expect("REIN", 220);
    c.expect("PWD", 530);
    c.login(USER, PASSWORD);
}

#[test]
fn opts() {
    let s = TestServer::start();
    let mut c = s.login();
    c.expect("OPTS UTF8 ON", 200);
    assert_eq!(c.expect("OPTS MLST type;size;bogus;", 200).text(), "MLST OPTS type;size;");
    assert_eq!(c.expect("OPTS HASH", 200).text(), "SHA-256");
    assert_eq!(c.expect("OPTS HASH md5", 200).text(), "MD5");
    c.expect("OPTS HASH SHA-999", 501);
    c.expect("OPTS FOO", 501);
    let r = c.expect("FEAT", 211);
    assert!(r.lines.iter().any(|l| l == " HASH SHA-256;SHA-1;MD5*;CRC32"), "{r:?}");
}

#[test]
fn idle_sessions_are_closed() {
    let s = TestServer::start_with(|c| c.idle_timeout = std::time::Duration::from_millis(300));
    let mut c = s.login();
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(c.read_reply().code, 421);
    assert!(c.is_closed());
}

#[test]
fn session_limit_answers_421() {
    let s = TestServer::start_with(|c| c.max_sessions = 1);
    let _first = s.login();
    let second = Control::connect(s.addr);
    assert_eq!(second.greeting.code, 421);
}

#[test]
fn ipv6_loopback_with_epsv() {
    let Ok(probe) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("skipping: no IPv6 loopback");
        return;
    };
    drop(probe);
    let s = TestServer::start_on("[::1]:0".parse().unwrap(), |_| {});
    let mut c = s.login();
    std::fs::write(s.root().join("v6.txt"), b"over ipv6").unwrap();
    let (bytes, r) = c.download("RETR v6.txt");
    assert_eq!((bytes.as_slice(), r.code), (&b"over ipv6"[..], 226));
    c.expect("EPSV 1", 522);
    c.expect("PASV", 425);
}
