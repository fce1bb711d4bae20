//! Segmented downloads: one large file over several connections at once,
//! each fetching its own byte range into its own part of the local file.
//!
//! Each segment is a separate session (the same host, login and settings
//! as the one that asked), which fetches its range with `RANG` where the
//! server offers it, else with `REST` and an `ABOR` once it has enough;
//! the last segment simply reads to the end. The local file is sized
//! first, and each segment writes through a descriptor of its own: dups of
//! one descriptor would share one file offset and trample each other.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncSeekExt;

use crate::client::Client;
use crate::error::{Error, Result, local_at};
use crate::progress::Progress;

/// Files smaller than this come over one connection: below it, opening
/// and logging in more sessions costs more than it saves.
pub const SEGMENT_THRESHOLD: u64 = 2 * 1024 * 1024;

/// How often the segments' running total is reported.
const REPORT_EVERY: Duration = Duration::from_millis(200);

impl Client {
    /// Download the `size` bytes of `remote` into `file` (open at `path`)
    /// over `n` new sessions like this one. Returns the bytes received.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn download_segments(
        &self,
        remote: &str,
        size: u64,
        path: &Path,
        file: std::fs::File,
        n: usize,
        name: &str,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        let Some(login) = self.login_details() else {
            return Err(Error::Protocol("a segmented download needs a logged-in session".into()));
        };
        file.set_len(size).map_err(|e| Error::Local { path: name.into(), source: e })?;
        let done = Arc::new(AtomicU64::new(0));
        let seg = size.div_ceil(n as u64);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n as u64 {
            let start = i * seg;
            if start >= size {
                break;
            }
            let len = seg.min(size - start);
            let last = start + len == size;
            let (login, config, remote, done) = (login.clone(), self.config.clone(), remote.to_owned(), done.clone());
            let handle = std::fs::OpenOptions::new().write(true).open(path).map_err(local_at(path))?;
            tasks.spawn(async move {
                let mut c = login.open(config).await?;
                let mut f = tokio::fs::File::from_std(handle);
                f.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| Error::Local { path: remote.clone().into(), source: e })?;
                let mut last_seen = 0;
                let mut report = |n: u64| {
                    done.fetch_add(n - last_seen, Ordering::Relaxed);
                    last_seen = n;
                };
                let got = if last {
                    c.retrieve(&remote, start, &mut f, &mut report, std::future::pending()).await?
                } else {
                    c.retrieve_range(&remote, start, len, &mut f, &mut report).await?
                };
                f.sync_data().await.map_err(|e| Error::Local { path: remote.clone().into(), source: e })?;
                let _ = c.quit().await;
                if got != len {
                    return Err(Error::Transfer { path: remote, reason: format!("segment at {start} got {got} of {len} bytes") });
                }
                Ok::<u64, Error>(got)
            });
        }
        progress.start(name, Some(size), 0);
        let mut tick = tokio::time::interval(REPORT_EVERY);
        let mut total = 0;
        let mut interrupt = std::pin::pin!(interrupt);
        let outcome = loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    None => break Ok(total),
                    Some(Ok(Ok(n))) => total += n,
                    Some(Ok(Err(e))) => break Err(e),
                    Some(Err(e)) => break Err(Error::Transfer { path: remote.into(), reason: e.to_string() }),
                },
                _ = tick.tick() => progress.advance(done.load(Ordering::Relaxed)),
                () = &mut interrupt => break Err(Error::Interrupted),
            }
        };
        progress.finish();
        outcome
    }
}
