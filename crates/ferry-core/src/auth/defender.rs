//! Brute-force and flood defences, per client address: a cap on
//! simultaneous sessions, and a ban after too many failed logins in a time
//! window, counted across user names (so a password sprayer that tries one
//! password on many accounts is caught too).
//!
//! Time is passed in, never read, so the rules are tested without sleeping
//! (only a ban's event, for the outside world, carries the wall clock).
//! A defender made [`with_events`](Defender::with_events) emits each ban
//! as it decides it. An administrator sees the bans in force
//! ([`Defender::bans`]) and may lift one ([`Defender::unban`]).
//!
//! An address is counted in its canonical form: a dual-stack socket sees
//! an IPv4 client as `::ffff:192.0.2.1`, a plain IPv4 socket (the admin
//! listener, another `--bind`) as `192.0.2.1`, and one client must earn
//! one count and one ban whichever door it knocks on.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::events::Events;

/// The limits in force.
#[derive(Debug, Clone)]
pub struct DefenderConfig {
    /// Sessions one address may hold at once.
    pub max_sessions_per_ip: u32,
    /// Failed logins from one address, within `window`, that earn a ban.
    pub ban_after: u32,
    /// How far back failures count.
    pub window: Duration,
    /// How long a ban lasts.
    pub ban_time: Duration,
}

/// The default cap on sessions per address. Real clients open many at
/// once (`ferry get --segments 16`, lftp's `mirror --parallel`, rclone's
/// transfers, each with its control connections), and an office behind
/// one NAT address looks like one client; abuse is bounded by bans, the
/// login deadline and `max_sessions` instead.
pub const DEFAULT_MAX_SESSIONS_PER_IP: u32 = 64;

impl Default for DefenderConfig {
    fn default() -> Self {
        DefenderConfig {
            max_sessions_per_ip: DEFAULT_MAX_SESSIONS_PER_IP,
            ban_after: 10,
            window: Duration::from_secs(600),
            ban_time: Duration::from_secs(900),
        }
    }
}

#[derive(Debug, Default)]
struct Record {
    sessions: u32,
    failures: VecDeque<Instant>,
    banned_until: Option<Instant>,
}

/// Why a connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address is banned until the given time.
    Banned,
    /// The address already holds the maximum number of sessions (the
    /// limit in force).
    TooManySessions(u32),
}

impl Refusal {
    /// The reply text (and log message): what was hit, and for a limit,
    /// the setting that raises it.
    pub fn text(&self) -> String {
        match self {
            Refusal::Banned => "Too many failed logins from your address; try again later.".to_owned(),
            Refusal::TooManySessions(limit) => format!("Too many connections from your address (limit {limit}: max-sessions-per-ip)."),
        }
    }
}

/// A ban in force, as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanView {
    /// The banned address.
    pub address: IpAddr,
    /// When the ban ends (on the wall clock, for showing).
    pub until: SystemTime,
}

/// Shared per-address bookkeeping.
#[derive(Debug)]
pub struct Defender {
    config: DefenderConfig,
    records: Mutex<HashMap<IpAddr, Record>>,
    /// Where bans are told, if anywhere.
    events: Option<Arc<Events>>,
}

/// Held for the life of a session; frees its slot on drop.
#[derive(Debug)]
pub struct SessionSlot {
    defender: Arc<Defender>,
    ip: IpAddr,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut records = crate::sync::lock(&self.defender.records);
        if let Some(r) = records.get_mut(&self.ip) {
            r.sessions = r.sessions.saturating_sub(1);
            if r.sessions == 0 && r.failures.is_empty() && r.banned_until.is_none() {
                records.remove(&self.ip);
            }
        }
    }
}

impl Defender {
    /// A defender with these limits.
    pub fn new(config: DefenderConfig) -> Arc<Defender> {
        Arc::new(Defender { config, records: Mutex::new(HashMap::new()), events: None })
    }

    /// A defender that emits a ban event on `events` for every ban.
    pub fn with_events(config: DefenderConfig, events: Arc<Events>) -> Arc<Defender> {
        Arc::new(Defender { config, records: Mutex::new(HashMap::new()), events: Some(events) })
    }

