//! `mirror`: copy a folder tree down (or up with `-R`), like lftp's mirror.
//!
//! A file whose copy has the same size and is at least as new is up to
//! date and skipped, as lftp does by default (`--all` sends everything);
//! `--only-newer` also skips copies that are newer whatever their size;
//! `--delete` removes what the source no longer has; `--dry-run` only
//! prints; `--parallel N` transfers N files at once over extra
//! connections. Downloads keep the remote modification time, and uploads
//! set it with `MFMT` where offered, so the next run finds them up to date.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ferry_client::local::{self, Clobber};
use ferry_client::{Client, Error, StoreMode};
use ferry_proto::listing::Kind;

use super::progress::{Meter, View};
use super::shell::{CmdError, CmdResult, Shell, ctrl_c};

#[derive(Debug, Default)]
struct Options {
    reverse: bool,
    all: bool,
    only_newer: bool,
    delete: bool,
    dry_run: bool,
    parallel: usize,
}

/// A file on either side: size and modification time.
#[derive(Debug, Clone, Copy)]
struct Meta {
    size: u64,
    modified: Option<SystemTime>,
}

/// A tree: relative path → `None` for folders, `Some(meta)` for files.
type Tree = BTreeMap<String, Option<Meta>>;

fn join(base: &str, rel: &str) -> String {
    match (base, rel) {
        (b, "") => b.to_owned(),
        ("" | ".", r) => r.to_owned(),
        (b, r) if b.ends_with('/') => format!("{b}{r}"),
        (b, r) => format!("{b}/{r}"),
    }
}

async fn remote_tree(client: &mut Client, root: &str) -> Result<Tree, Error> {
    let mut tree = Tree::new();
    let mut queue = VecDeque::from([String::new()]);
    while let Some(rel) = queue.pop_front() {
        let dir = join(root, &rel);
        for e in client.list(Some(&dir)).await? {
            let path = join(&rel, &e.name);
            match e.kind {
                Kind::Dir => {
                    tree.insert(path.clone(), None);
                    queue.push_back(path);
                }
                Kind::File => {
                    tree.insert(path, Some(Meta { size: e.size, modified: e.modified }));
                }
                _ => {}
            }
        }
    }
    Ok(tree)
}

fn local_tree(root: &Path) -> std::io::Result<Tree> {
    let mut tree = Tree::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(root.join(&rel))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = join(&rel, &name);
            let meta = e.metadata()?;
            if meta.is_dir() {
                tree.insert(path.clone(), None);
                stack.push(path);
            } else if meta.is_file() {
                tree.insert(path, Some(Meta { size: meta.len(), modified: meta.modified().ok() }));
            }
        }
    }
    Ok(tree)
}

