//! `get`'s policy: what a download does with the local file.
//!
//! A download is planned, then run. [`Client::plan_download`] looks at the
//! local target and the [`Clobber`] policy and decides once:
//!
//! - the destination: the target when it is free (the seed's rule: an
//!   existing file is never overwritten), else the first free `new_` name
//!   beside it; with `overwrite`, the target itself, replaced;
//! - the bytes go to `DEST.ferry-part` first and are moved to the destination
//!   only once complete (see [`crate::partial`]); a `.ferry-part` left by an
//!   earlier, broken-off download is checked against the remote file
//!   ([`crate::resume`]) and continued rather than started again;
//! - `resume` of an existing target (no `.ferry-part` beside it): check it and
//!   append the rest to it in place;
//! - `skip`: leave an existing file alone;
//! - standard output (`-`) and special files (`/dev/null`, a FIFO) are
//!   written to as they are: no `.ferry-part`, no new name.
//!
//! The caller may show the plan (a checked resume says how it was checked)
//! before [`Client::download`] carries it out; after a failure,
//! [`DownloadPlan::kept_partial`] says what was kept for next time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{Error, Result, local_at};
use crate::local::{self, Clobber};
use crate::partial;
use crate::progress::Progress;
use crate::remote::Remote;
use crate::resume::{self, Resume};
use crate::segments::SEGMENT_THRESHOLD;

/// What a download will do with the local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Write a new `.ferry-part` file, then move it to the destination.
    Create,
    /// Continue the checked `.ferry-part` file of an earlier download, then
    /// move it to the destination.
    Continue(Resume),
    /// Append to the existing target itself after a checked resume.
    Resume(Resume),
    /// Leave the existing target and download nothing.
    Skip,
    /// Write straight into the target: standard output, or a file that is
    /// not a regular file (a device, a FIFO).
    Stream,
}

/// A decided download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadPlan {
    /// The remote file.
    pub remote: String,
    /// The local file asked for.
    pub target: PathBuf,
    /// Where the complete copy goes: the target, or a `new_` name when the
    /// target exists (a later `new_` name if that one is taken meanwhile).
    pub dest: PathBuf,
    /// Replace a file at `dest` (`overwrite`).
    pub replace: bool,
    /// What happens.
    pub action: Action,
}

/// What a download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The file the bytes are in (`-` for standard output).
    pub local: PathBuf,
    /// Bytes received (after `resumed_at`, for a resume).
    pub bytes: u64,
    /// Saved under a `new` name because the file existed.
    pub renamed: bool,
    /// Skipped because the file existed (`--skip`).
    pub skipped: bool,
    /// Resumed at this offset.
    pub resumed_at: Option<u64>,
    /// Written to standard output or a special file.
    pub streamed: bool,
    /// How long the transfer took.
    pub elapsed: Duration,
}

/// The local name that means standard output (and standard input for an
/// upload).
pub const STDIO: &str = "-";

impl DownloadPlan {
    /// The `.ferry-part` file this download writes, if it writes one.
    pub fn part(&self) -> Option<PathBuf> {
        matches!(self.action, Action::Create | Action::Continue(_)).then(|| partial::part_name(&self.dest))
    }

    /// After a failed download: the `.ferry-part` file kept for a later `get`
    /// or `reget` to continue, and its size.
    pub fn kept_partial(&self) -> Option<(PathBuf, u64)> {
        let part = self.part()?;
        let len = std::fs::metadata(&part).ok()?.len();
        (len > 0).then_some((part, len))
    }
}

/// True for `-` and for files that exist but are not regular files or
/// folders: those are written to as they are.
pub fn streams_into(target: &Path) -> bool {
    target == Path::new(STDIO) || std::fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

impl Client {
    /// Decide what downloading `remote` to `target` does under `policy`.
    /// `Clobber::Ask` is the caller's to settle first (it asks a person);
    /// left unsettled it keeps the seed's rule, a new name. A resume is
    /// checked here, so a refusal comes before any byte moves.
    pub async fn plan_download(&mut self, remote: &str, target: &Path, policy: Clobber) -> Result<DownloadPlan> {
        plan(self, remote, target, policy).await
    }

    /// Carry out `plan`. With `segments > 1`, a fresh file of at least
    /// [`SEGMENT_THRESHOLD`] bytes comes over that many connections at
    /// once. `interrupt` resolving stops the transfer ([`crate::Error::Interrupted`]).
    pub async fn download(
        &mut self,
        plan: &DownloadPlan,
        segments: usize,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<Fetched> {
        if plan.action == Action::Create && segments > 1 {
            let started = Instant::now();
            let remote = plan.remote.as_str();
            if let Some(size) = self.size(remote).await.ok().filter(|s| *s >= SEGMENT_THRESHOLD) {
                // Segments leave holes until all are in: they go to a
                // name of their own that no later get continues.
                let name = file_name(&plan.dest, remote);
                let temp = partial::segments_name(&plan.dest);
                let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp).map_err(local_at(&temp))?;
                let r = self.download_segments(remote, size, &temp, file, segments, &name, progress, interrupt).await;
                let n = match r {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = std::fs::remove_file(&temp);
                        return Err(e);
                    }
                };
                let local = finish_part(plan, &temp).await?;
                let renamed = local.file_name() != plan.target.file_name();
                let elapsed = started.elapsed();
                return Ok(Fetched { renamed, skipped: false, streamed: false, local, bytes: n, resumed_at: None, elapsed });
            }
        }
        run(self, plan, progress, interrupt).await
    }
}

