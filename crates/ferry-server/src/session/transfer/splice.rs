//! Zero-copy receive for uploads: the pipe of [`ferry_net::splice`] tied
//! to an upload, whose quota is charged for the bytes before they go into
//! its file.

use std::io;
use std::os::fd::AsFd;

use ferry_core::userfs::{FsError, UserUpload};
use ferry_net::splice::Pipe;

/// A pipe to splice an upload through.
pub(crate) struct Splicer(Pipe);

impl Splicer {
    /// A pipe for `upload`, or `None` when its storage has no file the
    /// kernel can fill (or no pipe can be made).
    pub(crate) fn for_upload(upload: &UserUpload) -> Option<Splicer> {
        if !upload.accepts_direct() {
            return None;
        }
        Pipe::new().ok().map(Splicer)
    }

    /// Whether the file refused `splice`; from then on, use `read`/`write`.
    pub(crate) fn refused(&self) -> bool {
        self.0.refused()
    }

    /// Move what has arrived on `sock` into the pipe ([`Pipe::take`]).
    pub(crate) fn take(&self, sock: impl AsFd) -> io::Result<usize> {
        self.0.take(sock)
    }

    /// Move the `len` bytes that [`Splicer::take`] put in the pipe into
    /// the upload's file, counted against the quota as any write is.
    pub(crate) fn put(&mut self, upload: &mut UserUpload, len: usize) -> Result<(), FsError> {
        let pipe = &mut self.0;
        upload.write_direct(len, |file, left| pipe.put(file, left))
    }
}
