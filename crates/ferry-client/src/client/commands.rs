//! The file and folder commands of a [`Client`], and listings: each sends
//! one or two commands and reads what the reply says.

use std::time::SystemTime;

use ferry_proto::command::{ChecksumAlgo, Opts, TransferType};
use ferry_proto::hash::HashReply;
use ferry_proto::listing::{self, Entry, MlsxRole};
use ferry_proto::{Command, path, time};

use super::Client;
use crate::error::{Error, Result};

impl Client {
    /// The working directory.
    pub async fn pwd(&mut self) -> Result<String> {
        let r = self.command(Command::Pwd).await?;
        path::unquote_257(&r.text()).ok_or_else(|| Error::Protocol(format!("no path in PWD reply: {}", r.text())))
    }

    /// Change directory.
    pub async fn cwd(&mut self, dir: &str) -> Result<()> {
        self.command(Command::Cwd(dir.to_owned())).await.map(drop)
    }

    /// Go to the parent directory.
    pub async fn cdup(&mut self) -> Result<()> {
        self.command(Command::Cdup).await.map(drop)
    }

    /// Create a directory; returns the server's path for it when given.
    pub async fn mkdir(&mut self, dir: &str) -> Result<String> {
        let r = self.command(Command::Mkd(dir.to_owned())).await?;
        Ok(path::unquote_257(&r.text()).unwrap_or_else(|| dir.to_owned()))
    }

    /// Remove an empty directory.
    pub async fn rmdir(&mut self, dir: &str) -> Result<()> {
        self.command(Command::Rmd(dir.to_owned())).await.map(drop)
    }

    /// Delete a file.
    pub async fn delete(&mut self, file: &str) -> Result<()> {
        self.command(Command::Dele(file.to_owned())).await.map(drop)
    }

    /// Rename or move.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.command(Command::Rnfr(from.to_owned())).await?;
        self.command(Command::Rnto(to.to_owned())).await.map(drop)
    }

    /// Size in bytes (binary mode).
    pub async fn size(&mut self, file: &str) -> Result<u64> {
        self.set_type(TransferType::Image).await?;
        let r = self.command(Command::Size(file.to_owned())).await?;
        r.text().trim().parse().map_err(|_| Error::Protocol(format!("bad SIZE reply: {}", r.text())))
    }

    /// Modification time.
    pub async fn mdtm(&mut self, file: &str) -> Result<SystemTime> {
        let r = self.command(Command::Mdtm(file.to_owned())).await?;
        time::parse_timeval(r.text().trim()).ok_or_else(|| Error::Protocol(format!("bad MDTM reply: {}", r.text())))
    }

    /// Set the modification time, if the server supports `MFMT`.
    pub async fn set_mtime(&mut self, file: &str, t: SystemTime) -> Result<bool> {
        if !self.features.has("MFMT") {
            return Ok(false);
        }
        self.command(Command::Mfmt { time: t, path: file.to_owned() }).await.map(|_| true)
    }

    /// `SITE CHMOD`.
    pub async fn chmod(&mut self, mode: &str, file: &str) -> Result<()> {
        self.command(Command::Site(format!("CHMOD {mode} {file}"))).await.map(drop)
    }

    /// `NOOP`, for keepalive.
    pub async fn noop(&mut self) -> Result<()> {
        self.command(Command::Noop).await.map(drop)
    }

    /// The digest of bytes `0..len` of a remote file, when the server can
    /// compute one over a range (`HASH` with `RANG`). `None` if it cannot,
    /// or if its reply covers other bytes than asked.
    pub async fn remote_prefix_hash(&mut self, file: &str, len: u64) -> Result<Option<(ChecksumAlgo, String)>> {
        let algos = self.features.hash_algorithms();
        if len == 0 || !self.features.has("RANG") {
            return Ok(None);
        }
        // The strongest the server offers.
        let Some(algo) = ChecksumAlgo::ALL.into_iter().find(|a| algos.iter().any(|n| n == a.hash_name())) else {
            return Ok(None);
        };
        self.command(Command::Opts(Opts::Hash(Some(algo.hash_name().to_owned())))).await?;
        self.command(Command::Rang { start: 0, end: len - 1 }).await?;
        let r = self.command(Command::Hash(file.to_owned())).await?;
        Ok(HashReply::parse(&r.text()).filter(|h| h.covers_prefix(len)).map(|h| (algo, h.digest.to_ascii_lowercase())))
    }

    /// Names in a directory (`NLST`), as the server gives them.
    pub async fn nlst(&mut self, arg: Option<&str>) -> Result<Vec<String>> {
        let raw = self.list_raw(Command::Nlst(arg.map(str::to_owned))).await?;
        Ok(String::from_utf8_lossy(&raw).lines().map(|l| l.trim_end_matches('\r').to_owned()).filter(|l| !l.is_empty()).collect())
    }

    /// Entries of a directory: `MLSD` when offered, else `LIST` parsed as
    /// Unix `ls -l` or DOS lines.
    pub async fn list(&mut self, dir: Option<&str>) -> Result<Vec<Entry>> {
        if self.features.has("MLST") {
            let raw = self.list_raw(Command::Mlsd(dir.map(str::to_owned))).await?;
            let text = String::from_utf8_lossy(&raw);
            return Ok(text
                .lines()
                .filter_map(listing::parse_mlsx)
                .filter(|(_, role)| *role == MlsxRole::Plain)
                .map(|(e, _)| e)
                // Names only, as RFC 3659 says: never `..` or a path.
                .filter(|e| ferry_proto::path::is_plain_name(&e.name))
                .collect());
        }
        let raw = self.list_raw(Command::List(dir.map(str::to_owned))).await?;
        Ok(listing::parse_list(&String::from_utf8_lossy(&raw), SystemTime::now()))
    }

    /// Facts about one path (`MLST`), or `None` if the server has no `MLST`.
    pub async fn stat_entry(&mut self, target: &str) -> Result<Option<Entry>> {
        if !self.features.has("MLST") {
            return Ok(None);
        }
        let r = self.command(Command::Mlst(Some(target.to_owned()))).await?;
        Ok(r.lines.iter().skip(1).find_map(|l| listing::parse_mlsx(l.trim_start())).map(|(e, _)| e))
    }
}
