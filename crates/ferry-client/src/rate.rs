//! `--limit-rate`: one speed for every transfer (`500K`, `2M`), or a
//! schedule by local time of day (`"07:00,1M 23:00,off"`: 1 MiB/s from
//! seven in the morning, no limit from eleven at night). Before the
//! first time of a day, the last entry (yesterday's) applies. A transfer
//! that runs across a change follows it within a second (see
//! `client/pump.rs`), so a night-long backup slows down in the morning.

use std::time::{Duration, Instant};

use ferry_proto::pace::RateLimiter;

/// A speed limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimit {
    /// Bytes per second.
    Fixed(u64),
    /// (minute of the day, bytes per second or none), sorted by minute.
    Schedule(Vec<(u32, Option<u64>)>),
}

/// `500K`, `2M`, `1G`, or plain bytes (K, M and G are powers of 1024).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1024,
                'M' => 1024 * 1024,
                'G' => 1024 * 1024 * 1024,
                _ => return Err(format!("unknown unit in {s:?}: use K, M or G")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: f64 = num.parse().map_err(|_| format!("bad rate {s:?}"))?;
    if n <= 0.0 {
        return Err("the rate must be positive".into());
    }
    Ok((n * mult as f64) as u64)
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<RateLimit, String> {
        if !s.contains(',') {
            return parse_rate(s).map(RateLimit::Fixed);
        }
        let mut entries = Vec::new();
        for entry in s.split([' ', ';']).filter(|e| !e.is_empty()) {
            let (time, rate) = entry.split_once(',').ok_or_else(|| format!("{entry:?}: write HH:MM,RATE (RATE may be off)"))?;
            let (h, m) = time.split_once(':').ok_or_else(|| format!("{time:?}: write the time as HH:MM"))?;
            let (h, m): (u32, u32) =
                (h.parse().map_err(|_| format!("bad hour in {time:?}"))?, m.parse().map_err(|_| format!("bad minute in {time:?}"))?);
            if h > 23 || m > 59 {
                return Err(format!("{time:?} is not a time of day"));
            }
            let rate = if rate.eq_ignore_ascii_case("off") { None } else { Some(parse_rate(rate)?) };
            entries.push((h * 60 + m, rate));
        }
        if entries.is_empty() {
            return Err("an empty schedule".into());
        }
        entries.sort_by_key(|e| e.0);
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("the schedule names one time twice".into());
        }
        Ok(RateLimit::Schedule(entries))
    }
}

impl RateLimit {
    /// The limit at `minute` of the day (0..1440).
    pub fn rate_at(&self, minute: u32) -> Option<u64> {
        match self {
            RateLimit::Fixed(r) => Some(*r).filter(|r| *r > 0),
            RateLimit::Schedule(entries) => {
                let current = entries.iter().rev().find(|e| e.0 <= minute).or(entries.last());
                current.and_then(|e| e.1)
            }
        }
    }

    /// The limit now, by the local clock.
    pub fn now(&self) -> Option<u64> {
        self.rate_at(local_minute_of_day())
    }

    /// True when it may change while a transfer runs.
    pub fn scheduled(&self) -> bool {
        matches!(self, RateLimit::Schedule(_))
    }
}

/// Minutes since local midnight: the offset from `TZ` or
/// `/etc/localtime` (read once), UTC when neither says.
fn local_minute_of_day() -> u32 {
    static ZONE: std::sync::OnceLock<Option<tz::TimeZone>> = std::sync::OnceLock::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let zone = ZONE.get_or_init(|| tz::TimeZone::local().ok());
    let offset = zone.as_ref().and_then(|z| z.find_local_time_type(now).ok()).map_or(0, |t| i64::from(t.ut_offset()));
    ((now + offset).rem_euclid(86_400) / 60) as u32
}

/// The pacing of one transfer: charges bytes against the limit, and
/// with a schedule looks every second whether the limit has changed.
pub(crate) struct Pace {
    limit: Option<RateLimit>,
    limiter: Option<RateLimiter>,
    checked: Instant,
}

/// How often a running transfer looks at its schedule.
const RECHECK: Duration = Duration::from_secs(1);

impl Pace {
    pub(crate) fn new(limit: Option<RateLimit>) -> Pace {
        let limiter = limit.as_ref().and_then(RateLimit::now).map(RateLimiter::new);
        Pace { limit, limiter, checked: Instant::now() }
    }

    /// Sleep as long as the limit says after `bytes` more.
    pub(crate) async fn pace(&mut self, bytes: u64) {
        if self.limit.as_ref().is_some_and(RateLimit::scheduled) && self.checked.elapsed() >= RECHECK {
            self.checked = Instant::now();
            match (self.limit.as_ref().and_then(RateLimit::now), &self.limiter) {
                (Some(r), Some(l)) => l.set_rate(r),
                (Some(r), None) => self.limiter = Some(RateLimiter::new(r)),
                (None, _) => self.limiter = None,
            }
        }
        if let Some(l) = &self.limiter {
            let wait = l.charge(bytes, Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_schedules() {
        assert_eq!("2M".parse(), Ok(RateLimit::Fixed(2 * 1024 * 1024)));
        let s: RateLimit = "07:00,1M 23:00,off".parse().unwrap();
        assert_eq!(s.rate_at(7 * 60), Some(1024 * 1024));
        assert_eq!(s.rate_at(12 * 60), Some(1024 * 1024));
        assert_eq!(s.rate_at(23 * 60 + 30), None);
        // Before the first time: yesterday's last entry.
        assert_eq!(s.rate_at(3 * 60), None);
        let s: RateLimit = "22:00,100K;06:30,5M".parse().unwrap();
        assert_eq!(s.rate_at(0), Some(100 * 1024));
        assert_eq!(s.rate_at(6 * 60 + 30), Some(5 * 1024 * 1024));
        for bad in ["7,1M", "25:00,1M", "07:00,fast", "07:00,1M 07:00,2M", "0K"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
        assert!(local_minute_of_day() < 1440);
    }
}
