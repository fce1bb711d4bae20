//! Object bytes in and out of an S3 bucket: a ranged GET read as a
//! stream, ranged GETs for reads at any offset, and multipart uploads
//! written front to back.

use std::io::{self, Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};
use tokio::runtime::Handle;

use super::super::{PartialOutcome, ReadAt, StorageError, Unavailable, Upload};
use super::{PARTS_IN_FLIGHT, object_error};

/// An object's bytes as `Read`, pulled from its HTTP body chunk by chunk.
pub(super) struct ObjectReader {
    pub(super) stream: BoxStream<'static, object_store::Result<Bytes>>,
    pub(super) chunk: Bytes,
    pub(super) rt: Handle,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rt.block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(io::Error::other(Unavailable(format!("object storage: {e}")))),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// An object read at any offset: one ranged GET per read, so a client's
/// block size is the request size (SFTP clients ask for 32–256 KiB).
pub(super) struct ObjectReadAt {
    pub(super) store: Arc<AmazonS3>,
    pub(super) key: Path,
    pub(super) size: u64,
    pub(super) rt: Handle,
}

impl ReadAt for ObjectReadAt {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, StorageError> {
        // S3 refuses an empty range: at or past the end there is nothing.
        let end = offset.saturating_add(buf.len() as u64).min(self.size);
        if offset >= end {
            return Ok(0);
        }
        let bytes = self.rt.block_on(self.store.get_range(&self.key, offset..end)).map_err(object_error)?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// A multipart upload: parts go up as they fill; the object appears only
/// when [`Upload::commit`] completes the upload. Object stores cannot
/// write a part's middle after the fact, so positional writes are taken
/// only in sequence.
pub(super) struct MultipartUpload {
    pub(super) writer: Option<WriteMultipart>,
    pub(super) rt: Handle,
    /// Bytes of the object so far (a kept prefix included): the one offset
    /// a positional write may use.
    pub(super) written: u64,
}

impl Write for MultipartUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let writer = self.writer.as_mut().expect("open until commit/abort");
        // Back-pressure: wait while too many parts are still uploading.
        self.rt
            .block_on(writer.wait_for_capacity(PARTS_IN_FLIGHT))
            .map_err(|e| io::Error::other(Unavailable(format!("object storage: {e}"))))?;
        let _guard = self.rt.enter();
        writer.write(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Upload for MultipartUpload {
    fn commit(mut self: Box<Self>) -> Result<(), StorageError> {
        let writer = self.writer.take().expect("open until commit");
        self.rt.block_on(writer.finish()).map_err(object_error)?;
        Ok(())
    }

    fn abort(mut self: Box<Self>, _keep_partial: bool) -> PartialOutcome {
        // Nothing of an incomplete multipart upload is ever visible, and
        // the old object (if any) is untouched.
        if let Some(writer) = self.writer.take() {
            let _ = self.rt.block_on(writer.abort());
        }
        PartialOutcome::Discarded
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<(), StorageError> {
        if offset != self.written {
            return Err(StorageError::Unsupported("object storage writes uploads front to back only"));
        }
        Ok(self.write_all(buf)?)
    }
}

impl Drop for MultipartUpload {
    fn drop(&mut self) {
        // Dropped without commit or abort (a panic): free the parts.
        if let Some(writer) = self.writer.take() {
            let rt = self.rt.clone();
            rt.spawn(async move {
                let _ = writer.abort().await;
            });
        }
    }
}
