//! What a server answers: [`Response::encode`] for servers,
//! [`Response::decode`] for clients; and the version handshake
//! ([`Init`], [`Version`]) both sides begin with.

use crate::DecodeError;
use crate::attrs::Attrs;
use crate::kind;
use crate::status::StatusCode;
use crate::wire::{Reader, Writer};

/// One entry of an `SSH_FXP_NAME` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    /// The name (a folder entry) or the path (`REALPATH`).
    pub filename: Vec<u8>,
    /// An `ls -l` line, which OpenSSH's `sftp` shows for `ls -l`.
    pub longname: Vec<u8>,
    /// Its attributes.
    pub attrs: Attrs,
}

/// `statvfs@openssh.com`'s reply: `struct statvfs`, field for field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statvfs {
    /// File-system block size.
    pub bsize: u64,
    /// Fundamental block size.
    pub frsize: u64,
    /// Blocks, in `frsize` units.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks for unprivileged users.
    pub bavail: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Free inodes for unprivileged users.
    pub favail: u64,
    /// File-system id.
    pub fsid: u64,
    /// Mount flags (1: read-only, 2: no set-uid).
    pub flag: u64,
    /// Longest file name.
    pub namemax: u64,
}

impl Statvfs {
    /// As an `SSH_FXP_EXTENDED_REPLY`'s data.
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            self.bsize,
            self.frsize,
            self.blocks,
            self.bfree,
            self.bavail,
            self.files,
            self.ffree,
            self.favail,
            self.fsid,
            self.flag,
            self.namemax,
        ]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
    }

    /// From an `SSH_FXP_EXTENDED_REPLY`'s data.
    pub fn from_bytes(data: &[u8]) -> Result<Statvfs, DecodeError> {
        let mut r = Reader::new(data);
        Ok(Statvfs {
            bsize: r.u64()?,
            frsize: r.u64()?,
            blocks: r.u64()?,
            bfree: r.u64()?,
            bavail: r.u64()?,
            files: r.u64()?,
            ffree: r.u64()?,
            favail: r.u64()?,
            fsid: r.u64()?,
            flag: r.u64()?,
            namemax: r.u64()?,
        })
    }
}

/// `limits@openssh.com`'s reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest packet the server accepts, length field included.
    pub max_packet: u64,
    /// Most bytes one `READ` returns.
    pub max_read: u64,
    /// Most bytes one `WRITE` may carry.
    pub max_write: u64,
    /// Handles one session may hold open (0: no limit said).
    pub max_open_handles: u64,
}

impl Limits {
    /// As an `SSH_FXP_EXTENDED_REPLY`'s data.
    pub fn to_bytes(&self) -> Vec<u8> {
        [self.max_packet, self.max_read, self.max_write, self.max_open_handles].iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// From an `SSH_FXP_EXTENDED_REPLY`'s data.
    pub fn from_bytes(data: &[u8]) -> Result<Limits, DecodeError> {
        let mut r = Reader::new(data);
        Ok(Limits { max_packet: r.u64()?, max_read: r.u64()?, max_write: r.u64()?, max_open_handles: r.u64()? })
    }
}

/// One reply and the id of the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `SSH_FXP_STATUS`
    Status { id: u32, code: StatusCode, message: String },
    /// `SSH_FXP_HANDLE`
    Handle { id: u32, handle: Vec<u8> },
    /// `SSH_FXP_DATA`
    Data { id: u32, data: Vec<u8> },
    /// `SSH_FXP_NAME`
    Name { id: u32, entries: Vec<NameEntry> },
    /// `SSH_FXP_ATTRS`
    Attrs { id: u32, attrs: Attrs },
    /// `SSH_FXP_EXTENDED_REPLY`
    Extended { id: u32, data: Vec<u8> },
}

impl Response {
    /// The request id it answers.
    pub fn id(&self) -> u32 {
        match self {
            Response::Status { id, .. }
            | Response::Handle { id, .. }
            | Response::Data { id, .. }
            | Response::Name { id, .. }
            | Response::Attrs { id, .. }
            | Response::Extended { id, .. } => *id,
        }
    }

