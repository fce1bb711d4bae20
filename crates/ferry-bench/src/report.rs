//! Medians, the table, and BENCHMARKS.md.

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    Higher,
    Lower,
}

/// One scenario across servers.
pub(crate) struct Row {
    /// `key` or `key:part`, the key naming the scenario (see `plan`).
    pub(crate) id: String,
    pub(crate) title: String,
    better: Better,
    samples: Vec<Vec<f64>>,
}

/// Rows over the same columns (servers or clients). The first column is
/// the one compared; columns named `ferryd…` after it (ferryd with its
/// defaults) are shown but are not peers.
pub(crate) struct Table {
    columns: Vec<&'static str>,
    pub(crate) rows: Vec<Row>,
}

impl Table {
    pub(crate) fn new(columns: &[&'static str]) -> Table {
        Table { columns: columns.to_vec(), rows: Vec::new() }
    }

    /// Add a row (builder style).
    pub(crate) fn row(mut self, id: impl Into<String>, title: String, better: Better) -> Table {
        self.rows.push(Row { id: id.into(), title, better, samples: vec![Vec::new(); self.columns.len()] });
        self
    }

    /// Add a row with the first column only (the loopback limits, shown
    /// under ferryd's column for comparison with its rates).
    pub(crate) fn row_first_only(mut self, id: impl Into<String>, title: String, better: Better) -> Table {
        self.rows.push(Row { id: id.into(), title, better, samples: vec![Vec::new()] });
        self
    }

    /// Record a sample of row `id` for column `col` (`None` records none).
    pub(crate) fn add(&mut self, id: &str, col: usize, value: Option<f64>) {
        let row = self.rows.iter_mut().find(|r| r.id == id);
        debug_assert!(row.is_some(), "no row {id}");
        if let (Some(r), Some(v)) = (row, value) {
            r.samples[col].push(v);
        }
    }

    fn is_peer(&self, col: usize) -> bool {
        col > 0 && !self.columns[col].starts_with("ferryd")
    }

    /// The Markdown table: median (min–max) per column, and the first
    /// column's ratio to the best peer (above 1.00 means it is better).
    /// Empty when no row is left.
    pub(crate) fn render(&self) -> String {
        if self.rows.is_empty() {
            return String::new();
        }
        let mut out = String::from("| scenario (median, min–max) |");
        for s in &self.columns {
            out.push_str(&format!(" {} |", column_title(s)));
        }
        out.push_str(&format!(" {} vs best peer |\n|---|", self.columns[0]));
        for _ in &self.columns {
            out.push_str("---|");
        }
        out.push_str("---|\n");
        for r in &self.rows {
            out.push_str(&format!("| {} |", r.title));
            for i in 0..self.columns.len() {
                let s = match r.samples.get(i) {
                    Some(s) if !s.is_empty() => s,
                    Some(_) => {
                        out.push_str(" – |");
                        continue;
                    }
                    None => {
                        out.push_str(" |");
                        continue;
                    }
                };
                let min = s.iter().copied().fold(f64::INFINITY, f64::min);
                let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                out.push_str(&format!(" {} ({}–{}) |", fmt(median(s).unwrap_or(0.0)), fmt(min), fmt(max)));
            }
            let ratio = match self.ratio(r) {
                Some(x) => format!("{x:.2}×"),
                None => "–".to_owned(),
            };
            out.push_str(&format!(" {ratio} |\n"));
        }
        out
    }
}

impl Table {
    /// The first column's ratio to the best peer in row `r`, above 1.00
    /// when it is better.
    fn ratio(&self, r: &Row) -> Option<f64> {
        let ours = r.samples.first().and_then(|s| median(s));
        let peers = r.samples.iter().enumerate().filter(|(i, _)| self.is_peer(*i)).filter_map(|(_, s)| median(s));
        let best = match r.better {
            Better::Higher => peers.fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b)))),
            Better::Lower => peers.fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.min(b)))),
        };
        match (ours, best) {
            (Some(o), Some(b)) if o > 0.0 && b > 0.0 => Some(if r.better == Better::Higher { o / b } else { b / o }),
            _ => None,
        }
    }

    /// Each row's title and ratio, for the table of runs.
    pub(crate) fn ratios(&self) -> Vec<(String, Option<f64>)> {
        self.rows.iter().map(|r| (r.title.clone(), self.ratio(r))).collect()
    }

    /// Take in another run's samples of the same table (matched by row
    /// and column name), so that the medians cover every run.
    pub(crate) fn absorb(&mut self, other: Table) {
        for row in other.rows {
            let Some(mine) = self.rows.iter_mut().find(|r| r.id == row.id) else {
                self.rows.push(row);
                continue;
            };
            for (col, samples) in row.samples.into_iter().enumerate() {
                let Some(name) = other.columns.get(col) else { continue };
                if let Some(i) = self.columns.iter().position(|c| c == name)
                    && let Some(slot) = mine.samples.get_mut(i)
                {
                    slot.extend(samples);
                }
            }
        }
    }
}

