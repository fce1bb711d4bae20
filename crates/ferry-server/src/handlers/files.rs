//! File and folder operations: RFC 959 §4.1.3 (MKD, RMD, DELE, RNFR, RNTO,
//! SITE), RFC 3659 §3–4 (MDTM, SIZE) and draft-somers-ftp-mfxx (MFMT).

use std::io::Read;
use std::time::SystemTime;

use ferry_proto::ascii::ToWire;
use ferry_proto::listing::Kind;
use ferry_proto::reply::code;
use ferry_proto::{Reply, VirtualPath, time};

use super::Cancel;
use super::{fs_refusal, storage_refusal};
use crate::auth::settings::Permission;
use crate::session::Session;
use crate::session::answer::{Handled, reply};
use crate::storage::StorageError;
use ferry_core::userfs::{FsError, ReadPurpose, UserFs};

impl Session {
    pub(crate) async fn mkd(&mut self, input: &str) -> Handled {
        let path = self.resolve_new(input)?;
        let p = path.clone();
        self.storage(move |fs| fs.mkdir(&p)).await.map_err(|e| fs_refusal(&path, e))?;
        reply(code::PATH_CREATED, format!("{} directory created.", path.quoted()))
    }

    pub(crate) async fn rmd(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let (p, cwd) = (path.clone(), self.cwd.clone());
        self.storage(move |fs| fs.rmdir_outside(&p, &cwd)).await.map_err(|e| fs_refusal(&path, e))?;
        reply(code::FILE_ACTION_OK, format!("{path}: directory removed."))
    }

    pub(crate) async fn dele(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let p = path.clone();
        self.storage(move |fs| fs.remove_file(&p)).await.map_err(|e| fs_refusal(&path, e))?;
        reply(code::FILE_ACTION_OK, format!("{path}: file deleted."))
    }

    pub(crate) async fn rnfr(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let p = path.clone();
        let info = self.storage(move |fs| fs.rename_source(&p)).await.map_err(|e| fs_refusal(&path, e))?;
        self.state.rename_from = Some((path, info.kind));
        reply(code::PENDING, "Ready for RNTO.")
    }

    pub(crate) async fn rnto(&mut self, from: Option<(VirtualPath, Kind)>, input: &str) -> Handled {
        let Some((from, kind)) = from else {
            return reply(code::BAD_SEQUENCE, "RNTO must follow RNFR.");
        };
        let to = self.resolve_new(input)?;
        // `RNTO name/` asks for a folder (as rename(2) does): a file must
        // not quietly become one called `name`.
        if input.ends_with('/') && !to.is_root() && kind != Kind::Dir {
            return reply(code::FILE_UNAVAILABLE, format!("{to}/: Not a directory."));
        }
        let (f, t) = (from.clone(), to.clone());
        self.storage(move |fs| fs.rename(&f, &t)).await.map_err(|e| fs_refusal(&to, e))?;
        reply(code::FILE_ACTION_OK, format!("Renamed {from} to {to}."))
    }

    pub(crate) async fn size(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let p = path.clone();
        let info = self
            .storage(move |fs| fs.metadata(&p).and_then(|i| crate::storage::require_file(i.kind).map(|()| i).map_err(FsError::from)))
            .await
            .map_err(|e| fs_refusal(&path, e))?;
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
        let job = move |fs: &UserFs, cancel: &Cancel| {
            let (_, mut r) = fs.open_read(&p, 0, ReadPurpose::Measure)?;
            let (mut conv, mut buf, mut total) = (ToWire::default(), vec![0u8; 64 * 1024], 0u64);
            loop {
                cancel.check()?;
                match r.read(&mut buf).map_err(StorageError::from)? {
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
            Err(e) => Err(fs_refusal(&path, e)),
        }
    }

    pub(crate) async fn mdtm(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let p = path.clone();
        match self.storage(move |fs| fs.metadata(&p)).await {
            Ok(info) if info.kind == Kind::File => match info.modified {
                Some(t) => reply(code::FILE_STATUS, time::format_timeval(t)),
                None => reply(code::FILE_UNAVAILABLE, format!("{path}: modification time unknown.")),
            },
            Ok(info) => Err(storage_refusal(&path, crate::storage::require_file(info.kind).expect_err("not a file"))),
            Err(e) => Err(fs_refusal(&path, e)),
        }
    }

    pub(crate) async fn mfmt(&mut self, t: SystemTime, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let p = path.clone();
        self.storage(move |fs| fs.set_modified(&p, t)).await.map_err(|e| fs_refusal(&path, e))?;
        reply(code::FILE_STATUS, format!("Modify={}; {}", time::format_timeval(t), input))
    }

    pub(crate) async fn site(&mut self, arg: &str) -> Handled {
        let (sub, rest) = arg.split_once(' ').unwrap_or((arg, ""));
        match sub.to_ascii_uppercase().as_str() {
            "HELP" => {
                let mut lines = vec!["SITE commands:".to_owned(), " HELP".to_owned()];
                if self.capabilities().set_mode {
                    lines.push(" CHMOD mode path".into());
                }
                lines.push("End.".into());
                Ok(Reply::multi(code::HELP, lines).into())
            }
            "CHMOD" if !self.capabilities().set_mode => reply(code::PARAM_NOT_IMPLEMENTED, "SITE CHMOD: this storage keeps no Unix modes."),
            "CHMOD" => {
                // Checked before the arguments, as vsftpd does: a user who
                // may not write learns nothing more.
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
                let p = path.clone();
                self.storage(move |fs| fs.set_mode(&p, mode)).await.map_err(|e| fs_refusal(&path, e))?;
                reply(code::OK, format!("SITE CHMOD {mode:o} {path} done."))
            }
            _ => reply(code::NOT_IMPLEMENTED, format!("SITE {sub} not implemented.")),
        }
    }
}

/// The largest file whose size `SIZE` works out in ASCII mode.
const ASCII_SIZE_LIMIT: u64 = 64 << 20;
