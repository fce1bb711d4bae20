//! ferryd's SFTP front door, driven by real clients: OpenSSH's `sftp`,
//! `scp` and `ssh`, Python's paramiko, lftp and rclone. The same server
//! also serves FTP, on the same accounts and files.

mod attacks;
mod clients;
mod ferryd;
mod openssh;
mod operations;
mod paramiko;

use std::io::Read;
use std::path::Path;

/// Two files hold the same bytes (read in chunks: they may be large).
fn same_file(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (std::fs::File::open(a).unwrap(), std::fs::File::open(b).unwrap());
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x);
        if n != read_full(&mut b, &mut y) || x[..n] != y[..n] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    got
}

// Temporary upload files anywhere below a folder: the FTP tests' helper.
use crate::sessions::temp_files;

/// Where two trees differ, by name (a failure that prints every byte of
/// a tree helps no one).
#[track_caller]
fn assert_same_tree(got: &Path, want: &Path, what: &str) {
    let (g, w) = (ferry_testkit::tree(got), ferry_testkit::tree(want));
    let differ: Vec<&String> = g.keys().chain(w.keys()).filter(|k| g.get(*k) != w.get(*k)).collect();
    assert!(differ.is_empty(), "{what}: these differ: {differ:?}");
}
