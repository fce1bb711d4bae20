//! Who each TLS session's token stands for: the logins of one server
//! (client address and user) and the data connections that stand for them
//! (see `binding.rs` for how tokens travel in TLS sessions, and `tls.rs`
//! for the rules).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::binding::Token;

/// Ended logins whose tickets are still honoured for other logins of the
/// same user and address, at most.
const MAX_ENDED: usize = 4096;

/// How long an ended login's tickets stay good for other logins: the
/// server's tickets are accepted for at most twice the ticket key's 6-hour
/// rotation period.
const MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);

/// Data connections whose sessions stand for one login, at most (the one
/// least recently resumed from is forgotten first). rustls clients keep their 8
/// newest tickets and Go's crypto/tls its newest session, so a client
/// offers a session of its last few data connections; OpenSSL and GnuTLS
/// clients may resume one session again and again, which keeps it fresh.
const MAX_STAND_INS: usize = 32;

struct Login {
    ip: IpAddr,
    /// The user last logged in on this control connection.
    user: Option<Arc<str>>,
    ended: bool,
    /// Data connections whose sessions stand for this login (they resumed
    /// one of its sessions), least recently resumed from first; at most
    /// [`MAX_STAND_INS`].
    stand_ins: VecDeque<Token>,
}

/// What a data connection's token stands for.
#[derive(Clone, Copy)]
enum Stand {
    /// The connection's handshake is under way, or the session it resumed
    /// is of a data connection that is itself pending.
    Pending,
    /// It resumed a session of this login (a control connection's token).
    For(Token),
}

#[derive(Default)]
struct State {
    logins: HashMap<Token, Login>,
    /// Ended logins that logged in, oldest first.
    ended: VecDeque<(Token, Instant)>,
    /// Data connections' tokens: pending ones, and the stand-ins of the
    /// logins above.
    data: HashMap<Token, Stand>,
}

impl State {
    fn remove_login(&mut self, token: Token) {
        if let Some(login) = self.logins.remove(&token) {
            for t in login.stand_ins {
                self.data.remove(&t);
            }
        }
    }

    /// `data`'s connection resumed a session of `login` that came from
    /// `resumed` (`login` itself, or one of its stand-ins): from now on
    /// `data` stands for `login` too, and `resumed` is fresh again. False
    /// if nothing changed (already done, or `login` is gone).
    fn stand_in(&mut self, data: Token, login: Token, resumed: Token) -> bool {
        if !matches!(self.data.get(&data), Some(Stand::Pending)) {
            return false;
        }
        let Some(l) = self.logins.get_mut(&login) else { return false };
        if resumed != login
            && let Some(at) = l.stand_ins.iter().position(|&t| t == resumed)
        {
            l.stand_ins.remove(at);
            l.stand_ins.push_back(resumed);
        }
        l.stand_ins.push_back(data);
        self.data.insert(data, Stand::For(login));
        while l.stand_ins.len() > MAX_STAND_INS {
            if let Some(old) = l.stand_ins.pop_front() {
                self.data.remove(&old);
            }
        }
        true
    }
}

/// The control connections of one server and who they are, while their TLS
/// sessions can still be offered: live ones, and those that logged in and
/// ended less than [`MAX_AGE`] ago (at most [`MAX_ENDED`] of them); and the
/// data connections that stand for them (at most [`MAX_STAND_INS`] each,
/// and those being judged).
#[derive(Default)]
pub(crate) struct Registry {
    state: Mutex<State>,
    next: AtomicU64,
    changed: tokio::sync::Notify,
}

/// Why a data connection's TLS session was refused.
pub(crate) type Refusal = &'static str;

const UNKNOWN: Refusal = "it resumed a TLS session of no login this server knows";
const NOT_LOGGED_IN: Refusal = "it resumed a TLS session of a login that is not logged in";
const UNSETTLED: Refusal = "it resumed a TLS session of a data connection that is not settled";

enum Verdict {
    Admit,
    Refuse(Refusal),
    /// The session came from a login or a data connection that is not
    /// settled yet: a login from the same address that has not finished
    /// logging in (a client sharing one session cache between its control
    /// connections can offer a new one's ticket at once), or a data
    /// connection still being judged. Refused for this reason if it does
    /// not settle in time.
    Wait(Refusal),
}

/// A data connection's token until the session it resumed is known.
/// Dropped before that (a full handshake, a failed or abandoned one, or a
/// session of no login), the token is forgotten, and every session sealed
/// with it opens nothing.
pub(crate) struct Pending<'a> {
    registry: &'a Registry,
    token: Token,
}

impl Pending<'_> {
    /// The token, for the connection's resumption data.
    pub(crate) fn token(&self) -> Token {
        self.token
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.registry.forget(self.token);
    }
}

