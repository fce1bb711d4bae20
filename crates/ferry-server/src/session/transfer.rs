//! Moving file bytes between storage and a data connection.
//!
//! Disk I/O is blocking. Plain binary downloads of local files go from
//! the page cache to the socket with `sendfile`; plain binary uploads go
//! from the socket to the file on one blocking thread, with `splice` where
//! the storage is a local file (see `plain`); binary transfers under TLS
//! run on one blocking thread too (see `tls`). The rest (ASCII, rate
//! limits) runs a small pipeline: a blocking thread reads (or writes)
//! 256 KiB chunks while the async side writes (or reads) the socket, with
//! a few chunks in flight and buffers recycled.
//! `ABOR` trips the [`AbortSignal`]: the socket side stops, the channel
//! closes, the blocking side stops at its next chunk, and an unfinished
//! upload is aborted (which never damages an existing file) *before* the
//! pump returns, so the `226` after `ABOR` means the clean-up is done.
//!
//! An upload that received everything is not committed at once: the pump
//! first asks the session through a [`CommitGate`], which checks that the
//! client is still there (a client killed mid-upload closes its data
//! connection just as a finished one does).

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::ascii::{FromWire, ToWire};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

mod blocking;
mod plain;
mod splice;
mod tls;

use super::stream::Stream;
use crate::limits::{RateLimiter, consume_all};
use crate::storage::{ReadHandle, StorageError};
use ferry_core::events::Failure;
use ferry_core::sessions::TransferProgress;
use ferry_core::userfs::{FsError, UserUpload};

const CHUNK: usize = 256 * 1024;
const IN_FLIGHT: usize = 4;

/// How a transfer ended, when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransferError {
    /// The data connection failed or stalled: reply 426.
    #[error("Connection closed; transfer aborted ({0}).")]
    Data(io::Error),
    /// Reading or writing the file failed, or the quota ran out: reply
    /// with its code.
    #[error("{0}")]
    Storage(#[from] FsError),
    /// The client sent `ABOR`.
    #[error("Transfer aborted.")]
    Aborted,
}

impl From<StorageError> for TransferError {
    fn from(e: StorageError) -> Self {
        TransferError::Storage(e.into())
    }
}

/// Raised by the session when the client sends `ABOR`.
pub(crate) type AbortSignal = tokio::sync::watch::Receiver<bool>;

/// Resolves once the transfer has been aborted (or its session is gone).
pub(crate) async fn aborted(signal: &mut AbortSignal) {
    let _ = signal.wait_for(|a| *a).await;
}

async fn timed<T>(limit: Duration, fut: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(limit, fut).await.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "data connection stalled"))?
}

/// What every pump needs besides its file and socket.
pub(crate) struct Pump {
    pub(crate) ascii: bool,
    pub(crate) stall: Duration,
    pub(crate) abort: AbortSignal,
    /// Bandwidth limits that apply (user's, server's).
    pub(crate) limits: Vec<Arc<RateLimiter>>,
    /// For uploads: asks the session before committing.
    pub(crate) gate: Option<CommitGate>,
    /// Where a file transfer counts its bytes for the session list.
    pub(crate) progress: Progress,
}

/// A file transfer's byte counter in the core's session registry (none
/// for a listing). Added to once per chunk, never per byte: one atomic
/// add, so the fastest paths do not slow down.
#[derive(Clone, Default)]
pub(crate) struct Progress(pub(crate) Option<Arc<TransferProgress>>);

impl Progress {
    fn add(&self, bytes: u64) {
        if let Some(p) = &self.0 {
            p.add(bytes);
        }
    }
}