    /// A status reply.
    pub fn status(id: u32, code: StatusCode, message: impl Into<String>) -> Response {
        Response::Status { id, code, message: message.into() }
    }

    /// `SSH_FX_OK`.
    pub fn ok(id: u32) -> Response {
        Response::status(id, StatusCode::Ok, "OK")
    }

    /// The packet, length first.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Response::Status { id, code, message } => {
                let mut w = Writer::packet(kind::STATUS, 16 + message.len());
                // The language tag: every server sends English.
                w.u32(*id).u32(code.code()).string(message).string("en");
                w.finish()
            }
            Response::Handle { id, handle } => {
                let mut w = Writer::packet(kind::HANDLE, 8 + handle.len());
                w.u32(*id).string(handle);
                w.finish()
            }
            Response::Data { id, data } => {
                let mut w = Writer::packet(kind::DATA, 8 + data.len());
                w.u32(*id).string(data);
                w.finish()
            }
            Response::Name { id, entries } => {
                let mut w = Writer::packet(kind::NAME, entries.len() * 96);
                w.u32(*id).u32(entries.len() as u32);
                for e in entries {
                    w.string(&e.filename).string(&e.longname);
                    e.attrs.encode(&mut w);
                }
                w.finish()
            }
            Response::Attrs { id, attrs } => {
                let mut w = Writer::packet(kind::ATTRS, 40);
                w.u32(*id);
                attrs.encode(&mut w);
                w.finish()
            }
            Response::Extended { id, data } => {
                let mut w = Writer::packet(kind::EXTENDED_REPLY, 8 + data.len());
                w.u32(*id).raw(data);
                w.finish()
            }
        }
    }

    /// Parse a packet (type byte first, without the length).
    pub fn decode(packet: &[u8]) -> Result<Response, DecodeError> {
        let mut r = Reader::new(packet);
        let kind = r.u8()?;
        let id = r.u32()?;
        Ok(match kind {
            kind::STATUS => {
                let code = StatusCode::from_code(r.u32()?);
                // Servers of version 3 may leave message and language out.
                let message = if r.remaining() > 0 { String::from_utf8_lossy(r.string()?).into_owned() } else { String::new() };
                Response::Status { id, code, message }
            }
            kind::HANDLE => Response::Handle { id, handle: r.string()?.to_vec() },
            kind::DATA => Response::Data { id, data: r.string()?.to_vec() },
            kind::NAME => {
                let n = r.u32()?;
                // Each entry takes at least 12 bytes.
                if n as usize > r.remaining() / 12 {
                    return Err(DecodeError::Truncated);
                }
                let mut entries = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let filename = r.string()?.to_vec();
                    let longname = r.string()?.to_vec();
                    entries.push(NameEntry { filename, longname, attrs: Attrs::decode(&mut r)? });
                }
                Response::Name { id, entries }
            }
            kind::ATTRS => Response::Attrs { id, attrs: Attrs::decode(&mut r)? },
            kind::EXTENDED_REPLY => Response::Extended { id, data: r.rest().to_vec() },
            other => return Err(DecodeError::UnknownType { kind: other, id: Some(id) }),
        })
    }
}

/// A `DATA` reply of up to `len` bytes filled in place by `fill`, which
/// returns how many it wrote (0: nothing, the caller answers EOF instead).
/// Saves a copy of every block a download sends.
pub fn data_packet<E>(id: u32, len: usize, fill: impl FnOnce(&mut [u8]) -> Result<usize, E>) -> Result<(Vec<u8>, usize), E> {
    let mut w = Writer::packet(kind::DATA, 8 + len);
    w.u32(id);
    let n = fill(w.string_space(len))?;
    w.truncate_string(len, n.min(len));
    Ok((w.finish(), n))
}

/// `SSH_FXP_INIT`: the client's version and extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// The version the client speaks (3 for every common client).
    pub version: u32,
    /// Its extensions (name, data).
    pub extensions: Vec<(String, Vec<u8>)>,
}

/// `SSH_FXP_VERSION`: the version both speak, and the server's
/// extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The version.
    pub version: u32,
    /// The extensions the server offers, with their version strings.
    pub extensions: Vec<(String, Vec<u8>)>,
}

