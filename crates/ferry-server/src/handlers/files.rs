//! File and folder operations: RFC 959 §4.1.3 (MKD, RMD, DELE, RNFR, RNTO,
//! SITE), RFC 3659 §3–4 (MDTM, SIZE) and draft-somers-ftp-mfxx (MFMT).

use std::io::Read;
use std::time::SystemTime;

use ferry_proto::ascii::ToWire;
use ferry_proto::listing::Kind;
use ferry_proto::reply::code;
use ferry_proto::{Reply, VirtualPath, time};

use super::Cancel;
use super::storage_refusal;
use crate::auth::settings::Permission;
use crate::session::Session;
use crate::session::answer::{Handled, reply};
use crate::storage::{Storage, StorageError};

impl Session {
    pub(crate) async fn mkd(&mut self, input: &str) -> Handled {
        self.permit(Permission::Mkdir)?;
        let path = self.resolve_new(input)?;
        let p = path.clone();
        match self.storage(move |s| s.mkdir(&p)).await {
            Ok(()) => reply(code::PATH_CREATED, format!("{} directory created.", path.quoted())),
            Err(e) => Err(storage_refusal(&path, e)),
        }
    }

    pub(crate) async fn rmd(&mut self, input: &str) -> Handled {
        self.permit(Permission::Delete)?;
        let path = self.resolve(input)?;
        if self.cwd.as_str().starts_with(path.as_str()) && (self.cwd == path || self.cwd.as_str()[path.as_str().len()..].starts_with('/')) {
            return reply(code::FILE_UNAVAILABLE, format!("{path}: Cannot remove the current directory or its parent."));
        }
        let p = path.clone();
        match self.storage(move |s| s.rmdir(&p)).await {
            Ok(()) => reply(code::FILE_ACTION_OK, format!("{path}: directory removed.")),
            Err(e) => Err(storage_refusal(&path, e)),
        }
    }

