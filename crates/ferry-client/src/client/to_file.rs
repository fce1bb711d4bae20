//! Downloads into a local file ([`Client::retrieve_to_file`]): a plain
//! binary transfer runs on one blocking thread, the data socket spliced
//! into the file through a pipe ([`ferry_net::splice`]), as the server
//! receives uploads. No worker thread wakes per chunk and, while the file
//! takes `splice`, the bytes skip the copy out of the socket into a buffer
//! of ours and the copy into tokio's `File`; profiling `ferry get` of
//! 1 GiB into tmpfs showed those, and the hand-offs between a worker and
//! tokio's file thread, as what set it apart from curl (see
//! bench/PROFILE.md).
//!
//! TLS, ASCII mode and `--limit-rate` keep the async pump.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::net::TcpStream;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferry_net::splice::Pipe;
use ferry_net::stop::{Stopped, Stopper};

use super::Client;
use super::data::data_error;
use super::pump::{CHUNK, PumpError, until_interrupted};
use crate::error::Result;
use crate::stream::Stream;

/// How often the blocking thread's count reaches `progress`.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl Client {
    /// Download `remote` from `offset` into `file` at its position, and
    /// hand the file back (to be synced or renamed by the caller).
    ///
    /// Unlike [`Client::retrieve`], `progress` is called every 100 ms with
    /// the running count (the same count may come twice), and once more
    /// at the end. `interrupt` resolving stops the blocking thread (it
    /// waits for it, at most the data timeout) and sends `ABOR`.
    pub async fn retrieve_to_file<I>(
        &mut self,
        remote: &str,
        offset: u64,
        file: File,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: I,
    ) -> Result<(u64, File)>
    where
        I: Future<Output = ()>,
    {
        // A schedule may start limiting mid-transfer: only the pump paces.
        let direct = !self.ascii && self.config.limit_rate.as_ref().is_none_or(|r| !r.scheduled() && r.now().is_none());
        let data = self.begin_retrieve(remote, offset).await?;
        match data {
            Stream::Plain(tcp) if direct => {
                let outcome = self.receive_blocking(tcp, &file, progress, interrupt).await;
                let n = self.conclude(remote, outcome).await?;
                Ok((n, file))
            }
            mut data => {
                let mut sink = tokio::fs::File::from_std(file);
                let pump = self.pump_download(&mut data, None, &mut sink, progress);
                let outcome = until_interrupted(pump, interrupt).await;
                drop(data);
                let n = self.conclude(remote, outcome).await?;
                Ok((n, sink.into_std().await))
            }
        }
    }

    /// Run [`receive`] on the blocking pool, passing its count to
    /// `progress`. `interrupt` resolving, or this future being dropped,
    /// stops it by shutting the socket down, which wakes the splice it is
    /// blocked in. `None` means interrupted.
    async fn receive_blocking(
        &self,
        tcp: tokio::net::TcpStream,
        file: &File,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Option<std::result::Result<u64, PumpError>> {
        let stall = self.config.data_timeout;
        let prepared = tcp.into_std().and_then(|s| {
            s.set_nonblocking(false)?;
            // The stall deadline: a splice waiting longer gives EAGAIN.
            s.set_read_timeout(Some(stall))?;
            Ok((s.try_clone()?, s))
        });
        // The thread writes through its own handle to the file (same
        // open file, same position), so the caller keeps `file` whatever
        // becomes of the thread.
        let (sock, handle, file) = match prepared.and_then(|(sock, handle)| Ok((sock, handle, file.try_clone()?))) {
            Ok(x) => x,
            Err(e) => return Some(Err(PumpError::Net(data_error(&e)))),
        };
        let moved = Arc::new(AtomicU64::new(0));
        // Dropped with this future, it stops the thread: a download whose
        // caller went away does not go on writing the file. After a normal
        // end it only shuts down a socket the thread has finished with.
        let (mut stopper, stopped) = Stopper::new(handle);
        let m = moved.clone();
        let mut worker = tokio::task::spawn_blocking(move || receive(&sock, &file, &m, &stopped));
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut interrupt = pin!(interrupt);
        let outcome = loop {
            tokio::select! {
                joined = &mut worker => break Some(joined.unwrap_or_else(|e| Err(PumpError::Local(io::Error::other(e))))),
                _ = tick.tick() => progress(moved.load(Ordering::Relaxed)),
                () = &mut interrupt => {
                    stopper.stop();
                    // A thread stuck on the file side (a hung network
                    // mount) is left to finish on its own.
                    let _ = tokio::time::timeout(stall, &mut worker).await;
                    break None;
                }
            }
        };
        progress(moved.load(Ordering::Relaxed));
        outcome
    }
}

