//! Gathering what is known about both copies of a file for a checked
//! resume: their sizes, then a digest of the common prefix or the two
//! modification times, as the server allows. The verdict is [`Case`]'s.

use std::path::Path;

use super::{Case, Check, Evidence, Resume, Side};
use crate::client::Client;
use crate::error::{Error, Result, local_at};
use crate::local;

impl Client {
    /// Check that the local file `local` is a prefix of `remote`, before
    /// downloading the rest.
    pub async fn check_resume_get(&mut self, remote: &str, local: &Path) -> Result<Resume> {
        let have = std::fs::metadata(local).map_err(local_at(local))?.len();
        let whole = self.size(remote).await?;
        self.check_resume(Case { partial: Side::Local, local: local.to_owned(), remote: remote.to_owned(), have, whole }).await
    }

    /// Check that `remote` is a prefix of the local file `local`, before
    /// uploading the rest. No remote file means starting from 0.
    pub async fn check_resume_put(&mut self, local: &Path, remote: &str) -> Result<Resume> {
        let whole = std::fs::metadata(local).map_err(local_at(local))?.len();
        let have = match self.size(remote).await {
            Ok(n) => n,
            Err(Error::Reply { reply, .. }) if reply.code == 550 => return Ok(Resume { offset: 0, whole, checked: Check::NoRemote }),
            Err(e) => return Err(e),
        };
        self.check_resume(Case { partial: Side::Remote, local: local.to_owned(), remote: remote.to_owned(), have, whole }).await
    }

    async fn check_resume(&mut self, case: Case) -> Result<Resume> {
        if let Some(done) = case.by_size()? {
            return Ok(done);
        }
        let evidence = self.evidence(&case).await?;
        Ok(case.judge(&evidence)?)
    }

    /// The strongest evidence the server allows about the first
    /// `case.have` bytes.
    async fn evidence(&mut self, case: &Case) -> Result<Evidence> {
        if let Some((algo, remote)) = self.remote_prefix_hash(&case.remote, case.have).await? {
            let (path, have) = (case.local.clone(), case.have);
            let local = tokio::task::spawn_blocking(move || local::prefix_digest(&path, have, algo))
                .await
                .map_err(|e| Error::Local { path: case.local.clone(), source: std::io::Error::other(e) })?
                .map_err(local_at(&case.local))?;
            return Ok(Evidence::Digests { algo, local, remote });
        }
        let Ok(local) = std::fs::metadata(&case.local).and_then(|m| m.modified()) else {
            return Ok(Evidence::Nothing);
        };
        Ok(match self.mdtm(&case.remote).await {
            Ok(remote) => Evidence::Times { local, remote },
            Err(_) => Evidence::Nothing,
        })
    }
}
