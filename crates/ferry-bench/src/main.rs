//! `ferry-bench`: ferryd side by side with vsftpd and pyftpdlib on this
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
    /// Idle sessions to hold open.
    #[arg(long, default_value_t = 1000)]
    idle: usize,
    /// Entries in the listed folder.
    #[arg(long, default_value_t = 10_000)]
    entries: usize,
    /// Seconds of login hammering.
    #[arg(long, default_value_t = 3)]
    login_secs: u64,
    /// Servers to compare (those that cannot start are skipped and named).
    #[arg(long, value_delimiter = ',', default_value = "ferryd,vsftpd,pyftpdlib")]
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
        Row::new(format!("memory per idle logged-in session, {} sessions (KiB PSS)", args.idle), Better::Lower, &names),
        Row::new(format!("MLSD of {} entries (ms)", args.entries), Better::Lower, &names),
        Row::new(format!("LIST of {} entries (ms)", args.entries), Better::Lower, &names),
    ];
    let mut loopback = Row::new("loopback limit: kernel file→socket copy (MB/s)".to_owned(), Better::Higher, &["loopback"]);
    let mut limited: Vec<String> = Vec::new();
    for round in 1..=args.rounds {
        eprintln!("round {round}/{}", args.rounds);
        loopback.add(0, Some(scenarios::loopback_limit(&src, args.size)?));
        for (i, s) in started.iter().enumerate() {
            eprintln!("  {}", s.name);
            let step = |what: &str| eprintln!("    {what}");
            step("RETR");
            rows[0].add(i, Some(scenarios::retr_big(s, args.size, false)?));
            step("STOR");
            rows[1].add(i, Some(scenarios::stor_big(s, &src, args.size, false)?));
            step("small files");
            rows[2].add(i, Some(rt.block_on(scenarios::small_files(s, args.small_files, 1))?));
            rows[3].add(i, Some(rt.block_on(scenarios::small_files(s, args.small_files, 20))?));
            step("logins");
            rows[4].add(i, Some(rt.block_on(scenarios::logins(s, 32, Duration::from_secs(args.login_secs)))?));
            step("idle sessions");
            // Memory is measured on a fresh process: a server that already
            // ran the other scenarios has freed memory to reuse.
            let fresh_dir = args.dir.join(format!("fresh-{}-{round}", s.name));
            std::fs::create_dir_all(&fresh_dir)?;
            let fresh = start(s.name, &args, &fresh_dir)?;
            let (per_session, opened) = rt.block_on(scenarios::idle_sessions(&fresh, args.idle))?;
            drop(fresh);
            rows[5].add(i, Some(per_session));
            if opened < args.idle {
                limited.push(format!(
                    "{} accepted only {opened} of {} idle sessions (421 beyond); its memory row is per accepted session",
                    s.name, args.idle
                ));
            }
            step("listings");
            rows[6].add(i, rt.block_on(scenarios::listing(s, true))?);
            rows[7].add(i, rt.block_on(scenarios::listing(s, false))?);
        }
    }
    rows.push(loopback);

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
        std::fs::copy(&src, v.root.join("big.bin"))?;
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
    limited.dedup();
    notes.extend(limited);
    let table = format!(
        "{}\n{}\n{}",
        report::render(&rows, &names),
        report::render(&tls_rows, &["ferryd", "vsftpd"]),
        report::render(&client_rows, &clients)
    );
    println!("{table}");
    let doc = report::document(&table, &args_line(), &notes, &skipped, args.rounds);
    std::fs::write(&args.output, doc).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

fn start(name: &str, args: &Args, dir: &std::path::Path) -> anyhow::Result<Server> {
    match name {
        "ferryd" => servers::ferryd(&args.ferryd, dir),
        "vsftpd" => servers::vsftpd(dir),
        "pyftpdlib" => servers::pyftpdlib(dir),
        other => Err(anyhow::anyhow!("unknown server {other}")),
    }
}

fn args_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn seed(s: &Server, src: &std::path::Path, args: &Args, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    // Files on disk are written directly (readable by every server's user).
    std::fs::copy(src, s.root.join("big.bin"))?;
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
