//! What a server's processes use, read from /proc: the process tree under
//! a root pid, its CPU time, and its memory (PSS and RSS).

use std::collections::HashMap;

/// The fields of /proc/PID/stat after the command name (which may hold
/// spaces and parentheses): `fields[0]` is field 3 of stat(5), the state.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    // The state is a letter; keep the numbers' positions by parsing it as 0.
    Some(after.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0)).collect())
}

/// `root` and all its descendants (zombies included: an exited child that
/// its parent has not reaped yet still shows its CPU time here).
pub(crate) fn tree(root: u32) -> Vec<u32> {
    // One pass over /proc for the parent of every process, then walk down.
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1).copied()) {
                children.entry(ppid as u32).or_default().push(pid);
            }
        }
    }
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        if let Some(kids) = children.get(&pids[i]) {
            pids.extend(kids);
        }
        i += 1;
    }
    pids
}

/// CPU time (user + system) of `pids`, in seconds, with the `cutime` and
/// `cstime` of each: the time of children that exited and were reaped by
/// their parent. A forking server's session processes end that way, as
/// long as they are reaped inside the tree; orphans are not, unless a
/// subreaper above them takes them in (see `reaper`).
pub(crate) fn cpu_secs(pids: &[u32]) -> f64 {
    let ticks_per_sec = 100.0; // USER_HZ, fixed at 100 on Linux
    let mut ticks = 0u64;
    for &pid in pids {
        if let Some(f) = stat_fields(pid) {
            // Fields 14–17 of stat(5): utime stime cutime cstime; `f`
            // starts at field 3.
            ticks += f.iter().skip(11).take(4).sum::<u64>();
        }
    }
    ticks as f64 / ticks_per_sec
}

/// The first `key` line of /proc/PID/{file}, in KiB, summed over `pids`.
fn sum_kib(pids: &[u32], file: &str, key: &str) -> u64 {
    let mut total = 0;
    for &pid in pids {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/{file}")) {
            total += s
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// Proportional set size of `pids`, KiB: shared pages split among their
/// sharers, so a forking server's per-session cost is not counted many
/// times over.
pub(crate) fn pss_kib(pids: &[u32]) -> u64 {
    sum_kib(pids, "smaps_rollup", "Pss:")
}

/// Resident set size of `pids`, KiB (cheap to read, for sampling often).
pub(crate) fn rss_kib(pids: &[u32]) -> u64 {
    sum_kib(pids, "status", "VmRSS:")
}
