//! Running a mirror's transfers: on the shell's connection, or on
//! `--parallel N` extra ones. A file whose transfer fails for the
//! network's reasons is tried again (`--retries N`, waiting 1, 2, 4 … up
//! to 30 seconds between tries) on a fresh connection when the old one is
//! gone; every file that still fails is kept for the list at the end.
//! Ctrl-C stops the whole mirror, not one file.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ferry_client::local::Clobber;
use ferry_client::{ClientConfig, Error, Session, SessionLogin, StoreMode};

use super::super::listing::printable;
use super::super::progress::{self, Meter, View};
use super::super::shell::ctrl_c;
use super::state::{Checkpoint, Record};

/// One file to copy.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) remote: String,
    pub(super) local: PathBuf,
    pub(super) modified: Option<SystemTime>,
    /// In deploy mode, what the state records once the file is up.
    pub(super) record: Option<(String, Record)>,
}

/// A file that could not be copied, and why.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) path: String,
    pub(super) error: Error,
}

/// What the transfers came to.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) done: usize,
    pub(super) failed: Vec<Failure>,
    pub(super) interrupted: bool,
}

/// How long to wait before try `n` (1-based) again.
fn backoff(n: u32) -> Duration {
    Duration::from_secs((1u64 << (n - 1).min(5)).min(30))
}

/// True when `e` leaves the control connection unusable.
fn lost(e: &Error) -> bool {
    match e {
        Error::Io(_) | Error::Connect { .. } | Error::Timeout(_) | Error::Protocol(_) | Error::Ssh(_) => true,
        Error::Reply { reply, .. } => reply.code == 421,
        _ => false,
    }
}

/// A connection doing jobs, which opens itself again when lost.
pub(super) struct Worker {
    pub(super) client: Option<Session>,
    login: SessionLogin,
    config: ClientConfig,
    upload: bool,
    view: View,
    retries: u32,
    /// Deploy mode: where each finished file is recorded.
    checkpoint: Option<Arc<Checkpoint>>,
}

impl Worker {
    pub(super) fn new(
        client: Option<Session>,
        login: SessionLogin,
        config: ClientConfig,
        upload: bool,
        view: View,
        retries: u32,
    ) -> Worker {
        Worker { client, login, config, upload, view, retries, checkpoint: None }
    }

    /// Record each finished job's state in `checkpoint`.
    pub(super) fn recording(mut self, checkpoint: Option<Arc<Checkpoint>>) -> Worker {
        self.checkpoint = checkpoint;
        self
    }

    /// Copy one file, trying again as `--retries` allows.
    async fn run(&mut self, job: &Job) -> Result<String, Error> {
        let mut tries = 0;
        loop {
            let result = match self.client.as_mut() {
                Some(c) => run_job(c, job, self.upload, self.view).await,
                None => match self.login.open(self.config.clone()).await {
                    Ok(c) => {
                        self.client = Some(c);
                        continue;
                    }
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(line) => return Ok(line),
                Err(e) => {
                    if lost(&e) || self.client.as_ref().is_some_and(Session::is_closed) {
                        self.client = None;
                    }
                    if !e.is_transient() || tries >= self.retries {
                        return Err(e);
                    }
                    tries += 1;
                    let wait = backoff(tries);
                    eprintln!(
                        "ferry: {}; trying again in {} s ({tries}/{})",
                        printable(&format!("{}: {e}", job.remote)),
                        wait.as_secs(),
                        self.retries
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Take jobs from `queue` until it is empty or `stop` is set.
    async fn drain(&mut self, queue: &Mutex<VecDeque<Job>>, stop: &AtomicBool, out: &mut Outcome) {
        while !stop.load(Ordering::Relaxed) {
            let Some(job) = queue.lock().ok().and_then(|mut q| q.pop_front()) else { break };
            match self.run(&job).await {
                Ok(line) => {
                    println!("{line}");
                    out.done += 1;
                    if let (Some(cp), Some((rel, record))) = (&self.checkpoint, &job.record) {
                        cp.record(rel, record.clone());
                    }
                }
                Err(Error::Interrupted) => {
                    stop.store(true, Ordering::Relaxed);
                    out.interrupted = true;
                    if let (Some(cp), Some((rel, _))) = (&self.checkpoint, &job.record) {
                        cp.forget(rel);
                    }
                }
                Err(error) => {
                    eprintln!("ferry: mirror: {}", printable(&format!("{}: {error}", job.remote)));
                    // The remote copy may be cut short now: the state must
                    // not vouch for it.
                    if let (Some(cp), Some((rel, _))) = (&self.checkpoint, &job.record) {
                        cp.forget(rel);
                    }
                    out.failed.push(Failure { path: job.remote.clone(), error });
                }
            }
        }
    }
}

/// Run `jobs` on `first` (the shell's connection, handed back after) or,
/// with `parallel > 1`, on that many new connections like it.
pub(super) async fn run_all(first: &mut Worker, jobs: Vec<Job>, parallel: usize) -> Outcome {
    let queue = Mutex::new(VecDeque::from(jobs));
    let stop = AtomicBool::new(false);
    let mut out = Outcome::default();
    if parallel <= 1 || queue.lock().map(|q| q.len()).unwrap_or(0) <= 1 {
        first.drain(&queue, &stop, &mut out).await;
        return out;
    }
    let (queue, stop) = (Arc::new(queue), Arc::new(stop));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..parallel {
        let mut w = Worker::new(None, first.login.clone(), first.config.clone(), first.upload, first.view, first.retries)
            .recording(first.checkpoint.clone());
        let (queue, stop) = (queue.clone(), stop.clone());
        workers.spawn(async move {
            let mut out = Outcome::default();
            w.drain(&queue, &stop, &mut out).await;
            if let Some(c) = w.client.take() {
                let _ = c.quit().await;
            }
            out
        });
    }
    while let Some(r) = workers.join_next().await {
        let Ok(o) = r else {
            // A worker that died took its file with it: say so, and fail.
            let error = Error::Protocol("a transfer worker stopped unexpectedly".into());
            out.failed.push(Failure { path: "(a file in progress)".into(), error });
            continue;
        };
        out.done += o.done;
        out.failed.extend(o.failed);
        out.interrupted |= o.interrupted;
    }
    out
}

/// Copy one file, keeping its modification time on the other side.
async fn run_job(client: &mut Session, job: &Job, upload: bool, view: View) -> Result<String, Error> {
    let mut meter = Meter::new(view);
    if upload {
        let n = client.upload(&job.local, &job.remote, StoreMode::Replace, &mut meter, ctrl_c()).await?;
        if let Some(t) = job.modified {
            let _ = client.set_mtime(&job.remote, t).await;
        }
        Ok(format!("put {} ({})", printable(&job.remote), progress::size(n)))
    } else {
        let plan = client.plan_download(&job.remote, &job.local, Clobber::Overwrite).await?;
        let f = client.download(&plan, 1, &mut meter, ctrl_c()).await?;
        if let Some(t) = job.modified {
            set_local_mtime(&f.local, t);
        }
        Ok(format!("got {} ({})", printable(&job.remote), progress::size(f.bytes)))
    }
}

/// Set a local file's modification time (mirror keeps remote times).
fn set_local_mtime(path: &Path, t: SystemTime) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_times(std::fs::FileTimes::new().set_modified(t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_half_a_minute() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
