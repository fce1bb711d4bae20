//! `ferry-bench`: ferryd side by side with vsftpd, Pure-FTPd, pyftpdlib and unFTP on this
//! machine, interleaving the servers round by round, reporting medians
//! with min–max and ferryd's ratio to the best peer, and writing the table
//! to BENCHMARKS.md. It asserts nothing: speeds are measured, not tested.
//!
//! Run it with `bench/run` (release build, tmpfs files); `bench/setup`
//! installs the peers.

mod report;
mod scenarios;
mod servers;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use report::{Better, Row};
use servers::Server;

/// Benchmark ferryd against the FTP servers installed here.
#[derive(Parser, Debug)]
#[command(name = "ferry-bench")]
struct Args {
    /// ferryd binary to test (a release build).
    #[arg(long, default_value = "target/release/ferryd")]
    ferryd: PathBuf,
    /// Working folder; tmpfs keeps the disk out of the numbers.
    #[arg(long, default_value = "/dev/shm/ferry-bench")]
    dir: PathBuf,
    /// Size of the big file, bytes.
    #[arg(long, default_value_t = 1 << 30)]
    size: u64,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Small files to fetch.
    #[arg(long, default_value_t = 2000)]
    small_files: usize,
    /// Idle sessions to hold open, one row per count.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    idle: Vec<usize>,
    /// Largest idle count tried on servers that fork a process per
    /// session (vsftpd, Pure-FTPd): 10,000 of them would need over 2 GB
    /// and 10,000+ processes, and their per-session cost is flat anyway.
    #[arg(long, default_value_t = 1000)]
    forking_idle_max: usize,
    /// Entries in the listed folder.
    #[arg(long, default_value_t = 10_000)]
    entries: usize,
    /// Seconds of login hammering.
    #[arg(long, default_value_t = 3)]
    login_secs: u64,
    /// Servers to compare (those that cannot start are skipped and named).
    #[arg(long, value_delimiter = ',', default_value = "ferryd,vsftpd,pure-ftpd,pyftpdlib,unftp")]
    servers: Vec<String>,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = std::fs::remove_dir_all(&args.dir);
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let src = args.dir.join("src.bin");
    eprintln!("preparing a {} MiB file", args.size >> 20);
    scenarios::make_file(&src, args.size)?;

    let mut started: Vec<Server> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for name in &args.servers {
        match start(name, &args, &args.dir) {
            Ok(s) => started.push(s),
            Err(e) => {
                eprintln!("skipping {name}: {e:#}");
                skipped.push(format!("{name} ({e:#})"));
            }
        }
    }
    anyhow::ensure!(started.first().is_some_and(|s| s.name == "ferryd"), "ferryd must start (build it with cargo build --release)");

    eprintln!("seeding files");
    for s in &started {
        seed(s, &src, &args, &rt)?;
    }

