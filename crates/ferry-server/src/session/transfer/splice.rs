//! Zero-copy receive: bytes go socket → pipe → file with `splice(2)`, so
//! they cross into the page cache once, inside the kernel, instead of
//! being copied out to a buffer of ours and back in (profiling a 1 GiB
//! `STOR` showed those two copies and the per-call write path as the bulk
//! of the server's CPU; see bench/PROFILE.md).
//!
//! The socket half moves references to the received packets' pages into
//! the pipe; the file half copies them into the file. A file system that
//! cannot take `splice` (`EINVAL`) gets the bytes the ordinary way, read
//! out of the pipe and written, and the upload goes on without splicing.

use std::io::{self, Write as _};
use std::os::fd::{AsFd, OwnedFd};

use rustix::pipe::{PipeFlags, SpliceFlags, fcntl_setpipe_size, pipe_with, splice};

use ferry_core::userfs::{FsError, UserUpload};

/// How much the pipe holds, when the system allows (Linux's default
/// `pipe-max-size` for unprivileged processes is 1 MiB): one splice per
/// socket burst, whatever its size.
const PIPE_SIZE: usize = 1 << 20;

/// A pipe to splice an upload through.
pub(crate) struct Splicer {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
    /// Set once the file refused `splice`: the caller goes back to reads
    /// and writes.
    refused: bool,
}

impl Splicer {
    /// A pipe for `upload`, or `None` when its storage has no file the
    /// kernel can fill (or no pipe can be made).
    pub(crate) fn for_upload(upload: &UserUpload) -> Option<Splicer> {
        if !upload.accepts_direct() {
            return None;
        }
        let (read, write) = pipe_with(PipeFlags::CLOEXEC).ok()?;
        // A smaller pipe (the default is 64 KiB) works, only with more calls.
        let capacity = fcntl_setpipe_size(&write, PIPE_SIZE).unwrap_or(64 * 1024);
        Some(Splicer { read, write, capacity, refused: false })
    }

    /// Whether the file refused `splice`; from then on, use `read`/`write`.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    /// Move what has arrived on `sock` (at most the pipe's capacity) into
    /// the pipe, waiting as a `read` would (the socket's mode and read
    /// timeout apply). `Ok(0)` is the end of the stream.
    pub(crate) fn take(&self, sock: impl AsFd) -> io::Result<usize> {
        Ok(splice(sock, None, &self.write, None, self.capacity, SpliceFlags::MOVE)?)
    }

    /// Move the `len` bytes that [`Splicer::take`] put in the pipe into
    /// the upload's file, counted against the quota as any write is.
    pub(crate) fn put(&mut self, upload: &mut UserUpload, len: usize) -> Result<(), FsError> {
        let (pipe, refused) = (&self.read, &mut self.refused);
        upload.write_direct(len, |file, left| drain_into(pipe, file, left, refused))
    }
}

/// Move up to `len` bytes from `pipe` into `file` at its position: with
/// `splice`, or, once the file has refused it (`*refused`), by reading
/// them out and writing them. Returns the bytes moved.
fn drain_into(pipe: &OwnedFd, file: &std::fs::File, len: usize, refused: &mut bool) -> io::Result<usize> {
    if !*refused {
        match splice(pipe, None, file, None, len, SpliceFlags::MOVE) {
            Err(rustix::io::Errno::INVAL) => *refused = true,
            other => return Ok(other?),
        }
    }
    let mut buf = vec![0; len.min(256 * 1024)];
    let n = rustix::io::read(pipe, &mut buf)?;
    (&*file).write_all(&buf[..n])?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn pipe_with_bytes(bytes: &[u8]) -> (OwnedFd, OwnedFd) {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        assert_eq!(rustix::io::write(&w, bytes).unwrap(), bytes.len());
        (r, w)
    }

    #[test]
    fn splices_into_a_file_at_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"head-").unwrap();
        let mut file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).unwrap();
        let (r, _w) = pipe_with_bytes(b"spliced bytes");
        let mut refused = false;
        let mut moved = 0;
        while moved < 13 {
            moved += drain_into(&r, &file, 13 - moved, &mut refused).unwrap();
        }
        assert!(!refused, "a regular file takes splice");
        let mut all = Vec::new();
        std::fs::File::open(&path).unwrap().read_to_end(&mut all).unwrap();
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
        let (r, _w) = pipe_with_bytes(&payload);
        let mut refused = false;
        let mut moved = 0;
        while moved < payload.len() {
            moved += drain_into(&r, &file, payload.len() - moved, &mut refused).unwrap();
        }
        assert!(refused);
        let mut expected = b"old ".to_vec();
        expected.extend_from_slice(&payload);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }
}
