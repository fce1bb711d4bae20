//! Downloads and uploads with requests in flight together: SFTP answers
//! each read or write separately, so one at a time would wait a round
//! trip per chunk. Up to [`IN_FLIGHT`] are outstanding, as OpenSSH's
//! `sftp` keeps 64 of 32 KiB.

use std::collections::VecDeque;
use std::io::Read;

use std::os::unix::fs::FileExt as _;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncWrite};

use ferry_sftp::{Attrs, Body, OpenFlags, Request, Response, StatusCode};

use super::channel::Pending;
use super::{SftpClient, remote_error, status};
use crate::error::{Error, Result};

/// Requests outstanding at once.
const IN_FLIGHT: usize = 32;

/// Where downloaded bytes go, in file order: a regular file, written at
/// each chunk's offset, or a stream, written as they come.
enum Output<'a> {
    At(&'a std::fs::File),
    Stream(&'a mut (dyn AsyncWrite + Unpin + Send)),
}

impl Output<'_> {
    async fn put(&mut self, data: &[u8], at: u64) -> std::io::Result<()> {
        match self {
            Output::At(file) => file.write_all_at(data, at),
            Output::Stream(out) => tokio::io::AsyncWriteExt::write_all(out, data).await,
        }
    }
}

/// How an upload meets the remote file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// Create or replace (`CREAT|TRUNC`: ferryd writes it beside the old
    /// one and swaps them when it is whole).
    Replace,
    /// Write in place from this offset, keeping what is before it (a
    /// resume: the local file is read from the same offset; no `TRUNC`).
    At(u64),
    /// Write all of the local file after the remote file's first this
    /// many bytes (an append: the remote file's size).
    After(u64),
}

fn local_err(path: &Path, source: std::io::Error) -> Error {
    Error::Local { path: path.to_owned(), source }
}

impl SftpClient {
    /// Download `remote` into `file` (named `local`, for messages) from
    /// `offset` on; `progress` hears the bytes so far; `interrupt`
    /// resolving stops it ([`Error::Interrupted`]). Returns the bytes
    /// written.
    pub async fn download(
        &self,
        remote: &str,
        file: &std::fs::File,
        local: &Path,
        offset: u64,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        self.download_into(remote, offset, &mut Output::At(file), local, progress, interrupt).await
    }

    /// Download `remote` into a stream (standard output, a pipe, memory):
    /// the bytes go in order, written without holding up the runtime (a
    /// slow reader of a pipe must not keep Ctrl-C from being heard).
    pub async fn download_to_stream(
        &self,
        remote: &str,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        name: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let n = self.download_into(remote, 0, &mut Output::Stream(out), name, progress, interrupt).await?;
        tokio::io::AsyncWriteExt::flush(out).await.map_err(|e| local_err(name, e))?;
        Ok(n)
    }

    async fn download_into(
        &self,
        remote: &str,
        offset: u64,
        sink: &mut Output<'_>,
        name: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let flags = OpenFlags(OpenFlags::READ);
        let handle =
            self.open_handle(Body::Open { path: remote.as_bytes().to_vec(), flags, attrs: Attrs::default() }, "get", remote).await?;
        let result = tokio::select! {
            r = self.read_all(&handle, remote, sink, name, offset, progress) => r,
            () = interrupt => Err(Error::Interrupted),
        };
        match result {
            // A close that fails after a whole read loses nothing.
            Ok(got) => {
                let _ = self.channel.call(Body::Close { handle }).await;
                Ok(got)
            }
            // Stopped: the handle is closed without waiting, as the server
            // answers the reads still in flight first (nobody hears those).
            Err(e) => {
                let _ = self.channel.send(Body::Close { handle }).await;
                Err(e)
            }
        }
    }

