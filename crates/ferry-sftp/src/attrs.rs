//! File attributes (draft-ietf-secsh-filexfer-02 §5, the `ATTRS` of
//! version 3): each field is present only when its flag is set.

use crate::DecodeError;
use crate::wire::{Reader, Writer};

const SIZE: u32 = 0x0000_0001;
const UIDGID: u32 = 0x0000_0002;
const PERMISSIONS: u32 = 0x0000_0004;
const ACMODTIME: u32 = 0x0000_0008;
const EXTENDED: u32 = 0x8000_0000;

/// The file-type bits of `permissions`, as `stat(2)` gives them: clients
/// tell folders from files by these (`S_IFDIR`, `S_IFREG`, `S_IFLNK`).
pub mod file_type {
    /// Mask of the type bits.
    pub const MASK: u32 = 0o170000;
    /// A folder.
    pub const DIR: u32 = 0o040000;
    /// A regular file.
    pub const FILE: u32 = 0o100000;
    /// A symbolic link.
    pub const SYMLINK: u32 = 0o120000;
}

/// A file's attributes. `None` fields are absent on the wire (in a
/// `SETSTAT`, "leave this as it is").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Bytes.
    pub size: Option<u64>,
    /// Owner and group ids.
    pub uid_gid: Option<(u32, u32)>,
    /// Type and permission bits (`0o100644`).
    pub permissions: Option<u32>,
    /// Access and modification times, in seconds since 1970 (version 3
    /// has 32 bits for them: the times run out in 2106).
    pub times: Option<(u32, u32)>,
    /// Vendor extensions (name, data).
    pub extended: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Attrs {
    /// Read attributes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Attrs, DecodeError> {
        let flags = r.u32()?;
        let mut a = Attrs::default();
        if flags & SIZE != 0 {
            a.size = Some(r.u64()?);
        }
        if flags & UIDGID != 0 {
            a.uid_gid = Some((r.u32()?, r.u32()?));
        }
        if flags & PERMISSIONS != 0 {
            a.permissions = Some(r.u32()?);
        }
        if flags & ACMODTIME != 0 {
            a.times = Some((r.u32()?, r.u32()?));
        }
        if flags & EXTENDED != 0 {
            let n = r.u32()?;
            // Each pair takes at least 8 bytes: a count the packet cannot
            // hold is refused before anything is allocated for it.
            if n as usize > r.remaining() / 8 {
                return Err(DecodeError::Truncated);
            }
            for _ in 0..n {
                a.extended.push((r.string()?.to_vec(), r.string()?.to_vec()));
            }
        }
        Ok(a)
    }

    /// Write attributes.
    pub fn encode(&self, w: &mut Writer) {
        let mut flags = 0;
        if self.size.is_some() {
            flags |= SIZE;
        }
        if self.uid_gid.is_some() {
            flags |= UIDGID;
        }
        if self.permissions.is_some() {
            flags |= PERMISSIONS;
        }
        if self.times.is_some() {
            flags |= ACMODTIME;
        }
        if !self.extended.is_empty() {
            flags |= EXTENDED;
        }
        w.u32(flags);
        if let Some(s) = self.size {
            w.u64(s);
        }
        if let Some((u, g)) = self.uid_gid {
            w.u32(u).u32(g);
        }
        if let Some(p) = self.permissions {
            w.u32(p);
        }
        if let Some((at, mt)) = self.times {
            w.u32(at).u32(mt);
        }
        if !self.extended.is_empty() {
            w.u32(self.extended.len() as u32);
            for (k, v) in &self.extended {
                w.string(k).string(v);
            }
        }
    }

    /// Whether the type bits say folder.
    pub fn is_dir(&self) -> bool {
        self.permissions.is_some_and(|p| p & file_type::MASK == file_type::DIR)
    }

    /// Whether the type bits say regular file.
    pub fn is_file(&self) -> bool {
        self.permissions.is_some_and(|p| p & file_type::MASK == file_type::FILE)
    }

    /// Whether the type bits say symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.permissions.is_some_and(|p| p & file_type::MASK == file_type::SYMLINK)
    }

    /// The modification time.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        self.times.map(|(_, m)| std::time::UNIX_EPOCH + std::time::Duration::from_secs(m.into()))
    }
}

/// Seconds since 1970 as version 3 carries them: clamped to 0 and to the
/// last second of 2106.
pub fn seconds(t: std::time::SystemTime) -> u32 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => u32::try_from(d.as_secs()).unwrap_or(u32::MAX),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips() {
        let a = Attrs {
            size: Some(12345678901),
            uid_gid: Some((1000, 100)),
            permissions: Some(0o100644),
            times: Some((1, 2)),
            extended: vec![(b"x@y".to_vec(), b"z".to_vec())],
        };
        let mut w = Writer::packet(105, 0);
        a.encode(&mut w);
        let p = w.finish();
        let mut r = Reader::new(&p[5..]);
        assert_eq!(Attrs::decode(&mut r).unwrap(), a);
        assert_eq!(r.remaining(), 0);
        assert!(a.is_file() && !a.is_dir());
    }

    #[test]
    fn empty_attributes_are_four_zero_bytes() {
        let mut w = Writer::packet(105, 0);
        Attrs::default().encode(&mut w);
        assert_eq!(&w.finish()[5..], &[0, 0, 0, 0]);
    }

    #[test]
    fn a_huge_extension_count_is_refused_without_allocating() {
        let mut r = Reader::new(&[0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(Attrs::decode(&mut r), Err(DecodeError::Truncated));
    }
}
