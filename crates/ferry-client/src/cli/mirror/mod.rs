//! `mirror`: copy a folder tree down (or up with `-R`), like lftp's mirror.
//!
//! A file whose copy has the same size and is at least as new is up to
//! date and skipped, as lftp does by default (`--all` sends everything);
//! `--only-newer` also skips copies that are newer whatever their size;
//! `--checksum` compares same-size copies by content instead
//! (`checksum.rs`); `--exclude`/`--include` and a `.ferryignore` leave
//! paths out (`filter.rs`); `--delete` removes what the source no longer
//! has; `--dry-run` only prints; `--parallel N` transfers N files at once
//! and `--retries N` tries a failing file again (`jobs.rs`). Downloads
//! keep the remote modification time, and uploads set it with `MFMT`
//! where offered, so the next run finds them up to date. It ends with a
//! tally, and the list of files that failed (exit 7).

mod checksum;
mod deploy;
mod filter;
mod jobs;
mod state;
mod tree;

use std::path::{Path, PathBuf};

use ferry_client::{Error, local};

use super::progress::View;
use super::shell::{CmdError, CmdResult, Shell};
use checksum::Pair;
use filter::{Filter, IGNORE_FILE, Rule};
use jobs::{Job, Outcome, Worker};
use tree::{Tree, join, local_tree, remote_tree, up_to_date};

#[derive(Debug, Default)]
pub(crate) struct Options {
    reverse: bool,
    all: bool,
    only_newer: bool,
    checksum: bool,
    delete: bool,
    dry_run: bool,
    parallel: usize,
    retries: u32,
    rules: Vec<Rule>,
    /// Deploy mode's state file (`--state FILE`).
    state: Option<PathBuf>,
}

/// What a mirror did (or, in a dry run, would do).
#[derive(Debug, Default)]
struct Tally {
    up_to_date: usize,
    transferred: usize,
    failed: usize,
    deleted: usize,
}

impl Tally {
    fn line(&self, dry_run: bool) -> String {
        let verb = if dry_run { "would be " } else { "" };
        let mut line = format!("{} up to date, {} {verb}transferred, {} {verb}deleted", self.up_to_date, self.transferred, self.deleted);
        if self.failed > 0 {
            line.push_str(&format!(", {} failed", self.failed));
        }
        line
    }
}

/// The value after an option, or a usage error naming it.
fn value<'a>(it: &mut std::slice::Iter<'_, &'a str>, option: &str) -> Result<&'a str, CmdError> {
    it.next().copied().ok_or_else(|| CmdError::Usage(format!("{option} needs a value")))
}

fn parse(args: &[&str]) -> Result<(Options, Vec<String>), CmdError> {
    let mut o = Options { parallel: 1, ..Options::default() };
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "-R" | "--reverse" => o.reverse = true,
            "--all" | "-a" => o.all = true,
            "--only-newer" | "-n" => o.only_newer = true,
            "--checksum" | "-c" => o.checksum = true,
            "--delete" | "-e" => o.delete = true,
            "--dry-run" => o.dry_run = true,
            "--exclude" | "-x" => o.rules.push(Rule::Exclude(value(&mut it, a)?.to_owned())),
            "--include" | "-i" => o.rules.push(Rule::Include(value(&mut it, a)?.to_owned())),
            "--parallel" | "-P" => {
                o.parallel = value(&mut it, a)?
                    .parse()
                    .ok()
                    .filter(|n| (1..=16).contains(n))
                    .ok_or_else(|| CmdError::Usage("--parallel takes 1 to 16".into()))?;
            }
            "--retries" => {
                o.retries = value(&mut it, a)?
                    .parse()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or_else(|| CmdError::Usage("--retries takes 0 to 100".into()))?;
            }
            "--state" => o.state = Some(PathBuf::from(value(&mut it, a)?)),
            a if a.starts_with('-') => return Err(CmdError::Usage(format!("unknown mirror option {a} (mirror --help lists them)"))),
            a => paths.push(a.to_owned()),
        }
    }
    Ok((o, paths))
}