impl Registry {
    fn state(&self) -> MutexGuard<'_, State> {
        // Plain data with no invariant a panic could break half-way.
        crate::sync::lock(&self.state)
    }

    fn token(&self) -> Token {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// A new control connection from `ip`.
    pub(crate) fn open(&self, ip: IpAddr) -> Token {
        let token = self.token();
        let login = Login { ip: ip.to_canonical(), user: None, ended: false, stand_ins: VecDeque::new() };
        self.state().logins.insert(token, login);
        token
    }

    /// A new data connection, for its handshake and [`Registry::admit`].
    pub(crate) fn data_connection(&self) -> Pending<'_> {
        let token = self.token();
        self.state().data.insert(token, Stand::Pending);
        Pending { registry: self, token }
    }

    fn forget(&self, data: Token) {
        let mut state = self.state();
        if matches!(state.data.get(&data), Some(Stand::Pending)) {
            state.data.remove(&data);
            drop(state);
            self.changed.notify_waiters();
        }
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
                Some(_) => state.remove_login(token),
                None => {}
            }
            prune(&mut state, now);
        }
        self.changed.notify_waiters();
    }

    fn verdict(&self, own: Token, issued_to: Token, data: &Pending<'_>) -> Verdict {
        let mut state = self.state();
        prune(&mut state, Instant::now());
        let login = match state.data.get(&issued_to) {
            Some(Stand::Pending) => return Verdict::Wait(UNSETTLED),
            Some(Stand::For(login)) => *login,
            None => issued_to,
        };
        // The connection resumed that session, so its client holds the
        // session's secret: the sessions it hands out may stand for the same
        // login, whether this connection is admitted or not. (Not before
        // the handshake has resumed: see the module documentation.)
        let settled = state.stand_in(data.token, login, issued_to);
        let verdict = judge(&state, own, login);
        drop(state);
        if settled {
            self.changed.notify_waiters();
        }
        verdict
    }

    /// May the data connection of `own`'s login use the TLS session that it
    /// resumed, issued to `issued_to` (a login, or a data connection
    /// standing for one)? Yes for its own, and for another login of the
    /// same user from the same address. A login or data connection that is
    /// still in progress is waited for, up to `patience`. Call only once
    /// the handshake has resumed that session: `data`'s sessions then stand
    /// for the same login as `issued_to`'s, admitted or not.
    pub(crate) async fn admit(&self, own: Token, issued_to: Token, data: &Pending<'_>, patience: Duration) -> Result<(), Refusal> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Registered before looking, so a change in between is not missed.
            changed.as_mut().enable();
            match self.verdict(own, issued_to, data) {
                Verdict::Admit => return Ok(()),
                Verdict::Refuse(why) => return Err(why),
                Verdict::Wait(why) => {
                    if tokio::time::timeout_at(deadline, changed).await.is_err() {
                        return Err(why);
                    }
                }
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().logins.len()
    }

    #[cfg(test)]
    fn data_len(&self) -> usize {
        self.state().data.len()
    }
}

/// May `own`'s data connection use a session of `login`'s?
fn judge(state: &State, own: Token, login: Token) -> Verdict {
    if own == login {
        return Verdict::Admit;
    }
    let (Some(mine), Some(theirs)) = (state.logins.get(&own), state.logins.get(&login)) else {
        return Verdict::Refuse(UNKNOWN);
    };
    if theirs.ip != mine.ip {
        return Verdict::Refuse("it resumed a TLS session issued to another address");
    }
    match (&mine.user, &theirs.user) {
        (Some(a), Some(b)) if a == b => Verdict::Admit,
        (Some(_), Some(_)) => Verdict::Refuse("it resumed a TLS session of another user's login"),
        (Some(_), None) if !theirs.ended => Verdict::Wait(NOT_LOGGED_IN),
        _ => Verdict::Refuse(NOT_LOGGED_IN),
    }
}

