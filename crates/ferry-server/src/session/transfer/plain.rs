//! The fast path for plain binary uploads without rate limits: one
//! blocking thread moves the bytes from the socket to the file, as
//! vsftpd does, with no hand-off between threads per chunk; where the
//! storage is a local file, with `splice` (see [`super::splice`]).

use std::io::{self, Read as _};
use std::sync::Arc;

use super::splice::Splicer;
use super::{CHUNK, Incoming, Pump, TransferError, aborted};
use crate::storage::StorageError;

/// The fast path for plain binary uploads without rate limits: one
/// blocking thread moves the bytes from the socket to the file, with no
/// hand-off between threads per chunk. `ABOR` shuts the socket's
/// reading side down from here, which ends the blocked read; a flag tells
/// that end from the client's own close.
pub(super) async fn receive_plain(
    mut incoming: Incoming,
    tcp: tokio::net::TcpStream,
    p: &mut Pump,
) -> (u64, Result<Incoming, TransferError>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let prepared = tcp.into_std().and_then(|s| {
        s.set_nonblocking(false)?;
        s.set_read_timeout(Some(p.stall))?;
        let handle = s.try_clone()?;
        Ok((s, handle))
    });
    let (mut sock, handle) = match prepared {
        Ok(x) => x,
        Err(e) => {
            let why = TransferError::Data(e);
            incoming.abort(&why);
            return (0, Err(why));
        }
    };
    let aborted_flag = Arc::new(AtomicBool::new(false));
    let flag = aborted_flag.clone();
    let progress = p.progress.clone();
    let mut worker = tokio::task::spawn_blocking(move || {
        let mut splicer = Splicer::for_upload(&incoming.upload);
        let mut buf = Vec::new();
        let mut received = 0u64;
        let error = loop {
            let got = match &splicer {
                Some(s) => s.take(&sock),
                None => {
                    buf.resize(CHUNK, 0);
                    sock.read(&mut buf)
                }
            };
            let n = match got {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    break TransferError::Data(io::Error::new(io::ErrorKind::TimedOut, "data connection stalled"));
                }
                // Nothing was taken: go on without splicing.
                Err(e) if splicer.is_some() && e.kind() == io::ErrorKind::InvalidInput => {
                    splicer = None;
                    continue;
                }
                Err(e) => break TransferError::Data(e),
            };
            if flag.load(Ordering::Acquire) {
                break TransferError::Aborted;
            }
            if n == 0 {
                let _ = sock.shutdown(std::net::Shutdown::Write);
                return (received, Ok(incoming));
            }
            let wrote = match &mut splicer {
                Some(s) => s.put(&mut incoming.upload, n),
                None => incoming.write(&buf[..n]),
            };
            if let Err(e) = wrote {
                return (received, Err(TransferError::Storage(incoming.fail(e))));
            }
            if splicer.as_ref().is_some_and(Splicer::refused) {
                splicer = None;
            }
            received += n as u64;
            progress.add(n as u64);
            incoming.received = Some(received);
        };
        incoming.abort(&error);
        (received, Err(error))
    });
    // Stops the thread if this future is dropped before it ends (its
    // session went away): it must not go on reading a client's upload.
    let stopper = StopOnDrop { flag: aborted_flag, sock: handle, armed: true };
    let done = tokio::select! {
        r = &mut worker => Some(r),
        () = aborted(&mut p.abort) => None,
    };
    let mut stopper = stopper;
    let joined = match done {
        Some(r) => r,
        None => {
            stopper.stop();
            worker.await
        }
    };
    stopper.armed = false;
    joined.unwrap_or_else(|e| (0, Err(StorageError::Io(io::Error::other(e)).into())))
}

/// Ends a blocking upload loop: sets its abort flag and shuts its socket
/// down, which wakes a read it is blocked in. Does so on drop while armed.
struct StopOnDrop {
    flag: Arc<std::sync::atomic::AtomicBool>,
    sock: std::net::TcpStream,
    armed: bool,
}

impl StopOnDrop {
    fn stop(&mut self) {
        self.flag.store(true, std::sync::atomic::Ordering::Release);
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.stop();
        }
    }
}