impl Shell {
    pub(crate) async fn mirror(&mut self, args: &[&str]) -> CmdResult {
        let (o, paths) = parse(args)?;
        if o.reverse {
            let local = paths.first().ok_or_else(|| CmdError::Usage("usage: mirror -R LOCAL [REMOTE]".into()))?;
            let remote = paths.get(1).map_or_else(|| local::base_name(local.trim_end_matches('/')).to_owned(), |r| r.to_string());
            let filter = Filter::new(&o.rules, Some(&Path::new(local).join(IGNORE_FILE))).map_err(CmdError::Usage)?;
            match &o.state {
                Some(state) => self.mirror_deploy(Path::new(local), &remote, &o, &filter, state).await,
                None => self.mirror_up(Path::new(local), &remote, &o, &filter).await,
            }
        } else {
            if o.state.is_some() {
                return Err(CmdError::Usage("--state is for deploying: mirror -R --state FILE LOCAL [REMOTE]".into()));
            }
            let remote = paths.first().ok_or_else(|| CmdError::Usage("usage: mirror REMOTE [LOCAL]".into()))?;
            let local = paths.get(1).map_or_else(|| PathBuf::from(local::base_name(remote)), PathBuf::from);
            let filter = Filter::new(&o.rules, None).map_err(CmdError::Usage)?;
            self.mirror_down(remote, &local, &o, &filter).await
        }
    }

    /// The source files to send: all but those up to date (by size and
    /// time, or by content with `--checksum`).
    async fn choose(
        &mut self,
        source: &Tree,
        dest: &Tree,
        o: &Options,
        place: impl Fn(&str) -> (String, PathBuf),
    ) -> Result<(Vec<Job>, usize), CmdError> {
        let mut jobs = Vec::new();
        let mut same_size = Vec::new();
        for (rel, meta) in source {
            let Some(m) = meta else { continue };
            let (remote, local) = place(rel);
            match dest.get(rel) {
                // --only-newer keeps a newer copy whatever its content.
                Some(Some(d)) if o.only_newer && !o.all && tree::newer(d, m) => {}
                Some(Some(d)) if o.checksum && !o.all && d.size == m.size => same_size.push((
                    Pair { rel: rel.clone(), remote: remote.clone(), local: local.clone(), size: m.size },
                    Job { remote, local, modified: m.modified, record: None },
                )),
                d if up_to_date(*m, d, o) && !o.checksum => {}
                _ => jobs.push(Job { remote, local, modified: m.modified, record: None }),
            }
        }
        let current = source.values().flatten().count() - jobs.len() - same_size.len();
        if same_size.is_empty() {
            return Ok((jobs, current));
        }
        let pairs = same_size.iter().map(|(p, _)| p.clone()).collect();
        let differ = checksum::differing(self.client()?, pairs).await?;
        let mut skipped = current;
        match differ {
            Some(differ) => {
                for (p, job) in same_size {
                    if differ.contains(&p.rel) { jobs.push(job) } else { skipped += 1 }
                }
            }
            None => {
                if self.client()?.is_sftp() {
                    eprintln!("ferry: SFTP gives no digests of files; --checksum falls back to sizes and times");
                } else {
                    eprintln!("ferry: the server offers no HASH or XSHA256/XSHA1/XMD5/XCRC; --checksum falls back to sizes and times");
                }
                for (p, job) in same_size {
                    match source.get(&p.rel).copied().flatten() {
                        Some(m) if up_to_date(m, dest.get(&p.rel), o) => skipped += 1,
                        _ => jobs.push(job),
                    }
                }
            }
        }
        jobs.sort_by(|a, b| a.remote.cmp(&b.remote));
        Ok((jobs, skipped))
    }

