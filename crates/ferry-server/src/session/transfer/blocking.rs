//! Transfers that run from start to end on one blocking thread, with the
//! data socket in blocking mode: no hand-off between threads per chunk,
//! no wake-ups of the async workers while the bytes flow. The socket's
//! read and write timeouts are the stall deadline. `ABOR` (or the session
//! going away) sets a flag and shuts the socket down from here, which
//! wakes a read or write the thread is blocked in; the flag tells that end
//! from the client's own close.

use std::io;
use std::time::Duration;

pub(super) use ferry_net::stop::Stopped;
use ferry_net::stop::Stopper;

use super::{AbortSignal, aborted};

/// The data socket in blocking mode with deadlines on reads and writes,
/// and a second handle to it for stopping the thread.
pub(super) fn blocking_socket(tcp: tokio::net::TcpStream, stall: Duration) -> io::Result<(std::net::TcpStream, std::net::TcpStream)> {
    let s = tcp.into_std()?;
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(stall))?;
    s.set_write_timeout(Some(stall))?;
    let handle = s.try_clone()?;
    Ok((s, handle))
}

/// The error a blocked read or write gives after its deadline.
pub(super) fn stalled(e: io::Error) -> io::Error {
    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
        return io::Error::new(io::ErrorKind::TimedOut, "data connection stalled");
    }
    e
}

/// Run `work` on the blocking pool until it ends; on `ABOR`, or if this
/// future is dropped first (its session went away: the thread must not go
/// on moving a client's bytes), stop it through `sock`.
pub(super) async fn run<T: Send + 'static>(
    sock: std::net::TcpStream,
    abort: &mut AbortSignal,
    work: impl FnOnce(Stopped) -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let (mut stopper, stopped) = Stopper::new(sock);
    let mut worker = tokio::task::spawn_blocking(move || work(stopped));
    let joined = tokio::select! {
        r = &mut worker => r,
        () = aborted(abort) => {
            stopper.stop();
            worker.await
        }
    };
    stopper.disarm();
    joined
}
