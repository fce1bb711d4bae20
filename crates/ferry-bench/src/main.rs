//! `ferry-bench`: ferryd side by side with vsftpd, Pure-FTPd, pyftpdlib and unFTP on this
//! machine, interleaving the servers round by round, reporting medians
//! with min–max and ferryd's ratio to the best peer, and writing the table
//! to BENCHMARKS.md. It asserts nothing: speeds are measured, not tested.
//!
//! Run it with `bench/run` (release build, tmpfs files); `bench/setup`
//! installs the peers.

mod bigdir;
mod loopback;
mod notes;
mod plan;
mod procs;
mod reaper;
mod report;
mod rounds;
mod scenarios;
mod servers;
mod sftp;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use report::{Better, Table};
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
    /// Interleaved rounds: each runs every scenario on every server, one
    /// server after another; cells are medians over the rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Run only some scenarios: a scenario key (retr, stor, small, logins,
    /// mlsd, list, idle, bigdir, iperf3, sendfile, splice, ftps, sftp,
    /// sftp-client, clients)
    /// or a piece of a row title ("loopback", "MLSD of 1000000"), ignoring
    /// case; repeat, or separate with commas.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Entries in the big folder listed with MLSD (0 skips that scenario).
    #[arg(long, default_value_t = 1_000_000)]
    big_entries: usize,
    /// Seconds any one scenario may take on one server; past it the cell
    /// stays empty, with a note.
    #[arg(long, default_value_t = 120)]
    deadline: u64,
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
    /// Servers to compare (those that cannot start are skipped and named);
    /// ferryd-defaults is ferryd with nothing lifted, shown but not compared.
    #[arg(long, value_delimiter = ',', default_value = "ferryd,ferryd-defaults,vsftpd,pure-ftpd,pyftpdlib,unftp")]
    servers: Vec<String>,
    /// Full runs (servers started afresh, files seeded, every round): the
    /// tables pool all of them, and a last table gives each run's ratios.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
}