    async fn mirror_down(&mut self, remote_root: &str, local_root: &Path, o: &Options, filter: &Filter) -> CmdResult {
        let source = remote_tree(self.client()?, remote_root, filter).await?;
        let dest = if local_root.exists() {
            local_tree(local_root, filter).map_err(|e| CmdError::Local(format!("{}: {e}", local_root.display())))?
        } else {
            Tree::new()
        };
        let (jobs, up_to_date) = self.choose(&source, &dest, o, |rel| (join(remote_root, rel), local_root.join(rel))).await?;
        let mut tally = Tally { up_to_date, ..Tally::default() };
        let mut planned_dirs = vec![local_root.to_path_buf()];
        planned_dirs.extend(source.iter().filter(|(_, m)| m.is_none()).map(|(rel, _)| local_root.join(rel)));
        let stale: Vec<&String> = if o.delete { dest.keys().filter(|k| !source.contains_key(*k)).collect() } else { Vec::new() };
        if o.dry_run {
            for d in planned_dirs.iter().filter(|d| !d.exists()) {
                println!("would create {}", d.display());
            }
            for j in &jobs {
                println!("would get {} -> {}", j.remote, j.local.display());
            }
            for s in &stale {
                println!("would remove {}", local_root.join(s).display());
            }
            (tally.transferred, tally.deleted) = (jobs.len(), stale.len());
            println!("Dry run of {remote_root} to {}: {}.", local_root.display(), tally.line(true));
            return Ok(());
        }
        for d in &planned_dirs {
            std::fs::create_dir_all(d).map_err(|e| CmdError::Local(format!("{}: {e}", d.display())))?;
        }
        let outcome = self.transfer(jobs, o, false).await?;
        (tally.transferred, tally.failed) = (outcome.done, outcome.failed.len());
        if !outcome.interrupted {
            // Remove deepest paths first so folders are empty when reached.
            for s in stale.iter().rev() {
                let p = local_root.join(s);
                let r = if p.is_dir() { std::fs::remove_dir(&p) } else { std::fs::remove_file(&p) };
                match r {
                    // Gone already (a partial that became its file).
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Ok(()) => {
                        println!("Removed {}", p.display());
                        tally.deleted += 1;
                    }
                    Err(e) => self.fail("mirror", &CmdError::Local(format!("{}: {e}", p.display()))),
                }
            }
        }
        println!("Mirrored {remote_root} to {}: {}.", local_root.display(), tally.line(false));
        conclude(outcome)
    }

    async fn mirror_up(&mut self, local_root: &Path, remote_root: &str, o: &Options, filter: &Filter) -> CmdResult {
        let source = local_tree(local_root, filter).map_err(|e| CmdError::Local(format!("{}: {e}", local_root.display())))?;
        let dest = match remote_tree(self.client()?, remote_root, filter).await {
            Ok(t) => t,
            // Missing (550 on most servers, 501 on pyftpdlib; no such
            // file over SFTP): start empty.
            Err(e) if ferry_client::session::is_missing(&e) => Tree::new(),
            Err(e) => return Err(e.into()),
        };
        let (jobs, up_to_date) = self.choose(&source, &dest, o, |rel| (join(remote_root, rel), local_root.join(rel))).await?;
        let mut tally = Tally { up_to_date, ..Tally::default() };
        let mut dirs = vec![remote_root.to_owned()];
        dirs.extend(source.iter().filter(|(_, m)| m.is_none()).map(|(rel, _)| join(remote_root, rel)));
        let stale: Vec<&String> = if o.delete { dest.keys().filter(|k| !source.contains_key(*k)).collect() } else { Vec::new() };
        let relative = |d: &str| d.strip_prefix(remote_root).unwrap_or(d).trim_start_matches('/').to_owned();
        if o.dry_run {
            for d in dirs.iter().filter(|d| !dest.contains_key(&relative(d)) && (*d != remote_root || dest.is_empty())) {
                println!("would create {d}");
            }
            for j in &jobs {
                println!("would put {} -> {}", j.local.display(), j.remote);
            }
            for s in &stale {
                println!("would remove {}", join(remote_root, s));
            }
            (tally.transferred, tally.deleted) = (jobs.len(), stale.len());
            println!("Dry run of {} to {remote_root}: {}.", local_root.display(), tally.line(true));
            return Ok(());
        }
        for d in &dirs {
            // The root is always attempted (a listing of a missing folder is
            // empty on some servers, not an error); existing ones answer 550.
            if d != remote_root && dest.contains_key(&relative(d)) {
                continue;
            }
            self.make_remote_dir(d).await?;
        }
        let outcome = self.transfer(jobs, o, true).await?;
        (tally.transferred, tally.failed) = (outcome.done, outcome.failed.len());
        if !outcome.interrupted && !stale.is_empty() {
            // The last transfer may have lost the connection.
            self.reconnect_if_lost().await?;
            for s in stale.iter().rev() {
                let path = join(remote_root, s);
                let client = self.client()?;
                let r = match dest.get(*s) {
                    Some(None) => client.rmdir(&path).await,
                    _ => client.delete(&path).await,
                };
                match r {
                    Ok(()) => {
                        println!("Removed {path}");
                        tally.deleted += 1;
                    }
                    Err(e) => self.fail("mirror", &e.into()),
                }
            }
        }
        println!("Mirrored {} to {remote_root}: {}.", local_root.display(), tally.line(false));
        self.mark_remote_stale();
        conclude(outcome)
    }

