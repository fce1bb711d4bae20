//! What a client asks (draft-ietf-secsh-filexfer-02 §6, and the OpenSSH
//! extensions of its `PROTOCOL` file §4): [`Request::decode`] for servers,
//! [`Request::encode`] for clients.
//!
//! Paths and handles stay bytes here: version 3 does not say how names are
//! encoded, and each side decides what it accepts.

use crate::DecodeError;
use crate::attrs::Attrs;
use crate::kind;
use crate::status::OpenFlags;
use crate::wire::{Reader, Writer};

/// One request and its id (the reply carries the same id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Chosen by the client; echoed in the reply.
    pub id: u32,
    /// What is asked.
    pub body: Body,
}

/// The requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `SSH_FXP_OPEN`
    Open { path: Vec<u8>, flags: OpenFlags, attrs: Attrs },
    /// `SSH_FXP_CLOSE`
    Close { handle: Vec<u8> },
    /// `SSH_FXP_READ`
    Read { handle: Vec<u8>, offset: u64, len: u32 },
    /// `SSH_FXP_WRITE`
    Write { handle: Vec<u8>, offset: u64, data: Vec<u8> },
    /// `SSH_FXP_LSTAT`
    Lstat { path: Vec<u8> },
    /// `SSH_FXP_FSTAT`
    Fstat { handle: Vec<u8> },
    /// `SSH_FXP_SETSTAT`
    Setstat { path: Vec<u8>, attrs: Attrs },
    /// `SSH_FXP_FSETSTAT`
    Fsetstat { handle: Vec<u8>, attrs: Attrs },
    /// `SSH_FXP_OPENDIR`
    Opendir { path: Vec<u8> },
    /// `SSH_FXP_READDIR`
    Readdir { handle: Vec<u8> },
    /// `SSH_FXP_REMOVE`
    Remove { path: Vec<u8> },
    /// `SSH_FXP_MKDIR`
    Mkdir { path: Vec<u8>, attrs: Attrs },
    /// `SSH_FXP_RMDIR`
    Rmdir { path: Vec<u8> },
    /// `SSH_FXP_REALPATH`
    Realpath { path: Vec<u8> },
    /// `SSH_FXP_STAT`
    Stat { path: Vec<u8> },
    /// `SSH_FXP_RENAME`: version 3 fails if `to` exists.
    Rename { from: Vec<u8>, to: Vec<u8> },
    /// `SSH_FXP_READLINK`
    Readlink { path: Vec<u8> },
    /// `SSH_FXP_SYMLINK`. OpenSSH sends the target first and the link
    /// second, the reverse of the draft; this is in OpenSSH's order.
    Symlink { target: Vec<u8>, link: Vec<u8> },
    /// `posix-rename@openssh.com`: rename, replacing `to` atomically.
    PosixRename { from: Vec<u8>, to: Vec<u8> },
    /// `statvfs@openssh.com`
    Statvfs { path: Vec<u8> },
    /// `fstatvfs@openssh.com`
    Fstatvfs { handle: Vec<u8> },
    /// `fsync@openssh.com`
    Fsync { handle: Vec<u8> },
    /// `hardlink@openssh.com`
    Hardlink { from: Vec<u8>, to: Vec<u8> },
    /// `limits@openssh.com`
    Limits,
    /// `expand-path@openssh.com`: a path that may start with `~`.
    ExpandPath { path: Vec<u8> },
    /// Any other `SSH_FXP_EXTENDED` request.
    Extended { name: Vec<u8>, data: Vec<u8> },
}

/// Extension names, as `SSH_FXP_EXTENDED` and `SSH_FXP_VERSION` spell them.
pub mod ext {
    /// Rename with replacement.
    pub const POSIX_RENAME: &str = "posix-rename@openssh.com";
    /// File-system statistics of a path.
    pub const STATVFS: &str = "statvfs@openssh.com";
    /// File-system statistics of an open handle.
    pub const FSTATVFS: &str = "fstatvfs@openssh.com";
    /// Flush an open file to disk.
    pub const FSYNC: &str = "fsync@openssh.com";
    /// Make a hard link.
    pub const HARDLINK: &str = "hardlink@openssh.com";
    /// The server's packet and request limits.
    pub const LIMITS: &str = "limits@openssh.com";
    /// Expand `~` in a path.
    pub const EXPAND_PATH: &str = "expand-path@openssh.com";
}

