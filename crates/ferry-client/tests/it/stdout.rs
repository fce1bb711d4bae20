//! Issue 10 item 20: `ferry` writing into a pipe whose reader has gone
//! (`ferry ls URL | head -1`) ends quietly with status 0, never a panic.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testkit::{STEP_TIMEOUT, TestServer};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// A served folder whose listing is far larger than a pipe's buffer.
fn big_folder() -> TestServer {
    let s = TestServer::start();
    let dir = s.root().join("big");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..3000 {
        std::fs::write(dir.join(format!("file-with-a-longish-name-{i:05}.txt")), b"x").unwrap();
    }
    s
}

fn ferry_ls(s: &TestServer, stdout: Stdio) -> Child {
    let dir = s.scratch();
    Command::new(FERRY)
        .args(["--no-progress", "ls", &s.url("big/")])
        .current_dir(&dir)
        .env("HOME", &dir)
        .env("XDG_STATE_HOME", dir.join(".state"))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait (bounded) for the child; returns its status code and stderr.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferry did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.code(), err)
}

#[test]
fn i20_ferry_ls_into_a_closed_pipe_ends_quietly() {
    let s = big_folder();
    // The reader is gone before ferry writes anything.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let (code, err) = finish(ferry_ls(&s, writer.into()));
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // `| head -1`: the reader goes after the first line.
    let mut child = ferry_ls(&s, Stdio::piped());
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("file-with-a-longish-name-"), "{first}");
    let (code, err) = finish(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