/// True when the copy `dest` need not be sent again: the same size and at
/// least as new (a second of slack for servers that keep whole seconds),
/// or, with `only_newer`, newer whatever its size. A copy with no time
/// is never up to date.
fn up_to_date(src: Meta, dest: Option<&Option<Meta>>, o: &Options) -> bool {
    let Some(Some(d)) = dest else { return false };
    if o.all {
        return false;
    }
    match (src.modified, d.modified) {
        (Some(s), Some(t)) if o.only_newer && t > s + Duration::from_secs(1) => true,
        (Some(s), Some(t)) => d.size == src.size && t + Duration::from_secs(1) >= s,
        _ => false,
    }
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

/// One file to copy.
#[derive(Debug, Clone)]
struct Job {
    remote: String,
    local: PathBuf,
    modified: Option<SystemTime>,
}

impl Shell {
    pub(crate) async fn mirror(&mut self, args: &[&str]) -> CmdResult {
        let mut o = Options { parallel: 1, ..Options::default() };
        let mut paths = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match *a {
                "-R" | "--reverse" => o.reverse = true,
                "--all" | "-a" => o.all = true,
                "--only-newer" | "-n" => o.only_newer = true,
                "--delete" | "-e" => o.delete = true,
                "--dry-run" => o.dry_run = true,
                "--parallel" | "-P" => {
                    let n = it.next().ok_or_else(|| CmdError::Usage("--parallel needs a number".into()))?;
                    o.parallel = n
                        .parse()
                        .ok()
                        .filter(|n| (1..=16).contains(n))
                        .ok_or_else(|| CmdError::Usage("--parallel takes 1 to 16".into()))?;
                }
                a if a.starts_with('-') => return Err(CmdError::Usage(format!("unknown mirror option {a}"))),
                a => paths.push(a),
            }
        }
        if o.reverse {
            let local = paths.first().ok_or_else(|| CmdError::Usage("usage: mirror -R LOCAL [REMOTE]".into()))?;
            let remote = paths.get(1).map_or_else(|| local::base_name(local.trim_end_matches('/')).to_owned(), |r| r.to_string());
            self.mirror_up(Path::new(local), &remote, &o).await
        } else {
            let remote = paths.first().ok_or_else(|| CmdError::Usage("usage: mirror REMOTE [LOCAL]".into()))?;
            let local = paths.get(1).map_or_else(|| PathBuf::from(local::base_name(remote)), PathBuf::from);
            self.mirror_down(remote, &local, &o).await
        }
    }

    async fn mirror_down(&mut self, remote_root: &str, local_root: &Path, o: &Options) -> CmdResult {
        let source = remote_tree(self.client()?, remote_root).await?;
        let dest = if local_root.exists() {
            local_tree(local_root).map_err(|e| CmdError::Local(format!("{}: {e}", local_root.display())))?
        } else {
            Tree::new()
        };
        let mut jobs = Vec::new();
        let mut tally = Tally::default();
        let mut planned_dirs = vec![local_root.to_path_buf()];
        for (rel, meta) in &source {
            let local = local_root.join(rel);
            match meta {
                None => planned_dirs.push(local),
                Some(m) => {
                    if up_to_date(*m, dest.get(rel), o) {
                        tally.up_to_date += 1;
                        continue;
                    }
                    jobs.push(Job { remote: join(remote_root, rel), local, modified: m.modified });
                }
            }
        }
        let stale: Vec<&String> = if o.delete { dest.keys().filter(|k| !source.contains_key(*k)).collect() } else { Vec::new() };
        if o.dry_run {
            for d in &planned_dirs {
                if !d.exists() {
                    println!("would create {}", d.display());
                }
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
        let count = jobs.len();
        tally.failed = self.run_jobs(jobs, o.parallel, false).await;
        tally.transferred = count - tally.failed;
        // Remove deepest paths first so folders are empty when reached.
        for s in stale.iter().rev() {
            let p = local_root.join(s);
            let r = if p.is_dir() { std::fs::remove_dir(&p) } else { std::fs::remove_file(&p) };
            match r {
                Ok(()) => {
                    println!("Removed {}", p.display());
                    tally.deleted += 1;
                }
                Err(e) => self.fail("mirror", &CmdError::Local(format!("{}: {e}", p.display()))),
            }
        }
        println!("Mirrored {remote_root} to {}: {}.", local_root.display(), tally.line(false));
        Ok(())
    }

    async fn mirror_up(&mut self, local_root: &Path, remote_root: &str, o: &Options) -> CmdResult {
        let source = local_tree(local_root).map_err(|e| CmdError::Local(format!("{}: {e}", local_root.display())))?;
        let client = self.client()?;
        let dest = match remote_tree(client, remote_root).await {
            Ok(t) => t,
            // Missing (550 on most servers, 501 on pyftpdlib): start empty.
            Err(Error::Reply { reply, .. }) if reply.class() == 5 => Tree::new(),
            Err(e) => return Err(e.into()),
        };
        let mut jobs = Vec::new();
        let mut tally = Tally::default();
        let mut dirs = vec![remote_root.to_owned()];
        for (rel, meta) in &source {
            match meta {
                None => dirs.push(join(remote_root, rel)),
                Some(m) => {
                    if up_to_date(*m, dest.get(rel), o) {
                        tally.up_to_date += 1;
                        continue;
                    }
                    jobs.push(Job { remote: join(remote_root, rel), local: local_root.join(rel), modified: m.modified });
                }
            }
        }
        let stale: Vec<&String> = if o.delete { dest.keys().filter(|k| !source.contains_key(*k)).collect() } else { Vec::new() };
        if o.dry_run {
            for d in &dirs {
                let rel = d.strip_prefix(remote_root).unwrap_or(d).trim_start_matches('/');
                if !dest.contains_key(rel) && (d != remote_root || dest.is_empty()) {
                    println!("would create {d}");
                }
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
            let rel = d.strip_prefix(remote_root).unwrap_or(d).trim_start_matches('/');
            // The root is always attempted (a listing of a missing folder is
            // empty on some servers, not an error); existing ones answer 550.
            if d != remote_root && dest.contains_key(rel) {
                continue;
            }
            match self.client()?.mkdir(d).await {
                Ok(_) => {}
                // Already there is fine.
                Err(Error::Reply { reply, .. }) if reply.code == 550 || reply.code == 521 => {}
                Err(e) => return Err(e.into()),
            }
        }
        let count = jobs.len();
        tally.failed = self.run_jobs(jobs, o.parallel, true).await;
        tally.transferred = count - tally.failed;
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
        println!("Mirrored {} to {remote_root}: {}.", local_root.display(), tally.line(false));
        self.mark_remote_stale();
        Ok(())
    }

    /// Transfer `jobs`, on this connection or on `parallel` extra ones.
    /// Returns the number of failures (each already reported).
    async fn run_jobs(&mut self, jobs: Vec<Job>, parallel: usize, upload: bool) -> usize {
        let view = View { bar: parallel == 1 && self.settings.progress, hash: None };
        if parallel <= 1 || jobs.len() <= 1 {
            let mut failures = 0;
            for job in jobs {
                let Some(client) = self.client.as_mut() else {
                    self.fail("mirror", &CmdError::NotConnected);
                    return failures + 1;
                };
                match run_job(client, &job, upload, view).await {
                    Ok(line) => println!("{line}"),
                    Err(e) => {
                        failures += 1;
                        self.fail("mirror", &e.into());
                    }
                }
            }
            return failures;
        }
        let Some(login) = self.client.as_ref().and_then(Client::login_details) else {
            // Extra connections log in as this one did; without a login
            // nothing can be sent. Said, and counted as failures.
            self.fail("mirror", &CmdError::NotLoggedIn);
            return jobs.len();
        };
        let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..parallel {
            let (queue, login, config) = (queue.clone(), login.clone(), self.config.clone());
            workers.spawn(async move {
                let mut errors = Vec::new();
                let mut client = match login.open(config).await {
                    Ok(c) => c,
                    Err(e) => return vec![e],
                };
                loop {
                    let job = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some(job) = job else { break };
                    match run_job(&mut client, &job, upload, view).await {
                        Ok(line) => println!("{line}"),
                        Err(e) => errors.push(e),
                    }
                }
                let _ = client.quit().await;
                errors
            });
        }
        let mut failures = 0;
        while let Some(r) = workers.join_next().await {
            for e in r.unwrap_or_default() {
                failures += 1;
                self.fail("mirror", &e.into());
            }
        }
        failures
    }
}

/// Copy one file, keeping its modification time on the other side.
async fn run_job(client: &mut Client, job: &Job, upload: bool, view: View) -> Result<String, Error> {
    let mut meter = Meter::new(view);
    if upload {
        let n = client.upload(&job.local, &job.remote, StoreMode::Replace, &mut meter, ctrl_c()).await?;
        if let Some(t) = job.modified {
            let _ = client.set_mtime(&job.remote, t).await;
        }
        Ok(format!("put {} ({})", job.remote, super::progress::size(n)))
    } else {
        let plan = client.plan_download(&job.remote, &job.local, Clobber::Overwrite).await?;
        let f = client.download(&plan, 1, &mut meter, ctrl_c()).await?;
        if let Some(t) = job.modified {
            set_local_mtime(&f.local, t);
        }
        Ok(format!("got {} ({})", job.remote, super::progress::size(f.bytes)))
    }
}

/// Set a local file's modification time (mirror keeps remote times).
fn set_local_mtime(path: &Path, t: SystemTime) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_times(std::fs::FileTimes::new().set_modified(t));
    }
}
