//! What ties a TLS session to the FTP login that started it.
//!
//! Every control connection gets a [`Token`], unique for the life of the
//! server process, and every TLS session it creates (TLS 1.3 tickets,
//! TLS 1.2 tickets and session IDs) carries that token as rustls'
//! resumption data. rustls authenticates that data: a ticket is sealed with
//! the server's ticket key and a session ID only points into the server's
//! own memory, so a client can neither read a token out of a ticket nor
//! forge one. The `Registry` remembers, per token, the client address and
//! the user that logged in on that control connection, so a data
//! connection can be judged by the login its TLS session came from
//! (`registry.rs`).
//!
//! A data connection's sessions carry a token of their own, fresh for each
//! data connection (`Pending`). Once its handshake has resumed a session,
//! the registry learns that this token stands for the login that session
//! stands for (`Registry::admit`), whether the connection is then
//! admitted or not: its client has proved it holds that session's secret,
//! so what it leaves with is worth no more than what it came with. A
//! connection that did not resume leaves its token unknown, and whatever
//! it handed out opens nothing. This must be decided from the session
//! rustls resumed, after the handshake, never from the sessions it looked
//! at: rustls looks a session up before it checks that it may resume it
//! (same cipher suite, same server name: RFC 6066 and 8446) and quietly
//! makes a full handshake when it may not, so a session copied off the
//! wire and offered with another cipher suite is looked up but never
//! resumed, and proves nothing. A client may offer a data connection's
//! session while the server is still judging that connection (its tickets
//! arrive as its handshake ends); a pending token is waited for.
//!
//! rustls 0.23 hands the resumption data back only for TLS 1.3
//! (`received_resumption_data` is never set on TLS 1.2 resumptions; fixed
//! upstream after 0.23). So the data connections' ticket and session
//! stores also read the token out of the session value they give rustls to
//! resume ([`capturing`]); it is used only for a handshake that did resume,
//! and a TLS 1.2 handshake looks up one session at most.

use std::cell::Cell;
use std::sync::Arc;

use rustls::server::{ProducesTickets, StoresServerSessions};

/// Names one control connection for the life of the server process.
/// Tokens need to be unique, not secret: rustls guarantees the integrity of
/// the resumption data that carries them.
pub(crate) type Token = u64;

/// Marks resumption data as ferryd's, version 1.
const MAGIC: [u8; 4] = *b"fry1";
const DATA_LEN: usize = MAGIC.len() + 8;

/// The resumption data that binds a TLS session to `token`.
pub(crate) fn resumption_data(token: Token) -> [u8; DATA_LEN] {
    let mut out = [0u8; DATA_LEN];
    out[..MAGIC.len()].copy_from_slice(&MAGIC);
    out[MAGIC.len()..].copy_from_slice(&token.to_be_bytes());
    out
}

/// The token in resumption data written by [`resumption_data`].
pub(crate) fn token_of(data: &[u8]) -> Option<Token> {
    let rest = data.strip_prefix(&MAGIC)?;
    Some(Token::from_be_bytes(rest.try_into().ok()?))
}

/// The token in an encoded rustls session value (the plaintext of a
/// ticket, or a session-cache entry). rustls 0.23 ends the encoding with
/// the resumption data (a 16-bit length and the bytes), the creation time
/// (64 bits) and the ticket age offset (32 bits). Anything else gives
/// `None`, and the data connection is refused: a change in that layout
/// fails closed (and the unit tests below notice it).
fn token_in_session_value(plain: &[u8]) -> Option<Token> {
    token_of(&plain[data_in_session_value(plain)?])
}

/// Where ferryd's resumption data sits in an encoded session value.
fn data_in_session_value(plain: &[u8]) -> Option<std::ops::Range<usize>> {
    const TRAILER: usize = 8 + 4;
    let end = plain.len().checked_sub(TRAILER)?;
    let start = end.checked_sub(DATA_LEN)?;
    let len_at = start.checked_sub(2)?;
    (plain[len_at..start] == (DATA_LEN as u16).to_be_bytes()).then_some(start..end)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Capture {
    Off,
    Listening,
    Found(Token),
    /// Sessions of different logins were looked up: none is trusted.
    Several,
}

thread_local! {
    /// Set while this thread runs a data connection's handshake step.
    static CAPTURE: Cell<Capture> = const { Cell::new(Capture::Off) };
}

/// What the stores saw during a data connection's handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Noted(Option<Capture>);

impl Noted {
    /// The token of the one session rustls was given to resume, if it was
    /// given exactly one. Meaningful only for a handshake that resumed.
    pub(crate) fn token(self) -> Option<Token> {
        match self.0 {
            Some(Capture::Found(t)) => Some(t),
            _ => None,
        }
    }
}

/// Run one step of a data connection's handshake, noting in `noted` the
/// token of the TLS session the ticket or session store gives rustls to
/// resume. rustls is sans-IO: it consults the stores synchronously inside
/// the step, on this thread, so a thread-local slot set around each step
/// sees exactly this connection's lookups.
pub(crate) fn capturing<R>(noted: &mut Noted, step: impl FnOnce() -> R) -> R {
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            CAPTURE.with(|c| c.set(Capture::Off));
        }
    }
    CAPTURE.with(|c| c.set(noted.0.unwrap_or(Capture::Listening)));
    let _off = Off;
    let out = step();
    match CAPTURE.with(Cell::get) {
        Capture::Off | Capture::Listening => {}
        seen => noted.0 = Some(seen),
    }
    out
}

