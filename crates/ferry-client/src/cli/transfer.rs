//! The shell's `get`, `put` and their relatives: reading their arguments,
//! asking what the user wants, and saying what happened. What a transfer
//! does with the files (no-clobber names, checked resume, segments) is the
//! library's `download` and `upload` policy.

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_client::DownloadPlan;
use ferry_client::download::{Action, STDIO};
use ferry_client::local::{self, Clobber};
use ferry_client::resume::{Check, Resume};
use ferry_client::{Error, Fetched, StoreMode};
use ferry_proto::listing::Kind;

use super::commands::{Cmd, usage};
use super::listing::printable;
use super::progress::{self, Meter, View, summary};
use super::shell::{Asking, CmdError, CmdResult, Shell, ctrl_c, local_glob};
use super::words;

/// A finished `get` as `--json` prints it.
pub(crate) fn fetched_json(remote: &str, f: &Fetched) -> serde_json::Value {
    serde_json::json!({
        "ok": true, "remote": remote, "local": f.local, "bytes": f.bytes, "renamed": f.renamed, "skipped": f.skipped,
        "resumed_at": f.resumed_at, "seconds": f.elapsed.as_secs_f64(),
    })
}

/// Print what a download did, in the seed's words. Streamed to standard
/// output, the message goes to standard error, out of the data's way.
pub(crate) fn report_fetched(remote: &str, f: &Fetched) {
    // A name from a listing is the server's: no control characters raw.
    let remote = &printable(remote);
    let how = summary(f.bytes, f.elapsed);
    let line = if f.skipped {
        format!("Skipped {remote}: {} exists.", printable(&f.local.display().to_string()))
    } else if f.streamed {
        format!(
            "Downloaded {remote} to {} ({how}).",
            if f.local == Path::new(STDIO) { "standard output".into() } else { printable(&f.local.display().to_string()).to_string() }
        )
    } else if let Some(at) = f.resumed_at {
        let extra = if f.renamed { format!(" ({} exists here)", local::base_name(remote)) } else { String::new() };
        format!("Resumed {remote} at byte {at}: {} now complete{extra} (+{how}).", printable(&f.local.display().to_string()))
    } else if f.renamed {
        format!("{} exists here; saved {remote} as {} ({how}).", local::base_name(remote), printable(&f.local.display().to_string()))
    } else {
        format!("Downloaded {remote} to {} ({how}).", printable(&f.local.display().to_string()))
    };
    if f.streamed && f.local == Path::new(STDIO) { eprintln!("{line}") } else { println!("{line}") }
}

/// Print how a partial download was checked, before it is resumed. Sizes
/// and times only make it likely, not certain, that the bytes match.
pub(crate) fn report_download_resume(plan: &DownloadPlan, r: &Resume) {
    let file = plan.part().unwrap_or_else(|| plan.target.clone());
    match r.checked {
        Check::SizeAndTime | Check::Size => println!(
            "Partial file {} matches by {} only (the server gives no digest: not verified byte for byte); resuming at byte {}.",
            file.display(),
            r.checked,
            r.offset
        ),
        _ => println!("Partial file {} checked ({}); resuming at byte {}.", file.display(), r.checked, r.offset),
    }
}

/// After a failed download, say what was kept and how to continue it.
pub(crate) fn report_kept(plan: &DownloadPlan, again: &str) {
    if let Some((part, n)) = plan.kept_partial() {
        eprintln!("ferry: kept {} in {}; {again} continues it.", progress::size(n), part.display());
    }
}

/// Print how a resumed upload goes on, before it does.
pub(crate) fn report_upload_resume(r: &Resume) {
    if r.offset > 0 {
        println!("Remote part checked ({}); resuming at byte {}.", r.checked, r.offset);
    }
}