    async fn read_all(
        &self,
        handle: &[u8],
        remote: &str,
        sink: &mut Output<'_>,
        name: &Path,
        offset: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64> {
        let chunk = self.chunk;
        let mut queue: VecDeque<(u64, u32, Pending)> = VecDeque::new();
        let (mut next, mut eof, mut got) = (offset, false, 0u64);
        loop {
            while !eof && queue.len() < IN_FLIGHT {
                let pending = self.channel.send(Body::Read { handle: handle.to_vec(), offset: next, len: chunk }).await?;
                queue.push_back((next, chunk, pending));
                next += u64::from(chunk);
            }
            let Some((at, len, pending)) = queue.pop_front() else { break };
            match pending.reply().await? {
                // More than was asked for would land on the next chunk's bytes.
                Response::Data { data, .. } if data.len() as u64 > u64::from(len) => {
                    return Err(Error::Protocol(format!("the server sent {} bytes for a read of {len}", data.len())));
                }
                Response::Data { data, .. } => {
                    sink.put(&data, at).await.map_err(|e| local_err(name, e))?;
                    got += data.len() as u64;
                    progress(got);
                    let n = data.len() as u32;
                    if n == 0 {
                        eof = true;
                    } else if n < len {
                        // A short read: ask for the rest of that chunk.
                        let rest = at + u64::from(n);
                        let pending = self.channel.send(Body::Read { handle: handle.to_vec(), offset: rest, len: len - n }).await?;
                        // Next in line, so that bytes stay in order.
                        queue.push_front((rest, len - n, pending));
                    }
                }
                Response::Status { code: StatusCode::Eof, .. } => eof = true,
                Response::Status { code, message, .. } => return Err(remote_error("get", remote, code, message)),
                other => return Err(Error::Protocol(format!("read: unexpected reply {other:?}"))),
            }
        }
        Ok(got)
    }

    /// Upload `file` (named `local`) to `remote`: all of it, or with
    /// [`UploadMode::At`] what follows that offset. `progress` hears the
    /// bytes sent so far. Returns the bytes sent. The server's answer to
    /// the final close is the verdict: ferryd says there when an upload
    /// was not saved.
    pub async fn upload(
        &self,
        file: &std::fs::File,
        local: &Path,
        remote: &str,
        mode: UploadMode,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let size = file.metadata().map_err(|e| local_err(local, e))?.len();
        // Where reading the local file starts, and writing the remote one.
        let (flags, start, at) = match mode {
            UploadMode::Replace => (OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC, 0, 0),
            UploadMode::At(n) => (OpenFlags::WRITE | OpenFlags::CREAT, n, n),
            UploadMode::After(n) => (OpenFlags::WRITE | OpenFlags::CREAT, 0, n),
        };
        let open = Body::Open { path: remote.as_bytes().to_vec(), flags: OpenFlags(flags), attrs: Attrs::default() };
        let handle = self.open_handle(open, "put", remote).await?;
        // The file as it was at the open: bytes appended meanwhile wait
        // for the next upload.
        let mut from = file;
        let written = match std::io::Seek::seek(&mut from, std::io::SeekFrom::Start(start)) {
            Ok(_) => {
                let mut input = from.take(size.saturating_sub(start));
                tokio::select! {
                    w = self.write_stream(&handle, remote, Input::File(&mut input), local, at, progress) => w,
                    () = interrupt => Err(Error::Interrupted),
                }
            }
            Err(e) => Err(local_err(local, e)),
        };
        self.finish_upload(handle, remote, written).await
    }

    /// End an upload. Whole: the server's answer to the close is the
    /// verdict. Refused by the server: it knows, and the handle is closed.
    /// Stopped on this side (Ctrl-C, a local read error, a reply that
    /// never came): a close would make the server keep the partial file —
    /// over the old one, for a replace — so the connection is ended
    /// instead, and the server drops the upload as when a client dies.
    async fn finish_upload(&self, handle: Vec<u8>, remote: &str, written: Result<u64>) -> Result<u64> {
        match written {
            Ok(sent) => {
                status(self.channel.call(Body::Close { handle }).await?, "put", remote)?;
                Ok(sent)
            }
            Err(e @ Error::Sftp { .. }) => {
                let _ = self.channel.call(Body::Close { handle }).await;
                Err(e)
            }
            Err(e) => {
                self.abandon().await;
                Err(e)
            }
        }
    }

    /// Upload what `input` gives until its end (standard input) to
    /// `remote`, created or replaced. Returns the bytes sent.
    pub async fn upload_stream(
        &self,
        input: &mut (dyn AsyncRead + Unpin + Send),
        name: &Path,
        remote: &str,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let open = Body::Open {
            path: remote.as_bytes().to_vec(),
            flags: OpenFlags(OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC),
            attrs: Attrs::default(),
        };
        let handle = self.open_handle(open, "put", remote).await?;
        let written = tokio::select! {
            w = self.write_stream(&handle, remote, Input::Stream(input), name, 0, progress) => w,
            () = interrupt => Err(Error::Interrupted),
        };
        self.finish_upload(handle, remote, written).await
    }

    async fn write_stream(
        &self,
        handle: &[u8],
        remote: &str,
        mut input: Input<'_>,
        name: &Path,
        start: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64> {
        let mut queue: VecDeque<(u64, Pending)> = VecDeque::new();
        let (mut next, mut acked, mut ended) = (start, 0u64, false);
        // One buffer for every request: each chunk is read into it after
        // the request's header, and the channel copies it on its way.
        let header = Request::write_header_len(handle);
        let mut packet = vec![0u8; header + self.chunk as usize];
        loop {
            while !ended && queue.len() < IN_FLIGHT {
                packet.resize(header + self.chunk as usize, 0);
                let n = input.fill(&mut packet[header..]).await.map_err(|e| local_err(name, e))?;
                if n == 0 {
                    ended = true;
                    break;
                }
                packet.truncate(header + n);
                let id = self.channel.next_id();
                Request::write_header(&mut packet, id, handle, next);
                let pending = self.channel.send_packet(id, &packet).await?;
                queue.push_back((n as u64, pending));
                next += n as u64;
            }
            let Some((n, pending)) = queue.pop_front() else { break };
            status(pending.reply().await?, "put", remote)?;
            acked += n;
            progress(acked);
        }
        Ok(acked)
    }
}

/// Where an upload's bytes come from: a local file, read on the spot (a
/// disk answers at once), or a stream that may make one wait (standard
/// input), read without holding up the runtime, so that Ctrl-C is heard.
enum Input<'a> {
    File(&'a mut (dyn Read + Send)),
    Stream(&'a mut (dyn AsyncRead + Unpin + Send)),
}

impl Input<'_> {
    /// Fill `buf` unless the input ends first: the bytes read.
    async fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            let read = match self {
                Input::File(f) => f.read(&mut buf[got..]),
                Input::Stream(s) => tokio::io::AsyncReadExt::read(s, &mut buf[got..]).await,
            };
            match read {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }
}
