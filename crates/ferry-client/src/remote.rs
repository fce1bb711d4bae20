//! What `get`'s policy ([`crate::download`]) and a checked resume
//! ([`crate::resume`]) need from a protocol: a file's size, what can be
//! known about a prefix of it, and its bytes from an offset into a local
//! file. FTP ([`crate::Client`]) and SFTP ([`crate::sftp::SftpClient`],
//! through [`crate::session::SftpSession`]) each say how; the rules about
//! local files are written once, above both.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use crate::resume::{Case, Evidence};

/// A server files can be fetched from and checked against.
pub(crate) trait Remote {
    /// The size of the remote file (an error when there is none).
    async fn remote_size(&mut self, remote: &str) -> Result<u64>;

    /// The size of the remote file, `None` when there is no such file.
    async fn remote_size_if_any(&mut self, remote: &str) -> Result<Option<u64>>;

    /// The strongest evidence the server allows that the first
    /// `case.have` bytes of both copies are the same.
    async fn evidence(&mut self, case: &Case) -> Result<Evidence>;

    /// Write `remote` from `offset` on into `file` (named `local`, for
    /// messages) at its position.
    /// `progress` hears the bytes so far; `interrupt` resolving stops the
    /// transfer ([`crate::Error::Interrupted`]). Returns the bytes written.
    async fn fetch_to_file(
        &mut self,
        remote: &str,
        offset: u64,
        file: File,
        local: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64>;

    /// Write all of `remote`, in order, into `file`, which is not a
    /// regular file (standard output, a FIFO, a device): nothing may be
    /// written at an offset there.
    async fn fetch_to_stream(
        &mut self,
        remote: &str,
        file: File,
        local: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64>;

    /// How long to wait for a local FIFO to be opened by its reader.
    fn open_timeout(&self) -> Duration;
}
