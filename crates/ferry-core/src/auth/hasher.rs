//! The password hashing service: argon2 verifications run on a small fixed
//! set of dedicated threads, each reusing its own working memory, fed by a
//! bounded queue.
//!
//! argon2id needs ~19 MiB per verification by design. Allocated per call on
//! whatever blocking-pool thread ran it, that memory stayed in per-thread
//! allocator arenas: a server grew to 850 MiB after a few hundred wrong
//! passwords and never shrank. Here the memory is allocated once per
//! hashing thread and reused, so the cost is fixed at
//! `threads × 19 MiB`, and a login storm only makes the queue longer.
//! Callers await the answer through a oneshot channel, so an async caller
//! holds no thread while it waits, and a caller whose session ended is
//! skipped when its turn comes.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::Block;
use tokio::sync::{mpsc, oneshot};

use super::hash::{self, HashError};

/// Hashing threads at most (fewer on machines with fewer cores).
pub const MAX_THREADS: usize = 4;
/// Verifications waiting for a thread before callers wait to queue.
pub const QUEUE: usize = 256;
/// Working memory a thread keeps between verifications (64 MiB); a hash
/// that needed more gives it back afterwards.
const KEEP_BLOCKS: usize = 64 * 1024;

/// Why a verification had no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The stored hash cannot be checked.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The hashing threads are gone (they never stop while the service
    /// lives; this is a bug or a panic inside argon2).
    #[error("the password hashing service stopped")]
    Stopped,
}

struct Job {
    password: String,
    phc: String,
    reply: oneshot::Sender<Result<bool, HashError>>,
}

/// A running hashing service. Dropping it lets its threads finish the
/// queued work and exit.
#[derive(Debug)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
    threads: usize,
}

/// `min(available cores, MAX_THREADS)`.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, MAX_THREADS)
}

impl Hasher {
    /// Start `threads` hashing threads behind a queue of `queue` jobs.
    pub fn start(threads: usize, queue: usize) -> std::io::Result<Hasher> {
        let (jobs, rx) = mpsc::channel(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let threads = threads.max(1);
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new().name(format!("ferry-hash-{i}")).spawn(move || work(&rx))?;
        }
        Ok(Hasher { jobs, threads })
    }

    /// The process's service, started on first use with
    /// [`default_threads`] threads: every server and authenticator of the
    /// process shares it, so reloads never add threads.
    pub fn global() -> &'static Hasher {
        static GLOBAL: OnceLock<Hasher> = OnceLock::new();
        GLOBAL.get_or_init(|| Hasher::start(default_threads(), QUEUE).expect("cannot start the password hashing threads"))
    }

    /// How many threads hash.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Check `password` against the PHC string `phc`, waiting (without a
    /// thread) for a free hashing thread. Cancel-safe: dropping the future
    /// withdraws the job if it has not started.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, VerifyError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { password: password.to_owned(), phc: phc.to_owned(), reply };
        self.jobs.send(job).await.map_err(|_| VerifyError::Stopped)?;
        answer.await.map_err(|_| VerifyError::Stopped)?.map_err(VerifyError::from)
    }

    /// [`Hasher::verify`] for synchronous callers (never call it on an
    /// async worker thread).
    pub fn verify_blocking(&self, password: &str, phc: &str) -> Result<bool, VerifyError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { password: password.to_owned(), phc: phc.to_owned(), reply };
        self.jobs.blocking_send(job).map_err(|_| VerifyError::Stopped)?;
        answer.blocking_recv().map_err(|_| VerifyError::Stopped)?.map_err(VerifyError::from)
    }

    /// Spend the time of one verification without an account (the answer
    /// is thrown away), so that an unknown user costs what a wrong
    /// password costs.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), VerifyError> {
        self.verify(password, hash::DUMMY_PHC).await.map(drop)
    }
}

/// One hashing thread: take a job, verify it in this thread's memory,
/// answer; until the service is dropped.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        // One thread waits for the next job while holding the lock; the
        // others wait for the lock. Nothing panics while it is held, but a
        // poisoned lock would still be usable.
        let job = crate::sync::lock(jobs).blocking_recv();
        let Some(job) = job else { return };
        if job.reply.is_closed() {
            // The session left (or gave up waiting) while queued.
            continue;
        }
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| hash::verify_with(job.password.as_bytes(), &job.phc, &mut blocks)));
        match answer {
            Ok(answer) => drop(job.reply.send(answer)),
            // The caller sees `Stopped`; the thread goes on with fresh memory.
            Err(_) => blocks = Vec::new(),
        }
        if blocks.len() > KEEP_BLOCKS {
            blocks = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_sync_and_async_callers() {
        let hasher = Hasher::start(2, 2).unwrap();
        let h = hash::hash_password("pw");
        assert_eq!(hasher.verify_blocking("pw", &h), Ok(true));
        assert_eq!(hasher.verify_blocking("nope", &h), Ok(false));
        assert_eq!(hasher.verify_blocking("pw", "garbage"), Err(VerifyError::Hash(HashError::Malformed)));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            // More callers than threads and queue slots: they wait their turn.
            let mut set = tokio::task::JoinSet::new();
            let hasher = Arc::new(hasher);
            for i in 0..8 {
                let (hasher, h) = (hasher.clone(), h.clone());
                set.spawn(async move { hasher.verify(if i % 2 == 0 { "pw" } else { "x" }, &h).await.map(|ok| (i, ok)) });
            }
            while let Some(r) = set.join_next().await {
                let (i, ok) = r.unwrap().unwrap();
                assert_eq!(ok, i % 2 == 0);
            }
            hasher.verify_dummy("anything").await.unwrap();
        });
    }
}
