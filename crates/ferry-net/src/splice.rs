//! Zero-copy receive: bytes go socket → pipe → file with `splice(2)`, so
//! they cross into the page cache once, inside the kernel, instead of
//! being copied out to a buffer of ours and back in. Both peers receive
//! files this way: the server for `STOR`, the client for `get` (see
//! bench/PROFILE.md for what profiling each showed).
//!
//! The socket half moves references to the received packets' pages into
//! the pipe; the file half copies them into the file. A file that cannot
//! take `splice` (`EINVAL`: a file system without it, or an `O_APPEND`
//! file) gets the bytes the ordinary way, read out of the pipe and
//! written, and [`Pipe::refused`] tells the caller to stop splicing.

use std::fs::File;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, OwnedFd};

use rustix::pipe::{PipeFlags, SpliceFlags, fcntl_setpipe_size, pipe_with, splice};

/// How much the pipe holds, when the system allows (Linux's default
/// `pipe-max-size` for unprivileged processes is 1 MiB): one splice per
/// socket burst, whatever its size.
const PIPE_SIZE: usize = 1 << 20;

/// A pipe to splice received bytes through, socket → pipe → file.
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
    /// Set once the file refused `splice`.
    refused: bool,
}

impl Pipe {
    /// A new pipe, as large as the system lets it be.
    pub fn new() -> io::Result<Pipe> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC)?;
        // A smaller pipe (the default is 64 KiB) works, only with more calls.
        let capacity = fcntl_setpipe_size(&write, PIPE_SIZE).unwrap_or(64 * 1024);
        Ok(Pipe { read, write, capacity, refused: false })
    }

    /// Whether the file refused `splice`; from then on, read and write.
    pub fn refused(&self) -> bool {
        self.refused
    }

    /// Move what has arrived on `sock` (at most the pipe's capacity) into
    /// the pipe, waiting as a `read` would (the socket's mode and read
    /// timeout apply). `Ok(0)` is the end of the stream. `InvalidInput`
    /// means the socket cannot be spliced from, and nothing was taken.
    pub fn take(&self, sock: impl AsFd) -> io::Result<usize> {
        Ok(splice(sock, None, &self.write, None, self.capacity, SpliceFlags::MOVE)?)
    }

    /// Move up to `len` of the bytes [`Pipe::take`] put in the pipe into
    /// `file` at its position. Returns the bytes moved: call again until
    /// all `len` have gone.
    pub fn put(&mut self, file: &File, len: usize) -> io::Result<usize> {
        if !self.refused {
            match splice(&self.read, None, file, None, len, SpliceFlags::MOVE) {
                Err(rustix::io::Errno::INVAL) => self.refused = true,
                other => return Ok(other?),
            }
        }
        let mut buf = vec![0; len.min(256 * 1024)];
        let n = rustix::io::read(&self.read, &mut buf)?;
        (&*file).write_all(&buf[..n])?;
        Ok(n)
    }

    /// [`Pipe::put`] until all `len` bytes are in `file`.
    pub fn put_all(&mut self, file: &File, len: usize) -> io::Result<()> {
        let mut left = len;
        while left > 0 {
            match self.put(file, left) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the file took no bytes")),
                Ok(n) => left -= n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Seek as _};

    fn pipe_with_bytes(bytes: &[u8]) -> Pipe {
        let p = Pipe::new().unwrap();
        assert_eq!(rustix::io::write(&p.write, bytes).unwrap(), bytes.len());
        p
    }

    #[test]
    fn splices_into_a_file_at_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"head-").unwrap();
        let mut file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        file.seek(io::SeekFrom::End(0)).unwrap();
        let mut p = pipe_with_bytes(b"spliced bytes");
        p.put_all(&file, 13).unwrap();
        assert!(!p.refused(), "a regular file takes splice");
        let mut all = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all, b"head-spliced bytes");
    }

    #[test]
    fn a_file_that_refuses_splice_gets_the_bytes_written() {
        // splice(2) refuses O_APPEND files with EINVAL, as a file system
        // without splice support does.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old ").unwrap();
        let file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let payload: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let mut p = pipe_with_bytes(&payload);
        p.put_all(&file, payload.len()).unwrap();
        assert!(p.refused());
        let mut expected = b"old ".to_vec();
        expected.extend_from_slice(&payload);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }

    #[test]
    fn takes_from_a_socket_until_its_end() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let sent = payload.clone();
        let sender = std::thread::spawn(move || std::net::TcpStream::connect(addr).unwrap().write_all(&sent).unwrap());
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut p = Pipe::new().unwrap();
        loop {
            let n = p.take(&sock).unwrap();
            if n == 0 {
                break;
            }
            p.put_all(&file, n).unwrap();
        }
        sender.join().unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), payload);
    }
}
