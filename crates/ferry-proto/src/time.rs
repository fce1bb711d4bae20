//! Timestamps as FTP writes them: `YYYYMMDDHHMMSS[.sss]` in UTC
//! (RFC 3659 §2.3), used by `MDTM`, `MFMT` and the `modify` fact.
//!
//! The calendar arithmetic is Howard Hinnant's `days_from_civil` /
//! `civil_from_days`, exact for the proleptic Gregorian calendar, so no
//! date crate is needed.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=59.
    pub second: u32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since the Unix epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

/// Break a time down into UTC calendar fields.
pub fn civil(t: SystemTime) -> Civil {
    let secs = unix_seconds(t);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400) as u32;
    Civil { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60 }
}

/// `YYYYMMDDHHMMSS`, as `MDTM` replies and `MFMT` takes.
pub fn format_timeval(t: SystemTime) -> String {
    let mut out = String::with_capacity(14);
    write_timeval(&mut out, t);
    out
}

/// [`format_timeval`] appending to `out`, digit by digit: listings write
/// one per entry, and `format!` costs more than the rest of the line. The
/// last second written is remembered (per thread): the files of a folder
/// often share their second (made together, unpacked from one archive),
/// and the calendar arithmetic is then skipped.
pub fn write_timeval(out: &mut String, t: SystemTime) {
    thread_local! {
        static LAST: Cell<(i64, [u8; 14])> = const { Cell::new((i64::MIN, [0; 14])) };
    }
    let secs = unix_seconds(t);
    let (last_secs, last_text) = LAST.get();
    if last_secs == secs {
        out.push_str(std::str::from_utf8(&last_text).expect("digits"));
        return;
    }
    let c = civil(t);
    if !(0..=9999).contains(&c.year) {
        // Outside four digits (not a real file time): the slow, exact way.
        out.push_str(&format!("{:04}", c.year));
        for v in [c.month, c.day, c.hour, c.minute, c.second] {
            push_2(out, v);
        }
        return;
    }
    let y = c.year as u32;
    let mut text = [0u8; 14];
    for (i, v) in [y / 100, y % 100, c.month, c.day, c.hour, c.minute, c.second].into_iter().enumerate() {
        text[2 * i] = b'0' + (v / 10 % 10) as u8;
        text[2 * i + 1] = b'0' + (v % 10) as u8;
    }
    LAST.set((secs, text));
    out.push_str(std::str::from_utf8(&text).expect("digits"));
}

/// Two decimal digits of `v` (< 100).
fn push_2(out: &mut String, v: u32) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

/// Parse `YYYYMMDDHHMMSS[.fraction]`. Out-of-range fields are refused.
pub fn parse_timeval(s: &str) -> Option<SystemTime> {
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| main[a..b].parse::<u32>().ok();
    let (year, month, day) = (n(0, 4)? as i64, n(4, 6)?, n(6, 8)?);
    let (hour, minute, second) = (n(8, 10)?, n(10, 12)?, n(12, 14)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + (hour * 3600 + minute * 60 + second.min(59)) as i64;
    let base =
        if secs >= 0 { UNIX_EPOCH + Duration::from_secs(secs as u64) } else { UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) };
    Some(base + Duration::from_nanos(nanos as u64))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Build a time from calendar fields (UTC).
pub fn from_civil(c: Civil) -> SystemTime {
    let secs = days_from_civil(c.year, c.month, c.day) * 86_400 + (c.hour * 3600 + c.minute * 60 + c.second) as i64;
    if secs >= 0 { UNIX_EPOCH + Duration::from_secs(secs as u64) } else { UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) }
}

/// English three-letter month names, as `ls -l` prints them in the C locale.
pub const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_writer_matches_format() {
        for secs in [0i64, 59, 86_399, 951_782_400, 1_700_000_000, 4_102_444_799, 253_402_300_799] {
            let t = UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
            let c = civil(t);
            let want = format!("{:04}{:02}{:02}{:02}{:02}{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second);
            assert_eq!(format_timeval(t), want, "{secs}");
        }
    }

    #[test]
    fn known_values() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(format_timeval(t), "20231114221320");
        assert_eq!(parse_timeval("20231114221320"), Some(t));
        assert_eq!(format_timeval(UNIX_EPOCH), "19700101000000");
        assert_eq!(parse_timeval("20000229000000").map(format_timeval).as_deref(), Some("20000229000000"));
    }

    #[test]
    fn fractions_and_garbage() {
        let t = parse_timeval("20231114221320.5").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap(), Duration::from_millis(1_700_000_000_500));
        for bad in ["2023111422132", "20231314221320", "20230230000000", "2023111422132x", "20231114221320.", "20231114246000"] {
            assert_eq!(parse_timeval(bad), None, "{bad}");
        }
    }

    #[test]
    fn before_epoch() {
        let t = parse_timeval("19691231235959").unwrap();
        assert_eq!(format_timeval(t), "19691231235959");
    }

    #[test]
    fn civil_round_trip_many_days() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
