//! The report's notes on how the servers were set up and measured.

use crate::Args;
use crate::plan::Plan;
use crate::servers::{FERRYD_LIFTS, PURE_FTPD_LIFTS};

/// Which limits each server's configuration lifts, and why.
pub(crate) fn limits(names: &[&str]) -> Vec<String> {
    let mut notes = Vec::new();
    for name in names {
        let note = match *name {
            "ferryd" => format!(
                "ferryd lifts `{}`: sessions at once (default 1024) and per address (default 64; every client here is \
                 127.0.0.1 and the idle rows hold up to 10,000), the failed-login brakes (ban after 10, 1 s pause; no \
                 scenario fails a login), and logs at error rather than info. The peers' configurations lift the same \
                 caps, so this is the entry compared in the last column.",
                FERRYD_LIFTS.join(" ")
            ),
            "ferryd-defaults" => "ferryd (defaults) is the same binary started with only `--port`, `--root` and `--users`: \
                 at most 64 sessions per address and 1024 in all, the failed-login brakes on, info logging (to /dev/null), \
                 FTPS offered with a self-signed certificate. It shows what the caps and the default logging cost; it is \
                 not a peer, and the last column compares the ferryd entry (caps lifted) with the best peer."
                .to_owned(),
            "vsftpd" => "vsftpd runs with `max_clients=0` and `max_per_ip=0` (no caps, as in its defaults) and \
                 `seccomp_sandbox=NO`, anonymous access."
                .to_owned(),
            "pure-ftpd" => format!(
                "pure-ftpd lifts `{}`: clients at once (default 50) and per address, and the listing cap \
                 (default 10000 files, depth 5; past it a listing is cut short), so the big folder is listed whole.",
                PURE_FTPD_LIFTS.join(" ")
            ),
            "pyftpdlib" => "pyftpdlib runs its command-line server as it comes (`python3 -m pyftpdlib`): at most 512 \
                 sessions, no per-address cap; the command line has no option to lift the 512."
                .to_owned(),
            "unftp" => "unftp runs with its defaults: no session caps, no failed-login policy.".to_owned(),
            _ => continue,
        };
        notes.push(note);
    }
    notes
}

/// How the figures were taken, for the scenarios that ran.
pub(crate) fn method(args: &Args, plan: &Plan) -> Vec<String> {
    let mut notes = vec![
        format!(
            "{} interleaved rounds (`--rounds`): in each, every server runs every scenario before the next server starts; \
             cells are medians over the rounds (with one round, the single figure).",
            args.rounds
        ),
        format!("Every scenario has a {} s deadline (`--deadline`) per server; past it the cell is –, with a note.", args.deadline),
        "Server CPU is user + system time from /proc for the server's whole process tree, children that exited \
         included (through their parents' cutime/cstime). Every server runs under a child subreaper (ferry-bench \
         itself), so that session processes orphaned by their parent (Pure-FTPd's, every session; some of vsftpd's) \
         are reaped inside the tree and counted too."
            .to_owned(),
    ];
    if !args.only.is_empty() {
        notes.push(format!("Only some scenarios ran (`--only {}`).", args.only.join(",")));
    }
    if plan.wants("bigdir") && args.big_entries > 0 {
        notes.push(format!(
            "Big folder: {} empty files made once on tmpfs and moved (rename) into each server's folder for its turn; \
             listed with MLSD by the ferry-client library, which reads the whole listing and checks its line count. \
             Peak RSS growth: the RSS (VmRSS) of the server's processes sampled every 20 ms during the listing, the \
             largest less the RSS just before. NOOP: a second session, logged in before the listing, sends NOOP every \
             50 ms while it runs; the row shows the p99 (with a short listing, close to the largest), the median is in \
             a note. vsftpd has no MLSD.",
            args.big_entries
        ));
    }
    if plan.wants("splice") {
        notes.push(
            "splice row: a sender thread writes from memory into a loopback TCP socket; the receiver moves the bytes \
             socket → 1 MiB pipe → file on tmpfs with splice(2), never through user space: the receiving side's \
             limit, as sendfile is the sending side's."
                .to_owned(),
        );
    }
    notes
}

/// The NOOP medians during the big listing, one per server that listed.
pub(crate) fn noop_medians(names: &[&str], medians: &[Vec<f64>]) -> Option<String> {
    let parts: Vec<String> = names
        .iter()
        .zip(medians)
        .filter(|(_, m)| !m.is_empty())
        .map(|(n, m)| {
            let mut m = m.clone();
            m.sort_by(|a, b| a.total_cmp(b));
            format!("{n} {:.2} ms", m[m.len() / 2])
        })
        .collect();
    (!parts.is_empty()).then(|| format!("NOOP during the big MLSD, median (of the rounds' medians): {}.", parts.join(", ")))
}
