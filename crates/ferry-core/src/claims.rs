//! Which files are being uploaded right now, server-wide: an upload claims
//! its file for as long as it runs, so that a second upload to the same
//! file (an `APPE` racing a `STOR` would write into the file the `STOR` is
//! about to replace, and its bytes would be lost without a word) and any
//! deletion or rename of it (which would make the upload's quota count and
//! what it replaces wrong) are refused meanwhile.
//!
//! Files are keyed by their path as the whole server sees it (the user's
//! home, then the path within it), since homes may overlap.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The files with an upload in progress.
#[derive(Debug, Default)]
pub(crate) struct UploadClaims {
    paths: Mutex<HashSet<String>>,
}

impl UploadClaims {
    /// Claim `key` for an upload; `None` when another upload holds it.
    pub(crate) fn claim(self: &Arc<Self>, key: String) -> Option<Claim> {
        crate::sync::lock(&self.paths).insert(key.clone()).then(|| Claim { claims: self.clone(), key })
    }

    /// Whether an upload holds `key`.
    pub(crate) fn is_claimed(&self, key: &str) -> bool {
        crate::sync::lock(&self.paths).contains(key)
    }
}

/// One upload's claim on its file, released when dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    claims: Arc<UploadClaims>,
    key: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        crate::sync::lock(&self.claims.paths).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_file_until_it_is_dropped() {
        let claims = Arc::new(UploadClaims::default());
        let first = claims.claim("/home/a.txt".into()).unwrap();
        assert!(claims.claim("/home/a.txt".into()).is_none());
        assert!(claims.is_claimed("/home/a.txt") && !claims.is_claimed("/home/b.txt"));
        let other = claims.claim("/home/b.txt".into());
        assert!(other.is_some(), "another file is free");
        drop(first);
        assert!(!claims.is_claimed("/home/a.txt"));
        assert!(claims.claim("/home/a.txt".into()).is_some());
    }
}
