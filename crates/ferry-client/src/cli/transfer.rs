//! `get`, `put` and their relatives: where the bytes land, the seed's
//! no-clobber rule, checked resume, segmented downloads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ferry_client::local::{self, Clobber};
use ferry_client::{Client, ClientConfig, Error, StoreMode};
use ferry_proto::listing::Kind;
use tokio::io::AsyncSeekExt;

use super::progress::Progress;
use super::shell::{CmdError, CmdResult, Login, Shell, ctrl_c, local_glob};

/// How progress is shown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    pub(crate) bar: bool,
    pub(crate) hash: Option<u64>,
}

/// The result of one download.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) local: PathBuf,
    pub(crate) bytes: u64,
    /// Saved under a `new` name because the file existed.
    pub(crate) renamed: bool,
    /// Skipped because the file existed (`--skip`).
    pub(crate) skipped: bool,
    /// Resumed at this offset.
    pub(crate) resumed_at: Option<u64>,
}

/// The last component of a remote path.
pub(crate) fn base_name(remote: &str) -> &str {
    remote.trim_end_matches('/').rsplit('/').next().unwrap_or(remote)
}

/// Where a download of `remote` goes, given an optional local argument.
pub(crate) fn local_target(remote: &str, local: Option<&str>) -> PathBuf {
    let base = base_name(remote);
    match local {
        Some(l) if l.ends_with('/') || Path::new(l).is_dir() => Path::new(l).join(base),
        Some(l) => PathBuf::from(l),
        None => PathBuf::from(base),
    }
}

fn local_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Local { path: path.to_owned(), source }
}

/// Which side holds the partial copy being resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partial {
    Local,
    Remote,
}

/// Check that the first `have` bytes agree on both sides: by a server-side
/// digest of the prefix when offered, else by modification times (the
/// source must not have changed after the partial copy was written).
/// Returns how it was checked.
async fn verify_prefix(client: &mut Client, remote: &str, local: &Path, have: u64, partial: Partial) -> Result<&'static str, Error> {
    let hint = if partial == Partial::Local { " (use --overwrite)" } else { "" };
    if let Some((algo, remote_hex)) = client.remote_prefix_hash(remote, have).await? {
        let path = local.to_owned();
        let local_hex = tokio::task::spawn_blocking(move || local::prefix_digest(&path, have, algo))
            .await
            .map_err(|e| Error::Local { path: local.to_owned(), source: std::io::Error::other(e) })?
            .map_err(local_err(local))?;
        if !local_hex.eq_ignore_ascii_case(&remote_hex) {
            return Err(Error::Mismatch(format!(
                "the first {have} bytes of {} and {remote} differ ({} check); refusing to resume{hint}",
                local.display(),
                algo.hash_name()
            )));
        }
        return Ok(algo.hash_name());
    }
    let local_time = std::fs::metadata(local).and_then(|m| m.modified()).ok();
    if let (Ok(remote_time), Some(local_time)) = (client.mdtm(remote).await, local_time) {
        let (source, source_time, partial_time) = match partial {
            Partial::Local => (remote.to_owned(), remote_time, local_time),
            Partial::Remote => (local.display().to_string(), local_time, remote_time),
        };
        if source_time > partial_time + Duration::from_secs(1) {
            return Err(Error::Mismatch(format!("{source} changed after the partial copy was written; refusing to resume{hint}")));
        }
        return Ok("size and modification time");
    }
    Ok("size")
}

/// Check that a partial local file is a prefix of the remote file; returns
/// the offset to resume from and how it was checked.
pub(crate) async fn check_resume_get(client: &mut Client, remote: &str, local: &Path) -> Result<(u64, &'static str), Error> {
    let have = std::fs::metadata(local).map_err(local_err(local))?.len();
    let size = client.size(remote).await?;
    if have > size {
        return Err(Error::Mismatch(format!(
            "{}: the local file ({have} bytes) is larger than {remote} ({size} bytes); refusing to resume (use --overwrite)",
            local.display()
        )));
    }
    if have == 0 {
        return Ok((0, "empty local file"));
    }
    Ok((have, verify_prefix(client, remote, local, have, Partial::Local).await?))
}