    /// Admit a new connection from `ip`, or say why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<SessionSlot, Refusal> {
        let ip = ip.to_canonical();
        let mut records = crate::sync::lock(&self.records);
        let r = records.entry(ip).or_default();
        if r.banned_until.is_some_and(|t| t > now) {
            return Err(Refusal::Banned);
        }
        if r.sessions >= self.config.max_sessions_per_ip {
            return Err(Refusal::TooManySessions(self.config.max_sessions_per_ip));
        }
        r.sessions += 1;
        Ok(SessionSlot { defender: self.clone(), ip })
    }

    /// Count a failed login; true if `ip` is now banned (and the ban
    /// event emitted).
    pub fn failed_login(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = ip.to_canonical();
        let mut records = crate::sync::lock(&self.records);
        let r = records.entry(ip).or_default();
        while r.failures.front().is_some_and(|t| now.duration_since(*t) > self.config.window) {
            r.failures.pop_front();
        }
        r.failures.push_back(now);
        if (r.failures.len() as u32) < self.config.ban_after {
            return false;
        }
        // A ban time too long for the clock is a very long ban, not a
        // panic with the lock held.
        let very_long = Duration::from_secs(100 * 365 * 86_400);
        r.banned_until = now.checked_add(self.config.ban_time).or_else(|| now.checked_add(very_long));
        r.failures.clear();
        drop(records);
        // Subscribers are told outside the lock: none of them may hold up
        // the next connection's admission.
        if let Some(events) = &self.events {
            let wall = SystemTime::now();
            events.ban(ip, wall.checked_add(self.config.ban_time).or_else(|| wall.checked_add(very_long)).unwrap_or(wall));
        }
        true
    }

    /// True if `ip` is banned at `now`.
    pub fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        crate::sync::lock(&self.records).get(&ip.to_canonical()).is_some_and(|r| r.banned_until.is_some_and(|t| t > now))
    }

    /// The bans in force at `now`, by address. Their ends are told on the
    /// wall clock: `now` read against `SystemTime::now()`.
    pub fn bans(&self, now: Instant) -> Vec<BanView> {
        let wall = SystemTime::now();
        let mut bans: Vec<BanView> = crate::sync::lock(&self.records)
            .iter()
            .filter_map(|(ip, r)| {
                let left = r.banned_until?.checked_duration_since(now).filter(|d| !d.is_zero())?;
                Some(BanView { address: *ip, until: wall.checked_add(left).unwrap_or(wall) })
            })
            .collect();
        bans.sort_by_key(|b| b.address);
        bans
    }

    /// Lift the ban on `ip` and forget its failed logins (an administrator
    /// let it in again: it starts with a clean count). True if it was
    /// banned; a ban that has run out is no ban.
    pub fn unban(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let now = Instant::now();
        let mut records = crate::sync::lock(&self.records);
        let Some(r) = records.get_mut(&ip) else { return false };
        let was_banned = r.banned_until.is_some_and(|t| t > now);
        r.banned_until = None;
        r.failures.clear();
        if r.sessions == 0 {
            records.remove(&ip);
        }
        was_banned
    }

    /// Forget expired bans and stale failures (called now and then).
    pub fn sweep(&self, now: Instant) {
        let mut records = crate::sync::lock(&self.records);
        records.retain(|_, r| {
            if r.banned_until.is_some_and(|t| t <= now) {
                r.banned_until = None;
            }
            r.failures.retain(|t| now.duration_since(*t) <= self.config.window);
            r.sessions > 0 || !r.failures.is_empty() || r.banned_until.is_some()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn session_cap_per_address() {
        let d = Defender::new(DefenderConfig { max_sessions_per_ip: 2, ..Default::default() });
        let now = Instant::now();
        let a = d.admit(ip(1), now).unwrap();
        let _b = d.admit(ip(1), now).unwrap();
        assert_eq!(d.admit(ip(1), now).unwrap_err(), Refusal::TooManySessions(2));
        assert_eq!(Refusal::TooManySessions(2).text(), "Too many connections from your address (limit 2: max-sessions-per-ip).");
        assert!(d.admit(ip(2), now).is_ok(), "other addresses are not affected");
        drop(a);
        assert!(d.admit(ip(1), now).is_ok(), "a closed session frees its slot");
    }

    #[test]
    fn ban_after_failures_in_window_then_expiry() {
        let d = Defender::new(DefenderConfig {
            ban_after: 3,
            window: Duration::from_secs(60),
            ban_time: Duration::from_secs(300),
            ..Default::default()
        });
        let t0 = Instant::now();
        assert!(!d.failed_login(ip(1), t0));
        // A failure outside the window no longer counts.
        assert!(!d.failed_login(ip(1), t0 + Duration::from_secs(100)));
        assert!(!d.failed_login(ip(1), t0 + Duration::from_secs(101)));
        assert!(d.failed_login(ip(1), t0 + Duration::from_secs(102)));
        let t = t0 + Duration::from_secs(103);
        assert!(d.is_banned(ip(1), t));
        assert_eq!(d.admit(ip(1), t).unwrap_err(), Refusal::Banned);
        assert!(!d.is_banned(ip(2), t));
        let later = t0 + Duration::from_secs(500);
        assert!(d.admit(ip(1), later).is_ok(), "bans expire");
        d.sweep(later);
    }

    #[test]
    fn bans_are_listed_until_they_end_and_unban_lifts_them_with_the_failures() {
        let ban_time = Duration::from_secs(300);
        let d = Defender::new(DefenderConfig { ban_after: 2, ban_time, ..Default::default() });
        let t0 = Instant::now();
        for n in [9, 3] {
            d.failed_login(ip(n), t0);
            d.failed_login(ip(n), t0);
        }
        d.failed_login(ip(5), t0);
        let before = SystemTime::now();
        let bans = d.bans(t0 + Duration::from_secs(100));
        assert_eq!(bans.iter().map(|b| b.address).collect::<Vec<_>>(), [ip(3), ip(9)], "banned ones only, by address");
        // 200 s of the ban are left at t0 + 100 s.
        let left = bans[0].until.duration_since(before).unwrap();
        assert!(left >= Duration::from_secs(200) && left < Duration::from_secs(201), "{left:?}");
        assert!(d.bans(t0 + ban_time).is_empty(), "a ban ends at its time");

        assert!(d.unban(ip(3)));
        assert!(!d.is_banned(ip(3), t0) && d.is_banned(ip(9), t0));
        assert!(!d.unban(ip(3)), "no longer banned");
        assert!(!d.unban(ip(5)), "failures are no ban");
        assert!(!d.unban(ip(7)), "never seen");
        // The failure count went with the ban (ip 5's too): one more
        // failure is one, not the second of two.
        assert!(!d.failed_login(ip(3), t0));
        assert!(!d.failed_login(ip(5), t0 + Duration::from_secs(1)));
        assert!(d.admit(ip(3), t0).is_ok(), "an unbanned address may connect");
    }

    #[test]
    fn a_mapped_address_is_the_ipv4_address() {
        let d = Defender::new(DefenderConfig { ban_after: 2, max_sessions_per_ip: 1, ..Default::default() });
        let now = Instant::now();
        let v4 = ip(7);
        let mapped = IpAddr::from("::ffff:10.0.0.7".parse::<std::net::Ipv6Addr>().unwrap());
        let _slot = d.admit(mapped, now).unwrap();
        assert_eq!(d.admit(v4, now).unwrap_err(), Refusal::TooManySessions(1), "one client, one session count");
        assert!(!d.failed_login(mapped, now));
        assert!(d.failed_login(v4, now), "both failures counted together");
        assert!(d.is_banned(mapped, now) && d.is_banned(v4, now));
        assert_eq!(d.bans(now).iter().map(|b| b.address).collect::<Vec<_>>(), [v4], "listed as IPv4");
        assert!(d.unban(mapped), "either spelling lifts it");
        assert!(!d.is_banned(v4, now));
    }

    #[test]
    fn unban_keeps_the_sessions_an_address_holds() {
        let d = Defender::new(DefenderConfig { max_sessions_per_ip: 1, ban_after: 1, ..Default::default() });
        let t0 = Instant::now();
        let slot = d.admit(ip(1), t0).unwrap();
        assert!(d.failed_login(ip(1), t0));
        assert!(d.unban(ip(1)));
        assert_eq!(d.admit(ip(1), t0).unwrap_err(), Refusal::TooManySessions(1), "its open session still counts");
        drop(slot);
        assert!(d.admit(ip(1), t0).is_ok());
    }

    #[test]
    fn a_ban_is_emitted_once_where_it_is_decided() {
        let events = Events::new();
        let heard = crate::events::recorder::Recorder::new();
        events.subscribe(heard.clone());
        let ban_time = Duration::from_secs(300);
        let d = Defender::with_events(DefenderConfig { ban_after: 2, ban_time, ..Default::default() }, events);
        let t0 = Instant::now();
        let before = SystemTime::now();
        assert!(!d.failed_login(ip(3), t0));
        assert!(heard.events().is_empty(), "a failure is no ban");
        assert!(d.failed_login(ip(3), t0));
        let got = heard.events();
        assert_eq!(got.len(), 1);
        let crate::events::EventKind::Ban { address, until } = got[0].kind else { panic!("{got:?}") };
        assert_eq!(address, ip(3));
        assert!(until >= before + ban_time && until <= SystemTime::now() + ban_time, "{until:?}");
        assert!(!d.failed_login(ip(4), t0), "another address has its own count");
        assert_eq!(heard.events().len(), 1);
    }
}
