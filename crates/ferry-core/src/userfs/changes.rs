//! Changes to the tree that are not transfers: folders made and removed,
//! files deleted, renames. Each emits its event once it is done.

use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;

use super::{FsError, UserFs, existing, new_name};
use crate::auth::settings::Permission;
use crate::events::EventKind;
use crate::storage::{FileInfo, StorageError};

impl UserFs {
    /// Create a folder (`mkdir`).
    pub fn mkdir(&self, path: &VirtualPath) -> Result<(), FsError> {
        self.permit(Permission::Mkdir)?;
        new_name(path)?;
        self.storage().mkdir(path)?;
        self.emit(EventKind::Mkdir { actor: self.actor().clone(), path: path.clone() });
        Ok(())
    }

    /// Remove an empty folder (`delete`).
    pub fn rmdir(&self, path: &VirtualPath) -> Result<(), FsError> {
        self.permit(Permission::Delete)?;
        existing(path)?;
        self.storage().rmdir(path)?;
        self.emit(EventKind::Rmdir { actor: self.actor().clone(), path: path.clone() });
        Ok(())
    }

    /// [`UserFs::rmdir`] for a session with a working folder: that folder
    /// and its parents stay (FTP's `RMD` of the current folder).
    pub fn rmdir_outside(&self, path: &VirtualPath, cwd: &VirtualPath) -> Result<(), FsError> {
        self.permit(Permission::Delete)?;
        existing(path)?;
        if within(cwd, path) {
            return Err(FsError::CurrentDirectory);
        }
        self.rmdir(path)
    }

    /// Delete a file (`delete`); refused while it is being uploaded. Its
    /// bytes leave the quota.
    pub fn remove_file(&self, path: &VirtualPath) -> Result<(), FsError> {
        self.permit(Permission::Delete)?;
        existing(path)?;
        self.not_busy(path)?;
        let size = self.storage().metadata(path).map_or(0, |i| i.size);
        self.storage().remove_file(path)?;
        self.quota_removed(size, 1);
        self.emit(EventKind::Delete { actor: self.actor().clone(), path: path.clone(), size });
        Ok(())
    }

    /// Check that `path` may be renamed (`rename`): it exists, is not the
    /// home, and is not being uploaded. For front-ends that name the
    /// source first (FTP's `RNFR`); [`UserFs::rename`] checks it all again.
    pub fn rename_source(&self, path: &VirtualPath) -> Result<FileInfo, FsError> {
        self.permit(Permission::Rename)?;
        existing(path)?;
        self.not_busy(path)?;
        let info = self.storage().metadata(path)?;
        if path.is_root() {
            return Err(StorageError::PermissionDenied.into());
        }
        Ok(info)
    }

    /// Rename or move `from` to `to` (`rename`). An existing file at `to`
    /// is replaced only with the `delete` permission too (replacing
    /// destroys it); without, it is never touched
    /// ([`FsError::ReplaceNeedsDelete`]). Neither end may be being
    /// uploaded. A replaced file's bytes leave the quota.
    pub fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> Result<(), FsError> {
        self.rename_as(from, to, self.allows(Permission::Delete))
    }

    /// Rename or move `from` to `to` (`rename`), never replacing what is
    /// at `to`: an existing target fails with
    /// [`StorageError::AlreadyExists`] and is untouched (SFTP's `RENAME`;
    /// its `posix-rename` is [`UserFs::rename`]).
    pub fn rename_keeping(&self, from: &VirtualPath, to: &VirtualPath) -> Result<(), FsError> {
        match self.rename_as(from, to, false) {
            Err(FsError::ReplaceNeedsDelete) => Err(StorageError::AlreadyExists.into()),
            other => other,
        }
    }

    fn rename_as(&self, from: &VirtualPath, to: &VirtualPath, replace: bool) -> Result<(), FsError> {
        self.permit(Permission::Rename)?;
        existing(from)?;
        new_name(to)?;
        self.not_busy(from)?;
        self.not_busy(to)?;
        if to.as_str().starts_with(&format!("{}/", from.as_str())) {
            return Err(FsError::IntoItself);
        }
        let replaced = self.storage().metadata(to).ok().filter(|i| i.kind == Kind::File && from != to).map(|i| i.size);
        match self.storage().rename(from, to, replace) {
            Ok(()) => {}
            Err(StorageError::AlreadyExists) if !replace => return Err(FsError::ReplaceNeedsDelete),
            Err(e) => return Err(e.into()),
        }
        if let Some(size) = replaced {
            self.quota_removed(size, 1);
        }
        self.emit(EventKind::Rename { actor: self.actor().clone(), from: from.clone(), to: to.clone() });
        Ok(())
    }
}

/// Whether `path` is `dir` or lies below it. (Everything lies below `/`,
/// but only `/` itself counts here: removing the home is refused by the
/// storage, whatever the working folder.)
fn within(path: &VirtualPath, dir: &VirtualPath) -> bool {
    let (p, d) = (path.as_str(), dir.as_str());
    p == d || (p.starts_with(d) && p[d.len()..].starts_with('/'))
}