/// Check that a partial remote file is a prefix of the local file; returns
/// the remote size to resume from.
pub(crate) async fn check_resume_put(client: &mut Client, local: &Path, remote: &str) -> Result<(u64, &'static str), Error> {
    let len = std::fs::metadata(local).map_err(local_err(local))?.len();
    let have = match client.size(remote).await {
        Ok(n) => n,
        Err(Error::Reply { reply, .. }) if reply.code == 550 => return Ok((0, "no remote file")),
        Err(e) => return Err(e),
    };
    if have > len {
        return Err(Error::Mismatch(format!(
            "{remote} ({have} bytes) is larger than {} ({len} bytes); refusing to resume",
            local.display()
        )));
    }
    if have == 0 {
        return Ok((0, "empty remote file"));
    }
    Ok((have, verify_prefix(client, remote, local, have, Partial::Remote).await?))
}

/// Download `remote` to `target` under `policy` (never `Ask`: the caller
/// settles that first).
pub(crate) async fn download(
    client: &mut Client,
    remote: &str,
    target: &Path,
    policy: Clobber,
    view: View,
    segments: Option<(usize, &Login, &ClientConfig)>,
) -> Result<Fetched, Error> {
    let exists = std::fs::symlink_metadata(target).is_ok();
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned();
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| base_name(remote).to_owned());
    if exists && policy == Clobber::Skip {
        return Ok(Fetched { local: target.to_owned(), bytes: 0, renamed: false, skipped: true, resumed_at: None });
    }
    if exists && policy == Clobber::Resume {
        let (offset, _how) = check_resume_get(client, remote, target).await?;
        let file = std::fs::OpenOptions::new().append(true).open(target).map_err(local_err(target))?;
        let mut file = tokio::fs::File::from_std(file);
        let total = client.size(remote).await.ok();
        let mut progress = Progress::new(&name, total, view.bar, view.hash);
        progress.set_offset(offset);
        let r = client.retrieve(remote, offset, &mut file, &mut |n| progress.update(offset, n), ctrl_c()).await;
        progress.finish();
        // A resumed file keeps what arrived, even on failure: that is the
        // point of resuming.
        let n = r?;
        return Ok(Fetched { local: target.to_owned(), bytes: n, renamed: false, skipped: false, resumed_at: Some(offset) });
    }
    // Choose the file the bytes go into.
    let (write_path, final_path, std_file, renamed) = if exists && policy == Clobber::Overwrite {
        let temp = dir.join(format!(".{name}.ferry-{}.part", std::process::id()));
        let f = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp).map_err(local_err(&temp))?;
        (temp, target.to_owned(), f, false)
    } else {
        let (path, f) = local::create_no_clobber(&dir, &name).map_err(local_err(target))?;
        let renamed = path.file_name() != Some(std::ffi::OsStr::new(&name));
        (path.clone(), path, f, renamed)
    };
    let total = client.size(remote).await.ok();
    let result = match (segments, total) {
        (Some((n, login, config)), Some(size)) if n > 1 && size >= 2 * 1024 * 1024 => {
            segmented(login, config, remote, size, &write_path, std_file, n, view, &name).await
        }
        _ => {
            let mut file = tokio::fs::File::from_std(std_file);
            let mut progress = Progress::new(&name, total, view.bar, view.hash);
            let r = client.retrieve(remote, 0, &mut file, &mut |n| progress.update(0, n), ctrl_c()).await;
            progress.finish();
            match r {
                Ok(n) => file.sync_all().await.map(|()| n).map_err(local_err(&write_path)),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(n) => {
            if write_path != final_path {
                std::fs::rename(&write_path, &final_path).map_err(local_err(&final_path))?;
            }
            Ok(Fetched { local: final_path, bytes: n, renamed, skipped: false, resumed_at: None })
        }
        Err(e) => {
            // Nothing half-written is left under a name we chose.
            let _ = std::fs::remove_file(&write_path);
            Err(e)
        }
    }
}

/// Download one file over `n` connections, each fetching a range.
#[allow(clippy::too_many_arguments)]
async fn segmented(
    login: &Login,
    config: &ClientConfig,
    remote: &str,
    size: u64,
    path: &Path,
    file: std::fs::File,
    n: usize,
    view: View,
    name: &str,
) -> Result<u64, Error> {
    file.set_len(size).map_err(|e| Error::Local { path: name.into(), source: e })?;
    let done = Arc::new(AtomicU64::new(0));
    let seg = size.div_ceil(n as u64);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n as u64 {
        let start = i * seg;
        if start >= size {
            break;
        }
        let len = seg.min(size - start);
        let last = start + len == size;
        let (login, config, remote, done) = (login.clone(), config.clone(), remote.to_owned(), done.clone());
        // Each segment opens the file anew: duplicated descriptors would
        // share one file offset and the segments would trample each other.
        let handle = std::fs::OpenOptions::new().write(true).open(path).map_err(local_err(path))?;
        tasks.spawn(async move {
            let mut c = Client::connect(&login.host, login.port, config).await?;
            c.login(&login.user, &login.password).await?;
            let mut f = tokio::fs::File::from_std(handle);
            f.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| Error::Local { path: remote.clone().into(), source: e })?;
            let mut last_seen = 0;
            let mut report = |n: u64| {
                done.fetch_add(n - last_seen, Ordering::Relaxed);
                last_seen = n;
            };
            let got = if last {
                c.retrieve(&remote, start, &mut f, &mut report, std::future::pending()).await?
            } else {
                c.retrieve_range(&remote, start, len, &mut f, &mut report).await?
            };
            f.sync_data().await.map_err(|e| Error::Local { path: remote.clone().into(), source: e })?;
            let _ = c.quit().await;
            if got != len {
                return Err(Error::Transfer { path: remote, reason: format!("segment at {start} got {got} of {len} bytes") });
            }
            Ok::<u64, Error>(got)
        });
    }
    let mut progress = Progress::new(name, Some(size), view.bar, view.hash);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut total = 0;
    let interrupted = ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Ok(n))) => total += n,
                Some(Ok(Err(e))) => { progress.finish(); return Err(e) }
                Some(Err(e)) => { progress.finish(); return Err(Error::Transfer { path: remote.into(), reason: e.to_string() }) }
            },
            _ = tick.tick() => progress.update(0, done.load(Ordering::Relaxed)),
            () = &mut interrupted => { progress.finish(); return Err(Error::Interrupted) }
        }
    }
    progress.finish();
    Ok(total)
}