    let names: Vec<&'static str> = started.iter().map(|s| s.name).collect();
    let mut rows = vec![
        Row::new(format!("RETR {} MiB, curl (MB/s)", args.size >> 20), Better::Higher, &names),
        Row::new(format!("STOR {} MiB, curl (MB/s)", args.size >> 20), Better::Higher, &names),
        Row::new(format!("{} × 4 KiB RETR, one session (files/s)", args.small_files), Better::Higher, &names),
        Row::new(format!("{} × 4 KiB RETR, 20 sessions (files/s)", args.small_files), Better::Higher, &names),
        Row::new("logins/s, 32 workers".to_owned(), Better::Higher, &names),
        Row::new(format!("MLSD of {} entries (ms)", args.entries), Better::Lower, &names),
        Row::new(format!("LIST of {} entries (ms)", args.entries), Better::Lower, &names),
    ];
    let idle_first = rows.len();
    for n in &args.idle {
        rows.push(Row::new(format!("memory per idle logged-in session, {n} sessions (KiB PSS)"), Better::Lower, &names));
    }
    // Server CPU per operation: steadier than rates on a shared machine.
    let mut cpu_rows = vec![
        Row::new(format!("RETR {} MiB, curl (server CPU ms)", args.size >> 20), Better::Lower, &names),
        Row::new(format!("STOR {} MiB, curl (server CPU ms)", args.size >> 20), Better::Lower, &names),
        Row::new("small-file RETR, both runs (server CPU µs per file)".to_owned(), Better::Lower, &names),
        Row::new("login (server CPU µs per login)".to_owned(), Better::Lower, &names),
    ];
    let mut loopback = vec![
        Row::new("loopback limit: iperf3, one stream (MB/s)".to_owned(), Better::Higher, &["loopback"]),
        Row::new("loopback limit: kernel sendfile, file→socket (MB/s)".to_owned(), Better::Higher, &["loopback"]),
    ];
    let mut limited: Vec<String> = Vec::new();
    for round in 1..=args.rounds {
        eprintln!("round {round}/{}", args.rounds);
        match scenarios::iperf3(args.size) {
            Ok(v) => loopback[0].add(0, Some(v)),
            Err(e) => limited.push(format!("iperf3 row empty: {e:#}")),
        }
        loopback[1].add(0, Some(scenarios::loopback_limit(&src, args.size)?));
        for (i, s) in started.iter().enumerate() {
            eprintln!("  {}", s.name);
            let step = |what: &str| eprintln!("    {what}");
            step("RETR");
            let cpu = s.cpu_secs();
            if let Some(v) = noted("RETR", s.name, scenarios::retr_big(s, args.size, false), &mut limited) {
                rows[0].add(i, Some(v));
                cpu_rows[0].add(i, Some((s.cpu_secs() - cpu) * 1e3));
            }
            step("STOR");
            let cpu = s.cpu_secs();
            if let Some(v) = noted("STOR", s.name, scenarios::stor_big(s, &src, args.size, false), &mut limited) {
                rows[1].add(i, Some(v));
                cpu_rows[1].add(i, Some((s.cpu_secs() - cpu) * 1e3));
            }
            step("small files");
            let cpu = s.cpu_secs();
            let one = noted("small files", s.name, rt.block_on(scenarios::small_files(s, args.small_files, 1)), &mut limited);
            let twenty = noted("small files", s.name, rt.block_on(scenarios::small_files(s, args.small_files, 20)), &mut limited);
            rows[2].add(i, one);
            rows[3].add(i, twenty);
            if one.is_some() && twenty.is_some() {
                cpu_rows[2].add(i, Some((s.cpu_secs() - cpu) * 1e6 / (2 * args.small_files) as f64));
            }
            step("logins");
            let cpu = s.cpu_secs();
            let logins = rt.block_on(scenarios::logins(s, 32, Duration::from_secs(args.login_secs)));
            if let Some((rate, count)) = noted("logins", s.name, logins, &mut limited) {
                rows[4].add(i, Some(rate));
                cpu_rows[3].add(i, Some((s.cpu_secs() - cpu) * 1e6 / count.max(1) as f64));
            }
            step("listings");
            rows[5].add(i, noted("MLSD", s.name, rt.block_on(scenarios::listing(s, true)), &mut limited).flatten());
            rows[6].add(i, noted("LIST", s.name, rt.block_on(scenarios::listing(s, false)), &mut limited).flatten());
            for (k, &n) in args.idle.iter().enumerate() {
                if s.forks_per_session() && n > args.forking_idle_max {
                    limited.push(format!(
                        "{} forks a process per session: {n} idle sessions not tried (over --forking-idle-max {}); see its smaller row",
                        s.name, args.forking_idle_max
                    ));
                    continue;
                }
                step(&format!("{n} idle sessions"));
                // Memory is measured on a fresh process: a server that
                // already ran the other scenarios has freed memory to reuse.
                let fresh_dir = args.dir.join(format!("fresh-{}-{round}-{n}", s.name));
                std::fs::create_dir_all(&fresh_dir)?;
                let fresh = start(s.name, &args, &fresh_dir)?;
                let idle = noted("idle sessions", s.name, rt.block_on(scenarios::idle_sessions(&fresh, n)), &mut limited);
                drop(fresh);
                let _ = std::fs::remove_dir_all(&fresh_dir);
                let Some((per_session, opened)) = idle else { continue };
                rows[idle_first + k].add(i, Some(per_session));
                if opened < n {
                    limited.push(format!(
                        "{} accepted only {opened} of {n} idle sessions (421 or refused beyond); its memory row is per accepted session",
                        s.name
                    ));
                }
            }
        }
    }
    rows.extend(loopback);

    // FTPS: ferryd (rustls) against vsftpd (OpenSSL), same curl client.
    let mut tls_rows = vec![
        Row::new(format!("FTPS RETR {} MiB, curl --ssl-reqd (MB/s)", args.size >> 20), Better::Higher, &["ferryd", "vsftpd"]),
        Row::new(format!("FTPS STOR {} MiB, curl --ssl-reqd (MB/s)", args.size >> 20), Better::Higher, &["ferryd", "vsftpd"]),
    ];
    let vs_tls = if args.servers.iter().any(|s| s == "vsftpd") {
        servers::vsftpd_tls(&args.dir, &args.dir.join("ferryd-cert.pem"), &args.dir.join("ferryd-key.pem"))
            .map_err(|e| skipped.push(format!("vsftpd with TLS ({e:#})")))
            .ok()
    } else {
        None
    };
    if let Some(v) = &vs_tls {
        link_or_copy(&src, &v.root.join("big.bin"))?;
    }
    for round in 1..=args.rounds {
        eprintln!("FTPS round {round}/{}", args.rounds);
        tls_rows[0].add(0, Some(scenarios::retr_big(&started[0], args.size, true)?));
        tls_rows[1].add(0, Some(scenarios::stor_big(&started[0], &src, args.size, true)?));
        if let Some(v) = &vs_tls {
            tls_rows[0].add(1, Some(scenarios::retr_big(v, args.size, true)?));
            tls_rows[1].add(1, Some(scenarios::stor_big(v, &src, args.size, true)?));
        }
    }