    pub(crate) async fn dele(&mut self, input: &str) -> Handled {
        self.permit(Permission::Delete)?;
        let path = self.resolve(input)?;
        self.busy_uploading(&path)?;
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
                reply(code::FILE_ACTION_OK, format!("{path}: file deleted."))
            }
            Err(e) => Err(storage_refusal(&path, e)),
        }
    }

    pub(crate) async fn rnfr(&mut self, input: &str) -> Handled {
        self.permit(Permission::Rename)?;
        let path = self.resolve(input)?;
        self.busy_uploading(&path)?;
        let p = path.clone();
        match self.storage(move |s| s.metadata(&p)).await {
            Ok(_) if path.is_root() => Err(storage_refusal(&path, StorageError::PermissionDenied)),
            Ok(_) => {
                self.state.rename_from = Some(path);
                reply(code::PENDING, "Ready for RNTO.")
            }
            Err(e) => Err(storage_refusal(&path, e)),
        }
    }

    pub(crate) async fn rnto(&mut self, from: Option<VirtualPath>, input: &str) -> Handled {
        let Some(from) = from else {
            return reply(code::BAD_SEQUENCE, "RNTO must follow RNFR.");
        };
        let to = self.resolve_new(input)?;
        // `RNTO name/` asks for a folder (as rename(2) does): a file must
        // not quietly become one called `name`.
        if input.ends_with('/') && !to.is_root() {
            let f = from.clone();
            if self.storage(move |s| s.metadata(&f)).await.is_ok_and(|i| i.kind != Kind::Dir) {
                return reply(code::FILE_UNAVAILABLE, format!("{to}/: Not a directory."));
            }
        }
        self.busy_uploading(&from)?;
        self.busy_uploading(&to)?;
        if to.as_str().starts_with(&format!("{}/", from.as_str())) {
            return reply(code::FILE_UNAVAILABLE, format!("{to}: cannot move a directory into itself."));
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
                reply(code::FILE_ACTION_OK, format!("Renamed {from} to {to}."))
            }
            Err(StorageError::AlreadyExists) if !replace => {
                tracing::info!(%from, %to, "refused: replacing the target needs the delete permission");
                reply(code::FILE_UNAVAILABLE, format!("{to}: already exists; replacing it needs the delete permission."))
            }
            Err(e) => Err(storage_refusal(&to, e)),
        }
    }

    pub(crate) async fn size(&mut self, input: &str) -> Handled {
        self.permit(Permission::List)?;
        let path = self.resolve(input)?;
        let p = path.clone();
        let info = match self.storage(move |s| s.metadata(&p)).await.and_then(|i| crate::storage::require_file(i.kind).map(|()| i)) {
            Ok(info) => info,
            Err(e) => return Err(storage_refusal(&path, e)),
        };
        if !self.state.ascii {
            return reply(code::FILE_STATUS, info.size.to_string());
        }
        // RFC 3659 §4: SIZE is the size *on the wire* in the current TYPE,
        // so in ASCII mode the file is read for its line ends (a
        // cancellable job). Reading gigabytes (or downloading a whole
        // object) to answer one command is not done: RFC 3659 lets a server
        // decline when the size is costly to find.
        if info.size > ASCII_SIZE_LIMIT {
            let limit = ASCII_SIZE_LIMIT >> 20;
            return reply(
                code::FILE_UNAVAILABLE,
                format!("{path}: size in ASCII mode is given for files up to {limit} MiB; send TYPE I first."),
            );
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
        let result = match self.cancellable(&format!("SIZE of {path}"), job).await {
            Ok(result) => result,
            Err(stopped) => return stopped,
        };
        match result {
            Ok(n) => reply(code::FILE_STATUS, n.to_string()),
            Err(e) => Err(storage_refusal(&path, e)),
        }
    }

    pub(crate) async fn mdtm(&mut self, input: &str) -> Handled {
        self.permit(Permission::List)?;
        let path = self.resolve(input)?;
        let p = path.clone();
        match self.storage(move |s| s.metadata(&p)).await {
            Ok(info) if info.kind == Kind::File => match info.modified {
                Some(t) => reply(code::FILE_STATUS, time::format_timeval(t)),
                None => reply(code::FILE_UNAVAILABLE, format!("{path}: modification time unknown.")),
            },
            Ok(info) => Err(storage_refusal(&path, crate::storage::require_file(info.kind).expect_err("not a file"))),
            Err(e) => Err(storage_refusal(&path, e)),
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

    pub(crate) async fn mfmt(&mut self, t: SystemTime, input: &str) -> Handled {
        self.permit(Permission::Write)?;
        let path = self.resolve(input)?;
        let p = path.clone();
        match self.storage(move |s| s.set_modified(&p, t)).await {
            Ok(()) => reply(code::FILE_STATUS, format!("Modify={}; {}", time::format_timeval(t), input)),
            Err(e) => Err(storage_refusal(&path, e)),
        }
    }

    pub(crate) async fn site(&mut self, arg: &str) -> Handled {
        let (sub, rest) = arg.split_once(' ').unwrap_or((arg, ""));
        match sub.to_ascii_uppercase().as_str() {
            "HELP" => {
                let mut lines = vec!["SITE commands:".to_owned(), " HELP".to_owned()];
                if self.storage.capabilities().set_mode {
                    lines.push(" CHMOD mode path".into());
                }
                lines.push("End.".into());
                Ok(Reply::multi(code::HELP, lines).into())
            }
            "CHMOD" if !self.storage.capabilities().set_mode => {
                reply(code::PARAM_NOT_IMPLEMENTED, "SITE CHMOD: this storage keeps no Unix modes.")
            }
            "CHMOD" => {
                self.permit(Permission::Write)?;
                let Some((mode, file)) = rest.split_once(' ') else {
                    return reply(code::ARG_SYNTAX_ERROR, "Usage: SITE CHMOD <octal-mode> <path>.");
                };
                let Ok(mode) = u32::from_str_radix(mode, 8) else {
                    return reply(code::ARG_SYNTAX_ERROR, "Mode must be octal, like 644.");
                };
                if mode > 0o777 {
                    return reply(code::ARG_SYNTAX_ERROR, "Only permission bits (up to 777) may be set.");
                }
                let path = self.resolve(file)?;
                if path.is_root() {
                    return reply(code::FILE_UNAVAILABLE, "/: Permission denied: the mode of your home folder is the administrator's.");
                }
                let p = path.clone();
                match self.storage(move |s| s.set_mode(&p, mode)).await {
                    Ok(()) => reply(code::OK, format!("SITE CHMOD {mode:o} {path} done.")),
                    Err(e) => Err(storage_refusal(&path, e)),
                }
            }
            _ => reply(code::NOT_IMPLEMENTED, format!("SITE {sub} not implemented.")),
        }
    }
}

/// The largest file whose size `SIZE` works out in ASCII mode.
const ASCII_SIZE_LIMIT: u64 = 64 << 20;
