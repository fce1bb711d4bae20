//! The side-by-side tables and one round of them: every picked scenario
//! on every server, one server after another.

use std::path::Path;

use crate::Args;
use crate::bigdir::{self, BigDir};
use crate::plan::Plan;
use crate::report::{Better, Table};
use crate::scenarios;
use crate::servers::Server;

/// What a run needs at hand.
pub(crate) struct Ctx<'a> {
    pub(crate) args: &'a Args,
    pub(crate) rt: &'a tokio::runtime::Runtime,
    pub(crate) plan: &'a Plan,
    pub(crate) src: &'a Path,
    pub(crate) big: Option<&'a BigDir>,
}

/// The servers' tables and what the rounds noticed.
pub(crate) struct Results {
    pub(crate) main: Table,
    pub(crate) cpu: Table,
    /// Each server's median NOOP latency during the big listing, per round
    /// (the table shows the p99).
    pub(crate) noop_medians: Vec<Vec<f64>>,
    pub(crate) notes: Vec<String>,
}

impl Results {
    pub(crate) fn new(args: &Args, names: &[&'static str]) -> Results {
        let (mib, small) = (args.size >> 20, args.small_files);
        let mut main = Table::new(names)
            .row("retr", format!("RETR {mib} MiB, curl (MB/s)"), Better::Higher)
            .row("stor", format!("STOR {mib} MiB, curl (MB/s)"), Better::Higher)
            .row("small:one", format!("{small} × 4 KiB RETR, one session (files/s)"), Better::Higher)
            .row("small:twenty", format!("{small} × 4 KiB RETR, 20 sessions (files/s)"), Better::Higher)
            .row("logins", "logins/s, 32 workers".to_owned(), Better::Higher)
            .row("mlsd", format!("MLSD of {} entries (ms)", args.entries), Better::Lower)
            .row("list", format!("LIST of {} entries (ms)", args.entries), Better::Lower);
        for n in &args.idle {
            main = main.row(format!("idle:{n}"), format!("memory per idle logged-in session, {n} sessions (KiB PSS)"), Better::Lower);
        }
        let n = args.big_entries;
        if n > 0 {
            main = main
                .row("bigdir:secs", format!("MLSD of {n} entries (s)"), Better::Lower)
                .row("bigdir:rss", "server peak RSS growth during it (MiB)".to_owned(), Better::Lower)
                .row("bigdir:noop", "NOOP every 50 ms on a second session during it, p99 (ms)".to_owned(), Better::Lower);
        }
        let main = main
            .row_first_only("iperf3", "loopback limit: iperf3, one stream (MB/s)".to_owned(), Better::Higher)
            .row_first_only("sendfile", "loopback limit: kernel sendfile, file→socket (MB/s)".to_owned(), Better::Higher)
            .row_first_only("splice", "loopback limit: kernel splice, socket→pipe→tmpfs file (MB/s)".to_owned(), Better::Higher);
        // Server CPU per operation: steadier than rates on a shared machine.
        let cpu = Table::new(names)
            .row("retr:cpu", format!("RETR {mib} MiB, curl (server CPU ms)"), Better::Lower)
            .row("stor:cpu", format!("STOR {mib} MiB, curl (server CPU ms)"), Better::Lower)
            .row("small:cpu", "small-file RETR, both runs (server CPU µs per file)".to_owned(), Better::Lower)
            .row("logins:cpu", "login (server CPU µs per login)".to_owned(), Better::Lower);
        Results { main, cpu, noop_medians: vec![Vec::new(); names.len()], notes: Vec::new() }
    }
}

impl Ctx<'_> {
    /// Run an async scenario within the deadline; a failure loses the
    /// cell, with a note.
    fn block<T>(&self, what: &str, server: &str, fut: impl Future<Output = anyhow::Result<T>>, notes: &mut Vec<String>) -> Option<T> {
        crate::noted(what, server, self.rt.block_on(scenarios::within(fut)), notes)
    }
}

/// The loopback limits, once per round.
pub(crate) fn loopback_round(cx: &Ctx<'_>, r: &mut Results) {
    let size = cx.args.size;
    if cx.plan.wants("iperf3") {
        match crate::loopback::iperf3(size) {
            Ok(v) => r.main.add("iperf3", 0, Some(v)),
            Err(e) => r.notes.push(format!("iperf3 row empty: {e:#}")),
        }
    }
    if cx.plan.wants("sendfile") {
        let v = crate::noted("sendfile", "loopback", crate::loopback::loopback_limit(cx.src, size), &mut r.notes);
        r.main.add("sendfile", 0, v);
    }
    if cx.plan.wants("splice") {
        let v = crate::noted("splice", "loopback", crate::loopback::splice_limit(&cx.args.dir, size), &mut r.notes);
        r.main.add("splice", 0, v);
    }
}

