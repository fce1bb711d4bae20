//! Framing of the control connection into lines.
//!
//! RFC 959 §4.1.3 says commands end with `<CRLF>`, but real clients sometimes
//! send a bare `<LF>`, so both are accepted. The control connection is a
//! Telnet NVT (RFC 854): `IAC IAC` stands for a literal `0xFF` byte and other
//! `IAC` sequences (the `IAC IP IAC DM` "synch" a client sends before `ABOR`,
//! option negotiation) carry no command text and are removed.
//!
//! Lines longer than the configured limit are refused rather than buffered
//! without bound: a peer that sends a gigabyte without a newline must not be
//! able to make us allocate a gigabyte.

/// Telnet "interpret as command" escape byte.
const IAC: u8 = 0xFF;
/// Telnet option negotiation verbs, each followed by one option byte.
const WILL: u8 = 251;
const DONT: u8 = 254;

/// Default cap on one command line, in bytes (excluding the line end).
///
/// Generous enough for any real path (PATH_MAX is 4096) plus a verb.
pub const DEFAULT_MAX_LINE: usize = 4096 + 16;

/// Why a line could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line exceeded the limit; its bytes up to the next newline are
    /// discarded so that the session can go on.
    #[error("command line longer than {limit} bytes")]
    TooLong {
        /// The limit in force.
        limit: usize,
    },
}

/// Where the decoder is inside a Telnet escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Telnet {
    Data,
    /// Just saw `IAC`.
    Iac,
    /// Saw `IAC WILL|WONT|DO|DONT`; the next byte is the option code.
    Option,
}

/// Incremental decoder: feed it bytes as they arrive, take complete lines out.
///
/// ```
/// use ferry_proto::LineDecoder;
/// let mut d = LineDecoder::new(512);
/// d.feed(b"NOOP\r\nUS");
/// assert_eq!(d.next_line(), Some(Ok(b"NOOP".to_vec())));
/// assert_eq!(d.next_line(), None); // "US" is incomplete
/// d.feed(b"ER anna\n");
/// assert_eq!(d.next_line(), Some(Ok(b"USER anna".to_vec())));
/// ```
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max: usize,
    /// Decoded (IAC-free) bytes of the line being assembled.
    current: Vec<u8>,
    /// Complete lines not yet taken, or errors for over-long ones.
    ready: std::collections::VecDeque<Result<Vec<u8>, LineError>>,
    telnet: Telnet,
    /// True while skipping the rest of an over-long line.
    discarding: bool,
}

impl LineDecoder {
    /// A decoder that refuses lines longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        LineDecoder { max, current: Vec::new(), ready: std::collections::VecDeque::new(), telnet: Telnet::Data, discarding: false }
    }

    /// Append received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match self.telnet {
                Telnet::Iac => {
                    self.telnet = Telnet::Data;
                    match b {
                        IAC => self.push(IAC),
                        WILL..=DONT => self.telnet = Telnet::Option,
                        // IP, DM, AO, AYT, NOP, …: no text.
                        _ => {}
                    }
                }
                Telnet::Option => self.telnet = Telnet::Data,
                Telnet::Data => match b {
                    IAC => self.telnet = Telnet::Iac,
                    b'\n' => self.end_line(),
                    _ => self.push(b),
                },
            }
        }
    }

    fn push(&mut self, b: u8) {
        if self.discarding {
            return;
        }
        // +1 leaves room for the CR that usually precedes LF.
        if self.current.len() > self.max {
            self.current = Vec::new();
            self.discarding = true;
            self.ready.push_back(Err(LineError::TooLong { limit: self.max }));
            return;
        }
        self.current.push(b);
    }

    fn end_line(&mut self) {
        if self.discarding {
            self.discarding = false;
            return;
        }
        let mut line = std::mem::take(&mut self.current);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.max {
            self.ready.push_back(Err(LineError::TooLong { limit: self.max }));
        } else {
            self.ready.push_back(Ok(line));
        }
    }

    /// The next complete line (without its line end), an error for a line
    /// that was too long, or `None` when more input is needed.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, LineError>> {
        let line = self.ready.pop_front();
        if self.ready.is_empty() && self.ready.capacity() > 0 {
            // Lines usually come one at a time; an idle connection should
            // not keep the queue's buffer (servers hold thousands).
            self.ready = std::collections::VecDeque::new();
        }
        line
    }

    /// True when a complete line (or a too-long error) is waiting.
    pub fn has_line(&self) -> bool {
        !self.ready.is_empty()
    }

    /// True when no partial line and no unread line is held.
    ///
    /// Before a TLS upgrade the server checks this: bytes sent after
    /// `AUTH TLS` but before the handshake must not be taken as commands.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty() && self.ready.is_empty() && self.telnet == Telnet::Data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, LineError>> {
        let mut d = LineDecoder::new(max);
        d.feed(input);
        std::iter::from_fn(|| d.next_line()).collect()
    }

    #[test]
    fn crlf_and_bare_lf() {
        assert_eq!(lines(b"USER a\r\nPASS b\nNOOP", 100), vec![Ok(b"USER a".to_vec()), Ok(b"PASS b".to_vec())]);
    }

    #[test]
    fn byte_at_a_time() {
        let mut d = LineDecoder::new(100);
        for b in b"RETR x\r\n" {
            d.feed(&[*b]);
        }
        assert_eq!(d.next_line(), Some(Ok(b"RETR x".to_vec())));
        assert!(d.is_empty());
    }

    #[test]
    fn telnet_synch_before_abor_is_removed() {
        // IAC IP IAC DM ABOR, as ftp(1) sends it.
        assert_eq!(lines(b"\xff\xf4\xff\xf2ABOR\r\n", 100), vec![Ok(b"ABOR".to_vec())]);
        // With the urgent DM byte taken out of band (no SO_OOBINLINE).
        assert_eq!(lines(b"\xff\xf4\xffABOR\r\n", 100).len(), 1);
    }

    #[test]
    fn escaped_iac_is_a_literal_byte_and_options_vanish() {
        assert_eq!(lines(b"MKD a\xff\xffb\xff\xfb\x01\r\n", 100), vec![Ok(b"MKD a\xffb".to_vec())]);
    }

    #[test]
    fn long_line_is_refused_and_the_next_one_works() {
        let mut input = vec![b'A'; 50];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(lines(&input, 10), vec![Err(LineError::TooLong { limit: 10 }), Ok(b"NOOP".to_vec())]);
    }

    #[test]
    fn line_of_exactly_max_is_fine() {
        assert_eq!(lines(b"0123456789\r\n", 10), vec![Ok(b"0123456789".to_vec())]);
        assert_eq!(lines(b"01234567890\r\n", 10), vec![Err(LineError::TooLong { limit: 10 })]);
    }
}