    /// Make a remote folder, where an existing one is fine.
    async fn make_remote_dir(&mut self, dir: &str) -> CmdResult {
        let client = self.client()?;
        match client.mkdir(dir).await {
            Ok(_) => Ok(()),
            Err(Error::Reply { reply, .. }) if reply.code == 550 || reply.code == 521 => Ok(()),
            // SFTP version 3 says only "failure": see whether it is there.
            Err(e @ Error::Sftp { .. }) => match client.list(Some(dir)).await {
                Ok(_) => Ok(()),
                Err(_) => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Run the jobs on this session's connection (lent to a worker, and
    /// taken back, perhaps reopened) or on `--parallel` new ones.
    async fn transfer(&mut self, jobs: Vec<Job>, o: &Options, upload: bool) -> Result<Outcome, CmdError> {
        self.transfer_recording(jobs, o, upload, None).await
    }

    /// [`Shell::transfer`], recording each finished file in `checkpoint`.
    async fn transfer_recording(
        &mut self,
        jobs: Vec<Job>,
        o: &Options,
        upload: bool,
        checkpoint: Option<std::sync::Arc<state::Checkpoint>>,
    ) -> Result<Outcome, CmdError> {
        let view = View { bar: o.parallel == 1 && self.settings.progress, hash: None };
        // Extra connections log in as this one did; without a login
        // nothing can be sent.
        let login = self.client()?.login_details().ok_or(CmdError::NotLoggedIn)?;
        let mut worker = Worker::new(self.client.take(), login, self.config.clone(), upload, view, o.retries).recording(checkpoint);
        let outcome = jobs::run_all(&mut worker, jobs, o.parallel).await;
        self.client = worker.client.take();
        Ok(outcome)
    }
}

/// The end of a mirror: the files that failed, listed once more, make it
/// a failure (exit 7); Ctrl-C makes it an interrupted one.
fn conclude(outcome: Outcome) -> CmdResult {
    if outcome.interrupted {
        return Err(CmdError::Client(Error::Interrupted));
    }
    if outcome.failed.is_empty() {
        return Ok(());
    }
    eprintln!("ferry: mirror: {} file(s) failed:", outcome.failed.len());
    for f in &outcome.failed {
        eprintln!("  {}", super::listing::printable(&format!("{}: {}", f.path, f.error)));
    }
    Err(CmdError::Incomplete(format!("{} file(s) not transferred", outcome.failed.len())))
}
