//! The SSH wire encoding SFTP uses (RFC 4251 §5): big-endian `uint32` and
//! `uint64`, and `string` as a `uint32` length followed by that many bytes.

use crate::DecodeError;

/// Reads the fields of one packet, front to back. Every read checks the
/// bytes are there: a truncated packet is an error, never a panic.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Read from `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Take `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// A `byte`.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    /// A `uint32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `uint64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A `string`, as bytes.
    pub fn string(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    /// A `string` that must be UTF-8 (file names, extension names).
    pub fn text(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.string()?).map_err(|_| DecodeError::NotUtf8)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

/// Builds one packet: its length is filled in by [`Writer::finish`].
#[derive(Debug)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A packet of `kind`, with room for `capacity` bytes of body.
    pub fn packet(kind: u8, capacity: usize) -> Writer {
        let mut buf = Vec::with_capacity(capacity + 5);
        buf.extend_from_slice(&[0, 0, 0, 0, kind]);
        Writer { buf }
    }

    /// Append a `byte`.
    pub fn u8(&mut self, v: u8) -> &mut Writer {
        self.buf.push(v);
        self
    }

    /// Append a `uint32`.
    pub fn u32(&mut self, v: u32) -> &mut Writer {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Append a `uint64`.
    pub fn u64(&mut self, v: u64) -> &mut Writer {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Append a `string`.
    pub fn string(&mut self, v: impl AsRef<[u8]>) -> &mut Writer {
        let v = v.as_ref();
        // Lengths past 4 GiB cannot be said; no packet comes near that
        // (the framer caps them far lower).
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(v);
        self
    }

    /// Append raw bytes (an extension's own data).
    pub fn raw(&mut self, v: &[u8]) -> &mut Writer {
        self.buf.extend_from_slice(v);
        self
    }

    /// Reserve a `string` of `len` bytes to be filled in place by the
    /// caller (a `DATA` reply read straight into the packet): returns the
    /// slice to fill.
    pub fn string_space(&mut self, len: usize) -> &mut [u8] {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
        let start = self.buf.len();
        self.buf.resize(start + len, 0);
        &mut self.buf[start..]
    }

    /// Shorten a `string` reserved with [`Writer::string_space`] (the
    /// last field) to `len` bytes.
    pub fn truncate_string(&mut self, reserved: usize, len: usize) {
        let start = self.buf.len() - reserved;
        self.buf.truncate(start + len);
        let at = start - 4;
        self.buf[at..start].copy_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    }

    /// The packet, length first.
    pub fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len() - 4).unwrap_or(u32::MAX);
        self.buf[..4].copy_from_slice(&len.to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut w = Writer::packet(3, 0);
        w.u32(7).u64(1 << 40).string("héllo").u8(9);
        let p = w.finish();
        assert_eq!(&p[..5], &[0, 0, 0, (p.len() - 4) as u8, 3]);
        let mut r = Reader::new(&p[5..]);
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.u64().unwrap(), 1 << 40);
        assert_eq!(r.text().unwrap(), "héllo");
        assert_eq!(r.u8().unwrap(), 9);
        assert_eq!(r.remaining(), 0);
        assert_eq!(r.u8(), Err(DecodeError::Truncated));
    }

    #[test]
    fn a_string_longer_than_the_packet_is_truncated_not_a_panic() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2]);
        assert_eq!(r.string(), Err(DecodeError::Truncated));
    }

    #[test]
    fn reserved_strings_shrink_in_place() {
        let mut w = Writer::packet(103, 0);
        w.u32(1);
        let space = w.string_space(10);
        space[..3].copy_from_slice(b"abc");
        w.truncate_string(10, 3);
        let p = w.finish();
        let mut r = Reader::new(&p[5..]);
        assert_eq!(r.u32().unwrap(), 1);
        assert_eq!(r.string().unwrap(), b"abc");
        assert_eq!(r.remaining(), 0);
    }
}
