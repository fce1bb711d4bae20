//! `mirror --checksum`: a file whose copy has the same size is compared by
//! content, not by time. The server hashes its side (`HASH`, else an
//! `X…` verb; see the library's `client/digest.rs`), one file after
//! another on the control connection, while the local side is hashed on
//! as many threads as there are cores. A server that hashes nothing is
//! said so, and the mirror falls back to sizes and times.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use ferry_client::{Error, Session, local};
use ferry_proto::command::ChecksumAlgo;

/// A file on both sides with the same size.
#[derive(Debug, Clone)]
pub(super) struct Pair {
    pub(super) rel: String,
    pub(super) remote: String,
    pub(super) local: PathBuf,
    pub(super) size: u64,
}

/// The relative paths among `pairs` whose two copies differ; `None` when
/// the server gives no digests.
pub(super) async fn differing(client: &mut Session, pairs: Vec<Pair>) -> Result<Option<HashSet<String>>, Error> {
    let pairs: Vec<Pair> = pairs.into_iter().filter(|p| p.size > 0).collect();
    let Some(first) = pairs.first() else { return Ok(Some(HashSet::new())) };
    if !client.offers_hash() {
        return Ok(None);
    }
    let Some((algo, digest)) = client.remote_digest(&first.remote, first.size).await? else { return Ok(None) };
    let locals = hash_files(pairs.iter().map(|p| (p.local.clone(), p.size)).collect(), algo);
    let mut remote = vec![digest];
    for p in &pairs[1..] {
        match client.remote_digest(&p.remote, p.size).await? {
            Some((a, d)) if a == algo => remote.push(d),
            // A file the server would not hash the same way: its copy is
            // taken to differ, so it is sent again rather than trusted.
            _ => remote.push(String::new()),
        }
    }
    let mut differ = HashSet::new();
    for ((p, theirs), ours) in pairs.iter().zip(remote).zip(locals.await) {
        if ours.as_deref() != Some(theirs.as_str()) {
            differ.insert(p.rel.clone());
        }
    }
    Ok(Some(differ))
}

/// Digests of the first `size` bytes of each file (all of it), in order
/// (`None` for a file that could not be read), on one thread per core.
pub(super) fn hash_files(files: Vec<(PathBuf, u64)>, algo: ChecksumAlgo) -> impl Future<Output = Vec<Option<String>>> + use<> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let limit = Arc::new(tokio::sync::Semaphore::new(cores));
    let tasks: Vec<_> = files
        .into_iter()
        .map(|(path, size)| {
            let limit = limit.clone();
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await.ok()?;
                tokio::task::spawn_blocking(move || local::prefix_digest(&path, size, algo).ok()).await.ok().flatten()
            })
        })
        .collect();
    async move {
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.ok().flatten());
        }
        out
    }
}