/// Move the stream on `sock` into `file` until the server closes it:
/// spliced through a pipe, or read and written once the file (or the
/// socket) refuses `splice`. `moved` counts the bytes so far; `stopped`
/// set means stop at once, whatever is still buffered.
fn receive(sock: &TcpStream, file: &File, moved: &AtomicU64, stopped: &Stopped) -> std::result::Result<u64, PumpError> {
    let mut pipe = Pipe::new().ok();
    let mut buf = Vec::new();
    let mut total = 0u64;
    loop {
        if stopped.get() {
            return Err(PumpError::Net("interrupted".into()));
        }
        let got = match &pipe {
            Some(p) => p.take(sock),
            None => {
                buf.resize(CHUNK, 0);
                (&*sock).read(&mut buf)
            }
        };
        let n = match got {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Nothing was taken: go on without splicing.
            Err(e) if pipe.is_some() && e.kind() == io::ErrorKind::InvalidInput => {
                pipe = None;
                continue;
            }
            Err(_) if stopped.get() => return Err(PumpError::Net("interrupted".into())),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(PumpError::Net("data connection stalled".into()));
            }
            Err(e) => return Err(PumpError::Net(data_error(&e))),
        };
        if n == 0 && pipe.is_some() {
            // splice can give 0 short of the end (urgent data queued, say);
            // a plain read tells.
            pipe = None;
            continue;
        }
        if n == 0 {
            return Ok(total);
        }
        match &mut pipe {
            Some(p) => p.put_all(file, n),
            None => (&*file).write_all(&buf[..n]),
        }
        .map_err(PumpError::Local)?;
        if pipe.as_ref().is_some_and(Pipe::refused) {
            pipe = None;
        }
        total += n as u64;
        moved.store(total, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected pair: (what the server writes to, what we receive on).
    fn pair() -> (TcpStream, TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tx = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        (tx, l.accept().unwrap().0)
    }

    /// A flag for `rx` that nothing sets (the stopper is disarmed, so
    /// dropping it leaves the socket alone).
    fn never_stopped(rx: &TcpStream) -> Stopped {
        let (mut stopper, stopped) = Stopper::new(rx.try_clone().unwrap());
        stopper.disarm();
        stopped
    }

    fn reason(r: std::result::Result<u64, PumpError>) -> String {
        match r {
            Err(PumpError::Net(why)) => why,
            Err(PumpError::Local(e)) => format!("local: {e}"),
            Err(PumpError::Enough(n)) => format!("enough: {n}"),
            Ok(n) => format!("ok: {n}"),
        }
    }

    #[test]
    fn a_sender_that_goes_quiet_is_a_stall_and_keeps_what_came() {
        let (mut tx, rx) = pair();
        rx.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        tx.write_all(&[7; 5000]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let moved = AtomicU64::new(0);
        let r = receive(&rx, &file, &moved, &never_stopped(&rx));
        assert_eq!(reason(r), "data connection stalled");
        assert_eq!(moved.load(Ordering::Relaxed), 5000);
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), vec![7; 5000]);
        drop(tx);
    }

    #[test]
    fn a_shutdown_from_another_thread_stops_it() {
        let (_tx, rx) = pair();
        rx.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (mut stopper, stopped) = Stopper::new(rx.try_clone().unwrap());
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            stopper.stop();
        });
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let t = std::time::Instant::now();
        let r = receive(&rx, &file, &AtomicU64::new(0), &stopped);
        stopper.join().unwrap();
        assert_eq!(reason(r), "interrupted");
        assert!(t.elapsed() < Duration::from_secs(10), "stopped long before the deadline");
    }

    #[test]
    fn into_a_file_that_refuses_splice_the_bytes_are_written() {
        let (mut tx, rx) = pair();
        rx.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let payload: Vec<u8> = (0..500_000u32).map(|i| (i % 249) as u8).collect();
        let sent = payload.clone();
        let sender = std::thread::spawn(move || tx.write_all(&sent).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"kept ").unwrap();
        // splice(2) refuses O_APPEND files, as a file system without it does.
        let file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let moved = AtomicU64::new(0);
        let r = receive(&rx, &file, &moved, &never_stopped(&rx));
        sender.join().unwrap();
        assert_eq!(reason(r), "ok: 500000");
        let mut expected = b"kept ".to_vec();
        expected.extend_from_slice(&payload);
        assert!(std::fs::read(&path).unwrap() == expected);
    }
}
