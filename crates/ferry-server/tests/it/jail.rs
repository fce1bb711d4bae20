//! Confinement: no path, however spelled, reaches outside the root.

use std::os::unix::fs::symlink;

use ferry_testkit::TestServer;

fn setup() -> TestServer {
    let s = TestServer::start();
    let outside = s.root().parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), b"TOP SECRET").unwrap();
    std::fs::write(s.root().join("inside.txt"), b"fine").unwrap();
    symlink(&outside, s.root().join("escape-dir")).unwrap();
    symlink(outside.join("secret.txt"), s.root().join("escape-file")).unwrap();
    symlink("../outside/secret.txt", s.root().join("escape-relative")).unwrap();
    symlink("inside.txt", s.root().join("good-link")).unwrap();
    s
}

#[test]
fn dot_dot_is_clamped_at_the_root() {
    let s = setup();
    let mut c = s.login();
    c.expect("CWD ..", 250);
    assert_eq!(c.expect("PWD", 257).text(), "\"/\" is the current directory.");
    c.expect("CWD ../../../..", 250);
    assert_eq!(c.expect("PWD", 257).text(), "\"/\" is the current directory.");
    c.expect("RETR ../outside/secret.txt", 550);
    c.expect("SIZE ../../outside/secret.txt", 550);
    c.expect("RETR /../outside/secret.txt", 550);
}

#[test]
fn absolute_paths_are_inside_the_root() {
    let s = setup();
    let mut c = s.login();
    c.expect("RETR /etc/passwd", 550);
    c.expect("CWD /etc", 550);
    c.expect("SIZE /inside.txt", 213);
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let s = setup();
    let mut c = s.login();
    for path in ["escape-file", "escape-relative", "escape-dir/secret.txt"] {
        c.expect(&format!("SIZE {path}"), 550);
        c.expect(&format!("MDTM {path}"), 550);
        c.expect(&format!("HASH {path}"), 550);
        let _d = c.epsv();
        c.expect(&format!("RETR {path}"), 550);
    }
    c.expect("CWD escape-dir", 550);
    // Listing the link shows the link itself, never what is behind it.
    let lines = c.list_lines("LIST escape-dir");
    assert!(lines.len() == 1 && lines[0].starts_with('l') && lines[0].ends_with(" escape-dir"), "{lines:?}");
    let _d = c.epsv();
    c.expect("MLSD escape-dir", 550);
    c.expect("MLST escape-dir/secret.txt", 550);
    c.expect("MKD escape-dir/new", 550);
    c.expect("DELE escape-dir/secret.txt", 550);
    c.expect("RNFR inside.txt", 350);
    c.expect("RNTO escape-dir/moved.txt", 550);
    c.expect("SITE CHMOD 777 escape-file", 550);
    let _d = c.epsv();
    c.expect("STOR escape-dir/planted.txt", 550);
    // Nothing outside changed.
    let outside = s.root().parent().unwrap().join("outside");
    let names: Vec<_> = std::fs::read_dir(&outside).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("secret.txt")]);
    assert!(s.root().join("inside.txt").exists());
    // A link that stays inside works, and listings show escaping links
    // without following them.
    let (bytes, _) = c.download("RETR good-link");
    assert_eq!(bytes, b"fine");
    let lines = c.list_lines("LIST");
    assert!(lines.iter().any(|l| l.starts_with('l') && l.contains("escape-dir")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("TOP SECRET")));
}

#[test]
fn nul_bytes_are_refused() {
    let s = setup();
    let mut c = s.login();
    c.send_raw(b"RETR inside.txt\0../../outside/secret.txt\r\n");
    assert_eq!(c.read_reply().code, 553);
}

/// A FIFO (or any non-file) in the served tree is refused at once: opening
/// it must not wait for a writer and hang the server.
#[test]
fn special_files_are_refused_without_blocking() {
    let s = TestServer::start();
    let fifo = s.root().join("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut c = s.login();
    let start = std::time::Instant::now();
    let _d = c.epsv();
    c.expect("RETR pipe", 550);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    c.expect("NOOP", 200);
}