/// [`Client::plan_download`] for any protocol.
pub(crate) async fn plan<R: Remote>(r: &mut R, remote: &str, target: &Path, policy: Clobber) -> Result<DownloadPlan> {
    let plan =
        |dest: PathBuf, replace, action| DownloadPlan { remote: remote.to_owned(), target: target.to_owned(), dest, replace, action };
    if streams_into(target) {
        return Ok(plan(target.to_owned(), false, Action::Stream));
    }
    let exists = std::fs::symlink_metadata(target).is_ok();
    let has_part = std::fs::symlink_metadata(partial::part_name(target)).is_ok_and(|m| m.is_file());
    let (dest, replace) = match policy {
        _ if !exists => (target.to_owned(), false),
        Clobber::Skip => return Ok(plan(target.to_owned(), false, Action::Skip)),
        Clobber::Resume if !has_part => {
            let checked = resume::check_get(r, remote, target).await?;
            return Ok(plan(target.to_owned(), false, Action::Resume(checked)));
        }
        Clobber::Overwrite => (target.to_owned(), true),
        // Both the target and a `.ferry-part` of it: the `.ferry-part` is continued,
        // and saved beside the target, never over it.
        Clobber::Resume => (target.to_owned(), false),
        Clobber::NewName | Clobber::Ask => {
            let name = file_name(target, remote);
            (partial::first_free(local::parent_dir(target), &name).map_err(local_at(target))?, false)
        }
    };
    let part = partial::part_name(&dest);
    if !std::fs::symlink_metadata(&part).is_ok_and(|m| m.is_file()) {
        return Ok(plan(dest, replace, Action::Create));
    }
    match resume::check_get(r, remote, &part).await {
        Ok(checked) => Ok(plan(dest, replace, Action::Continue(checked))),
        // A stale part is ferry's own leftover: `overwrite` may
        // replace it; otherwise it is the user's to remove.
        Err(Error::Mismatch(_)) if policy == Clobber::Overwrite => {
            std::fs::remove_file(&part).map_err(local_at(&part))?;
            Ok(plan(dest, replace, Action::Create))
        }
        Err(Error::Mismatch(why)) => Err(Error::Local {
            path: part.clone(),
            source: std::io::Error::other(format!(
                "an earlier download left this, and it cannot be continued ({why}); remove it to download {remote} afresh"
            )),
        }),
        Err(e) => Err(e),
    }
}