/// Upload `local` to `remote`.
pub(crate) async fn upload(client: &mut Client, local: &Path, remote: &str, mode: StoreMode, view: View) -> Result<u64, Error> {
    let meta = std::fs::metadata(local).map_err(local_err(local))?;
    if meta.is_dir() {
        return Err(Error::Local {
            path: local.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory (use mirror -R)"),
        });
    }
    let mut file = tokio::fs::File::open(local).await.map_err(local_err(local))?;
    let offset = match mode {
        StoreMode::At(n) => n,
        _ => 0,
    };
    if offset > 0 {
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(local_err(local))?;
    }
    let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut progress = Progress::new(&name, Some(meta.len()), view.bar, view.hash);
    progress.set_offset(offset);
    let r = client.store(remote, mode, &mut file, &mut |n| progress.update(offset, n), ctrl_c()).await;
    progress.finish();
    r
}

/// Print what a download did, in the seed's words.
pub(crate) fn report_fetched(remote: &str, f: &Fetched) {
    if f.skipped {
        println!("Skipped {remote}: {} exists.", f.local.display());
    } else if let Some(at) = f.resumed_at {
        println!("Resumed {remote} at byte {at}: {} now complete (+{} bytes).", f.local.display(), f.bytes);
    } else if f.renamed {
        println!("{} exists here; saved {remote} as {} ({} bytes).", base_name(remote), f.local.display(), f.bytes);
    } else {
        println!("Downloaded {remote} to {} ({} bytes).", f.local.display(), f.bytes);
    }
}

/// Parsed `get` options.
struct GetArgs<'a> {
    remote: Option<&'a str>,
    local: Option<&'a str>,
    policy: Option<Clobber>,
    segments: usize,
}

