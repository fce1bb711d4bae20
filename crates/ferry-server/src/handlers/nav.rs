//! Navigation: RFC 959 §4.1.1 and §4.1.3 (CWD, CDUP, PWD) and the RFC 775
//! aliases (XCWD, XCUP, XPWD).

use ferry_proto::reply::code;

use super::fs_refusal;
use crate::session::Session;
use crate::session::answer::{Handled, reply};

impl Session {
    pub(crate) async fn pwd(&mut self) -> Handled {
        let text = format!("{} is the current directory.", self.cwd.quoted());
        reply(code::PATH_CREATED, text)
    }

    pub(crate) async fn cwd_cmd(&mut self, input: &str) -> Handled {
        let path = self.resolve(input)?;
        let p = path.clone();
        self.storage(move |fs| fs.change_dir(&p)).await.map_err(|e| fs_refusal(&path, e))?;
        let text = format!("Directory changed to {}.", path.quoted());
        self.cwd = path;
        reply(code::FILE_ACTION_OK, text)
    }
}