/// [`Client::download`] for any protocol, on one connection.
pub(crate) async fn run<R: Remote>(
    r: &mut R,
    plan: &DownloadPlan,
    progress: &mut dyn Progress,
    interrupt: impl Future<Output = ()>,
) -> Result<Fetched> {
    let started = Instant::now();
    let remote = plan.remote.as_str();
    let name = file_name(&plan.dest, remote);
    let done = |local: PathBuf, bytes, resumed_at| Fetched {
        renamed: false,
        skipped: false,
        streamed: false,
        local,
        bytes,
        resumed_at,
        elapsed: started.elapsed(),
    };
    match plan.action {
        Action::Skip => Ok(Fetched { skipped: true, ..done(plan.target.clone(), 0, None) }),
        Action::Stream => {
            // Opening a FIFO waits for its reader: off the workers, and
            // not past Ctrl-C or the data timeout.
            let mut interrupt = std::pin::pin!(interrupt);
            let target = plan.target.clone();
            let open = tokio::task::spawn_blocking(move || open_stream(&target));
            let file = tokio::select! {
                opened = tokio::time::timeout(r.open_timeout(), open) => match opened {
                    Ok(Ok(file)) => file?,
                    Ok(Err(e)) => return Err(local_at(&plan.target)(std::io::Error::other(e))),
                    Err(_) => return Err(local_at(&plan.target)(std::io::Error::new(std::io::ErrorKind::TimedOut, "nothing opened it for reading"))),
                },
                () = &mut interrupt => return Err(Error::Interrupted),
            };
            let total = r.remote_size(remote).await.ok();
            progress.start(&name, total, 0);
            let got = r.fetch_to_stream(remote, file, &plan.target, &mut |n| progress.advance(n), interrupt).await;
            progress.finish();
            Ok(Fetched { streamed: true, ..done(plan.target.clone(), got?, None) })
        }
        Action::Resume(resume) => {
            // A resumed file keeps what arrived, even on failure: that
            // is the point of resuming.
            let n = append_checked(r, remote, &plan.target, &name, resume, progress, interrupt).await?;
            Ok(done(plan.target.clone(), n, Some(resume.offset)))
        }
        Action::Continue(resume) => {
            let part = partial::part_name(&plan.dest);
            let n = append_checked(r, remote, &part, &name, resume, progress, interrupt).await?;
            let local = finish_part(plan, &part).await?;
            let renamed = local.file_name() != plan.target.file_name();
            Ok(Fetched { renamed, ..done(local, n, Some(resume.offset)) })
        }
        Action::Create => {
            let total = r.remote_size(remote).await.ok();
            let part = partial::part_name(&plan.dest);
            let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&part).map_err(local_at(&part))?;
            progress.start(&name, total, 0);
            let got = r.fetch_to_file(remote, 0, file, &part, &mut |n| progress.advance(n), interrupt).await;
            progress.finish();
            if got.is_err() && plan.kept_partial().is_none() {
                let _ = std::fs::remove_file(&part);
            }
            let n = got?;
            let local = finish_part(plan, &part).await?;
            let renamed = local.file_name() != plan.target.file_name();
            Ok(Fetched { renamed, ..done(local, n, None) })
        }
    }
}

/// Append the rest of `remote` to the checked partial file `path`.
/// Returns the bytes received.
async fn append_checked<R: Remote>(
    r: &mut R,
    remote: &str,
    path: &Path,
    name: &str,
    resume: Resume,
    progress: &mut dyn Progress,
    interrupt: impl Future<Output = ()>,
) -> Result<u64> {
    let offset = resume.offset;
    // Opened for writing at the checked offset rather than for
    // appending, so that the bytes can be spliced in (splice refuses
    // O_APPEND files). The file must still be as long as it was when
    // checked: the rest goes right after what was verified.
    let mut file = std::fs::OpenOptions::new().write(true).open(path).map_err(local_at(path))?;
    let now = file.metadata().map_err(local_at(path))?.len();
    if now != offset {
        let changed = format!("changed while resuming: {now} bytes now, {offset} when checked; not resumed");
        return Err(local_at(path)(std::io::Error::other(changed)));
    }
    if offset == resume.whole {
        // Complete already: asking for nothing would be an error on
        // some servers.
        return Ok(0);
    }
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).map_err(local_at(path))?;
    progress.start(name, Some(resume.whole), offset);
    let got = r.fetch_to_file(remote, offset, file, path, &mut |n| progress.advance(n), interrupt).await;
    progress.finish();
    got
}

/// Flush the complete `part` to the disk and move it to its name.
async fn finish_part(plan: &DownloadPlan, part: &Path) -> Result<PathBuf> {
    let file = File::open(part).map_err(local_at(part))?;
    sync(file).await.map_err(local_at(part))?;
    let name = file_name(&plan.target, &plan.remote);
    partial::move_into_place(part, &plan.dest, &name, plan.replace).map_err(local_at(&plan.dest))
}

/// The file name of `path`, else the remote's base name.
fn file_name(path: &Path, remote: &str) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| local::base_name(remote).to_owned())
}

/// Standard output (a duplicate of its descriptor, so that closing the
/// file leaves it open), or the special file itself.
fn open_stream(target: &Path) -> Result<File> {
    if target == Path::new(STDIO) {
        use std::os::fd::AsFd;
        return std::io::stdout().as_fd().try_clone_to_owned().map(File::from).map_err(local_at(target));
    }
    std::fs::OpenOptions::new().write(true).open(target).map_err(local_at(target))
}

/// Flush `file` to the disk, off the async workers.
async fn sync(file: File) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || file.sync_all()).await.map_err(std::io::Error::other)?
}