    // Clients against ferryd: ferry against curl and lftp.
    let ferry_bin = args.ferryd.with_file_name("ferry");
    let clients = ["ferry", "curl", "lftp"];
    let mut client_rows = vec![
        Row::new(format!("client: get {} MiB from ferryd (MB/s)", args.size >> 20), Better::Higher, &clients),
        Row::new(format!("client: mirror {} small files from ferryd, 4 at a time (s)", args.small_files), Better::Lower, &clients),
    ];
    let dest = args.dir.join("client-dest");
    for round in 1..=args.rounds {
        eprintln!("clients round {round}/{}", args.rounds);
        for (i, c) in clients.iter().enumerate() {
            match scenarios::client_get(&started[0], c, &ferry_bin, &dest, args.size) {
                Ok(v) => client_rows[0].add(i, Some(v)),
                Err(e) => eprintln!("  {c}: {e:#}"),
            }
            match scenarios::client_mirror(&started[0], c, &ferry_bin, &dest) {
                Ok(v) => client_rows[1].add(i, v),
                Err(e) => eprintln!("  {c}: {e:#}"),
            }
        }
    }
    let mut notes: Vec<String> = started.iter().map(|s| format!("{}: logins checked with {}", s.name, s.login_note)).collect();
    limited.sort();
    limited.dedup();
    notes.extend(limited);
    let table = format!(
        "{}\n{}\n{}\n{}",
        report::render(&rows, &names),
        report::render(&cpu_rows, &names),
        report::render(&tls_rows, &["ferryd", "vsftpd"]),
        report::render(&client_rows, &clients)
    );
    println!("{table}");
    let doc = report::document(&table, &args_line(), &notes, &skipped, args.rounds);
    std::fs::write(&args.output, doc).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    // Give the tmpfs back (several GiB) before the next run on this machine.
    drop(started);
    drop(vs_tls);
    let _ = std::fs::remove_dir_all(&args.dir);
    Ok(())
}

fn start(name: &str, args: &Args, dir: &std::path::Path) -> anyhow::Result<Server> {
    match name {
        "ferryd" => servers::ferryd(&args.ferryd, dir),
        "vsftpd" => servers::vsftpd(dir),
        "pyftpdlib" => servers::pyftpdlib(dir),
        "pure-ftpd" => servers::pure_ftpd(dir),
        "unftp" => servers::unftp(dir),
        other => Err(anyhow::anyhow!("unknown server {other}")),
    }
}

/// The big file in a server's folder: a hard link (no second GiB of tmpfs
/// per server, which on a small machine pushes the page cache into
/// reclaim and the upload rows into noise), or a copy across filesystems.
fn link_or_copy(src: &std::path::Path, dst: &std::path::Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(dst);
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)?;
    }
    Ok(())
}

/// A scenario's result, or `None` with the failure noted: a server that
/// breaks under load loses that cell (and says why in the report), not the
/// whole run.
fn noted<T>(what: &str, server: &str, result: anyhow::Result<T>, notes: &mut Vec<String>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("      {server} failed {what}: {e:#}");
            notes.push(format!("{server} failed the {what} scenario in a round: {e:#}"));
            None
        }
    }
}

fn args_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn seed(s: &Server, src: &std::path::Path, args: &Args, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    // Files on disk are written directly (readable by every server's user).
    link_or_copy(src, &s.root.join("big.bin"))?;
    std::fs::create_dir_all(s.root.join("small"))?;
    let chunk = vec![7u8; 4096];
    for i in 0..args.small_files {
        std::fs::write(s.root.join(format!("small/{i}.dat")), &chunk)?;
    }
    std::fs::create_dir_all(s.root.join("many"))?;
    for i in 0..args.entries {
        std::fs::write(s.root.join(format!("many/entry-{i:05}.txt")), b"")?;
    }
    // Check the server sees them.
    rt.block_on(scenarios::upload_via(s, "seeded.txt", b"ok"))?;
    Ok(())
}
