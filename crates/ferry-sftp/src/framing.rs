//! Packets out of a byte stream: each is a `uint32` length and that many
//! bytes. [`Framer`] collects what arrives and hands out whole packets,
//! refusing any longer than its limit before buffering it.

use crate::DecodeError;

/// Splits a byte stream into packets.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Where unread bytes begin.
    start: usize,
    max: usize,
}

impl Framer {
    /// Packets of at most `max` bytes (not counting the length field).
    pub fn new(max: usize) -> Framer {
        Framer { buf: Vec::new(), start: 0, max }
    }

    /// Add bytes that arrived.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet (type byte first), `Ok(None)` until one has
    /// arrived, or an error for a length over the limit (the stream cannot
    /// be trusted after that: close it).
    pub fn next_packet(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let avail = &self.buf[self.start..];
        if avail.len() < 4 {
            self.compact();
            return Ok(None);
        }
        let len = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if len == 0 {
            return Err(DecodeError::Empty);
        }
        if len > self.max {
            return Err(DecodeError::TooLong { len, max: self.max });
        }
        if avail.len() < 4 + len {
            self.compact();
            return Ok(None);
        }
        let at = self.start + 4;
        self.start = at + len;
        Ok(Some(&self.buf[at..at + len]))
    }

    /// Bytes of a packet begun and not complete.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_split_anywhere_come_out_whole() {
        let mut stream = Vec::new();
        for n in 1..20u8 {
            stream.extend_from_slice(&u32::from(n).to_be_bytes());
            stream.extend(std::iter::repeat_n(n, n as usize));
        }
        for chunk in [1, 3, 7, 64] {
            let mut f = Framer::new(1024);
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                f.extend(c);
                while let Some(p) = f.next_packet().unwrap() {
                    got.push(p.to_vec());
                }
            }
            assert_eq!(got.len(), 19);
            assert!(got.iter().enumerate().all(|(i, p)| p.len() == i + 1 && p.iter().all(|&b| b as usize == i + 1)));
            assert_eq!(f.pending(), 0);
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_buffering() {
        let mut f = Framer::new(100);
        f.extend(&[0, 0, 1, 0]);
        assert_eq!(f.next_packet(), Err(DecodeError::TooLong { len: 256, max: 100 }));
    }
}
