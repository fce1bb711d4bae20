//! Deploy mode, `mirror -R --state FILE LOCAL REMOTE`: what to send and
//! delete is decided from the local tree and the state (`state.rs`), not
//! from a listing of the server.

use std::path::Path;
use std::sync::Arc;

use ferry_client::session::is_missing;
use ferry_proto::command::ChecksumAlgo;

use super::checksum::hash_files;
use super::filter::Filter;
use super::state::{Checkpoint, REMOTE_STATE, Record, State, nanos};
use super::tree::{join, local_tree};
use super::{Job, Options, Tally, conclude};
use crate::cli::shell::{CmdError, CmdResult, Shell};

impl Shell {
    pub(super) async fn mirror_deploy(
        &mut self,
        local_root: &Path,
        remote_root: &str,
        o: &Options,
        filter: &Filter,
        state_path: &Path,
    ) -> CmdResult {
        let mut state = match State::load(state_path).map_err(CmdError::Local)? {
            Some(s) => s,
            None => self.remote_state(remote_root).await?,
        };
        // A state vouches for one server and folder only.
        let login = self.client()?.login_details().ok_or(CmdError::NotLoggedIn)?;
        let target = format!("{}@{}:{}/{}", login.user(), login.host(), login.port(), remote_root.trim_matches('/'));
        match &state.target {
            Some(t) if *t != target => {
                return Err(CmdError::Usage(format!(
                    "{} describes {t}, not {target}: give each target its own --state FILE",
                    state_path.display()
                )));
            }
            _ => state.target = Some(target),
        }
        let mut source = local_tree(local_root, filter).map_err(|e| CmdError::Local(format!("{}: {e}", local_root.display())))?;
        // The state file itself, when it lives in the tree, is not content.
        if let (Ok(root), Ok(file)) = (local_root.canonicalize(), state_path.canonicalize())
            && let Ok(rel) = file.strip_prefix(&root)
        {
            source.remove(&rel.to_string_lossy().into_owned());
        }
        // Same size and time as recorded: not even read.
        let mut tally = Tally::default();
        let mut to_hash = Vec::new();
        for (rel, meta) in &source {
            let Some(m) = meta else { continue };
            match state.files.get(rel) {
                Some(r) if r.size == m.size && r.mtime_ns == nanos(m.modified) && r.mtime_ns != 0 => tally.up_to_date += 1,
                _ => to_hash.push((rel.clone(), *m)),
            }
        }
        let digests = hash_files(to_hash.iter().map(|(rel, m)| (local_root.join(rel), m.size)).collect(), ChecksumAlgo::Sha256).await;
        let (mut jobs, mut refreshed) = (Vec::new(), Vec::new());
        for ((rel, m), digest) in to_hash.into_iter().zip(digests) {
            let record = Record { size: m.size, mtime_ns: nanos(m.modified), sha256: digest.clone().unwrap_or_default() };
            match state.files.get(&rel) {
                // Touched, not changed: only the record's time moves.
                Some(r) if digest.as_deref() == Some(r.sha256.as_str()) && r.size == m.size => {
                    tally.up_to_date += 1;
                    refreshed.push((rel, record));
                }
                _ => jobs.push(Job {
                    remote: join(remote_root, &rel),
                    local: local_root.join(&rel),
                    modified: m.modified,
                    record: digest.is_some().then(|| (rel.clone(), record)),
                }),
            }
        }
        // What the state has and the tree lost, except what is excluded
        // now (or lies in an excluded folder): that is left on the server.
        let gone = |rel: &&String, is_dir: bool| o.delete && !source.contains_key(*rel) && !filter.excludes_path(rel, is_dir);
        let removed: Vec<String> = state.files.keys().filter(|k| gone(k, false)).cloned().collect();
        let gone_dirs: Vec<String> = state.dirs.iter().filter(|d| gone(d, true)).cloned().collect();
        let new_dirs: Vec<String> =
            source.iter().filter(|(rel, m)| m.is_none() && !state.dirs.contains(*rel)).map(|(rel, _)| rel.clone()).collect();
        if o.dry_run {
            for d in &new_dirs {
                println!("would create {}", join(remote_root, d));
            }
            for j in &jobs {
                println!("would put {} -> {}", j.local.display(), j.remote);
            }
            for r in removed.iter().chain(gone_dirs.iter().rev()) {
                println!("would remove {}", join(remote_root, r));
            }
            (tally.transferred, tally.deleted) = (jobs.len(), removed.len() + gone_dirs.len());
            println!("Dry run of {} to {remote_root} (state {}): {}.", local_root.display(), state_path.display(), tally.line(true));
            return Ok(());
        }
        let first_deploy = state.files.is_empty() && state.dirs.is_empty();
        let checkpoint = Arc::new(Checkpoint::new(state_path.to_owned(), state));
        checkpoint.update(|s| s.files.extend(refreshed));
        if first_deploy {
            self.make_remote_dir(remote_root).await?;
        }
        for d in &new_dirs {
            self.make_remote_dir(&join(remote_root, d)).await?;
            checkpoint.update(|s| {
                s.dirs.insert(d.clone());
            });
        }
        let outcome = self.transfer_recording(jobs, o, true, Some(checkpoint.clone())).await?;
        (tally.transferred, tally.failed) = (outcome.done, outcome.failed.len());
        // What was sent is kept even if what follows fails.
        checkpoint.finish().map_err(CmdError::Local)?;
        let deletes = !removed.is_empty() || !gone_dirs.is_empty();
        if !outcome.interrupted && deletes {
            // The last transfer may have lost the connection.
            self.reconnect_if_lost().await?;
            for rel in removed.iter().chain(gone_dirs.iter().rev()) {
                let path = join(remote_root, rel);
                let is_dir = gone_dirs.contains(rel);
                let client = self.client()?;
                let r = if is_dir { client.rmdir(&path).await } else { client.delete(&path).await };
                // 550 is "already gone" only if the file is not there.
                let gone_already = match &r {
                    Err(e) if is_missing(e) && !is_dir => client.size(&path).await.is_err(),
                    _ => false,
                };
                match r {
                    Ok(()) => {
                        println!("Removed {path}");
                        tally.deleted += 1;
                        checkpoint.update(|s| {
                            s.files.remove(rel);
                            s.dirs.remove(rel);
                        });
                    }
                    _ if gone_already => {
                        tally.deleted += 1;
                        checkpoint.update(|s| {
                            s.files.remove(rel);
                        });
                    }
                    Err(e) => self.fail("mirror", &e.into()),
                }
            }
        }
        let saved = checkpoint.finish().map_err(CmdError::Local)?;
        if !outcome.interrupted {
            self.upload_state(remote_root, &saved).await?;
        }
        println!("Deployed {} to {remote_root}: {} (state in {}).", local_root.display(), tally.line(false), state_path.display());
        self.mark_remote_stale();
        conclude(outcome)
    }

    /// The server's copy of the state, for a run with no local one.
    async fn remote_state(&mut self, remote_root: &str) -> Result<State, CmdError> {
        let path = join(remote_root, REMOTE_STATE);
        match self.client()?.read_small(&path).await? {
            Some(bytes) => {
                let s = State::parse(&bytes).map_err(|e| CmdError::Local(format!("{path}: {e}")))?;
                println!("No local state: starting from {path} on the server ({} files).", s.files.len());
                Ok(s)
            }
            None => {
                println!("No state yet, here or on the server: every file is sent.");
                Ok(State::default())
            }
        }
    }

    /// Put the state beside the files, atomically: under a temporary
    /// name, then renamed over the old copy.
    async fn upload_state(&mut self, remote_root: &str, state: &State) -> CmdResult {
        let (temp, path) = (join(remote_root, &format!("{REMOTE_STATE}.part")), join(remote_root, REMOTE_STATE));
        let bytes = state.to_bytes();
        let client = self.client()?;
        client.write_small(&temp, &bytes).await?;
        if client.rename(&temp, &path).await.is_err() {
            // Servers that will not rename over a file: remove it first.
            let _ = client.delete(&path).await;
            client.rename(&temp, &path).await?;
        }
        Ok(())
    }
}
