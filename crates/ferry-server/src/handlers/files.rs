//! File and folder operations: RFC 959 §4.1.3 (MKD, RMD, DELE, RNFR, RNTO,
//! SITE), RFC 3659 §3–4 (MDTM, SIZE) and draft-somers-ftp-mfxx (MFMT).

use std::io::{self, Read};
use std::time::SystemTime;

use ferry_proto::ascii::ToWire;
use ferry_proto::listing::Kind;
use ferry_proto::reply::code;
use ferry_proto::{Reply, VirtualPath, time};

use super::Cancel;
use crate::auth::settings::Permission;
use crate::session::Session;
use crate::storage::{Storage, StorageError};

impl Session {
    pub(crate) async fn mkd(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::Mkdir).await? {
            return Ok(());
        }
        let Some(path) = self.resolve_new(input).await? else { return Ok(()) };
        let p = path.clone();
        match self.storage(move |s| s.mkdir(&p)).await {
            Ok(()) => self.ctl.reply(code::PATH_CREATED, format!("{} directory created.", path.quoted())).await,
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    pub(crate) async fn rmd(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::Delete).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        if self.cwd.as_str().starts_with(path.as_str()) && (self.cwd == path || self.cwd.as_str()[path.as_str().len()..].starts_with('/')) {
            return self.ctl.reply(code::FILE_UNAVAILABLE, format!("{path}: Cannot remove the current directory or its parent.")).await;
        }
        let p = path.clone();
        match self.storage(move |s| s.rmdir(&p)).await {
            Ok(()) => self.ctl.reply(code::FILE_ACTION_OK, format!("{path}: directory removed.")).await,
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    pub(crate) async fn dele(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::Delete).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        if self.busy_uploading(&path).await? {
            return Ok(());
        }
        let p = path.clone();
        let removed = self
            .storage(move |s| {
                let size = s.metadata(&p).map_or(0, |i| i.size);
                s.remove_file(&p).map(|()| size)
            })
            .await;
        match removed {
            Ok(size) => {
                self.quota_removed(size);
                self.ctl.reply(code::FILE_ACTION_OK, format!("{path}: file deleted.")).await
            }
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    pub(crate) async fn rnfr(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::Rename).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        if self.busy_uploading(&path).await? {
            return Ok(());
        }
        let p = path.clone();
        match self.storage(move |s| s.metadata(&p)).await {
            Ok(_) if path.is_root() => self.storage_error(&path, StorageError::PermissionDenied).await,
            Ok(_) => {
                self.rename_from = Some(path);
                self.ctl.reply(code::PENDING, "Ready for RNTO.").await
            }
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    pub(crate) async fn rnto(&mut self, from: Option<VirtualPath>, input: &str) -> io::Result<()> {
        let Some(from) = from else {
            return self.ctl.reply(code::BAD_SEQUENCE, "RNTO must follow RNFR.").await;
        };
        let Some(to) = self.resolve_new(input).await? else { return Ok(()) };
        // `RNTO name/` asks for a folder (as rename(2) does): a file must
        // not quietly become one called `name`.
        if input.ends_with('/') && !to.is_root() {
            let f = from.clone();
            if self.storage(move |s| s.metadata(&f)).await.is_ok_and(|i| i.kind != Kind::Dir) {
                return self.ctl.reply(code::FILE_UNAVAILABLE, format!("{to}/: Not a directory.")).await;
            }
        }
        if self.busy_uploading(&from).await? || self.busy_uploading(&to).await? {
            return Ok(());
        }
        if to.as_str().starts_with(&format!("{}/", from.as_str())) {
            return self.ctl.reply(code::FILE_UNAVAILABLE, format!("{to}: cannot move a directory into itself.")).await;
        }
        // Replacing what is at the target destroys it, which is what the
        // delete permission is for: with only `rename`, an existing target
        // is never touched.
        let replace = self.policy().allows(Permission::Delete);
        let (f, t) = (from.clone(), to.clone());
        let renamed = self
            .storage(move |s| {
                let replaced = s.metadata(&t).ok().filter(|i| i.kind == Kind::File && f != t).map(|i| i.size);
                s.rename(&f, &t, replace).map(|()| replaced)
            })
            .await;
        match renamed {
            Ok(replaced) => {
                if let Some(size) = replaced {
                    self.quota_removed(size);
                }
                tracing::info!(%from, %to, "renamed");
                self.ctl.reply(code::FILE_ACTION_OK, format!("Renamed {from} to {to}.")).await
            }
            Err(StorageError::AlreadyExists) if !replace => {
                tracing::info!(%from, %to, "refused: replacing the target needs the delete permission");
                self.ctl.reply(code::FILE_UNAVAILABLE, format!("{to}: already exists; replacing it needs the delete permission.")).await
            }
            Err(e) => self.storage_error(&to, e).await,
        }
    }

    pub(crate) async fn size(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::List).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        let p = path.clone();
        let info = match self.storage(move |s| s.metadata(&p)).await.and_then(|i| crate::storage::require_file(i.kind).map(|()| i)) {
            Ok(info) => info,
            Err(e) => return self.storage_error(&path, e).await,
        };
        if !self.ascii {
            return self.ctl.reply(code::FILE_STATUS, info.size.to_string()).await;
        }
        // RFC 3659 §4: SIZE is the size *on the wire* in the current TYPE,
        // so in ASCII mode the file is read for its line ends (a
        // cancellable job). Reading gigabytes (or downloading a whole
        // object) to answer one command is not done: RFC 3659 lets a server
        // decline when the size is costly to find.
        if info.size > ASCII_SIZE_LIMIT {
            let limit = ASCII_SIZE_LIMIT >> 20;
            return self
                .ctl
                .reply(
                    code::FILE_UNAVAILABLE,
                    format!("{path}: size in ASCII mode is given for files up to {limit} MiB; send TYPE I first."),
                )
                .await;
        }
        let p = path.clone();
        let job = move |s: &dyn Storage, cancel: &Cancel| {
            let mut r = s.open_read(&p, 0)?;
            let (mut conv, mut buf, mut total) = (ToWire::default(), vec![0u8; 64 * 1024], 0u64);
            loop {
                cancel.check()?;
                match r.read(&mut buf)? {
                    0 => return Ok(total),
                    n => total += conv.wire_len(&buf[..n]),
                }
            }
        };
        let Some(result) = self.cancellable(&format!("SIZE of {path}"), job).await? else { return Ok(()) };
        match result {
            Ok(n) => self.ctl.reply(code::FILE_STATUS, n.to_string()).await,
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    pub(crate) async fn mdtm(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::List).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        let p = path.clone();
        match self.storage(move |s| s.metadata(&p)).await {
            Ok(info) if info.kind == Kind::File => match info.modified {
                Some(t) => self.ctl.reply(code::FILE_STATUS, time::format_timeval(t)).await,
                None => self.ctl.reply(code::FILE_UNAVAILABLE, format!("{path}: modification time unknown.")).await,
            },
            Ok(info) => self.storage_error(&path, crate::storage::require_file(info.kind).expect_err("not a file")).await,
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    /// Count a file that left the user's home against their quota ledger.
    fn quota_removed(&self, size: u64) {
        if let Some(policy) = self.account().map(|a| &a.policy)
            && (policy.quota_bytes.is_some() || policy.quota_files.is_some())
        {
            self.shared.quotas.ledger(&policy.home).removed(size, 1);
        }
    }

    pub(crate) async fn mfmt(&mut self, t: SystemTime, input: &str) -> io::Result<()> {
        if !self.permit(Permission::Write).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        let p = path.clone();
        match self.storage(move |s| s.set_modified(&p, t)).await {
            Ok(()) => self.ctl.reply(code::FILE_STATUS, format!("Modify={}; {}", time::format_timeval(t), input)).await,
            Err(e) => self.storage_error(&path, e).await,
        }
    }

    pub(crate) async fn site(&mut self, arg: &str) -> io::Result<()> {
        let (sub, rest) = arg.split_once(' ').unwrap_or((arg, ""));
        match sub.to_ascii_uppercase().as_str() {
            "HELP" => {
                let mut lines = vec!["SITE commands:".to_owned(), " HELP".to_owned()];
                if self.storage.capabilities().set_mode {
                    lines.push(" CHMOD mode path".into());
                }
                lines.push("End.".into());
                self.ctl.send(&Reply::multi(code::HELP, lines)).await
            }
            "CHMOD" if !self.storage.capabilities().set_mode => {
                self.ctl.reply(code::PARAM_NOT_IMPLEMENTED, "SITE CHMOD: this storage keeps no Unix modes.").await
            }
            "CHMOD" => {
                if !self.permit(Permission::Write).await? {
                    return Ok(());
                }
                let Some((mode, file)) = rest.split_once(' ') else {
                    return self.ctl.reply(code::ARG_SYNTAX_ERROR, "Usage: SITE CHMOD <octal-mode> <path>.").await;
                };
                let Ok(mode) = u32::from_str_radix(mode, 8) else {
                    return self.ctl.reply(code::ARG_SYNTAX_ERROR, "Mode must be octal, like 644.").await;
                };
                if mode > 0o777 {
                    return self.ctl.reply(code::ARG_SYNTAX_ERROR, "Only permission bits (up to 777) may be set.").await;
                }
                let Some(path) = self.resolve(file).await? else { return Ok(()) };
                if path.is_root() {
                    return self
                        .ctl
                        .reply(code::FILE_UNAVAILABLE, "/: Permission denied: the mode of your home folder is the administrator's.")
                        .await;
                }
                let p = path.clone();
                match self.storage(move |s| s.set_mode(&p, mode)).await {
                    Ok(()) => self.ctl.reply(code::OK, format!("SITE CHMOD {mode:o} {path} done.")).await,
                    Err(e) => self.storage_error(&path, e).await,
                }
            }
            _ => self.ctl.reply(code::NOT_IMPLEMENTED, format!("SITE {sub} not implemented.")).await,
        }
    }
}

/// The largest file whose size `SIZE` works out in ASCII mode.
const ASCII_SIZE_LIMIT: u64 = 64 << 20;
