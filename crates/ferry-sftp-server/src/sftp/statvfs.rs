//! `statvfs@openssh.com`: the free space a user has. OpenSSH's `sftp`
//! shows it for `df`, and some clients check it before a big upload. A
//! user with a quota sees the quota (what it allows and what is left of
//! it, never more than the disk has free); others see the disk.

use std::path::Path;

use ferry_core::userfs::UserFs;
use ferry_sftp::{StatusCode, Statvfs};

/// The block size quotas are told in.
const BLOCK: u64 = 4096;

/// The statistics of `fs`'s home, on the disk at `disk` (the server's
/// root folder) when the storage is local.
pub(crate) fn of_home(fs: &UserFs, disk: Option<&Path>) -> Result<Statvfs, (StatusCode, String)> {
    let mut s = match disk.map(rustix::fs::statvfs) {
        Some(Ok(v)) => Statvfs {
            bsize: v.f_bsize,
            frsize: v.f_frsize,
            blocks: v.f_blocks,
            bfree: v.f_bfree,
            bavail: v.f_bavail,
            files: v.f_files,
            ffree: v.f_ffree,
            favail: v.f_favail,
            fsid: 0,
            flag: 0,
            namemax: v.f_namemax,
        },
        Some(Err(e)) => return Err((StatusCode::Failure, format!("Cannot tell the free space: {e}"))),
        // Object storage: no disk to measure, and no end to it.
        None => Statvfs {
            bsize: BLOCK,
            frsize: BLOCK,
            blocks: u64::MAX / BLOCK,
            bfree: u64::MAX / BLOCK,
            bavail: u64::MAX / BLOCK,
            namemax: 255,
            ..Statvfs::default()
        },
    };
    if !fs.allows(ferry_core::auth::settings::Permission::Write) {
        s.flag |= 1; // ST_RDONLY
    }
    let Some(((bytes, files), limits)) = fs.quota_usage().map_err(|e| super::errors::status_of(&e))? else { return Ok(s) };
    if let Some(quota) = limits.bytes {
        let disk_free = s.bavail.saturating_mul(s.frsize.max(1));
        let left = quota.saturating_sub(bytes).min(disk_free);
        s.bsize = BLOCK;
        s.frsize = BLOCK;
        s.blocks = quota / BLOCK;
        s.bfree = left / BLOCK;
        s.bavail = left / BLOCK;
    }
    if let Some(quota) = limits.files {
        let left = quota.saturating_sub(files);
        s.files = quota;
        s.ffree = left;
        s.favail = left;
    }
    Ok(s)
}