/// Print what an upload did.
pub(crate) fn report_sent(local: &Path, remote: &str, mode: StoreMode, n: u64, elapsed: Duration) {
    let verb = match mode {
        StoreMode::Replace => "Uploaded",
        StoreMode::Append => "Appended",
        StoreMode::At(_) => "Resumed upload of",
    };
    println!("{verb} {} to {} ({}).", local.display(), printable(remote), summary(n, elapsed));
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

/// `LOCAL [REMOTE]`: the remote name defaults to the local file's.
fn local_and_remote<'a>(args: &[&'a str], cmd: Cmd) -> Result<(&'a str, String), CmdError> {
    let local = args.first().ok_or_else(|| CmdError::Usage(usage(cmd)))?;
    let remote = args.get(1).map_or_else(|| local::base_name(local).to_owned(), |r| r.to_string());
    Ok((local, remote))
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
        let target = local::local_target(remote, local);
        let policy = self.settle_policy(policy, &target).await;
        let view = self.view();
        let client = self.client()?;
        let plan = client.plan_download(remote, &target, policy).await?;
        if let Action::Resume(r) | Action::Continue(r) = plan.action {
            report_download_resume(&plan, &r);
        }
        match client.download(&plan, segments, &mut Meter::new(view), ctrl_c()).await {
            Ok(fetched) => {
                report_fetched(remote, &fetched);
                Ok(())
            }
            Err(e) => {
                let again = match local {
                    Some(l) => format!("`get {} {}`", words::quote(remote), words::quote(l)),
                    None => format!("`get {}`", words::quote(remote)),
                };
                report_kept(&plan, &again);
                Err(e.into())
            }
        }
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
        let remote = args.first().ok_or_else(|| CmdError::Usage(usage(Cmd::Reget)))?;
        self.fetch(remote, args.get(1).copied(), Clobber::Resume, 1).await
    }

    pub(crate) async fn mget(&mut self, args: &[&str]) -> CmdResult {
        if args.is_empty() {
            return Err(CmdError::Usage(usage(Cmd::Mget)));
        }
        let mut asking = Asking::default();
        for pattern in args {
            let matches = self.remote_glob(pattern).await?;
            if matches.is_empty() {
                println!("No files match {pattern}.");
            }
            for (remote, kind) in matches {
                // Folders, and FIFOs or devices (which would never end).
                if matches!(kind, Kind::Dir | Kind::Other) {
                    continue;
                }
                match asking.ask(self, &format!("mget {}?", printable(&remote))).await {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return Ok(()),
                }
                // A file named `-` is a file here, not standard output.
                let local = match local::base_name(&remote) {
                    "-" => "./-".to_owned(),
                    name => name.to_owned(),
                };
                let policy = self.settings.clobber;
                match self.fetch(&remote, Some(&local), policy, 1).await {
                    // Ctrl-C ends the whole mget, not just this file.
                    Err(CmdError::Client(Error::Interrupted)) => return Err(CmdError::Client(Error::Interrupted)),
                    Err(e) => self.fail(&format!("mget {remote}"), &e),
                    Ok(()) => {}
                }
            }
        }
        Ok(())
    }

    /// `put [--resume] LOCAL [REMOTE]`.
    pub(crate) async fn put_command(&mut self, args: &[&str]) -> CmdResult {
        let resume = args.first().is_some_and(|a| matches!(*a, "--resume" | "-c"));
        let args = if resume { &args[1..] } else { args };
        let (local, remote) = local_and_remote(args, Cmd::Put)?;
        if resume {
            return self.send_resumed(Path::new(local), &remote).await;
        }
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
        let remote = args.get(1).map_or_else(|| local::base_name(&local).to_owned(), |r| r.to_string());
        self.send_file(Path::new(&local), &remote, StoreMode::Replace).await
    }

    pub(crate) async fn send_file(&mut self, local: &Path, remote: &str, mode: StoreMode) -> CmdResult {
        let view = self.view();
        let started = Instant::now();
        let n = self.client()?.upload(local, remote, mode, &mut Meter::new(view), ctrl_c()).await?;
        report_sent(local, remote, mode, n, started.elapsed());
        self.mark_remote_stale();
        Ok(())
    }

    /// A checked resume of an upload: `reput`, `put --resume`.
    async fn send_resumed(&mut self, local: &Path, remote: &str) -> CmdResult {
        let (mode, resume) = self.client()?.plan_resumed_upload(local, remote).await?;
        report_upload_resume(&resume);
        self.send_file(local, remote, mode).await
    }

    pub(crate) async fn reput(&mut self, args: &[&str]) -> CmdResult {
        let (local, remote) = local_and_remote(args, Cmd::Reput)?;
        self.send_resumed(Path::new(local), &remote).await
    }

    pub(crate) async fn append(&mut self, args: &[&str]) -> CmdResult {
        let (local, remote) = local_and_remote(args, Cmd::Append)?;
        self.send_file(Path::new(local), &remote, StoreMode::Append).await
    }

    pub(crate) async fn mput(&mut self, args: &[&str]) -> CmdResult {
        if args.is_empty() {
            return Err(CmdError::Usage(usage(Cmd::Mput)));
        }
        let mut asking = Asking::default();
        for pattern in args {
            let files = local_glob(pattern)?;
            if files.is_empty() {
                println!("No local files match {pattern}.");
            }
            for f in files {
                match asking.ask(self, &format!("mput {}?", f.display())).await {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return Ok(()),
                }
                let remote = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                match self.send_file(&f, &remote, StoreMode::Replace).await {
                    Err(CmdError::Client(Error::Interrupted)) => return Err(CmdError::Client(Error::Interrupted)),
                    Err(e) => self.fail(&format!("mput {}", f.display()), &e),
                    Ok(()) => {}
                }
            }
        }
        Ok(())
    }
}
