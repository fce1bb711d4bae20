//! Digests of whole remote files, for `mirror --checksum`: the draft
//! `HASH` command where the server offers it (with `RANG` over the whole
//! file when it can, so the reply says which bytes it covers), else the
//! older `XSHA256`, `XSHA1`, `XMD5` and `XCRC` verbs, which servers do not
//! list in `FEAT`: the first that answers is remembered for the session.

use ferry_proto::Command;
use ferry_proto::command::{ChecksumAlgo, Opts};
use ferry_proto::hash::HashReply;

use super::Client;
use crate::error::{Error, Result};

impl Client {
    /// True when this server can give digests of files (as far as is known
    /// before asking for one: the `X…` verbs are found by trying).
    pub fn offers_hash(&self) -> bool {
        !self.features.hash_algorithms().is_empty() || self.x_checksum != Some(None)
    }

    /// The digest of the whole remote `file` of `size` bytes, in lower-case
    /// hex with its algorithm; `None` when the server computes none.
    pub async fn remote_digest(&mut self, file: &str, size: u64) -> Result<Option<(ChecksumAlgo, String)>> {
        let algos = self.features.hash_algorithms();
        if let Some(algo) = ChecksumAlgo::ALL.into_iter().find(|a| algos.iter().any(|n| n == a.hash_name())) {
            if size > 0 && self.features.has("RANG") {
                return self.remote_prefix_hash(file, size).await;
            }
            self.command(Command::Opts(Opts::Hash(Some(algo.hash_name().to_owned())))).await?;
            let r = self.command(Command::Hash(file.to_owned())).await?;
            return Ok(HashReply::parse(&r.text()).map(|h| (algo, h.digest.to_ascii_lowercase())));
        }
        let candidates: Vec<ChecksumAlgo> = match self.x_checksum {
            Some(None) => return Ok(None),
            Some(Some(algo)) => vec![algo],
            // Strongest first.
            None => ChecksumAlgo::ALL.to_vec(),
        };
        for algo in candidates {
            match self.command(Command::Checksum { algo, path: file.to_owned(), start: None, end: None }).await {
                Ok(r) => {
                    self.x_checksum = Some(Some(algo));
                    return Ok(x_digest(&r.text()).map(|d| (algo, d)));
                }
                // Not offered (500, 502, 504): try the next verb.
                Err(Error::Reply { reply, .. }) if matches!(reply.code, 500 | 502 | 504) => continue,
                Err(e) => return Err(e),
            }
        }
        self.x_checksum = Some(None);
        Ok(None)
    }
}

/// The digest in an `X…` reply: the last word that is all hex (`250
/// 9F86D081…`, or with the path around it, as servers differ).
fn x_digest(text: &str) -> Option<String> {
    text.split_whitespace().rev().find(|w| w.len() >= 8 && w.chars().all(|c| c.is_ascii_hexdigit())).map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_in_x_replies() {
        assert_eq!(x_digest("9F86D081884C7D65"), Some("9f86d081884c7d65".into()));
        assert_eq!(x_digest("a.txt 352441C2"), Some("352441c2".into()));
        assert_eq!(x_digest("XSHA1 not understood"), None);
    }
}
