//! The measurements. Each returns one number for one server; the caller
//! repeats rounds and takes medians.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ferry_client::{Client, ClientConfig, StoreMode};
use ferry_proto::Command as FtpCommand;

use crate::servers::Server;

/// Fill `path` with `size` bytes of a non-repeating-looking pattern.
pub(crate) fn make_file(path: &Path, size: u64) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in block.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 32) as u8;
    }
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}

/// How long any one scenario may take (`--deadline`), set once at start:
/// a server that is far slower than the others loses that cell, with a
/// note, instead of holding up the run.
static DEADLINE: OnceLock<Duration> = OnceLock::new();

pub(crate) fn set_deadline(d: Duration) {
    let _ = DEADLINE.set(d);
}

pub(crate) fn deadline() -> Duration {
    DEADLINE.get().copied().unwrap_or(Duration::from_secs(120))
}

/// The error for a scenario that ran out of time.
pub(crate) fn over_deadline() -> anyhow::Error {
    anyhow::anyhow!("exceeded the {} s deadline", deadline().as_secs())
}

/// Run `fut`, giving up at the deadline.
pub(crate) async fn within<T>(fut: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::time::timeout(deadline(), fut).await.map_err(|_| over_deadline())?
}

fn curl(args: &[&str]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let max = deadline().as_secs().to_string();
    let out = Command::new("curl")
        .args(["-s", "-S", "--ftp-skip-pasv-ip", "--max-time", &max])
        .args(args)
        .stdout(Stdio::null())
        .output()
        .context("running curl")?;
    if out.status.code() == Some(28) {
        return Err(over_deadline());
    }
    if !out.status.success() {
        bail!("curl failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(start.elapsed())
}

/// curl options for FTPS (explicit, required, self-signed accepted).
const FTPS: &[&str] = &["--ssl-reqd", "-k"];

/// RETR of `big.bin` with curl: MB/s.
pub(crate) fn retr_big(s: &Server, size: u64, tls: bool) -> anyhow::Result<f64> {
    let mut args = if tls { FTPS.to_vec() } else { Vec::new() };
    let url = s.url("big.bin");
    args.extend(["-o", "/dev/null", &url]);
    let t = curl(&args)?;
    Ok(size as f64 / t.as_secs_f64() / 1e6)
}

/// STOR of `src` with curl: MB/s.
pub(crate) fn stor_big(s: &Server, src: &Path, size: u64, tls: bool) -> anyhow::Result<f64> {
    let _ = std::fs::remove_file(s.root.join("up.bin"));
    let mut args = if tls { FTPS.to_vec() } else { Vec::new() };
    let (src, url) = (src.display().to_string(), s.url("up.bin"));
    args.extend(["-T", &src, &url]);
    let t = curl(&args)?;
    let _ = std::fs::remove_file(s.root.join("up.bin"));
    Ok(size as f64 / t.as_secs_f64() / 1e6)
}

async fn login(s: &Server) -> anyhow::Result<Client> {
    let mut c = Client::connect("127.0.0.1", s.port, ClientConfig::default()).await?;
    c.login(&s.user, &s.password).await?;
    Ok(c)
}

/// `files` small files (PASV/EPSV + RETR each) over `sessions` sessions:
/// files per second.
pub(crate) async fn small_files(s: &Server, files: usize, sessions: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..sessions {
        let (port, user, password) = (s.port, s.user.clone(), s.password.clone());
        let names: Vec<String> = (0..files).filter(|i| i % sessions == k).map(|i| s.remote(&format!("small/{i}.dat"))).collect();
        tasks.spawn(async move {
            let mut c = Client::connect("127.0.0.1", port, ClientConfig::default()).await?;
            c.login(&user, &password).await?;
            let mut buf = Vec::with_capacity(8192);
            let mut slow = 0u32;
            for n in names {
                buf.clear();
                let t = Instant::now();
                c.retrieve(&n, 0, &mut buf, &mut |_| {}, std::future::pending()).await?;
                if t.elapsed() > Duration::from_millis(100) {
                    slow += 1;
                }
            }
            if slow > 0 {
                eprintln!("      session {k}: {slow} transfers over 100 ms");
            }
            let _ = c.quit().await;
            Ok::<_, ferry_client::Error>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(files as f64 / start.elapsed().as_secs_f64())
}

/// Logins per second with `workers` clients looping connect, USER/PASS,
/// QUIT for `dur`, and how many logins that was.
pub(crate) async fn logins(s: &Server, workers: usize, dur: Duration) -> anyhow::Result<(f64, u64)> {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + dur;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (port, user, password, count) = (s.port, s.user.clone(), s.password.clone(), count.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let mut c = Client::connect("127.0.0.1", port, ClientConfig::default()).await?;
                // Log in without the FEAT/OPTS that Client::login adds:
                // the scenario is the login itself.
                let r = c.quote(&format!("USER {user}")).await?;
                if r.code == 331 {
                    let r = c.quote(&format!("PASS {password}")).await?;
                    if r.code != 230 {
                        return Err(anyhow::anyhow!("login failed: {} {}", r.code, r.text()));
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                let _ = c.quote("QUIT").await;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    let start = Instant::now();
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let n = count.load(Ordering::Relaxed);
    Ok((n as f64 / start.elapsed().as_secs_f64(), n))
}

/// Memory per idle logged-in session, KiB (PSS of the server's
/// processes), and how many sessions the server accepted (some refuse
/// past a limit of their own, e.g. pyftpdlib's 512).
pub(crate) async fn idle_sessions(s: &Server, n: usize) -> anyhow::Result<(f64, usize)> {
    // One login first, so that what the first login sets up once for the
    // whole server (ferryd's password-hashing threads keep their argon2
    // memory, ~19 MiB each) is not divided among the sessions.
    let first = login(s).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = s.pss_kib();
    let mut clients = Vec::with_capacity(n);
    // Connect in small bursts: vsftpd listens with a backlog of 32, and a
    // larger burst overflows it (the kernel then falls back to SYN cookies
    // and some connections are never accepted).
    const BURST: usize = 16;
    for chunk in 0..n.div_ceil(BURST) {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..BURST.min(n - chunk * BURST) {
            let (port, user, password) = (s.port, s.user.clone(), s.password.clone());
            tasks.spawn(async move {
                let mut c = Client::connect("127.0.0.1", port, ClientConfig::default()).await?;
                let r = c.quote(&format!("USER {user}")).await?;
                if r.code == 331 {
                    c.quote(&format!("PASS {password}")).await?;
                }
                Ok::<_, ferry_client::Error>(c)
            });
        }
        let mut refused = false;
        while let Some(r) = tasks.join_next().await {
            match r? {
                Ok(c) => clients.push(c),
                Err(e) if e.reply_code() == Some(421) => refused = true,
                Err(e) => return Err(e.into()),
            }
        }
        if refused {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    let after = s.pss_kib();
    eprintln!("      {} sessions open; memory measured in {:?}", clients.len(), t.elapsed());
    // Every session still answers.
    for c in clients.iter_mut() {
        c.noop().await?;
    }
    let opened = clients.len();
    drop((clients, first));
    Ok((after.saturating_sub(before) as f64 / opened.max(1) as f64, opened))
}

/// Milliseconds to fetch a listing of `many/` with `cmd` ("MLSD" or
/// "LIST"); `None` when the server lacks the command.
pub(crate) async fn listing(s: &Server, mlsd: bool) -> anyhow::Result<Option<f64>> {
    let mut c = login(s).await?;
    if mlsd && !c.features.has("MLST") {
        return Ok(None);
    }
    let dir = Some(s.remote("many"));
    let start = Instant::now();
    let raw = c.list_raw(if mlsd { FtpCommand::Mlsd(dir) } else { FtpCommand::List(dir) }).await?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if raw.len() < 10_000 {
        bail!("{}: listing too short ({} bytes)", s.name, raw.len());
    }
    let _ = c.quit().await;
    Ok(Some(ms))
}

/// Upload a file through the client library (used to seed vsftpd, whose
/// folder belongs to another user).
pub(crate) async fn upload_via(s: &Server, remote: &str, data: &[u8]) -> anyhow::Result<()> {
    let mut c = login(s).await?;
    let mut src = data;
    c.store(&s.remote(remote), StoreMode::Replace, &mut src, &mut |_| {}, std::future::pending()).await?;
    let _ = c.quit().await;
    Ok(())
}

/// Run a client, under coreutils' `timeout` for the deadline (the same
/// millisecond of overhead for every client compared).
pub(crate) fn timed_run(cmd: &mut Command) -> anyhow::Result<Duration> {
    let mut run = Command::new("timeout");
    run.arg(deadline().as_secs().to_string()).arg(cmd.get_program()).args(cmd.get_args());
    let start = Instant::now();
    let out = run.stdout(Stdio::null()).output()?;
    if out.status.code() == Some(124) {
        return Err(over_deadline());
    }
    if !out.status.success() {
        bail!("{:?} failed: {}", cmd.get_program(), String::from_utf8_lossy(&out.stderr));
    }
    Ok(start.elapsed())
}

/// One big download by each client, into a tmpfs file: MB/s.
pub(crate) fn client_get(s: &Server, client: &str, ferry: &Path, dest: &Path, size: u64) -> anyhow::Result<f64> {
    let _ = std::fs::remove_file(dest);
    let url = s.url("big.bin");
    let t = match client {
        "ferry" => timed_run(Command::new(ferry).args(["get", "--no-progress", "--overwrite", &url]).arg(dest))?,
        "curl" => timed_run(Command::new("curl").args(["-s", "-S", "-o"]).arg(dest).arg(&url))?,
        "lftp" => timed_run(Command::new("lftp").args(["-c", &format!("set ftp:ssl-allow no; get {url} -o {}", dest.display())]))?,
        other => bail!("unknown client {other}"),
    };
    let _ = std::fs::remove_file(dest);
    Ok(size as f64 / t.as_secs_f64() / 1e6)
}

/// Mirror the `small/` folder with each client, 4 files at a time: seconds.
pub(crate) fn client_mirror(s: &Server, client: &str, ferry: &Path, dest: &Path) -> anyhow::Result<Option<f64>> {
    let _ = std::fs::remove_dir_all(dest);
    let base = format!("ftp://{}:{}@127.0.0.1:{}/", s.user, s.password, s.port);
    let remote = s.remote("small");
    let t = match client {
        "ferry" => timed_run(Command::new(ferry).args([
            "--no-progress",
            "-c",
            &format!("mirror --parallel 4 {remote} {}", dest.display()),
            &base,
        ]))?,
        "lftp" => timed_run(
            Command::new("lftp")
                .args(["-c", &format!("set ftp:ssl-allow no; open {base}; mirror --parallel=4 {remote} {}", dest.display())]),
        )?,
        _ => return Ok(None),
    };
    let _ = std::fs::remove_dir_all(dest);
    Ok(Some(t.as_secs_f64()))
}