fn extensions(r: &mut Reader<'_>) -> Result<Vec<(String, Vec<u8>)>, DecodeError> {
    let mut out = Vec::new();
    while r.remaining() > 0 && out.len() < 256 {
        out.push((String::from_utf8_lossy(r.string()?).into_owned(), r.string()?.to_vec()));
    }
    Ok(out)
}

impl Init {
    /// Parse (type byte first).
    pub fn decode(packet: &[u8]) -> Result<Init, DecodeError> {
        let mut r = Reader::new(packet);
        match r.u8()? {
            kind::INIT => Ok(Init { version: r.u32()?, extensions: extensions(&mut r)? }),
            other => Err(DecodeError::UnknownType { kind: other, id: None }),
        }
    }

    /// The packet, length first.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::packet(kind::INIT, 8);
        w.u32(self.version);
        for (k, v) in &self.extensions {
            w.string(k).string(v);
        }
        w.finish()
    }
}

impl Version {
    /// Parse (type byte first).
    pub fn decode(packet: &[u8]) -> Result<Version, DecodeError> {
        let mut r = Reader::new(packet);
        match r.u8()? {
            kind::VERSION => Ok(Version { version: r.u32()?, extensions: extensions(&mut r)? }),
            other => Err(DecodeError::UnknownType { kind: other, id: None }),
        }
    }

    /// The packet, length first.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::packet(kind::VERSION, 256);
        w.u32(self.version);
        for (k, v) in &self.extensions {
            w.string(k).string(v);
        }
        w.finish()
    }

    /// Whether the server offers extension `name`.
    pub fn offers(&self, name: &str) -> bool {
        self.extensions.iter().any(|(k, _)| k == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(r: Response) {
        let p = r.encode();
        assert_eq!(Response::decode(&p[4..]).unwrap(), r);
    }

    #[test]
    fn every_response_round_trips() {
        round_trip(Response::status(1, StatusCode::NoSuchFile, "No such file"));
        round_trip(Response::Handle { id: 2, handle: b"7".to_vec() });
        round_trip(Response::Data { id: 3, data: vec![5; 1000] });
        round_trip(Response::Name {
            id: 4,
            entries: vec![NameEntry { filename: b"a".to_vec(), longname: b"-rw-r--r-- a".to_vec(), attrs: Attrs::default() }],
        });
        round_trip(Response::Attrs { id: 5, attrs: Attrs { size: Some(9), ..Attrs::default() } });
        round_trip(Response::Extended { id: 6, data: Limits { max_packet: 1, max_read: 2, max_write: 3, max_open_handles: 4 }.to_bytes() });
    }

    #[test]
    fn data_filled_in_place_is_a_data_reply() {
        let (p, n) = data_packet::<()>(9, 100, |buf| {
            buf[..4].copy_from_slice(b"abcd");
            Ok(4)
        })
        .unwrap();
        assert_eq!(n, 4);
        assert_eq!(Response::decode(&p[4..]).unwrap(), Response::Data { id: 9, data: b"abcd".to_vec() });
    }

    #[test]
    fn the_handshake_round_trips() {
        let v = Version { version: 3, extensions: vec![("posix-rename@openssh.com".into(), b"1".to_vec())] };
        assert_eq!(Version::decode(&v.encode()[4..]).unwrap(), v);
        assert!(v.offers("posix-rename@openssh.com"));
        let i = Init { version: 3, extensions: vec![] };
        assert_eq!(Init::decode(&i.encode()[4..]).unwrap(), i);
    }

    #[test]
    fn a_status_without_message_is_read() {
        assert_eq!(
            Response::decode(&[101, 0, 0, 0, 1, 0, 0, 0, 1]).unwrap(),
            Response::Status { id: 1, code: StatusCode::Eof, message: String::new() }
        );
    }

    #[test]
    fn statvfs_round_trips() {
        let s = Statvfs { bsize: 4096, blocks: 10, namemax: 255, ..Statvfs::default() };
        assert_eq!(Statvfs::from_bytes(&s.to_bytes()).unwrap(), s);
    }
}