/// The fast path: a local file to a plain socket in binary mode without
/// rate limits goes from the page cache to the socket inside the kernel
/// (`sendfile`), with no copy through user space.
async fn sendfile_to(
    file: &std::fs::File,
    sock: &tokio::net::TcpStream,
    limit: Option<u64>,
    stall: Duration,
    sent: &mut u64,
    progress: &Progress,
) -> Result<(), TransferError> {
    use tokio::io::Interest;
    let mut remaining = limit;
    let mut first = true;
    loop {
        // Up to 1 GiB per call keeps each syscall bounded.
        let want = remaining.map_or(1 << 30, |r| r.min(1 << 30)) as usize;
        if want == 0 {
            return Ok(());
        }
        let wrote = timed(stall, async {
            // A fresh data connection has room in its send buffer, but
            // tokio learns that only from the next `epoll_wait`: the first
            // call goes without asking, which spares a small file a trip
            // through the driver. (Its `EAGAIN` changes nothing: the wait
            // below follows.)
            if std::mem::take(&mut first) {
                match rustix::fs::sendfile(sock, file, None, want) {
                    Err(rustix::io::Errno::AGAIN) => {}
                    done => return done.map_err(io::Error::from),
                }
            }
            loop {
                sock.writable().await?;
                // `None` offset: use and advance the file position, which
                // the storage already set to the REST offset.
                match sock.try_io(Interest::WRITABLE, || rustix::fs::sendfile(sock, file, None, want).map_err(io::Error::from)) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    other => return other,
                }
            }
        })
        .await;
        match wrote {
            Ok(0) => return Ok(()),
            Ok(n) => {
                *sent += n as u64;
                progress.add(n as u64);
                if let Some(r) = &mut remaining {
                    *r -= n as u64;
                }
            }
            // The socket failed: a data-connection error. (A file read
            // error shows up as EIO and is reported the same way, with the
            // OS's words.)
            Err(e) => return Err(TransferError::Data(e)),
        }
    }
}

/// Send `reader` (at most `limit` bytes of it) over `sock`, converting line
/// ends when `ascii`. Returns the bytes sent on the wire. `expected` is
/// what the file's size said when it was opened: `sendfile` sends that
/// much and stops, as vsftpd does, sparing small files a last call that
/// would only find the end.
pub(crate) async fn send_file(
    reader: ReadHandle,
    limit: Option<u64>,
    expected: u64,
    mut sock: Stream,
    mut p: Pump,
) -> (u64, Result<(), TransferError>) {
    if let (ReadHandle::File(file), Stream::Plain(tcp), false, true) = (&reader, &sock, p.ascii, p.limits.is_empty()) {
        let mut sent = 0u64;
        let limit = Some(limit.map_or(expected, |l| l.min(expected)));
        let result = tokio::select! {
            r = sendfile_to(file, tcp, limit, p.stall, &mut sent, &p.progress) => r,
            () = aborted(&mut p.abort) => Err(TransferError::Aborted),
        };
        let result = match result {
            Ok(()) => timed(p.stall, sock.shutdown()).await.map_err(TransferError::Data),
            Err(e) => Err(e),
        };
        return (sent, result);
    }
    let mut sock = match sock {
        Stream::Tls(tls) if !p.ascii && p.limits.is_empty() => return tls::send_tls(reader, limit, tls, &mut p).await,
        sock => sock,
    };
    let (tx, mut rx) = mpsc::channel::<Result<Vec<u8>, io::Error>>(IN_FLIGHT);
    let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let ascii = p.ascii;
    tokio::task::spawn_blocking(move || read_loop(reader, limit, ascii, tx, recycle_rx));
    let mut sent = 0u64;
    let pump = async {
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk.map_err(|e| TransferError::from(StorageError::from(e)))?;
            timed(p.stall, sock.write_all(&chunk)).await.map_err(TransferError::Data)?;
            sent += chunk.len() as u64;
            p.progress.add(chunk.len() as u64);
            consume_all(&p.limits, chunk.len() as u64).await;
            let _ = recycle_tx.send(chunk);
        }
        timed(p.stall, sock.shutdown()).await.map_err(TransferError::Data)
    };
    let result = tokio::select! {
        r = pump => r,
        () = aborted(&mut p.abort) => Err(TransferError::Aborted),
    };
    (sent, result)
}

