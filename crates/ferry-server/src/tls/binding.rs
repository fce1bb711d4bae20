//! What ties a TLS session to the FTP login that started it.
//!
//! Every control connection gets a [`Token`], unique for the life of the
//! server process, and every TLS session it creates (TLS 1.3 tickets,
//! TLS 1.2 tickets and session IDs) carries that token as rustls'
//! resumption data. rustls authenticates that data: a ticket is sealed with
//! the server's ticket key and a session ID only points into the server's
//! own memory, so a client can neither read a token out of a ticket nor
//! forge one. The [`Registry`] remembers, per token, the client address and
//! the user that logged in on that control connection, so a data
//! connection can be judged by the login its TLS session came from.
//!
//! Tickets made on a data connection inherit the token of the session that
//! connection resumed, never the token of the login it serves: someone who
//! connects to a passive port with a ticket of their own, or with none,
//! and is refused, must not leave with a ticket of the victim's login. A
//! data connection therefore starts with [`UNBOUND`] resumption data, and
//! the data-connection ticket and session stores below put the resumed
//! session's token into each session value they seal ([`inherit`]).
//!
//! rustls 0.23 hands the resumption data back only for TLS 1.3
//! (`received_resumption_data` is never set on TLS 1.2 resumptions; fixed
//! upstream after 0.23). So the same stores also read the token out of the
//! session value they give rustls to resume ([`capturing`]).

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustls::server::{ProducesTickets, StoresServerSessions};

/// Names one control connection for the life of the server process.
/// Tokens need to be unique, not secret: rustls guarantees the integrity of
/// the resumption data that carries them.
pub(crate) type Token = u64;

/// Marks resumption data as ferryd's, version 1.
const MAGIC: [u8; 4] = *b"fry1";
const DATA_LEN: usize = MAGIC.len() + 8;

/// The resumption data a data connection starts with: no login. A session
/// that keeps it (one made by a data connection's full handshake) never
/// opens a data connection while reuse is required.
pub(crate) const UNBOUND: [u8; DATA_LEN] = *b"fry0\0\0\0\0\0\0\0\0";

/// Ended logins whose tickets are still honoured for other logins of the
/// same user and address, at most.
const MAX_ENDED: usize = 4096;

/// How long an ended login's tickets stay good for other logins: the
/// server's tickets are accepted for at most twice the ticket key's 6-hour
/// rotation period.
const MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);

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

#[derive(Clone, Copy)]
enum Capture {
    Off,
    Listening,
    Found(Token),
}

thread_local! {
    /// Set while this thread runs a data connection's handshake step.
    static CAPTURE: Cell<Capture> = const { Cell::new(Capture::Off) };
}

/// Run one step of a data connection's handshake. `noted` is the token of
/// the TLS session the connection resumes, once known: the ticket and
/// session stores note it when they give rustls a session to resume, and
/// seal it into sessions they store for the connection. rustls is sans-IO:
/// it consults the stores synchronously inside the step, on this thread,
/// so a thread-local slot set around each step sees exactly this
/// connection's lookups.
pub(crate) fn capturing<R>(noted: &mut Option<Token>, step: impl FnOnce() -> R) -> R {
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            CAPTURE.with(|c| c.set(Capture::Off));
        }
    }
    CAPTURE.with(|c| c.set(noted.map_or(Capture::Listening, Capture::Found)));
    let _off = Off;
    let out = step();
    if let Capture::Found(t) = CAPTURE.with(Cell::get) {
        *noted = Some(t);
    }
    out
}

/// A session value about to be sealed for a data connection: give it the
/// token of the session this connection resumed (it was [`UNBOUND`]).
fn inherit(mut plain: Vec<u8>) -> Vec<u8> {
    if let Capture::Found(t) = CAPTURE.with(Cell::get)
        && let Some(at) = data_in_session_value(&plain)
        && plain[at.clone()] == UNBOUND
    {
        plain[at].copy_from_slice(&resumption_data(t));
    }
    plain
}