fn prune(state: &mut State, now: Instant) {
    while let Some(&(token, at)) = state.ended.front() {
        if state.ended.len() <= MAX_ENDED && now.duration_since(at) < MAX_AGE {
            break;
        }
        state.ended.pop_front();
        state.remove_login(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data connection's sessions stand for the login whose session it
    /// resumed, admitted or not; those of one that did not resume (rustls
    /// fell back to a full handshake, say) or that was dropped half-way
    /// open nothing.
    #[tokio::test]
    async fn a_data_connection_stands_for_the_login_whose_session_it_resumed() {
        let r = Registry::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (victim, attacker) = (r.open(ip), r.open(ip));
        r.logged_in(victim, "alice");
        r.logged_in(attacker, "bob");
        let patience = Duration::from_millis(50);
        // The attacker's data connection looked up the victim's session but
        // did not resume it: it never reaches `admit`, and its token stays
        // unknown.
        let full = r.data_connection();
        let full_token = full.token();
        drop(full);
        for login in [victim, attacker] {
            assert_eq!(r.admit(login, full_token, &r.data_connection(), patience).await, Err(UNKNOWN));
        }
        // A data connection being judged: waited for, then refused when it
        // is dropped...
        let judged = r.data_connection();
        let d = r.data_connection();
        let (result, ()) = tokio::join!(r.admit(victim, judged.token(), &d, Duration::from_secs(20)), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(judged);
        });
        assert_eq!(result, Err(UNKNOWN));
        drop(d);
        // ... or admitted when it resumes the victim's session.
        let judged = r.data_connection();
        let d = r.data_connection();
        let (result, first) = tokio::join!(r.admit(victim, judged.token(), &d, Duration::from_secs(20)), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(r.admit(victim, victim, &judged, patience).await, Ok(()));
            judged.token()
        });
        assert_eq!(result, Ok(()));
        let second = d.token();
        drop(d);
        // Data connections that resume those sessions in turn stand for the
        // victim too: the victim's data connections take them, the
        // attacker's do not.
        let third = r.data_connection();
        assert_eq!(r.admit(victim, second, &third, patience).await, Ok(()));
        let another_user = Err("it resumed a TLS session of another user's login");
        for t in [first, second, third.token()] {
            assert_eq!(r.admit(attacker, t, &r.data_connection(), patience).await, another_user);
        }
        // Refused (another user's session), but resumed: its sessions stand
        // for the victim, no more.
        let refused = r.data_connection();
        assert_eq!(r.admit(attacker, victim, &refused, patience).await, another_user);
        let refused = refused.token();
        assert_eq!(r.admit(attacker, refused, &r.data_connection(), patience).await, another_user);
        assert_eq!(r.admit(victim, refused, &r.data_connection(), patience).await, Ok(()));
        // A settled token is not pending any more: forgetting it changes
        // nothing.
        r.forget(first);
        assert_eq!(r.admit(victim, first, &r.data_connection(), patience).await, Ok(()));
    }

    #[tokio::test]
    async fn stand_ins_are_bounded_and_go_with_their_login() {
        let r = Registry::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let login = r.open(ip);
        r.logged_in(login, "alice");
        let patience = Duration::from_millis(50);
        let kept = r.data_connection();
        assert_eq!(r.admit(login, login, &kept, patience).await, Ok(()));
        let (kept, mut first) = (kept.token(), None);
        for i in 0..MAX_STAND_INS * 3 {
            let d = r.data_connection();
            assert_eq!(r.admit(login, login, &d, patience).await, Ok(()));
            first.get_or_insert(d.token());
            // One session resumed again and again (as OpenSSL and GnuTLS
            // clients do) stays good.
            if i % 8 == 0 {
                let d = r.data_connection();
                assert_eq!(r.admit(login, kept, &d, patience).await, Ok(()), "round {i}");
            }
        }
        assert_eq!(r.data_len(), MAX_STAND_INS);
        let d = r.data_connection();
        assert_eq!(r.admit(login, first.unwrap(), &d, patience).await, Err(UNKNOWN), "the least recently used");
        drop(d);
        // The login ends and is forgotten: so are its stand-ins.
        r.close(login);
        prune(&mut r.state(), Instant::now() + MAX_AGE);
        assert_eq!((r.len(), r.data_len()), (0, 0));
    }

    #[tokio::test]
    async fn same_user_and_address_share_sessions() {
        let r = Registry::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (a, b) = (r.open(ip), r.open("::ffff:192.0.2.1".parse().unwrap()));
        let other_ip = r.open("192.0.2.2".parse().unwrap());
        let patience = Duration::from_millis(50);
        r.logged_in(a, "alice");
        assert_eq!(r.admit(a, a, &r.data_connection(), patience).await, Ok(()));
        // b has not logged in: waited for, then refused.
        assert!(r.admit(a, b, &r.data_connection(), patience).await.is_err());
        r.logged_in(b, "alice");
        r.logged_in(other_ip, "alice");
        assert_eq!(r.admit(a, b, &r.data_connection(), patience).await, Ok(()));
        assert!(r.admit(a, other_ip, &r.data_connection(), patience).await.is_err());
        // Ended logins keep counting; never-logged-in ones are forgotten.
        r.close(b);
        assert_eq!(r.admit(a, b, &r.data_connection(), patience).await, Ok(()));
        let c = r.open(ip);
        r.close(c);
        assert!(r.admit(a, c, &r.data_connection(), patience).await.is_err());
        r.logged_in(b, "bob");
        let d = r.open(ip);
        r.logged_in(d, "bob");
        assert!(r.admit(a, d, &r.data_connection(), patience).await.is_err(), "another user's login");
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
        assert_eq!(r.admit(a, b, &r.data_connection(), Duration::from_secs(20)).await, Ok(()));
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