fn read_loop(
    mut reader: ReadHandle,
    mut limit: Option<u64>,
    ascii: bool,
    tx: mpsc::Sender<Result<Vec<u8>, io::Error>>,
    recycle: std::sync::mpsc::Receiver<Vec<u8>>,
) {
    let mut conv = ToWire::default();
    let mut raw = if ascii { vec![0; CHUNK] } else { Vec::new() };
    loop {
        let want = limit.map_or(CHUNK, |l| l.min(CHUNK as u64) as usize);
        if want == 0 {
            return;
        }
        let mut buf = recycle.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK + CHUNK / 8));
        let result = if ascii {
            buf.clear();
            read_some(&mut reader, &mut raw[..want]).inspect(|&n| conv.convert(&raw[..n], &mut buf))
        } else {
            buf.resize(want, 0);
            read_some(&mut reader, &mut buf[..want]).inspect(|&n| buf.truncate(n))
        };
        match result {
            Ok(0) => return,
            Ok(n) => {
                if let Some(l) = &mut limit {
                    *l -= n as u64;
                }
                if tx.blocking_send(Ok(buf)).is_err() {
                    return; // aborted
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}

fn read_some(r: &mut ReadHandle, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Poll `fut` once: its output if it is ready now, `None` if it would
/// have to wait. (Dropping a pending socket read is safe in tokio.)
fn ready_now<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// An upload on its way in: the user's upload (the storage's writer, its
/// share of the quota, its claim on the file), and what `ALLO` said.
pub(crate) struct Incoming {
    pub(crate) upload: UserUpload,
    /// Bytes the client announced with `ALLO`: fewer means it broke off.
    pub(crate) announced: Option<u64>,
    /// Bytes received over the data connection, once known (ASCII
    /// conversion writes another number), for the upload's event.
    received: Option<u64>,
}

impl Incoming {
    pub(crate) fn new(upload: UserUpload, announced: Option<u64>) -> Incoming {
        Incoming { upload, announced, received: None }
    }

    /// Write `buf`, counting it against the quota first.
    fn write(&mut self, buf: &[u8]) -> Result<(), FsError> {
        self.upload.write(buf)
    }

    fn commit(mut self) -> Result<(), FsError> {
        if let Some(n) = self.received {
            self.upload.set_received(n);
        }
        self.upload.commit().map(drop)
    }

    /// End without committing. Bytes that arrived are kept where that is
    /// safe (see `Upload::abort`).
    fn abort(mut self, why: &TransferError) {
        if let Some(n) = self.received {
            self.upload.set_received(n);
        }
        let outcome = match why {
            TransferError::Storage(e) => self.upload.fail(e),
            TransferError::Data(e) => self.upload.abort(Failure::Connection(e.to_string())),
            TransferError::Aborted => self.upload.abort(Failure::Interrupted),
        };
        tracing::info!(?outcome, reason = %why, "upload not completed");
    }

    /// The data connection could not be set up for the transfer: end the
    /// upload with nothing received, as a pump returns it.
    fn refuse(self, e: io::Error) -> (u64, Result<Incoming, TransferError>) {
        let why = TransferError::Data(e);
        self.abort(&why);
        (0, Err(why))
    }

    /// Writing failed with `e`: end the upload and hand the error back.
    fn fail(self, e: FsError) -> FsError {
        let why = TransferError::Storage(e);
        self.abort(&why);
        match why {
            TransferError::Storage(e) => e,
            _ => unreachable!("made above"),
        }
    }
}

/// Lets the session check that the client is still there before an upload
/// is committed: in stream mode a client killed mid-upload closes the data
/// connection exactly as a finished one does, and only the control
/// connection tells the two apart.
pub(crate) struct CommitGate {
    /// The pump says "everything arrived".
    pub(crate) ready: oneshot::Sender<()>,
    /// The session answers "commit"; dropped unanswered, it means abort.
    pub(crate) go: oneshot::Receiver<()>,
}

enum ToDisk {
    Chunk(Vec<u8>),
    /// All arrived.
    Finish,
}

/// Receive the data connection into `incoming` until the client closes
/// it, then commit once the session's [`CommitGate`] agrees. Returns the
/// bytes received.
pub(crate) async fn receive_file(incoming: Incoming, sock: Stream, mut p: Pump) -> (u64, Result<(), TransferError>) {
    let gate = p.gate.take();
    let (received, arrived) = match sock {
        Stream::Plain(tcp) if !p.ascii && p.limits.is_empty() => plain::receive_plain(incoming, tcp, &mut p).await,
        Stream::Tls(tls) if !p.ascii && p.limits.is_empty() => tls::receive_tls(incoming, tls, &mut p).await,
        sock => receive_pumped(incoming, sock, &mut p).await,
    };
    let mut incoming = match arrived {
        Ok(incoming) => incoming,
        Err(e) => return (received, Err(e)),
    };
    incoming.received = Some(received);
    let short = incoming.announced.filter(|&a| received < a);
    let go = match (short, gate) {
        (Some(_), _) => false,
        (None, None) => true,
        (None, Some(gate)) => {
            let _ = gate.ready.send(());
            tokio::select! {
                r = gate.go => r.is_ok(),
                () = aborted(&mut p.abort) => false,
            }
        }
    };
    let finish = move || {
        if go {
            return incoming.commit().map_err(TransferError::Storage);
        }
        let why = match short {
            Some(announced) => TransferError::Data(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the client announced {announced} bytes with ALLO and sent {received}"),
            )),
            None => TransferError::Aborted,
        };
        incoming.abort(&why);
        Err(why)
    };
    let result = tokio::task::spawn_blocking(finish).await.unwrap_or_else(|e| Err(StorageError::Io(io::Error::other(e)).into()));
    (received, result)
}

/// Uploads through the async socket (TLS, ASCII, rate limits): the pump
/// reads, a blocking writer thread writes.
async fn receive_pumped(incoming: Incoming, mut sock: Stream, p: &mut Pump) -> (u64, Result<Incoming, TransferError>) {
    let (tx, rx) = mpsc::channel::<ToDisk>(IN_FLIGHT);
    let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let ascii = p.ascii;
    let writer = tokio::task::spawn_blocking(move || write_loop(incoming, ascii, rx, recycle_tx));
    // Shared with the pump by reference; atomics keep the future `Send`.
    let received = std::sync::atomic::AtomicU64::new(0);
    let (stall, limits, progress) = (p.stall, &p.limits, &p.progress);
    let pump = async {
        let (tx, recycle_rx) = (tx, recycle_rx);
        loop {
            let mut buf = recycle_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
            buf.resize(CHUNK, 0);
            // Wait for some bytes, then take whatever else has already
            // arrived without waiting, up to a whole chunk: a socket read
            // returns one burst (often 64 KiB on loopback), and each
            // hand-off wakes the writer thread. Never waiting with bytes in
            // hand means an abort loses nothing that arrived.
            let mut n = timed(stall, sock.read(&mut buf)).await.map_err(TransferError::Data)?;
            let mut eof = n == 0;
            while !eof && n < CHUNK {
                match ready_now(sock.read(&mut buf[n..])) {
                    Some(Ok(0)) => eof = true,
                    Some(Ok(got)) => n += got,
                    Some(Err(e)) => return Err(TransferError::Data(e)),
                    None => break,
                }
            }
            if n > 0 {
                buf.truncate(n);
                received.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                progress.add(n as u64);
                // A closed channel means the writer failed; its error wins.
                if tx.send(ToDisk::Chunk(buf)).await.is_err() {
                    return Ok(());
                }
                consume_all(limits, n as u64).await;
            }
            if eof {
                let _ = tx.send(ToDisk::Finish).await;
                // Answer the client's close: under TLS this sends our
                // close_notify, which clients such as lftp wait for.
                let _ = timed(stall, sock.shutdown()).await;
                return Ok(());
            }
        }
    };
    let pumped = tokio::select! {
        r = pump => r,
        () = aborted(&mut p.abort) => Err(TransferError::Aborted),
    };
    // The pump owned the sender, so the channel is closed now; without
    // `Finish` the writer aborts the upload with the reason given here.
    let received = received.into_inner();
    let why = pumped.err();
    let written = writer.await.unwrap_or_else(|e| WriterEnd::Failed(StorageError::Io(io::Error::other(e)).into()));
    match (written, why) {
        (WriterEnd::Failed(e), _) => (received, Err(TransferError::Storage(e))),
        (WriterEnd::Finished(incoming), None) => (received, Ok(incoming)),
        (WriterEnd::Finished(incoming), Some(why)) => (received, Err(abort_blocking(incoming, received, why).await)),
        (WriterEnd::Interrupted(incoming), why) => {
            let why = why.unwrap_or(TransferError::Aborted);
            (received, Err(abort_blocking(incoming, received, why).await))
        }
    }
}

/// End `incoming` without committing, with the bytes that came over the
/// wire, on the blocking pool: the storage may remove, rename or sync, and
/// the core writes its event (the xferlog) on the way.
async fn abort_blocking(mut incoming: Incoming, received: u64, why: TransferError) -> TransferError {
    incoming.received = Some(received);
    tokio::task::spawn_blocking(move || {
        incoming.abort(&why);
        why
    })
    .await
    .unwrap_or_else(|e| StorageError::Io(io::Error::other(e)).into())
}

/// How the writer thread ended.
enum WriterEnd {
    /// Every byte is written; the upload awaits its commit.
    Finished(Incoming),
    /// The pump stopped before the end (it says why).
    Interrupted(Incoming),
    /// Writing failed; the upload has been aborted.
    Failed(FsError),
}

fn write_loop(mut incoming: Incoming, ascii: bool, mut rx: mpsc::Receiver<ToDisk>, recycle: std::sync::mpsc::Sender<Vec<u8>>) -> WriterEnd {
    let mut conv = FromWire::default();
    let mut converted = Vec::new();
    loop {
        let result = match rx.blocking_recv() {
            Some(ToDisk::Chunk(buf)) => {
                let result = if ascii {
                    converted.clear();
                    conv.convert(&buf, &mut converted);
                    incoming.write(&converted)
                } else {
                    incoming.write(&buf)
                };
                let _ = recycle.send(buf);
                result
            }
            Some(ToDisk::Finish) => {
                if ascii {
                    converted.clear();
                    conv.finish(&mut converted);
                    if let Err(e) = incoming.write(&converted) {
                        return WriterEnd::Failed(incoming.fail(e));
                    }
                }
                return WriterEnd::Finished(incoming);
            }
            None => return WriterEnd::Interrupted(incoming),
        };
        if let Err(e) = result {
            return WriterEnd::Failed(incoming.fail(e));
        }
    }
}

/// Send a listing over the data connection as its chunks arrive from the
/// folder reader.
pub(crate) async fn send_chunks(
    mut chunks: mpsc::Receiver<Result<Vec<u8>, StorageError>>,
    mut sock: Stream,
    mut p: Pump,
) -> (u64, Result<(), TransferError>) {
    let stall = p.stall;
    let mut sent = 0u64;
    let pump = async {
        while let Some(chunk) = chunks.recv().await {
            let chunk = chunk?;
            timed(stall, sock.write_all(&chunk)).await.map_err(TransferError::Data)?;
            sent += chunk.len() as u64;
        }
        timed(stall, sock.shutdown()).await.map_err(TransferError::Data)
    };
    let result = tokio::select! {
        r = pump => r,
        () = aborted(&mut p.abort) => Err(TransferError::Aborted),
    };
    (sent, result)
}