/// Every picked scenario on server `s` (column `i`), in round `round`.
pub(crate) fn server_round(cx: &Ctx<'_>, round: usize, i: usize, s: &Server, r: &mut Results) -> anyhow::Result<()> {
    let (args, plan) = (cx.args, cx.plan);
    let notes = &mut r.notes;
    let step = |what: &str| eprintln!("    {what}");
    if plan.wants("retr") {
        step("RETR");
        let cpu = s.cpu_secs();
        if let Some(v) = crate::noted("RETR", s.name, scenarios::retr_big(s, args.size, false), notes) {
            r.main.add("retr", i, Some(v));
            r.cpu.add("retr:cpu", i, Some((s.cpu_secs() - cpu) * 1e3));
        }
    }
    if plan.wants("stor") {
        step("STOR");
        let cpu = s.cpu_secs();
        if let Some(v) = crate::noted("STOR", s.name, scenarios::stor_big(s, cx.src, args.size, false), notes) {
            r.main.add("stor", i, Some(v));
            r.cpu.add("stor:cpu", i, Some((s.cpu_secs() - cpu) * 1e3));
        }
    }
    if plan.wants("small") {
        step("small files");
        let cpu = s.cpu_secs();
        let one = cx.block("small files", s.name, scenarios::small_files(s, args.small_files, 1), notes);
        let twenty = cx.block("small files", s.name, scenarios::small_files(s, args.small_files, 20), notes);
        r.main.add("small:one", i, one);
        r.main.add("small:twenty", i, twenty);
        if one.is_some() && twenty.is_some() {
            r.cpu.add("small:cpu", i, Some((s.cpu_secs() - cpu) * 1e6 / (2 * args.small_files) as f64));
        }
    }
    if plan.wants("logins") {
        step("logins");
        let cpu = s.cpu_secs();
        let logins = cx.block("logins", s.name, scenarios::logins(s, 32, std::time::Duration::from_secs(args.login_secs)), notes);
        if let Some((rate, count)) = logins {
            r.main.add("logins", i, Some(rate));
            r.cpu.add("logins:cpu", i, Some((s.cpu_secs() - cpu) * 1e6 / count.max(1) as f64));
        }
    }
    if plan.wants("mlsd") {
        step("MLSD");
        r.main.add("mlsd", i, cx.block("MLSD", s.name, scenarios::listing(s, true), notes).flatten());
    }
    if plan.wants("list") {
        step("LIST");
        r.main.add("list", i, cx.block("LIST", s.name, scenarios::listing(s, false), notes).flatten());
    }
    if plan.wants("idle") {
        for &n in &args.idle {
            idle(cx, round, i, s, n, r)?;
        }
    }
    if let Some(big) = cx.big.filter(|_| plan.wants("bigdir")) {
        step(&format!("MLSD of {} entries", big.entries));
        let lent = big.lend(&s.root)?;
        let figures = cx.block("big-folder MLSD", s.name, bigdir::listing(s, big.entries), &mut r.notes);
        drop(lent);
        match figures {
            Some(Some(f)) => {
                eprintln!(
                    "      {:.2} s, RSS +{:.1} MiB, NOOP median {:.2} ms, p99 {:.2} ms",
                    f.secs, f.rss_growth_mib, f.noop_median_ms, f.noop_p99_ms
                );
                r.main.add("bigdir:secs", i, Some(f.secs));
                r.main.add("bigdir:rss", i, Some(f.rss_growth_mib));
                r.main.add("bigdir:noop", i, Some(f.noop_p99_ms));
                r.noop_medians[i].push(f.noop_median_ms);
            }
            Some(None) => r.notes.push(format!("{} has no MLSD: its big-folder cells are empty", s.name)),
            None => {}
        }
    }
    Ok(())
}

/// Memory per idle session with `n` sessions, on a fresh process: a
/// server that already ran the other scenarios has freed memory to reuse.
fn idle(cx: &Ctx<'_>, round: usize, i: usize, s: &Server, n: usize, r: &mut Results) -> anyhow::Result<()> {
    let args = cx.args;
    if s.forks_per_session() && n > args.forking_idle_max {
        r.notes.push(format!(
            "{} forks a process per session: {n} idle sessions not tried (over --forking-idle-max {}); see its smaller row",
            s.name, args.forking_idle_max
        ));
        return Ok(());
    }
    eprintln!("    {n} idle sessions");
    let fresh_dir = args.dir.join(format!("fresh-{}-{round}-{n}", s.name));
    std::fs::create_dir_all(&fresh_dir)?;
    let fresh = crate::start(s.name, args, &fresh_dir)?;
    let idle = cx.block("idle sessions", s.name, scenarios::idle_sessions(&fresh, n), &mut r.notes);
    drop(fresh);
    let _ = std::fs::remove_dir_all(&fresh_dir);
    let Some((per_session, opened)) = idle else { return Ok(()) };
    r.main.add(&format!("idle:{n}"), i, Some(per_session));
    if opened < n {
        r.notes.push(format!(
            "{} accepted only {opened} of {n} idle sessions (421 or refused beyond); its memory row is per accepted session",
            s.name
        ));
    }
    Ok(())
}
