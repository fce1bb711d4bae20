//! Attacks on the admin listener found in review, each kept as a test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::{Node, Start};

/// A request whose body never comes must not hold its connection (one of
/// the listener's 256) for ever: 256 such requests, sent without signing
/// in, would shut every admin out.
#[test]
fn a_body_that_never_arrives_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start::default());
    let mut stream = TcpStream::connect(("127.0.0.1", node.admin)).unwrap();
    stream
        .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        .unwrap();
    let limit = ferry_admin::listen::BODY_DEADLINE + Duration::from_secs(10);
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    assert!(read.is_ok(), "still waiting for the body after {:?}: {read:?}", started.elapsed());
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(started.elapsed() >= ferry_admin::listen::BODY_DEADLINE - Duration::from_secs(1), "cut off too early");
}
