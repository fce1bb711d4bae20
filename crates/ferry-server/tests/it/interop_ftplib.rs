//! Python's ftplib against ferryd: every command, through a real client
//! library (the script is tests/interop/ftplib_suite.py).

use std::process::Command;

use ferry_testkit::{PASSWORD, TestServer, USER, require};

#[test]
fn ftplib_suite() {
    if !require("python3") {
        return;
    }
    let s = TestServer::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/ftplib_suite.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["127.0.0.1", &s.port().to_string(), USER, PASSWORD])
        .arg(s.root())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ftplib suite failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ftplib suite: all checks passed"), "{stdout}");
}
