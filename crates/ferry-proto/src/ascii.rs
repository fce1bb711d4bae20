//! `TYPE A` line-end conversion (RFC 959 §3.1.1.1).
//!
//! On the wire, text lines end in CRLF; on a Unix disk they end in LF. Both
//! converters are streaming: a chunk boundary between CR and LF is carried in
//! a single bit of state, so output does not depend on how input was split.

/// Disk to wire: each LF not already preceded by CR becomes CRLF.
#[derive(Debug, Default, Clone)]
pub struct ToWire {
    last_was_cr: bool,
}

impl ToWire {
    /// Convert one chunk, appending to `out`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 16);
        let mut start = 0;
        for (i, &b) in input.iter().enumerate() {
            if b == b'\n' {
                let prev_cr = if i == 0 { self.last_was_cr } else { input[i - 1] == b'\r' };
                if !prev_cr {
                    out.extend_from_slice(&input[start..i]);
                    out.push(b'\r');
                    start = i;
                }
            }
        }
        out.extend_from_slice(&input[start..]);
        if let Some(&last) = input.last() {
            self.last_was_cr = last == b'\r';
        }
    }

    /// How many bytes `input` (a whole file) takes on the wire: what `SIZE`
    /// reports in ASCII mode (RFC 3659 §4).
    pub fn wire_len(&mut self, input: &[u8]) -> u64 {
        let mut n = input.len() as u64;
        for (i, &b) in input.iter().enumerate() {
            if b == b'\n' {
                let prev_cr = if i == 0 { self.last_was_cr } else { input[i - 1] == b'\r' };
                n += u64::from(!prev_cr);
            }
        }
        if let Some(&last) = input.last() {
            self.last_was_cr = last == b'\r';
        }
        n
    }
}

/// Wire to disk: CRLF becomes LF; a lone CR is kept.
#[derive(Debug, Default, Clone)]
pub struct FromWire {
    pending_cr: bool,
}

impl FromWire {
    /// Convert one chunk, appending to `out`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + 1);
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                if b != b'\n' {
                    out.push(b'\r');
                }
            }
            if b == b'\r' {
                self.pending_cr = true;
            } else {
                out.push(b);
            }
        }
    }

    /// Call at end of input: emits a CR held back at the very end.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_wire_split(input: &[u8], at: usize) -> Vec<u8> {
        let mut c = ToWire::default();
        let mut out = Vec::new();
        c.convert(&input[..at], &mut out);
        c.convert(&input[at..], &mut out);
        out
    }

    #[test]
    fn to_wire_any_split() {
        let input = b"a\nb\r\nc\n\n";
        for at in 0..=input.len() {
            assert_eq!(to_wire_split(input, at), b"a\r\nb\r\nc\r\n\r\n", "split at {at}");
        }
        assert_eq!(ToWire::default().wire_len(input), 11);
    }

    #[test]
    fn from_wire_any_split() {
        let input = b"a\r\nb\rc\r\n\r";
        for at in 0..=input.len() {
            let mut c = FromWire::default();
            let mut out = Vec::new();
            c.convert(&input[..at], &mut out);
            c.convert(&input[at..], &mut out);
            c.finish(&mut out);
            assert_eq!(out, b"a\nb\rc\n\r", "split at {at}");
        }
    }
}
