//! The fast path for plain binary uploads without rate limits: one
//! blocking thread moves the bytes from the socket to the file, as
//! vsftpd does; where the storage is a local file, with `splice` (see
//! [`super::splice`]).

use std::io::{self, Read as _};

use super::splice::Splicer;
use super::{CHUNK, Incoming, Pump, TransferError, blocking};
use crate::storage::StorageError;

/// Receive a plain binary upload into `incoming` until the client closes
/// the data connection (see [`super::blocking`] for how `ABOR` stops it).
pub(super) async fn receive_plain(
    mut incoming: Incoming,
    tcp: tokio::net::TcpStream,
    p: &mut Pump,
) -> (u64, Result<Incoming, TransferError>) {
    let (mut sock, handle) = match blocking::blocking_socket(tcp, p.stall) {
        Ok(x) => x,
        Err(e) => return incoming.refuse(e),
    };
    let progress = p.progress.clone();
    let work = move |stopped: blocking::Stopped| {
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
                // Nothing was taken: go on without splicing.
                Err(e) if splicer.is_some() && e.kind() == io::ErrorKind::InvalidInput => {
                    splicer = None;
                    continue;
                }
                Err(e) => break TransferError::Data(blocking::stalled(e)),
            };
            if stopped.get() {
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
    };
    let joined = blocking::run(handle, &mut p.abort, work).await;
    joined.unwrap_or_else(|e| (0, Err(StorageError::Io(io::Error::other(e)).into())))
}
