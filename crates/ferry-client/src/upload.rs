//! `put`'s policy: sending a local file, and how a checked resume of an
//! upload continues.
//!
//! Every way of resuming an upload (the one-shot `ferry put --resume`, the
//! shell's `reput` and `put --resume`) goes through
//! [`Client::plan_resumed_upload`]: check the remote part once (see
//! [`crate::resume`]), then continue with `REST n` + `STOR` where the
//! server offers `REST`, else with `APPE`; start over when there is no
//! remote part.

use std::path::Path;

use tokio::io::AsyncSeekExt;

use crate::client::{Client, StoreMode};
use crate::error::{Error, Result, local_at};
use crate::progress::Progress;
use crate::resume::Resume;

/// What a local file to upload is, without opening it (opening a FIFO
/// waits for its writer); a folder is refused, pointing to `mirror -R`.
pub(crate) fn sendable(local: &Path) -> Result<std::fs::Metadata> {
    let meta = std::fs::metadata(local).map_err(local_at(local))?;
    if meta.is_dir() {
        return Err(Error::Local {
            path: local.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory (use mirror -R)"),
        });
    }
    Ok(meta)
}

impl Client {
    /// Check the remote part of `remote` against `local` and say how the
    /// upload goes on from it.
    pub async fn plan_resumed_upload(&mut self, local: &Path, remote: &str) -> Result<(StoreMode, Resume)> {
        let resume = self.check_resume_put(local, remote).await?;
        Ok((self.resumed_store_mode(&resume), resume))
    }

    /// The store mode that continues a checked resume.
    pub fn resumed_store_mode(&self, resume: &Resume) -> StoreMode {
        if resume.offset == 0 {
            StoreMode::Replace
        } else if self.features.has("REST") {
            StoreMode::At(resume.offset)
        } else {
            StoreMode::Append
        }
    }

    /// Upload the local file `local` to `remote` (from the offset `mode`
    /// says, for `StoreMode::At`). Returns the bytes sent.
    pub async fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        mode: StoreMode,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let meta = sendable(local)?;
        let mut file = tokio::fs::File::open(local).await.map_err(local_at(local))?;
        let offset = match mode {
            StoreMode::At(n) => n,
            _ => 0,
        };
        if offset > 0 {
            file.seek(std::io::SeekFrom::Start(offset)).await.map_err(local_at(local))?;
        }
        let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // A FIFO or a device has no length to show.
        progress.start(&name, meta.is_file().then_some(meta.len()), offset);
        let r = self.store(remote, mode, &mut file, &mut |n| progress.advance(n), interrupt).await;
        progress.finish();
        r
    }

    /// Upload all that `source` gives until its end (standard input, say)
    /// to `remote`, replacing it. Returns the bytes sent.
    pub async fn upload_stream<R>(
        &mut self,
        source: &mut R,
        name: &str,
        remote: &str,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        progress.start(name, None, 0);
        let r = self.store(remote, StoreMode::Replace, source, &mut |n| progress.advance(n), interrupt).await;
        progress.finish();
        r
    }
}
