//! The big-folder scenario: one folder of a million empty files, listed
//! with MLSD while the server's memory is sampled and a second session
//! checks that the server still answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ferry_client::{Client, ClientConfig};
use ferry_proto::Command as FtpCommand;

use crate::procs;
use crate::scenarios;
use crate::servers::Server;

/// The folder, made once: a million inodes take about a GiB of tmpfs, too
/// much to copy into every server's folder, so it is renamed into the
/// folder of the server whose turn it is, and back.
pub(crate) struct BigDir {
    home: PathBuf,
    pub(crate) entries: usize,
}

impl BigDir {
    /// Make `entries` empty files in `dir/big-home/big`.
    pub(crate) fn make(dir: &Path, entries: usize) -> anyhow::Result<BigDir> {
        let home = dir.join("big-home").join("big");
        std::fs::create_dir_all(&home)?;
        let start = Instant::now();
        for i in 0..entries {
            std::fs::File::create(home.join(format!("entry-{i:07}.txt")))?;
        }
        // Read it once, names and inodes, so that the first server to list
        // it does not pay alone for caches the others find warm.
        for e in std::fs::read_dir(&home)? {
            e?.metadata()?;
        }
        eprintln!("made and read {entries} files in {:.1} s", start.elapsed().as_secs_f64());
        Ok(BigDir { home, entries })
    }

    /// Move the folder to `root/big` until the guard is dropped.
    pub(crate) fn lend(&self, root: &Path) -> anyhow::Result<Lent<'_>> {
        let at = root.join("big");
        std::fs::rename(&self.home, &at).with_context(|| format!("moving the big folder to {}", at.display()))?;
        Ok(Lent { big: self, at })
    }
}

/// The big folder inside a server's folder; dropping it moves it back.
pub(crate) struct Lent<'a> {
    big: &'a BigDir,
    at: PathBuf,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Err(e) = std::fs::rename(&self.at, &self.big.home) {
            eprintln!("could not move the big folder back from {}: {e}", self.at.display());
        }
    }
}

/// One big listing's figures.
pub(crate) struct Figures {
    pub(crate) secs: f64,
    /// Peak RSS of the server's processes during the listing, less the RSS
    /// just before it, MiB.
    pub(crate) rss_growth_mib: f64,
    pub(crate) noop_median_ms: f64,
    pub(crate) noop_p99_ms: f64,
}

/// Samples the RSS of a process tree every 20 ms on a thread of its own
/// (VmHWM would be the whole life's peak of a long-lived server, not this
/// listing's), keeping the largest.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<u64>>,
}

impl Sampler {
    fn start(root: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            loop {
                peak = peak.max(procs::rss_kib(&procs::tree(root)));
                if flag.load(Ordering::Relaxed) {
                    return peak;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Sampler { stop, handle: Some(handle) }
    }

    /// The peak RSS seen, KiB.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or(0)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// List `big/` with MLSD (`None` when the server has no MLSD), sampling the
/// server's RSS and timing a NOOP every 50 ms on a second logged-in
/// session. The caller gives it the deadline; both clients wait as long.
pub(crate) async fn listing(s: &Server, entries: usize) -> anyhow::Result<Option<Figures>> {
    let patient = ClientConfig { reply_timeout: scenarios::deadline(), data_timeout: scenarios::deadline(), ..ClientConfig::default() };
    let mut c = Client::connect("127.0.0.1", s.port, patient).await?;
    c.login(&s.user, &s.password).await?;
    if !c.features.has("MLST") {
        return Ok(None);
    }
    let mut other = Client::connect("127.0.0.1", s.port, ClientConfig::default()).await?;
    other.login(&s.user, &s.password).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stop = Arc::new(AtomicBool::new(false));
    // A JoinSet, so that the NOOP task ends with this future if the
    // deadline drops it.
    let mut noops = tokio::task::JoinSet::new();
    let flag = stop.clone();
    noops.spawn(async move {
        let mut took = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if flag.load(Ordering::Relaxed) {
                break;
            }
            let t = Instant::now();
            other.noop().await?;
            took.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let _ = other.quit().await;
        Ok::<_, ferry_client::Error>(took)
    });

    let root = s.root_pid();
    let before = procs::rss_kib(&procs::tree(root));
    let sampler = Sampler::start(root);
    let start = Instant::now();
    let raw = c.list_raw(FtpCommand::Mlsd(Some(s.remote("big")))).await;
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.finish();
    let raw = raw?;
    let mut took = noops.join_next().await.context("the NOOP task")???;
    let lines = raw.iter().filter(|&&b| b == b'\n').count();
    if lines < entries {
        bail!("{}: the listing stopped at {lines} of {entries} entries", s.name);
    }
    let _ = c.quit().await;
    if took.is_empty() {
        bail!("no NOOP was answered during the listing");
    }
    took.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
    Ok(Some(Figures { secs, rss_growth_mib: peak.saturating_sub(before) as f64 / 1024.0, noop_median_ms: at(0.5), noop_p99_ms: at(0.99) }))
}
