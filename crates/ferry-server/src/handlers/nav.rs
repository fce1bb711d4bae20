//! Navigation: RFC 959 §4.1.1 and §4.1.3 (CWD, CDUP, PWD) and the RFC 775
//! aliases (XCWD, XCUP, XPWD).

use ferry_proto::listing::Kind;
use ferry_proto::reply::code;

use super::storage_refusal;
use crate::auth::settings::Permission;
use crate::session::Session;
use crate::session::answer::{Handled, reply};
use crate::storage::StorageError;

impl Session {
    pub(crate) async fn pwd(&mut self) -> Handled {
        let text = format!("{} is the current directory.", self.cwd.quoted());
        reply(code::PATH_CREATED, text)
    }

    pub(crate) async fn cwd_cmd(&mut self, input: &str) -> Handled {
        self.permit(Permission::List)?;
        let path = self.resolve(input)?;
        let p = path.clone();
        match self.storage(move |s| s.metadata(&p)).await {
            Ok(info) if info.kind == Kind::Dir => {
                let text = format!("Directory changed to {}.", path.quoted());
                self.cwd = path;
                reply(code::FILE_ACTION_OK, text)
            }
            Ok(_) => Err(storage_refusal(&path, StorageError::NotDirectory)),
            Err(e) => Err(storage_refusal(&path, e)),
        }
    }
}
