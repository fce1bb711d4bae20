//! Stopping a thread that is blocked on a socket. Both peers move bulk
//! bytes on one blocking thread with the socket in blocking mode; to stop
//! it early (`ABOR`, Ctrl-C, the session or the download going away), the
//! other side sets a flag and shuts the socket down through a second
//! handle, which wakes the read, write or splice the thread is blocked in.
//! The flag tells that end from the peer's own close.

use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The thread's side: whether it has been stopped.
#[derive(Clone)]
pub struct Stopped(Arc<AtomicBool>);

impl Stopped {
    /// Whether [`Stopper::stop`] has been called.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The stopping side: sets the flag and shuts the socket down. It does so
/// on drop too, unless disarmed, so that a thread whose owner went away
/// does not go on moving bytes.
pub struct Stopper {
    flag: Arc<AtomicBool>,
    sock: TcpStream,
    armed: bool,
}

impl Stopper {
    /// A stopper over `sock` (a second handle to the thread's socket, from
    /// `try_clone`), and the flag to hand the thread.
    pub fn new(sock: TcpStream) -> (Stopper, Stopped) {
        let flag = Arc::new(AtomicBool::new(false));
        (Stopper { flag: flag.clone(), sock, armed: true }, Stopped(flag))
    }

    /// Stop the thread now.
    pub fn stop(&mut self) {
        self.flag.store(true, Ordering::Release);
        let _ = self.sock.shutdown(Shutdown::Both);
    }

    /// The thread has ended: leave the socket alone on drop.
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        if self.armed {
            self.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn stopping_wakes_a_blocked_read_and_sets_the_flag() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _tx = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let mut rx = l.accept().unwrap().0;
        rx.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        let (stopper, stopped) = Stopper::new(rx.try_clone().unwrap());
        let waker = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(stopper);
        });
        let t = std::time::Instant::now();
        assert_eq!(rx.read(&mut [0; 16]).unwrap(), 0, "a shut-down socket reads as its end");
        assert!(stopped.get());
        assert!(t.elapsed() < std::time::Duration::from_secs(10));
        waker.join().unwrap();
    }
}