fn note(plain: &[u8]) {
    CAPTURE.with(|c| {
        let seen = match (c.get(), token_in_session_value(plain)) {
            (Capture::Off, _) => return,
            // A value that is not ferryd's: whatever it resumes, it names
            // no login.
            (_, None) => Capture::Several,
            (Capture::Listening, Some(t)) => Capture::Found(t),
            (Capture::Found(a), Some(t)) if a == t => Capture::Found(t),
            (_, Some(_)) => Capture::Several,
        };
        c.set(seen);
    });
}

/// The control connection's ticket key use: issue tickets, never resume.
/// A control connection always makes a full handshake, so each login's
/// TLS sessions carry its own token and no other.
#[derive(Debug)]
pub(crate) struct IssueOnly(pub(crate) Arc<dyn ProducesTickets>);

impl ProducesTickets for IssueOnly {
    fn enabled(&self) -> bool {
        self.0.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.0.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.0.encrypt(plain)
    }
    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// The control connection's session cache use (TLS 1.2 session IDs):
/// store, never resume.
#[derive(Debug)]
pub(crate) struct StoreOnly(pub(crate) Arc<dyn StoresServerSessions>);

impl StoresServerSessions for StoreOnly {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.0.put(key, value)
    }
    fn get(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn take(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn can_cache(&self) -> bool {
        self.0.can_cache()
    }
}

/// Data connections' ticket key use: resume, noting the ticket's token.
#[derive(Debug)]
pub(crate) struct NotingTickets(pub(crate) Arc<dyn ProducesTickets>);

impl ProducesTickets for NotingTickets {
    fn enabled(&self) -> bool {
        self.0.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.0.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.0.encrypt(plain)
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let plain = self.0.decrypt(cipher)?;
        note(&plain);
        Some(plain)
    }
}

/// Data connections' session cache use: resume, noting the token.
#[derive(Debug)]
pub(crate) struct NotingSessions(pub(crate) Arc<dyn StoresServerSessions>);

impl StoresServerSessions for NotingSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.0.put(key, value)
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.0.get(key)?;
        note(&value);
        Some(value)
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.0.take(key)?;
        note(&value);
        Some(value)
    }
    fn can_cache(&self) -> bool {
        self.0.can_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumption_data_round_trips() {
        assert_eq!(token_of(&resumption_data(0x0102_0304_0506_0708)), Some(0x0102_0304_0506_0708));
        assert_eq!(token_of(b""), None);
        assert_eq!(token_of(b"fry1\x01"), None);
        assert_eq!(token_of(b"xxxx\x00\x00\x00\x00\x00\x00\x00\x01"), None);
    }

    #[test]
    fn token_found_at_the_end_of_a_session_value() {
        let mut plain = b"some session fields".to_vec();
        plain.extend_from_slice(&(DATA_LEN as u16).to_be_bytes());
        plain.extend_from_slice(&resumption_data(42));
        plain.extend_from_slice(&[0u8; 12]);
        assert_eq!(token_in_session_value(&plain), Some(42));
        assert_eq!(token_in_session_value(&plain[1..plain.len() - 1]), None);
        assert_eq!(token_in_session_value(b"short"), None);
    }

    fn value(data: &[u8]) -> Vec<u8> {
        let mut v = b"fields".to_vec();
        v.extend_from_slice(&(DATA_LEN as u16).to_be_bytes());
        v.extend_from_slice(data);
        v.extend_from_slice(&[9u8; 12]);
        v
    }

    #[test]
    fn the_stores_note_the_session_looked_up() {
        // Outside a data connection's handshake, nothing is noted.
        note(&value(&resumption_data(1)));
        let mut noted = Noted::default();
        capturing(&mut noted, || ());
        assert_eq!(noted.token(), None);
        // Looked up in one step, still known in the next.
        capturing(&mut noted, || note(&value(&resumption_data(7))));
        capturing(&mut noted, || ());
        assert_eq!(noted.token(), Some(7));
        capturing(&mut noted, || note(&value(&resumption_data(7))));
        assert_eq!(noted.token(), Some(7));
        // Two logins' sessions, or one that is not ferryd's: none is trusted.
        capturing(&mut noted, || note(&value(&resumption_data(8))));
        assert_eq!(noted.token(), None);
        capturing(&mut noted, || note(&value(&resumption_data(7))));
        assert_eq!(noted.token(), None);
        let mut other = Noted::default();
        capturing(&mut other, || note(b"not a session of ferryd's"));
        assert_eq!(other.token(), None);
    }
}
