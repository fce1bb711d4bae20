//! FTPS transfers in binary mode without rate limits, on one blocking
//! thread (see [`super::blocking`]): the same thread reads the file,
//! encrypts and sends (or receives, decrypts and writes), so a chunk is
//! still in that core's cache when the cipher reads it, and no chunk
//! crosses between threads. With the async pipeline, a profile of a 1 GiB
//! FTPS `RETR` spent more time in task switches and wake-ups than in
//! AES-GCM (see bench/PROFILE.md).
//!
//! The TLS session is taken out of tokio-rustls as it stands after the
//! handshake: whatever it already holds (records that came with the
//! handshake, tickets still to send) is carried over, not lost.

use std::io::{self, BufReader, Write as _};
use std::net::TcpStream;

use rustls::ServerConnection;

use super::blocking::{self, Stopped};
use super::{CHUNK, Incoming, Progress, Pump, TransferError, read_some};
use crate::storage::{ReadHandle, StorageError};

/// How many encrypted bytes rustls may hold for a download: one whole
/// chunk's records. Left at its default (64 KiB), a 256 KiB chunk went out
/// in four `writev` calls, and on loopback each also runs the receiver's
/// side of TCP; one call per chunk cut the server's CPU for a 1 GiB `RETR`
/// to curl by about a sixth (interleaved A/B runs, bench/PROFILE.md).
/// 1 MiB chunks saved a little more but would hold 3 MiB per running
/// download; this holds about 0.5 MiB.
const TLS_SEND_BUFFER: usize = CHUNK + 32 * 1024;

type Tls = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

fn join_failed(e: tokio::task::JoinError) -> TransferError {
    StorageError::Io(io::Error::other(e)).into()
}

/// Send `reader` (at most `limit` bytes of it) over the TLS connection.
/// Returns the bytes sent (before encryption).
pub(super) async fn send_tls(reader: ReadHandle, limit: Option<u64>, tls: Box<Tls>, p: &mut Pump) -> (u64, Result<(), TransferError>) {
    let (tcp, mut conn) = tls.into_inner();
    let (sock, handle) = match blocking::blocking_socket(tcp, p.stall) {
        Ok(x) => x,
        Err(e) => return (0, Err(TransferError::Data(e))),
    };
    let progress = p.progress.clone();
    let work = move |stopped: Stopped| {
        let mut sent = 0;
        let result = send_loop(reader, limit, &mut conn, &sock, &progress, &mut sent);
        // A write that failed because `ABOR` shut the socket down.
        let result = if stopped.get() { Err(TransferError::Aborted) } else { result };
        (sent, result)
    };
    blocking::run(handle, &mut p.abort, work).await.unwrap_or_else(|e| (0, Err(join_failed(e))))
}

fn send_loop(
    mut reader: ReadHandle,
    mut limit: Option<u64>,
    conn: &mut ServerConnection,
    sock: &TcpStream,
    progress: &Progress,
    sent: &mut u64,
) -> Result<(), TransferError> {
    flush(conn, sock)?;
    conn.set_buffer_limit(Some(TLS_SEND_BUFFER));
    let mut buf = vec![0; CHUNK];
    loop {
        let want = limit.map_or(CHUNK, |l| l.min(CHUNK as u64) as usize);
        if want == 0 {
            break;
        }
        let n = read_some(&mut reader, &mut buf[..want]).map_err(StorageError::from)?;
        if n == 0 {
            break;
        }
        // rustls takes what fits in its send buffer (the limit set above),
        // so memory stays bounded; send, then give it the rest.
        let mut taken = 0;
        while taken < n {
            taken += conn.writer().write(&buf[taken..n]).map_err(TransferError::Data)?;
            flush(conn, sock)?;
        }
        *sent += n as u64;
        progress.add(n as u64);
        if let Some(l) = &mut limit {
            *l -= n as u64;
        }
    }
    conn.send_close_notify();
    flush(conn, sock)?;
    let _ = sock.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// Write out every record rustls has queued.
fn flush(conn: &mut ServerConnection, mut sock: &TcpStream) -> Result<(), TransferError> {
    while conn.wants_write() {
        match conn.write_tls(&mut sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(TransferError::Data(blocking::stalled(e))),
        }
    }
    Ok(())
}

/// Receive the TLS connection into `incoming` until the client ends it
/// with `close_notify` (a connection cut without one is a truncated
/// upload: an error, as tokio-rustls reports it). Returns the bytes
/// received (after decryption).
pub(super) async fn receive_tls(mut incoming: Incoming, tls: Box<Tls>, p: &mut Pump) -> (u64, Result<Incoming, TransferError>) {
    let (tcp, mut conn) = tls.into_inner();
    let (sock, handle) = match blocking::blocking_socket(tcp, p.stall) {
        Ok(x) => x,
        Err(e) => return incoming.refuse(e),
    };
    let progress = p.progress.clone();
    let work = move |stopped: Stopped| {
        let mut received = 0;
        let result = receive_loop(&mut incoming, &mut conn, &sock, &stopped, &progress, &mut received);
        incoming.received = Some(received);
        match result {
            Ok(()) => (received, Ok(incoming)),
            Err(TransferError::Storage(e)) => (received, Err(TransferError::Storage(incoming.fail(e)))),
            Err(e) => {
                let e = if stopped.get() { TransferError::Aborted } else { e };
                incoming.abort(&e);
                (received, Err(e))
            }
        }
    };
    blocking::run(handle, &mut p.abort, work).await.unwrap_or_else(|e| (0, Err(join_failed(e))))
}

fn receive_loop(
    incoming: &mut Incoming,
    conn: &mut ServerConnection,
    sock: &TcpStream,
    stopped: &Stopped,
    progress: &Progress,
    received: &mut u64,
) -> Result<(), TransferError> {
    flush(conn, sock)?;
    // One socket read takes whatever has arrived (rustls alone would read
    // one record, ~16 KiB, per call); the file gets whole chunks.
    let mut wire = BufReader::with_capacity(CHUNK, sock);
    let mut buf = vec![0; CHUNK];
    let mut fill = 0;
    loop {
        let ended = loop {
            if fill == buf.len() {
                break None;
            }
            match io::Read::read(&mut conn.reader(), &mut buf[fill..]) {
                Ok(0) => break Some(Ok(())),
                Ok(n) => fill += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                Err(e) => break Some(Err(e)),
            }
        };
        // Write before the socket read could block, so that an abort
        // loses nothing that arrived.
        if fill > 0 && (fill == buf.len() || ended.is_some() || wire.buffer().is_empty()) {
            incoming.write(&buf[..fill])?;
            *received += fill as u64;
            progress.add(fill as u64);
            fill = 0;
        }
        match ended {
            Some(Ok(())) => break,
            Some(Err(e)) => return Err(TransferError::Data(e)),
            None if fill == buf.len() => continue,
            None => {}
        }
        match conn.read_tls(&mut wire) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransferError::Data(blocking::stalled(e))),
        }
        if stopped.get() {
            return Err(TransferError::Aborted);
        }
        if let Err(e) = conn.process_new_packets() {
            // Send the alert rustls queued, then give up.
            let _ = flush(conn, sock);
            return Err(TransferError::Data(io::Error::new(io::ErrorKind::InvalidData, e)));
        }
        flush(conn, sock)?;
    }
    // Answer the client's close_notify with ours, which clients such as
    // lftp wait for.
    conn.send_close_notify();
    let _ = flush(conn, sock);
    let _ = sock.shutdown(std::net::Shutdown::Write);
    Ok(())
}
