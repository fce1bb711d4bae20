//! Downloads into a local file ([`Client::retrieve_to_file`]): a plain
//! binary transfer runs on one blocking thread, the data socket spliced
//! into the file through a pipe ([`ferry_net::splice`]), as the server
//! receives uploads. The bytes never pass through a buffer of ours, and no
//! worker thread wakes per chunk; profiling `ferry get` of 1 GiB into
//! tmpfs showed the copy out of the socket and the hand-off to tokio's
//! file thread as what set it apart from curl (see bench/PROFILE.md).
//!
//! TLS, ASCII mode and `--limit-rate` keep the async pump.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::net::TcpStream;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ferry_net::splice::Pipe;

use super::Client;
use super::data::data_error;
use super::pump::{CHUNK, PumpError, until_interrupted};
use crate::error::{Error, Result};
use crate::stream::Stream;

/// How often the blocking thread's count reaches `progress`.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl Client {
    /// Download `remote` from `offset` into `file` at its position, as
    /// [`Client::retrieve`] does, and hand the file back (to be synced or
    /// renamed by the caller).
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
        let direct = !self.ascii && self.config.limit_rate.is_none_or(|r| r == 0);
        let data = self.begin_retrieve(remote, offset).await?;
        match data {
            Stream::Plain(tcp) if direct => {
                let (outcome, file) = self.receive_blocking(tcp, file, progress, interrupt).await;
                let n = self.conclude(remote, outcome).await?;
                Ok((n, file.ok_or_else(|| lost(remote))?))
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
    /// `progress`; `interrupt` stops it by shutting the socket down, which
    /// wakes the splice it is blocked in. `None` means interrupted.
    async fn receive_blocking(
        &self,
        tcp: tokio::net::TcpStream,
        file: File,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> (Option<std::result::Result<u64, PumpError>>, Option<File>) {
        let prepared = tcp.into_std().and_then(|s| {
            s.set_nonblocking(false)?;
            // The stall deadline: a splice waiting longer gives EAGAIN.
            s.set_read_timeout(Some(self.config.data_timeout))?;
            let handle = s.try_clone()?;
            Ok((s, handle))
        });
        let (sock, handle) = match prepared {
            Ok(x) => x,
            Err(e) => return (Some(Err(PumpError::Net(data_error(&e)))), Some(file)),
        };
        let moved = Arc::new(AtomicU64::new(0));
        let stopped = Arc::new(AtomicBool::new(false));
        let (m, st) = (moved.clone(), stopped.clone());
        let mut worker = tokio::task::spawn_blocking(move || {
            let r = receive(&sock, &file, &m, &st);
            (r, file)
        });
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut interrupt = pin!(interrupt);
        let (outcome, file) = loop {
            tokio::select! {
                joined = &mut worker => break match joined {
                    Ok((r, f)) => (Some(r), Some(f)),
                    Err(e) => (Some(Err(PumpError::Local(io::Error::other(e)))), None),
                },
                _ = tick.tick() => progress(moved.load(Ordering::Relaxed)),
                () = &mut interrupt => {
                    stopped.store(true, Ordering::Release);
                    let _ = handle.shutdown(std::net::Shutdown::Both);
                    let file = worker.await.ok().map(|(_, f)| f);
                    break (None, file);
                }
            }
        };
        if let Some(Ok(n)) = &outcome {
            progress(*n);
        }
        (outcome, file)
    }
}

/// The file went with a blocking thread that panicked.
fn lost(remote: &str) -> Error {
    Error::Local { path: remote.into(), source: io::Error::other("the download's thread stopped") }
}

/// Move the stream on `sock` into `file` until the server closes it:
/// spliced through a pipe, or read and written once the file (or the
/// socket) refuses `splice`. `moved` counts the bytes so far; `stopped`
/// tells an interruption from the server's own close.
fn receive(sock: &TcpStream, file: &File, moved: &AtomicU64, stopped: &AtomicBool) -> std::result::Result<u64, PumpError> {
    let mut pipe = Pipe::new().ok();
    let mut buf = Vec::new();
    let mut total = 0u64;
    loop {
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
            Err(_) if stopped.load(Ordering::Acquire) => return Err(PumpError::Net("interrupted".into())),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(PumpError::Net("data connection stalled".into()));
            }
            Err(e) => return Err(PumpError::Net(data_error(&e))),
        };
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
        let r = receive(&rx, &file, &moved, &AtomicBool::new(false));
        assert_eq!(reason(r), "data connection stalled");
        assert_eq!(moved.load(Ordering::Relaxed), 5000);
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), vec![7; 5000]);
        drop(tx);
    }

    #[test]
    fn a_shutdown_from_another_thread_stops_it() {
        let (_tx, rx) = pair();
        rx.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let handle = rx.try_clone().unwrap();
        let stopped = Arc::new(AtomicBool::new(false));
        let st = stopped.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            st.store(true, Ordering::Release);
            handle.shutdown(std::net::Shutdown::Both).unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let t = std::time::Instant::now();
        let r = receive(&rx, &file, &AtomicU64::new(0), &stopped);
        stopper.join().unwrap();
        // A shut-down socket reads as its end; the flag is what tells the
        // caller it was stopped, and the caller discards the count.
        assert!(matches!(r, Ok(0) | Err(PumpError::Net(_))), "{}", reason(r));
        assert!(t.elapsed() < Duration::from_secs(10), "stopped long before the deadline");
    }
}