fn parse_get_args<'a>(args: &[&'a str]) -> Result<GetArgs<'a>, CmdError> {
    let mut out = GetArgs { remote: None, local: None, policy: None, segments: 1 };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--overwrite" | "-f" => out.policy = Some(Clobber::Overwrite),
            "--resume" | "-c" => out.policy = Some(Clobber::Resume),
            "--skip" => out.policy = Some(Clobber::Skip),
            "--ask" => out.policy = Some(Clobber::Ask),
            "--segments" | "-n" => {
                let n = it.next().ok_or_else(|| CmdError::Usage("--segments needs a number".into()))?;
                out.segments =
                    n.parse().ok().filter(|n| (1..=32).contains(n)).ok_or_else(|| CmdError::Usage("--segments takes 1 to 32".into()))?;
            }
            a if a.starts_with("--") => return Err(CmdError::Usage(format!("unknown option {a}"))),
            a if out.remote.is_none() => out.remote = Some(a),
            a if out.local.is_none() => out.local = Some(a),
            a => return Err(CmdError::Usage(format!("unexpected argument {a:?}"))),
        }
    }
    Ok(out)
}

impl Shell {
    pub(crate) fn view(&self) -> View {
        View { bar: self.settings.progress, hash: self.settings.hash }
    }

    /// Settle `Ask` for an existing file by asking.
    async fn settle_policy(&mut self, policy: Clobber, target: &Path) -> Clobber {
        if policy != Clobber::Ask || std::fs::symlink_metadata(target).is_err() {
            return if policy == Clobber::Ask { Clobber::NewName } else { policy };
        }
        let q = format!("{} exists: [n]ew name, [o]verwrite, [r]esume, [s]kip? ", target.display());
        match self.input.ask(&q).await.as_deref().map(str::trim) {
            Some("o" | "overwrite") => Clobber::Overwrite,
            Some("r" | "resume") => Clobber::Resume,
            Some("s" | "skip") | None => Clobber::Skip,
            _ => Clobber::NewName,
        }
    }

    /// One `get` with the shell's settings.
    pub(crate) async fn fetch(&mut self, remote: &str, local: Option<&str>, policy: Clobber, segments: usize) -> CmdResult {
        let target = local_target(remote, local);
        let policy = self.settle_policy(policy, &target).await;
        let (view, login, config) = (self.view(), self.login.clone(), self.config.clone());
        let seg = login.as_ref().filter(|_| segments > 1).map(|l| (segments, l, &config));
        let client = self.client.as_mut().ok_or(CmdError::NotConnected)?;
        let fetched = download(client, remote, &target, policy, view, seg).await?;
        report_fetched(remote, &fetched);
        Ok(())
    }

    pub(crate) async fn get_command(&mut self, args: &[&str]) -> CmdResult {
        let a = parse_get_args(args)?;
        let remote = match a.remote {
            Some(r) => r.to_owned(),
            // The seed's prompt, word for word.
            None => match self.input.ask("Enter filename to download: ").await {
                Some(r) if !r.trim().is_empty() => r.trim().to_owned(),
                _ => return Err(CmdError::Usage("no file name given".into())),
            },
        };
        let policy = a.policy.unwrap_or(self.settings.clobber);
        self.fetch(&remote, a.local, policy, a.segments).await
    }

    pub(crate) async fn reget(&mut self, args: &[&str]) -> CmdResult {
        let remote = args.first().ok_or_else(|| CmdError::Usage("usage: reget REMOTE [LOCAL]".into()))?;
        let target = local_target(remote, args.get(1).copied());
        let client = self.client.as_mut().ok_or(CmdError::NotConnected)?;
        if std::fs::symlink_metadata(&target).is_ok() {
            let (_, how) = check_resume_get(client, remote, &target).await?;
            println!("Partial file checked ({how}); resuming.");
        }
        let view = self.view();
        let client = self.client.as_mut().ok_or(CmdError::NotConnected)?;
        let fetched = download(client, remote, &target, Clobber::Resume, view, None).await?;
        report_fetched(remote, &fetched);
        Ok(())
    }