impl Request {
    /// Parse a packet (its type byte first, without the length). `Init`
    /// is not a request: see [`crate::Init`].
    pub fn decode(packet: &[u8]) -> Result<Request, DecodeError> {
        let mut r = Reader::new(packet);
        let kind = r.u8()?;
        let id = r.u32()?;
        let s = |r: &mut Reader<'_>| r.string().map(<[u8]>::to_vec);
        let body = match kind {
            kind::OPEN => Body::Open { path: s(&mut r)?, flags: OpenFlags(r.u32()?), attrs: Attrs::decode(&mut r)? },
            kind::CLOSE => Body::Close { handle: s(&mut r)? },
            kind::READ => Body::Read { handle: s(&mut r)?, offset: r.u64()?, len: r.u32()? },
            kind::WRITE => Body::Write { handle: s(&mut r)?, offset: r.u64()?, data: s(&mut r)? },
            kind::LSTAT => Body::Lstat { path: s(&mut r)? },
            kind::FSTAT => Body::Fstat { handle: s(&mut r)? },
            kind::SETSTAT => Body::Setstat { path: s(&mut r)?, attrs: Attrs::decode(&mut r)? },
            kind::FSETSTAT => Body::Fsetstat { handle: s(&mut r)?, attrs: Attrs::decode(&mut r)? },
            kind::OPENDIR => Body::Opendir { path: s(&mut r)? },
            kind::READDIR => Body::Readdir { handle: s(&mut r)? },
            kind::REMOVE => Body::Remove { path: s(&mut r)? },
            kind::MKDIR => Body::Mkdir { path: s(&mut r)?, attrs: Attrs::decode(&mut r)? },
            kind::RMDIR => Body::Rmdir { path: s(&mut r)? },
            kind::REALPATH => Body::Realpath { path: s(&mut r)? },
            kind::STAT => Body::Stat { path: s(&mut r)? },
            kind::RENAME => Body::Rename { from: s(&mut r)?, to: s(&mut r)? },
            kind::READLINK => Body::Readlink { path: s(&mut r)? },
            kind::SYMLINK => Body::Symlink { target: s(&mut r)?, link: s(&mut r)? },
            kind::EXTENDED => {
                let name = s(&mut r)?;
                match std::str::from_utf8(&name).unwrap_or("") {
                    ext::POSIX_RENAME => Body::PosixRename { from: s(&mut r)?, to: s(&mut r)? },
                    ext::STATVFS => Body::Statvfs { path: s(&mut r)? },
                    ext::FSTATVFS => Body::Fstatvfs { handle: s(&mut r)? },
                    ext::FSYNC => Body::Fsync { handle: s(&mut r)? },
                    ext::HARDLINK => Body::Hardlink { from: s(&mut r)?, to: s(&mut r)? },
                    ext::LIMITS => Body::Limits,
                    ext::EXPAND_PATH => Body::ExpandPath { path: s(&mut r)? },
                    _ => Body::Extended { name, data: r.rest().to_vec() },
                }
            }
            other => return Err(DecodeError::UnknownType { kind: other, id: Some(id) }),
        };
        Ok(Request { id, body })
    }

    /// The bytes before the data in a `WRITE` packet for `handle`: a
    /// client that streams a file reads each chunk straight into a buffer
    /// after them, then fills them in with [`Request::write_header`] —
    /// no copy of the data into a [`Body::Write`] and out again.
    pub fn write_header_len(handle: &[u8]) -> usize {
        // length, type, id, handle (length and bytes), offset, data length
        4 + 1 + 4 + 4 + handle.len() + 8 + 4
    }

    /// Fill in the header of the `WRITE` packet in `packet`, whose data
    /// is already in place after [`Request::write_header_len`] bytes.
    pub fn write_header(packet: &mut [u8], id: u32, handle: &[u8], offset: u64) {
        let header = Self::write_header_len(handle);
        let data_len = u32::try_from(packet.len() - header).unwrap_or(u32::MAX);
        let packet_len = u32::try_from(packet.len() - 4).unwrap_or(u32::MAX);
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            packet[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&packet_len.to_be_bytes());
        put(&[kind::WRITE]);
        put(&id.to_be_bytes());
        put(&u32::try_from(handle.len()).unwrap_or(u32::MAX).to_be_bytes());
        put(handle);
        put(&offset.to_be_bytes());
        put(&data_len.to_be_bytes());
    }

