//! Moving a file's bytes: [`Client::retrieve`] and [`Client::store`],
//! with byte ranges, ASCII conversion, rate limits and interruption.

use std::pin::pin;
use std::time::Duration;

use ferry_proto::Command;
use ferry_proto::ascii::{FromWire, ToWire};
use ferry_proto::command::TransferType;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::data::data_error;
use super::{Client, StoreMode};
use crate::error::{Error, Result};
use crate::rate::Pace;
use crate::stream::Stream;

/// Bytes read or written at a time.
pub(super) const CHUNK: usize = 256 * 1024;

impl Client {
    /// Download `remote` from `offset` into `sink`. `progress` is called
    /// with the running byte count; `interrupt` resolving aborts the
    /// transfer (the server gets `ABOR`) and gives [`Error::Interrupted`].
    pub async fn retrieve<W, I>(
        &mut self,
        remote: &str,
        offset: u64,
        sink: &mut W,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: I,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
        I: Future<Output = ()>,
    {
        self.retrieve_inner(remote, offset, None, sink, progress, interrupt).await
    }

    /// Download `len` bytes of `remote` starting at `start` (one segment of
    /// a segmented download). Uses `RANG` when offered; otherwise reads
    /// `len` bytes after `REST` and aborts the rest.
    pub async fn retrieve_range<W>(
        &mut self,
        remote: &str,
        start: u64,
        len: u64,
        sink: &mut W,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        if len == 0 {
            return Ok(0);
        }
        if self.features.has("RANG") && !self.ascii {
            self.set_type(TransferType::Image).await?;
            self.command(Command::Rang { start, end: start + len - 1 }).await?;
            return self.retrieve_inner(remote, 0, None, sink, progress, std::future::pending()).await;
        }
        self.retrieve_inner(remote, start, Some(len), sink, progress, std::future::pending()).await
    }

    async fn retrieve_inner<W, I>(
        &mut self,
        remote: &str,
        offset: u64,
        limit: Option<u64>,
        sink: &mut W,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: I,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
        I: Future<Output = ()>,
    {
        let mut data = self.begin_retrieve(remote, offset).await?;
        let pump = self.pump_download(&mut data, limit, sink, progress);
        let outcome = until_interrupted(pump, interrupt).await;
        drop(data);
        self.conclude(remote, outcome).await
    }

    /// Send `TYPE`, `REST` (past 0) and `RETR`: the data connection the
    /// file will come over.
    pub(super) async fn begin_retrieve(&mut self, remote: &str, offset: u64) -> Result<Stream> {
        let ascii = self.ascii;
        self.set_type(if ascii { TransferType::Ascii } else { TransferType::Image }).await?;
        if offset > 0 {
            self.command(Command::Rest(offset)).await?;
        }
        self.start_transfer(Command::Retr(remote.to_owned())).await
    }

    /// Copy what arrives on `data` into `sink` (at most `limit` bytes),
    /// converting line ends in ASCII mode and keeping to `--limit-rate`.
    pub(super) fn pump_download<'a, W>(
        &self,
        data: &'a mut Stream,
        limit: Option<u64>,
        sink: &'a mut W,
        progress: &'a mut (dyn FnMut(u64) + Send),
    ) -> impl Future<Output = std::result::Result<u64, PumpError>> + use<'a, W>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let (ascii, stall, rate) = (self.ascii, self.config.data_timeout, self.config.limit_rate.clone());
        async move {
            let mut buf = vec![0u8; CHUNK];
            let mut conv = FromWire::default();
            let mut converted = Vec::new();
            let mut total = 0u64;
            let mut limiter = Pace::new(rate);
            loop {
                if limit.is_some_and(|l| total >= l) {
                    sink.flush().await.map_err(PumpError::Local)?;
                    return Err(PumpError::Enough(total));
                }
                let want = limit.map_or(buf.len(), |l| (l - total).min(buf.len() as u64) as usize);
                let n = match tokio::time::timeout(stall, data.read(&mut buf[..want])).await {
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) => return Err(PumpError::Net(data_error(&e))),
                    Err(_) => return Err(PumpError::Net("data connection stalled".into())),
                };
                if n == 0 {
                    if ascii {
                        converted.clear();
                        conv.finish(&mut converted);
                        sink.write_all(&converted).await.map_err(PumpError::Local)?;
                    }
                    sink.flush().await.map_err(PumpError::Local)?;
                    return Ok(total);
                }
                if ascii {
                    converted.clear();
                    conv.convert(&buf[..n], &mut converted);
                    sink.write_all(&converted).await.map_err(PumpError::Local)?;
                } else {
                    sink.write_all(&buf[..n]).await.map_err(PumpError::Local)?;
                }
                total += n as u64;
                progress(total);
                limiter.pace(n as u64).await;
            }
        }
    }

    /// Upload `source` to `remote`.
    pub async fn store<R, I>(
        &mut self,
        remote: &str,
        mode: StoreMode,
        source: &mut R,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: I,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin + Send + ?Sized,
        I: Future<Output = ()>,
    {
        let ascii = self.ascii;
        self.set_type(if ascii { TransferType::Ascii } else { TransferType::Image }).await?;
        let cmd = match mode {
            StoreMode::Replace => Command::Stor(remote.to_owned()),
            StoreMode::Append => Command::Appe(remote.to_owned()),
            StoreMode::At(n) => {
                self.command(Command::Rest(n)).await?;
                Command::Stor(remote.to_owned())
            }
        };
        let mut data = self.start_transfer(cmd).await?;
        let (stall, rate) = (self.config.data_timeout, self.config.limit_rate.clone());
        let pump = async {
            let mut buf = vec![0u8; CHUNK];
            let mut conv = ToWire::default();
            let mut converted = Vec::new();
            let mut total = 0u64;
            let mut limiter = Pace::new(rate);
            loop {
                let n = source.read(&mut buf).await.map_err(PumpError::Local)?;
                if n == 0 {
                    tokio::time::timeout(stall, data.shutdown())
                        .await
                        .map_err(|_| PumpError::Net("data connection stalled".into()))?
                        .map_err(|e| PumpError::Net(data_error(&e)))?;
                    // Read what the server still sends (TLS 1.3 session
                    // tickets, its close_notify) before closing: closing a
                    // socket with unread input sends a reset, and the
                    // server could lose the last bytes of the upload.
                    let mut sink = [0u8; 4096];
                    let drain = async { while data.read(&mut sink).await.is_ok_and(|n| n > 0) {} };
                    let _ = tokio::time::timeout(Duration::from_secs(5).min(stall), drain).await;
                    return Ok(total);
                }
                let bytes = if ascii {
                    converted.clear();
                    conv.convert(&buf[..n], &mut converted);
                    &converted[..]
                } else {
                    &buf[..n]
                };
                match tokio::time::timeout(stall, data.write_all(bytes)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(PumpError::Net(data_error(&e))),
                    Err(_) => return Err(PumpError::Net("data connection stalled".into())),
                }
                total += n as u64;
                progress(total);
                limiter.pace(n as u64).await;
            }
        };
        let outcome = until_interrupted(pump, interrupt).await;
        drop(data);
        self.conclude(remote, outcome).await
    }

    /// Settle the control connection after a transfer's data phase.
    pub(super) async fn conclude(&mut self, remote: &str, outcome: Option<std::result::Result<u64, PumpError>>) -> Result<u64> {
        match outcome {
            Some(Ok(n)) => self.finish_transfer(remote).await.map(|_| n),
            None => {
                self.abort_transfer().await?;
                Err(Error::Interrupted)
            }
            Some(Err(PumpError::Enough(n))) => {
                self.abort_transfer().await?;
                Ok(n)
            }
            Some(Err(PumpError::Local(e))) => {
                // Our side failed: stop the server too, then report.
                self.abort_transfer().await?;
                Err(Error::Local { path: remote.into(), source: e })
            }
            Some(Err(PumpError::Net(reason))) => {
                // The server usually explains (426, 451, 452…); prefer its words.
                let fin = self.conn.read_reply().await;
                let reason = match fin {
                    Ok(r) if r.class() != 2 => format!("{} {}", r.code, r.text()),
                    _ => reason,
                };
                Err(Error::Transfer { path: remote.to_owned(), reason })
            }
        }
    }
}

/// Run `work` unless `interrupt` resolves first.
pub(super) async fn until_interrupted<T>(work: impl Future<Output = T>, interrupt: impl Future<Output = ()>) -> Option<T> {
    let (work, interrupt) = (pin!(work), pin!(interrupt));
    tokio::select! {
        r = work => Some(r),
        () = interrupt => None,
    }
}

pub(super) enum PumpError {
    Net(String),
    Local(std::io::Error),
    /// A ranged read got all it wanted; the server is still sending.
    Enough(u64),
}