fn main() -> anyhow::Result<()> {
    reaper::run_if_asked();
    let args = Args::parse();
    scenarios::set_deadline(Duration::from_secs(args.deadline));
    let plan = {
        let probe = rounds::Results::new(&args, &[]);
        let tables = [
            &probe.main,
            &probe.cpu,
            &ftps_table(&args),
            &sftp::table(args.size, args.small_files),
            &sftp::client_table(args.size),
            &client_table(&args),
        ]
        .map(|t| t.rows.iter().map(|r| (r.id.clone(), r.title.clone())).collect::<Vec<_>>());
        let rows: Vec<(&str, &str)> = tables.iter().flatten().map(|(id, t)| (id.as_str(), t.as_str())).collect();
        plan::Plan::new(&args.only, &rows)?
    };
    let mut pooled: Vec<Table> = Vec::new();
    let mut per_run = Vec::new();
    let (mut notes, mut skipped) = (Vec::new(), Vec::new());
    for run in 1..=args.runs {
        eprintln!("run {run}/{}", args.runs);
        let (tables, n, sk) = one_run(&args, &plan)?;
        per_run.push(tables.iter().flat_map(Table::ratios).collect::<Vec<_>>());
        if pooled.is_empty() {
            pooled = tables;
        } else {
            for (mine, t) in pooled.iter_mut().zip(tables) {
                mine.absorb(t);
            }
        }
        notes.extend(n);
        skipped.extend(sk);
    }
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    skipped.sort();
    skipped.dedup();
    let mut tables: Vec<String> = pooled.iter().map(Table::render).filter(|t| !t.is_empty()).collect();
    if args.runs > 1 {
        tables.push(report::runs_table(&per_run));
    }
    let table = tables.join("\n");
    println!("{table}");
    let doc = report::document(&table, &args_line(), &notes, &skipped, args.rounds, args.runs);
    std::fs::write(&args.output, doc).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// One full run: start the servers, seed their files, run every round;
/// returns the tables (rows not asked for removed), notes and skips.
fn one_run(args: &Args, plan: &plan::Plan) -> anyhow::Result<(Vec<Table>, Vec<String>, Vec<String>)> {
    let _ = std::fs::remove_dir_all(&args.dir);
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let src = args.dir.join("src.bin");
    eprintln!("preparing a {} MiB file", args.size >> 20);
    scenarios::make_file(&src, args.size)?;

    let mut started: Vec<Server> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for name in &args.servers {
        match start(name, args, &args.dir) {
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
        seed(s, &src, args, &rt)?;
    }
    let big = match args.big_entries {
        n if n > 0 && plan.wants("bigdir") => {
            eprintln!("making a folder of {n} empty files");
            Some(bigdir::BigDir::make(&args.dir, n)?)
        }
        _ => None,
    };

    let names: Vec<&'static str> = started.iter().map(|s| s.name).collect();
    let mut res = rounds::Results::new(args, &names);
    let cx = rounds::Ctx { args, rt: &rt, plan, src: &src, big: big.as_ref() };
    for round in 1..=args.rounds {
        eprintln!("round {round}/{}", args.rounds);
        rounds::loopback_round(&cx, &mut res);
        for (i, s) in started.iter().enumerate() {
            eprintln!("  {}", s.name);
            rounds::server_round(&cx, round, i, s, &mut res)?;
        }
    }
    let tls = if plan.wants("ftps") { ftps(args, &started[0], &src, &mut skipped)? } else { ftps_table(args) };
    let (sftp, sftp_clients) = if plan.wants("sftp") || plan.wants("sftp-client") {
        sftp_rows(args, &src, &mut skipped)?
    } else {
        (sftp::table(args.size, args.small_files), sftp::client_table(args.size))
    };
    let clients = if plan.wants("clients") { clients(args, &started[0])? } else { client_table(args) };

    let mut notes: Vec<String> = started.iter().map(|s| format!("{}: logins checked with {}", s.name, s.login_note)).collect();
    notes.extend(notes::limits(&names));
    notes.extend(notes::method(args, plan));
    if let Some(n) = notes::noop_medians(&names, &res.noop_medians) {
        notes.push(n);
    }
    res.notes.sort();
    res.notes.dedup();
    notes.extend(res.notes);
    let tables: Vec<Table> = [res.main, res.cpu, tls, sftp, sftp_clients, clients]
        .into_iter()
        .map(|mut t| {
            t.rows.retain(|r| plan.wants(&r.id));
            t
        })
        .collect();
    // Give the tmpfs back (several GiB) before the next run on this machine.
    drop(started);
    drop(big);
    let _ = std::fs::remove_dir_all(&args.dir);
    Ok((tables, notes, skipped))
}

fn ftps_table(args: &Args) -> Table {
    Table::new(&["ferryd", "vsftpd"])
        .row("ftps:retr", format!("FTPS RETR {} MiB, curl --ssl-reqd (MB/s)", args.size >> 20), Better::Higher)
        .row("ftps:stor", format!("FTPS STOR {} MiB, curl --ssl-reqd (MB/s)", args.size >> 20), Better::Higher)
}

/// FTPS: ferryd (rustls) against vsftpd (OpenSSL), same curl client.
fn ftps(args: &Args, ferryd: &Server, src: &std::path::Path, skipped: &mut Vec<String>) -> anyhow::Result<Table> {
    let mut t = ftps_table(args);
    let (cert, key) = servers::ferryd_tls_files(&args.dir);
    let vs_tls = if args.servers.iter().any(|s| s == "vsftpd") {
        servers::vsftpd_tls(&args.dir, &cert, &key).map_err(|e| skipped.push(format!("vsftpd with TLS ({e:#})"))).ok()
    } else {
        None
    };
    if let Some(v) = &vs_tls {
        link_or_copy(src, &v.root.join("big.bin"))?;
    }
    for round in 1..=args.rounds {
        eprintln!("FTPS round {round}/{}", args.rounds);
        for (i, s) in std::iter::once(ferryd).chain(vs_tls.as_ref()).enumerate() {
            t.add("ftps:retr", i, Some(scenarios::retr_big(s, args.size, true)?));
            t.add("ftps:stor", i, Some(scenarios::stor_big(s, src, args.size, true)?));
        }
    }
    Ok(t)
}

/// SFTP: ferryd against OpenSSH's sshd and sftp-server, OpenSSH's sftp
/// as the client; then ferry against OpenSSH's sftp as clients of
/// ferryd. A peer that cannot start leaves its column empty.
fn sftp_rows(args: &Args, src: &std::path::Path, skipped: &mut Vec<String>) -> anyhow::Result<(Table, Table)> {
    let mut t = sftp::table(args.size, args.small_files);
    let mut clients = sftp::client_table(args.size);
    let key = match sftp::client_key(&args.dir) {
        Ok(k) => k,
        Err(e) => {
            skipped.push(format!("SFTP ({e:#})"));
            return Ok((t, clients));
        }
    };
    let mut servers = Vec::new();
    for (col, name) in sftp::COLUMNS.iter().enumerate() {
        let started = if col == 0 { sftp::ferryd(&args.ferryd, &args.dir, &key) } else { sftp::openssh(&args.dir, &key) };
        match started.and_then(|s| sftp::seed(&s, src, args.small_files).map(|()| s)) {
            Ok(s) => servers.push((col, s)),
            Err(e) => skipped.push(format!("{name} SFTP ({e:#})")),
        }
    }
    for round in 1..=args.rounds {
        eprintln!("SFTP round {round}/{}", args.rounds);
        for (col, s) in &servers {
            if let Err(e) = sftp::round(&mut t, *col, s, &key, src, args.size, &args.dir) {
                eprintln!("  {} SFTP: {e:#}", sftp::COLUMNS[*col]);
            }
        }
        if let Some((_, ferryd)) = servers.iter().find(|(col, _)| *col == 0) {
            let bin = args.ferryd.with_file_name("ferry");
            if let Err(e) = sftp::client_round(&mut clients, ferryd, &key, src, args.size, &args.dir, &bin) {
                eprintln!("  SFTP clients: {e:#}");
            }
        }
    }
    Ok((t, clients))
}

const CLIENTS: [&str; 3] = ["ferry", "curl", "lftp"];

fn client_table(args: &Args) -> Table {
    Table::new(&CLIENTS).row("clients:get", format!("client: get {} MiB from ferryd (MB/s)", args.size >> 20), Better::Higher).row(
        "clients:mirror",
        format!("client: mirror {} small files from ferryd, 4 at a time (s)", args.small_files),
        Better::Lower,
    )
}

/// Clients against ferryd: ferry against curl and lftp.
fn clients(args: &Args, ferryd: &Server) -> anyhow::Result<Table> {
    let mut t = client_table(args);
    let ferry_bin = args.ferryd.with_file_name("ferry");
    let dest = args.dir.join("client-dest");
    for round in 1..=args.rounds {
        eprintln!("clients round {round}/{}", args.rounds);
        for (i, c) in CLIENTS.iter().enumerate() {
            match scenarios::client_get(ferryd, c, &ferry_bin, &dest, args.size) {
                Ok(v) => t.add("clients:get", i, Some(v)),
                Err(e) => eprintln!("  {c}: {e:#}"),
            }
            match scenarios::client_mirror(ferryd, c, &ferry_bin, &dest) {
                Ok(v) => t.add("clients:mirror", i, v),
                Err(e) => eprintln!("  {c}: {e:#}"),
            }
        }
    }
    Ok(t)
}

fn start(name: &str, args: &Args, dir: &std::path::Path) -> anyhow::Result<Server> {
    match name {
        "ferryd" => servers::ferryd(&args.ferryd, dir),
        "ferryd-defaults" => servers::ferryd_defaults(&args.ferryd, dir),
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
