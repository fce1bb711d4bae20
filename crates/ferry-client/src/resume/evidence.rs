//! Gathering what is known about both copies of a file for a checked
//! resume: their sizes, then whatever more the protocol allows (see
//! [`Remote::evidence`]). The verdict is [`Case`]'s.

use std::path::Path;

use super::{Case, Check, Evidence, Resume, Side};
use crate::client::Client;
use crate::error::{Error, Result, local_at};
use crate::local;
use crate::remote::Remote;

/// Check that the local file `local` is a prefix of `remote`, before
/// downloading the rest.
pub(crate) async fn check_get<R: Remote>(r: &mut R, remote: &str, local: &Path) -> Result<Resume> {
    let have = std::fs::metadata(local).map_err(local_at(local))?.len();
    let whole = r.remote_size(remote).await?;
    check(r, Case { partial: Side::Local, local: local.to_owned(), remote: remote.to_owned(), have, whole }).await
}

/// Check that `remote` is a prefix of the local file `local`, before
/// uploading the rest. No remote file means starting from 0.
pub(crate) async fn check_put<R: Remote>(r: &mut R, local: &Path, remote: &str) -> Result<Resume> {
    let whole = std::fs::metadata(local).map_err(local_at(local))?.len();
    let Some(have) = r.remote_size_if_any(remote).await? else {
        return Ok(Resume { offset: 0, whole, checked: Check::NoRemote });
    };
    check(r, Case { partial: Side::Remote, local: local.to_owned(), remote: remote.to_owned(), have, whole }).await
}

async fn check<R: Remote>(r: &mut R, case: Case) -> Result<Resume> {
    if let Some(done) = case.by_size()? {
        return Ok(done);
    }
    let evidence = r.evidence(&case).await?;
    Ok(case.judge(&evidence)?)
}

/// Both modification times, when both can be had: `remote` is the
/// server's time for `case.remote`.
pub(crate) fn times(case: &Case, remote: Option<std::time::SystemTime>) -> Evidence {
    match (std::fs::metadata(&case.local).and_then(|m| m.modified()), remote) {
        (Ok(local), Some(remote)) => Evidence::Times { local, remote },
        _ => Evidence::Nothing,
    }
}

impl Client {
    /// Check that the local file `local` is a prefix of `remote`, before
    /// downloading the rest.
    pub async fn check_resume_get(&mut self, remote: &str, local: &Path) -> Result<Resume> {
        check_get(self, remote, local).await
    }

    /// Check that `remote` is a prefix of the local file `local`, before
    /// uploading the rest. No remote file means starting from 0.
    pub async fn check_resume_put(&mut self, local: &Path, remote: &str) -> Result<Resume> {
        check_put(self, local, remote).await
    }
}

impl Remote for Client {
    async fn remote_size(&mut self, remote: &str) -> Result<u64> {
        self.size(remote).await
    }

    async fn remote_size_if_any(&mut self, remote: &str) -> Result<Option<u64>> {
        match self.size(remote).await {
            Ok(n) => Ok(Some(n)),
            Err(Error::Reply { reply, .. }) if reply.code == 550 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A digest of the prefix on both sides where the server hashes
    /// ranges (`HASH` with `RANG`), else the two modification times.
    async fn evidence(&mut self, case: &Case) -> Result<Evidence> {
        if let Some((algo, remote)) = self.remote_prefix_hash(&case.remote, case.have).await? {
            let (path, have) = (case.local.clone(), case.have);
            let local = tokio::task::spawn_blocking(move || local::prefix_digest(&path, have, algo))
                .await
                .map_err(|e| Error::Local { path: case.local.clone(), source: std::io::Error::other(e) })?
                .map_err(local_at(&case.local))?;
            return Ok(Evidence::Digests { algo, local, remote });
        }
        if std::fs::metadata(&case.local).and_then(|m| m.modified()).is_err() {
            return Ok(Evidence::Nothing);
        }
        Ok(times(case, self.mdtm(&case.remote).await.ok()))
    }

    async fn fetch_to_file(
        &mut self,
        remote: &str,
        offset: u64,
        file: std::fs::File,
        _local: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        self.retrieve_to_file(remote, offset, file, progress, interrupt).await.map(|(n, _)| n)
    }

    async fn fetch_to_stream(
        &mut self,
        remote: &str,
        file: std::fs::File,
        local: &Path,
        progress: &mut (dyn FnMut(u64) + Send),
        interrupt: impl Future<Output = ()>,
    ) -> Result<u64> {
        // The pump writes in order from the file's position either way.
        self.fetch_to_file(remote, 0, file, local, progress, interrupt).await
    }

    fn open_timeout(&self) -> std::time::Duration {
        self.config.data_timeout
    }
}
