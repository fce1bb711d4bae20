//! tnftp, the BSD ftp(1) Debian ships as `ftp`, driven through stdin as a
//! user would type: get, put, mget (which sends `NLST *.txt`), passive and
//! active mode.

use std::io::Write;
use std::process::{Command, Stdio};

use ferry_testkit::{PASSWORD, TestServer, USER, pseudo_random, require};

fn tnftp(s: &TestServer, dir: &std::path::Path, script: &str) -> String {
    let mut child = Command::new("tnftp")
        .args(["-n", "-v", "127.0.0.1", &s.port().to_string()])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tnftp");
    let input = format!("user {USER} {PASSWORD}\n{script}\nbye\n");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "tnftp failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn tnftp_get_put_mget_passive_and_active() {
    if !require("tnftp") {
        return;
    }
    let s = TestServer::start();
    let big = pseudo_random(700_000, 30);
    std::fs::write(s.root().join("a.txt"), b"alpha\n").unwrap();
    std::fs::write(s.root().join("b.txt"), b"beta\n").unwrap();
    std::fs::write(s.root().join("big.bin"), &big).unwrap();
    let local = s.scratch();
    std::fs::write(local.join("up.bin"), &big[..12345]).unwrap();
    let out = tnftp(&s, &local, "binary\nget big.bin\nput up.bin\nprompt\nmget *.txt\nls");
    assert!(out.contains("230 "), "{out}");
    assert!(std::fs::read(local.join("big.bin")).unwrap() == big);
    assert_eq!(std::fs::read(s.root().join("up.bin")).unwrap(), &big[..12345]);
    assert_eq!(std::fs::read(local.join("a.txt")).unwrap(), b"alpha\n");
    assert_eq!(std::fs::read(local.join("b.txt")).unwrap(), b"beta\n");
    assert!(out.lines().any(|l| l.ends_with(" up.bin") && l.starts_with('-')), "{out}");

    // Active mode (tnftp sends EPRT, falling back to PORT).
    let active = local.join("active");
    std::fs::create_dir(&active).unwrap();
    let out = tnftp(
        &s,
        &active,
        "passive off\nbinary\nget big.bin\nmkdir made-by-tnftp\ncd made-by-tnftp\npwd\nrename /a.txt /c.txt\ndelete /b.txt",
    );
    assert!(std::fs::read(active.join("big.bin")).unwrap() == big, "{out}");
    assert!(out.contains("\"/made-by-tnftp\""), "{out}");
    assert!(s.root().join("c.txt").exists() && !s.root().join("b.txt").exists(), "{out}");
}