fn note(plain: &[u8]) {
    CAPTURE.with(|c| {
        if !matches!(c.get(), Capture::Off)
            && let Some(t) = token_in_session_value(plain)
        {
            c.set(Capture::Found(t));
        }
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

/// Data connections' ticket key use: resume, noting the ticket's token;
/// new tickets inherit it.
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
        self.0.encrypt(&inherit(plain.to_vec()))
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let plain = self.0.decrypt(cipher)?;
        note(&plain);
        Some(plain)
    }
}

/// Data connections' session cache use: resume, noting the token; new
/// sessions inherit it.
#[derive(Debug)]
pub(crate) struct NotingSessions(pub(crate) Arc<dyn StoresServerSessions>);

impl StoresServerSessions for NotingSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.0.put(key, inherit(value))
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

struct Login {
    ip: IpAddr,
    /// The user last logged in on this control connection.
    user: Option<Arc<str>>,
    ended: bool,
}

#[derive(Default)]
struct State {
    logins: HashMap<Token, Login>,
    /// Ended logins that logged in, oldest first.
    ended: VecDeque<(Token, Instant)>,
}

/// The control connections of one server and who they are, while their TLS
/// sessions can still be offered: live ones, and those that logged in and
/// ended less than [`MAX_AGE`] ago (at most [`MAX_ENDED`] of them).
#[derive(Default)]
pub(crate) struct Registry {
    state: Mutex<State>,
    next: AtomicU64,
    changed: tokio::sync::Notify,
}

/// Why a data connection's TLS session was refused.
pub(crate) type Refusal = &'static str;

enum Verdict {
    Admit,
    Refuse(Refusal),
    /// Issued to a login from the same address that has not finished
    /// logging in yet (a client sharing one session cache between its
    /// control connections can offer a new one's ticket at once).
    Wait,
}

impl Registry {
    fn state(&self) -> MutexGuard<'_, State> {
        // Plain data with no invariant a panic could break half-way.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new control connection from `ip`.
    pub(crate) fn open(&self, ip: IpAddr) -> Token {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        self.state().logins.insert(token, Login { ip: ip.to_canonical(), user: None, ended: false });
        token
    }

    /// `token`'s control connection logged in as `user`.
    pub(crate) fn logged_in(&self, token: Token, user: &str) {
        if let Some(login) = self.state().logins.get_mut(&token) {
            login.user = Some(user.into());
        }
        self.changed.notify_waiters();
    }

    /// `token`'s control connection ended. Its sessions stay good for the
    /// same user's other logins from the same address for a while; one that
    /// never logged in is forgotten at once.
    pub(crate) fn close(&self, token: Token) {
        let now = Instant::now();
        {
            let mut state = self.state();
            match state.logins.get_mut(&token) {
                Some(login) if login.user.is_some() => {
                    login.ended = true;
                    state.ended.push_back((token, now));
                }
                Some(_) => {
                    state.logins.remove(&token);
                }
                None => {}
            }
            prune(&mut state, now);
        }
        self.changed.notify_waiters();
    }

    fn verdict(&self, own: Token, issued_to: Token) -> Verdict {
        if own == issued_to {
            return Verdict::Admit;
        }
        let mut state = self.state();
        prune(&mut state, Instant::now());
        let (Some(mine), Some(theirs)) = (state.logins.get(&own), state.logins.get(&issued_to)) else {
            return Verdict::Refuse("it resumed a TLS session of a login this server no longer knows");
        };
        if theirs.ip != mine.ip {
            return Verdict::Refuse("it resumed a TLS session issued to another address");
        }
        match (&mine.user, &theirs.user) {
            (Some(a), Some(b)) if a == b => Verdict::Admit,
            (Some(_), Some(_)) => Verdict::Refuse("it resumed a TLS session of another user's login"),
            (Some(_), None) if !theirs.ended => Verdict::Wait,
            _ => Verdict::Refuse("it resumed a TLS session of a login that is not logged in"),
        }
    }

    /// May the data connection of `own`'s login use a TLS session issued to
    /// `issued_to`'s? Yes for its own, and for another login of the same
    /// user from the same address. A login that is still in progress is
    /// waited for, up to `patience`.
    pub(crate) async fn admit(&self, own: Token, issued_to: Token, patience: Duration) -> Result<(), Refusal> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Registered before looking, so a login in between is not missed.
            changed.as_mut().enable();
            match self.verdict(own, issued_to) {
                Verdict::Admit => return Ok(()),
                Verdict::Refuse(why) => return Err(why),
                Verdict::Wait => {
                    if tokio::time::timeout_at(deadline, changed).await.is_err() {
                        return Err("it resumed a TLS session of a login that is not logged in");
                    }
                }
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().logins.len()
    }
}

fn prune(state: &mut State, now: Instant) {
    while let Some(&(token, at)) = state.ended.front() {
        if state.ended.len() <= MAX_ENDED && now.duration_since(at) < MAX_AGE {
            break;
        }
        state.ended.pop_front();
        state.logins.remove(&token);
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

    #[test]
    fn sessions_sealed_for_a_data_connection_inherit_the_resumed_token() {
        let value = |data: &[u8]| {
            let mut v = b"fields".to_vec();
            v.extend_from_slice(&(DATA_LEN as u16).to_be_bytes());
            v.extend_from_slice(data);
            v.extend_from_slice(&[9u8; 12]);
            v
        };
        // Outside a data connection's handshake, nothing changes.
        assert_eq!(inherit(value(&UNBOUND)), value(&UNBOUND));
        // A full handshake: still unbound.
        let mut noted = None;
        assert_eq!(capturing(&mut noted, || inherit(value(&UNBOUND))), value(&UNBOUND));
        // Resuming login 7's session: noted, and inherited by new ones,
        // also in a later step of the same handshake.
        capturing(&mut noted, || note(&value(&resumption_data(7))));
        assert_eq!(noted, Some(7));
        assert_eq!(capturing(&mut noted, || inherit(value(&UNBOUND))), value(&resumption_data(7)));
        // A login's own resumption data is never rewritten.
        assert_eq!(capturing(&mut noted, || inherit(value(&resumption_data(3)))), value(&resumption_data(3)));
    }

    #[tokio::test]
    async fn same_user_and_address_share_sessions() {
        let r = Registry::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (a, b) = (r.open(ip), r.open("::ffff:192.0.2.1".parse().unwrap()));
        let other_ip = r.open("192.0.2.2".parse().unwrap());
        let patience = Duration::from_millis(50);
        r.logged_in(a, "alice");
        assert_eq!(r.admit(a, a, patience).await, Ok(()));
        // b has not logged in: waited for, then refused.
        assert!(r.admit(a, b, patience).await.is_err());
        r.logged_in(b, "alice");
        r.logged_in(other_ip, "alice");
        assert_eq!(r.admit(a, b, patience).await, Ok(()));
        assert!(r.admit(a, other_ip, patience).await.is_err());
        // Ended logins keep counting; never-logged-in ones are forgotten.
        r.close(b);
        assert_eq!(r.admit(a, b, patience).await, Ok(()));
        let c = r.open(ip);
        r.close(c);
        assert!(r.admit(a, c, patience).await.is_err());
        r.logged_in(b, "bob");
        let d = r.open(ip);
        r.logged_in(d, "bob");
        assert!(r.admit(a, d, patience).await.is_err(), "another user's login");
    }

    #[tokio::test]
    async fn a_login_in_progress_is_waited_for() {
        let r = Arc::new(Registry::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (a, b) = (r.open(ip), r.open(ip));
        r.logged_in(a, "alice");
        let r2 = r.clone();
        let later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            r2.logged_in(b, "alice");
        });
        assert_eq!(r.admit(a, b, Duration::from_secs(20)).await, Ok(()));
        later.await.unwrap();
    }

    #[test]
    fn ended_logins_are_bounded() {
        let r = Registry::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..MAX_ENDED + 100 {
            let t = r.open(ip);
            r.logged_in(t, "alice");
            r.close(t);
        }
        assert_eq!(r.len(), MAX_ENDED);
        let mut state = r.state();
        prune(&mut state, Instant::now() + MAX_AGE);
        assert!(state.logins.is_empty() && state.ended.is_empty());
    }
}