    pub(crate) async fn mget(&mut self, args: &[&str]) -> CmdResult {
        if args.is_empty() {
            return Err(CmdError::Usage("usage: mget PATTERN...".into()));
        }
        let mut first_error = None;
        for pattern in args {
            let matches = self.remote_glob(pattern).await?;
            if matches.is_empty() {
                println!("No files match {pattern}.");
            }
            for (remote, kind) in matches {
                if kind == Kind::Dir || !self.confirm(&format!("mget {remote}?")).await {
                    continue;
                }
                let local = base_name(&remote).to_owned();
                let policy = self.settings.clobber;
                if let Err(e) = self.fetch(&remote, Some(&local), policy, 1).await {
                    self.fail(&format!("mget {remote}"), &e);
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), |_| Ok(()))
    }

    pub(crate) async fn put_command(&mut self, args: &[&str]) -> CmdResult {
        let local = args.first().ok_or_else(|| CmdError::Usage("usage: put LOCAL [REMOTE]".into()))?;
        let remote = args.get(1).map_or_else(|| base_name(local).to_owned(), |r| r.to_string());
        self.send_file(Path::new(local), &remote, StoreMode::Replace).await
    }

    /// The seed's `upload`: asks for the file name when none is given.
    pub(crate) async fn upload(&mut self, args: &[&str]) -> CmdResult {
        let local = match args.first() {
            Some(l) => l.to_string(),
            None => match self.input.ask("Enter filename to upload: ").await {
                Some(l) if !l.trim().is_empty() => l.trim().to_owned(),
                _ => return Err(CmdError::Usage("no file name given".into())),
            },
        };
        let remote = args.get(1).map_or_else(|| base_name(&local).to_owned(), |r| r.to_string());
        self.send_file(Path::new(&local), &remote, StoreMode::Replace).await
    }

    pub(crate) async fn send_file(&mut self, local: &Path, remote: &str, mode: StoreMode) -> CmdResult {
        let view = self.view();
        let client = self.client.as_mut().ok_or(CmdError::NotConnected)?;
        let n = upload(client, local, remote, mode, view).await?;
        let verb = match mode {
            StoreMode::Replace => "Uploaded",
            StoreMode::Append => "Appended",
            StoreMode::At(_) => "Resumed upload of",
        };
        println!("{verb} {} to {remote} ({n} bytes).", local.display());
        self.mark_remote_stale();
        Ok(())
    }

    pub(crate) async fn reput(&mut self, args: &[&str]) -> CmdResult {
        let local = args.first().ok_or_else(|| CmdError::Usage("usage: reput LOCAL [REMOTE]".into()))?;
        let remote = args.get(1).map_or_else(|| base_name(local).to_owned(), |r| r.to_string());
        let client = self.client.as_mut().ok_or(CmdError::NotConnected)?;
        let (offset, how) = check_resume_put(client, Path::new(local), &remote).await?;
        let mode = if offset == 0 {
            StoreMode::Replace
        } else if client.features.has("REST") {
            StoreMode::At(offset)
        } else {
            StoreMode::Append
        };
        if offset > 0 {
            println!("Remote part checked ({how}); resuming at byte {offset}.");
        }
        self.send_file(Path::new(local), &remote, mode).await
    }

    pub(crate) async fn append(&mut self, args: &[&str]) -> CmdResult {
        let local = args.first().ok_or_else(|| CmdError::Usage("usage: append LOCAL [REMOTE]".into()))?;
        let remote = args.get(1).map_or_else(|| base_name(local).to_owned(), |r| r.to_string());
        self.send_file(Path::new(local), &remote, StoreMode::Append).await
    }

    pub(crate) async fn mput(&mut self, args: &[&str]) -> CmdResult {
        if args.is_empty() {
            return Err(CmdError::Usage("usage: mput PATTERN...".into()));
        }
        for pattern in args {
            let files = local_glob(pattern)?;
            if files.is_empty() {
                println!("No local files match {pattern}.");
            }
            for f in files {
                if !self.confirm(&format!("mput {}?", f.display())).await {
                    continue;
                }
                let remote = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if let Err(e) = self.send_file(&f, &remote, StoreMode::Replace).await {
                    self.fail(&format!("mput {}", f.display()), &e);
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn mdelete(&mut self, args: &[&str]) -> CmdResult {
        if args.is_empty() {
            return Err(CmdError::Usage("usage: mdelete PATTERN...".into()));
        }
        for pattern in args {
            for (remote, kind) in self.remote_glob(pattern).await? {
                if kind == Kind::Dir || !self.confirm(&format!("mdelete {remote}?")).await {
                    continue;
                }
                match self.client()?.delete(&remote).await {
                    Ok(()) => println!("Deleted {remote}"),
                    Err(e) => self.fail(&format!("mdelete {remote}"), &e.into()),
                }
            }
        }
        self.mark_remote_stale();
        Ok(())
    }
}

/// Set a local file's modification time (mirror keeps remote times).
pub(crate) fn set_local_mtime(path: &Path, t: SystemTime) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_times(std::fs::FileTimes::new().set_modified(t));
    }
}