/// The ratio of every row in each full run, and in how many runs ferryd
/// was ahead (ratio ≥ 1.00).
pub(crate) fn runs_table(runs: &[Vec<(String, Option<f64>)>]) -> String {
    let Some(first) = runs.first() else { return String::new() };
    let mut out = String::from("| scenario: ours (ferryd, or ferry as a client) vs best peer |");
    for i in 1..=runs.len() {
        out.push_str(&format!(" run {i} |"));
    }
    out.push_str(" ahead in |\n|---|");
    for _ in runs {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    for (title, _) in first {
        out.push_str(&format!("| {title} |"));
        let mut ahead = 0;
        let mut measured = 0;
        for run in runs {
            match run.iter().find(|(t, _)| t == title).and_then(|(_, r)| *r) {
                Some(r) => {
                    measured += 1;
                    ahead += usize::from(r >= 1.0);
                    out.push_str(&format!(" {r:.2}× |"));
                }
                None => out.push_str(" – |"),
            }
        }
        out.push_str(&format!(" {ahead} of {measured} |\n"));
    }
    out
}

/// A column's heading: `ferryd-defaults` (its `--servers` name) reads
/// "ferryd (defaults)".
fn column_title(name: &str) -> &str {
    if name == "ferryd-defaults" { "ferryd (defaults)" } else { name }
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Some(s[s.len() / 2])
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .map(|k| format!("{} GiB", k >> 20))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem}, Linux {}", std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim())
}

/// The whole BENCHMARKS.md.
pub(crate) fn document(table: &str, command: &str, notes: &[String], skipped: &[String], rounds: usize, runs: usize) -> String {
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut doc = format!(
        "# Benchmarks\n\nA fresh run of `bench/run` ({date}) on {}.\n\nCommand: `{command}`\n\n\
         {runs} full run(s), each starting the servers afresh. \
         Servers run on loopback with their files on tmpfs, one after another within each of {rounds} rounds \
         (interleaved, so a noisy neighbour hits all of them alike). Each cell is the median with min–max over every round of every run; the \
         last column is ferryd's ratio to the best peer over the same rounds (the last table gives each run's own), above 1.00 when ferryd is better \
         (faster, or less memory/time). This machine is shared and rates swing between runs: compare ratios, \
         not absolute numbers, and rerun before drawing conclusions.\n\n{table}\n",
        machine()
    );
    doc.push_str("Notes:\n\n");
    for n in notes {
        doc.push_str(&format!("- {n}\n"));
    }
    doc.push_str("- Big-file rows use curl as the client, so the client is not ferry's; small files, logins, sessions and listings use the ferry-client library.\n");
    doc.push_str("- FTPS rows: ferryd with rustls against vsftpd with OpenSSL, both with a self-signed certificate, curl as the client.\n");
    doc.push_str("- Client rows: ferry, curl and lftp downloading from ferryd into tmpfs; mirror is ferry `mirror --parallel 4` against lftp `mirror --parallel=4` (curl has no mirror).\n");
    doc.push_str("- vsftpd runs with anonymous access (its password logins need system accounts), so its login row measures its fork-per-session cost without a password hash.\n");
    for s in skipped {
        doc.push_str(&format!("- skipped: {s}\n"));
    }
    // What the profiles showed, kept by hand beside the tool.
    if let Ok(findings) = std::fs::read_to_string("bench/FINDINGS.md") {
        doc.push('\n');
        doc.push_str(&findings);
    }
    doc
}
