//! `get`'s policy: what a download does with the local file.
//!
//! A download is planned, then run. [`Client::plan_download`] looks at the
//! local target and the [`Clobber`] policy and decides once:
//!
//! - no local file, or the seed's rule (`new`): create a file that did not
//!   exist — the target, else the first free `new_` name beside it — and
//!   remove it again if the download fails, so nothing half-written is left
//!   under a name ferry chose;
//! - `overwrite`: write a hidden temporary file beside the target and
//!   rename it over the target only when the copy is complete, so the old
//!   file stays whole until then;
//! - `resume`: check the partial file against the remote one (once; see
//!   [`crate::resume`]) and append the rest; what arrives is kept even if
//!   the transfer breaks, which is the point of resuming;
//! - `skip`: leave the file alone.
//!
//! The caller may show the plan (a checked resume says how it was checked)
//! before [`Client::download`] carries it out.

use std::path::{Path, PathBuf};

use crate::client::Client;
use crate::error::{Result, local_at};
use crate::local::{self, Clobber};
use crate::progress::Progress;
use crate::resume::Resume;
use crate::segments::SEGMENT_THRESHOLD;

/// What a download will do with the local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create a new file: the target if it is free, else a `new_` name.
    Create,
    /// Replace the existing target, through a temporary file.
    Replace,
    /// Append to the existing target after a checked resume.
    Resume(Resume),
    /// Leave the existing target and download nothing.
    Skip,
}

/// A decided download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadPlan {
    /// The remote file.
    pub remote: String,
    /// The local file asked for (a `new_` name may be used instead).
    pub target: PathBuf,
    /// What happens to it.
    pub action: Action,
}

/// What a download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The file the bytes are in.
    pub local: PathBuf,
    /// Bytes received (after `resumed_at`, for a resume).
    pub bytes: u64,
    /// Saved under a `new` name because the file existed.
    pub renamed: bool,
    /// Skipped because the file existed (`--skip`).
    pub skipped: bool,
    /// Resumed at this offset.
    pub resumed_at: Option<u64>,
}

impl Client {
    /// Decide what downloading `remote` to `target` does under `policy`.
    /// `Clobber::Ask` is the caller's to settle first (it asks a person);
    /// left unsettled it keeps the seed's rule, a new name. A resume is
    /// checked here, so a refusal comes before any byte moves.
    pub async fn plan_download(&mut self, remote: &str, target: &Path, policy: Clobber) -> Result<DownloadPlan> {
        let exists = std::fs::symlink_metadata(target).is_ok();
        let action = match policy {
            _ if !exists => Action::Create,
            Clobber::Skip => Action::Skip,
            Clobber::Overwrite => Action::Replace,
            Clobber::Resume => Action::Resume(self.check_resume_get(remote, target).await?),
            Clobber::NewName | Clobber::Ask => Action::Create,
        };
        Ok(DownloadPlan { remote: remote.to_owned(), target: target.to_owned(), action })
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
        let (remote, target) = (plan.remote.as_str(), plan.target.as_path());
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| local::base_name(remote).to_owned());
        let dir = local::parent_dir(target);
        let (write_path, final_path, std_file, renamed) = match plan.action {
            Action::Skip => return Ok(Fetched { local: target.to_owned(), bytes: 0, renamed: false, skipped: true, resumed_at: None }),
            Action::Resume(resume) => return self.download_resumed(remote, target, &name, resume, progress, interrupt).await,
            Action::Replace => {
                let temp = local::temp_name(dir, &name);
                let f = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp).map_err(local_at(&temp))?;
                (temp, target.to_owned(), f, false)
            }
            Action::Create => {
                let (path, f) = local::create_no_clobber(dir, &name).map_err(local_at(target))?;
                let renamed = path.file_name() != Some(std::ffi::OsStr::new(&name));
                (path.clone(), path, f, renamed)
            }
        };
        let total = self.size(remote).await.ok();
        let result = match total {
            Some(size) if segments > 1 && size >= SEGMENT_THRESHOLD => {
                self.download_segments(remote, size, &write_path, std_file, segments, &name, progress, interrupt).await
            }
            _ => {
                progress.start(&name, total, 0);
                let r = self.retrieve_to_file(remote, 0, std_file, &mut |n| progress.advance(n), interrupt).await;
                progress.finish();
                match r {
                    Ok((n, file)) => sync(file).await.map(|()| n).map_err(local_at(&write_path)),
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok(n) => {
                if write_path != final_path {
                    std::fs::rename(&write_path, &final_path).map_err(local_at(&final_path))?;
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

    /// Append the rest of `remote` to the checked partial file `target`.
    async fn download_resumed(
        &mut self,
        remote: &str,
        target: &Path,
        name: &str,
        resume: Resume,
        progress: &mut dyn Progress,
        interrupt: impl Future<Output = ()>,
    ) -> Result<Fetched> {
        let offset = resume.offset;
        // Opened for writing at the checked offset rather than for
        // appending, so that the bytes can be spliced in (splice refuses
        // O_APPEND files). The file must still be as long as it was when
        // checked: the rest goes right after what was verified.
        let mut file = std::fs::OpenOptions::new().write(true).open(target).map_err(local_at(target))?;
        let now = file.metadata().map_err(local_at(target))?.len();
        if now != offset {
            let changed = format!("changed while resuming: {now} bytes now, {offset} when checked; not resumed");
            return Err(local_at(target)(std::io::Error::other(changed)));
        }
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).map_err(local_at(target))?;
        progress.start(name, Some(resume.whole), offset);
        let r = self.retrieve_to_file(remote, offset, file, &mut |n| progress.advance(n), interrupt).await;
        progress.finish();
        // A resumed file keeps what arrived, even on failure: that is the
        // point of resuming.
        let (n, _) = r?;
        Ok(Fetched { local: target.to_owned(), bytes: n, renamed: false, skipped: false, resumed_at: Some(offset) })
    }
}

/// Flush `file` to the disk, off the async workers.
async fn sync(file: std::fs::File) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || file.sync_all()).await.map_err(std::io::Error::other)?
}