    /// The packet, length first (for clients).
    pub fn encode(&self) -> Vec<u8> {
        let extended = |w: &mut Writer, name: &str| {
            w.string(name);
        };
        let (k, cap) = match &self.body {
            Body::Write { data, .. } => (kind::WRITE, data.len() + 64),
            b => (b.kind(), 64),
        };
        let mut w = Writer::packet(k, cap);
        w.u32(self.id);
        match &self.body {
            Body::Open { path, flags, attrs } => {
                w.string(path).u32(flags.0);
                attrs.encode(&mut w);
            }
            Body::Close { handle } | Body::Fstat { handle } | Body::Readdir { handle } => {
                w.string(handle);
            }
            Body::Read { handle, offset, len } => {
                w.string(handle).u64(*offset).u32(*len);
            }
            Body::Write { handle, offset, data } => {
                w.string(handle).u64(*offset).string(data);
            }
            Body::Lstat { path }
            | Body::Opendir { path }
            | Body::Remove { path }
            | Body::Rmdir { path }
            | Body::Realpath { path }
            | Body::Stat { path }
            | Body::Readlink { path } => {
                w.string(path);
            }
            Body::Setstat { path: p, attrs } | Body::Mkdir { path: p, attrs } => {
                w.string(p);
                attrs.encode(&mut w);
            }
            Body::Fsetstat { handle, attrs } => {
                w.string(handle);
                attrs.encode(&mut w);
            }
            Body::Rename { from, to } => {
                w.string(from).string(to);
            }
            Body::Symlink { target, link } => {
                w.string(target).string(link);
            }
            Body::PosixRename { from, to } => {
                extended(&mut w, ext::POSIX_RENAME);
                w.string(from).string(to);
            }
            Body::Hardlink { from, to } => {
                extended(&mut w, ext::HARDLINK);
                w.string(from).string(to);
            }
            Body::Statvfs { path } => {
                extended(&mut w, ext::STATVFS);
                w.string(path);
            }
            Body::ExpandPath { path } => {
                extended(&mut w, ext::EXPAND_PATH);
                w.string(path);
            }
            Body::Fstatvfs { handle } => {
                extended(&mut w, ext::FSTATVFS);
                w.string(handle);
            }
            Body::Fsync { handle } => {
                extended(&mut w, ext::FSYNC);
                w.string(handle);
            }
            Body::Limits => extended(&mut w, ext::LIMITS),
            Body::Extended { name, data } => {
                w.string(name).raw(data);
            }
        }
        w.finish()
    }
}

impl Body {
    /// The packet type.
    pub fn kind(&self) -> u8 {
        match self {
            Body::Open { .. } => kind::OPEN,
            Body::Close { .. } => kind::CLOSE,
            Body::Read { .. } => kind::READ,
            Body::Write { .. } => kind::WRITE,
            Body::Lstat { .. } => kind::LSTAT,
            Body::Fstat { .. } => kind::FSTAT,
            Body::Setstat { .. } => kind::SETSTAT,
            Body::Fsetstat { .. } => kind::FSETSTAT,
            Body::Opendir { .. } => kind::OPENDIR,
            Body::Readdir { .. } => kind::READDIR,
            Body::Remove { .. } => kind::REMOVE,
            Body::Mkdir { .. } => kind::MKDIR,
            Body::Rmdir { .. } => kind::RMDIR,
            Body::Realpath { .. } => kind::REALPATH,
            Body::Stat { .. } => kind::STAT,
            Body::Rename { .. } => kind::RENAME,
            Body::Readlink { .. } => kind::READLINK,
            Body::Symlink { .. } => kind::SYMLINK,
            _ => kind::EXTENDED,
        }
    }

