//! Navigation: RFC 959 §4.1.1 and §4.1.3 (CWD, CDUP, PWD) and the RFC 775
//! aliases (XCWD, XCUP, XPWD).

use std::io;

use ferry_proto::listing::Kind;
use ferry_proto::reply::code;

use crate::auth::settings::Permission;
use crate::session::Session;
use crate::storage::StorageError;

impl Session {
    pub(crate) async fn pwd(&mut self) -> io::Result<()> {
        let text = format!("{} is the current directory.", self.cwd.quoted());
        self.ctl.reply(code::PATH_CREATED, text).await
    }

    pub(crate) async fn cwd_cmd(&mut self, input: &str) -> io::Result<()> {
        if !self.permit(Permission::List).await? {
            return Ok(());
        }
        let Some(path) = self.resolve(input).await? else { return Ok(()) };
        let p = path.clone();
        match self.storage(move |s| s.metadata(&p)).await {
            Ok(info) if info.kind == Kind::Dir => {
                let text = format!("Directory changed to {}.", path.quoted());
                self.cwd = path;
                self.ctl.reply(code::FILE_ACTION_OK, text).await
            }
            Ok(_) => self.storage_error(&path, StorageError::NotDirectory).await,
            Err(e) => self.storage_error(&path, e).await,
        }
    }
}