    /// A short name for logs (`open`, `posix-rename@openssh.com`).
    pub fn name(&self) -> &'static str {
        match self {
            Body::Open { .. } => "open",
            Body::Close { .. } => "close",
            Body::Read { .. } => "read",
            Body::Write { .. } => "write",
            Body::Lstat { .. } => "lstat",
            Body::Fstat { .. } => "fstat",
            Body::Setstat { .. } => "setstat",
            Body::Fsetstat { .. } => "fsetstat",
            Body::Opendir { .. } => "opendir",
            Body::Readdir { .. } => "readdir",
            Body::Remove { .. } => "remove",
            Body::Mkdir { .. } => "mkdir",
            Body::Rmdir { .. } => "rmdir",
            Body::Realpath { .. } => "realpath",
            Body::Stat { .. } => "stat",
            Body::Rename { .. } => "rename",
            Body::Readlink { .. } => "readlink",
            Body::Symlink { .. } => "symlink",
            Body::PosixRename { .. } => ext::POSIX_RENAME,
            Body::Statvfs { .. } => ext::STATVFS,
            Body::Fstatvfs { .. } => ext::FSTATVFS,
            Body::Fsync { .. } => ext::FSYNC,
            Body::Hardlink { .. } => ext::HARDLINK,
            Body::Limits => ext::LIMITS,
            Body::ExpandPath { .. } => ext::EXPAND_PATH,
            Body::Extended { .. } => "extended",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_built_in_place_is_the_encoded_write() {
        let (handle, data) = (b"17".to_vec(), (0..200u8).collect::<Vec<u8>>());
        let encoded = Request { id: 9, body: Body::Write { handle: handle.clone(), offset: 1 << 33, data: data.clone() } }.encode();
        let header = Request::write_header_len(&handle);
        let mut packet = vec![0u8; header];
        packet.extend_from_slice(&data);
        Request::write_header(&mut packet, 9, &handle, 1 << 33);
        assert_eq!(packet, encoded);
    }

    fn round_trip(body: Body) {
        let r = Request { id: 42, body };
        let p = r.encode();
        assert_eq!(u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize, p.len() - 4);
        assert_eq!(Request::decode(&p[4..]).unwrap(), r);
    }

    #[test]
    fn every_request_round_trips() {
        let a = Attrs { permissions: Some(0o644), ..Attrs::default() };
        for body in [
            Body::Open { path: b"/a".to_vec(), flags: OpenFlags(OpenFlags::WRITE | OpenFlags::CREAT), attrs: a.clone() },
            Body::Close { handle: b"h1".to_vec() },
            Body::Read { handle: b"h".to_vec(), offset: 1 << 33, len: 32768 },
            Body::Write { handle: b"h".to_vec(), offset: 7, data: vec![1; 100] },
            Body::Lstat { path: b"x".to_vec() },
            Body::Fstat { handle: b"h".to_vec() },
            Body::Setstat { path: b"x".to_vec(), attrs: a.clone() },
            Body::Fsetstat { handle: b"h".to_vec(), attrs: a.clone() },
            Body::Opendir { path: b".".to_vec() },
            Body::Readdir { handle: b"d".to_vec() },
            Body::Remove { path: b"x".to_vec() },
            Body::Mkdir { path: b"d".to_vec(), attrs: a },
            Body::Rmdir { path: b"d".to_vec() },
            Body::Realpath { path: b".".to_vec() },
            Body::Stat { path: b"x".to_vec() },
            Body::Rename { from: b"a".to_vec(), to: b"b".to_vec() },
            Body::Readlink { path: b"l".to_vec() },
            Body::Symlink { target: b"t".to_vec(), link: b"l".to_vec() },
            Body::PosixRename { from: b"a".to_vec(), to: b"b".to_vec() },
            Body::Statvfs { path: b"/".to_vec() },
            Body::Fstatvfs { handle: b"h".to_vec() },
            Body::Fsync { handle: b"h".to_vec() },
            Body::Hardlink { from: b"a".to_vec(), to: b"b".to_vec() },
            Body::Limits,
            Body::ExpandPath { path: b"~/x".to_vec() },
            Body::Extended { name: b"copy-data".to_vec(), data: vec![0, 0, 0, 1, 9] },
        ] {
            round_trip(body);
        }
    }

    #[test]
    fn an_unknown_type_keeps_its_id_for_the_reply() {
        assert_eq!(Request::decode(&[99, 0, 0, 0, 5]), Err(DecodeError::UnknownType { kind: 99, id: Some(5) }));
    }

    #[test]
    fn truncated_requests_are_errors() {
        let p = Request { id: 1, body: Body::Read { handle: b"h".to_vec(), offset: 0, len: 10 } }.encode();
        for cut in 5..p.len() {
            assert!(Request::decode(&p[4..cut]).is_err(), "cut at {cut}");
        }
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    proptest! {
        /// Whatever a hostile client sends, decoding answers; it never panics.
        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = super::Request::decode(&bytes);
            let _ = crate::Response::decode(&bytes);
            let _ = crate::Init::decode(&bytes);
        }
    }
}
