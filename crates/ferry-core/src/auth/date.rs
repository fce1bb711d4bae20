//! Calendar days, for an account's last day (`expires = "2026-12-31"`).
//!
//! An account expires by the day, in UTC, not at an instant: an
//! administrator writes "the last day this contractor may log in", and
//! every node of a deployment must agree on when that is whatever its
//! local time zone. So this is a plain `YYYY-MM-DD` with the proleptic
//! Gregorian rules, parsed by hand (no date crate in the core's default
//! build), and compared as a triple.

use std::time::SystemTime;

/// One calendar day. Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order gives the derived ordering: year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

/// How a date must be written, for error messages.
pub const DATE_RULE: &str = "write the date as YYYY-MM-DD, such as 2026-12-31";

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

fn leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// The day `year-month-day`, if there is such a day (years 1 to 9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// Parse `YYYY-MM-DD` exactly (four, two and two digits); the error
    /// says what to write instead.
    pub fn parse(text: &str) -> Result<Date, String> {
        let b = text.as_bytes();
        let shape =
            b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return Err(format!("{text:?} is not a date: {DATE_RULE}"));
        }
        // Checked above: ten ASCII characters, digits where numbers go.
        let num = |r: std::ops::Range<usize>| text[r].parse::<u16>().unwrap_or(0);
        let (year, month, day) = (num(0..4), num(5..7) as u8, num(8..10) as u8);
        if year == 0 {
            return Err(format!("{text:?}: there is no year 0; {DATE_RULE}"));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("{text:?}: the month is 01 to 12; {DATE_RULE}"));
        }
        let last = days_in_month(year, month);
        if day == 0 || day > last {
            let name = MONTHS[month as usize - 1];
            return Err(format!("{text:?} is not a day: {name} {year} has {last} days"));
        }
        Ok(Date { year, month, day })
    }

    /// The day `t` falls on, in UTC.
    pub fn of(t: SystemTime) -> Date {
        let c = ferry_proto::time::civil(t);
        // Dates outside years 1..=9999 cannot be written; clamp (a clock
        // that far off expires nothing early).
        let year = c.year.clamp(1, 9999) as u16;
        Date { year, month: c.month as u8, day: c.day as u8 }
    }

    /// Today, in UTC.
    pub fn today() -> Date {
        Date::of(SystemTime::now())
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Date, String> {
        Date::parse(s)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// From the string `"2026-12-31"`, or a TOML date written bare
/// (`expires = 2026-12-31`), which an operator editing users.toml by
/// hand may well write.
impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Toml(toml::value::Datetime),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => Date::parse(&s).map_err(serde::de::Error::custom),
            Raw::Toml(t) => match (t.date, t.time) {
                (Some(date), None) => Date::new(date.year, date.month, date.day)
                    .ok_or_else(|| serde::de::Error::custom(format!("{t} is not a day; {DATE_RULE}"))),
                _ => Err(serde::de::Error::custom(format!("{t} has a time of day: an account expires by the day; {DATE_RULE}"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn real_days_only_with_messages_that_say_what_to_write() {
        assert_eq!(Date::parse("2026-12-31").unwrap().to_string(), "2026-12-31");
        assert_eq!(Date::parse("2024-02-29"), Ok(Date::new(2024, 2, 29).unwrap()), "a leap year");
        assert_eq!(Date::parse("2000-02-29").map(|d| d.to_string()), Ok("2000-02-29".into()), "400 years make a leap year");
        assert_eq!(Date::parse("1900-02-29").unwrap_err(), "\"1900-02-29\" is not a day: February 1900 has 28 days");
        assert_eq!(Date::parse("2026-04-31").unwrap_err(), "\"2026-04-31\" is not a day: April 2026 has 30 days");
        assert_eq!(Date::parse("2026-13-01").unwrap_err(), format!("\"2026-13-01\": the month is 01 to 12; {DATE_RULE}"));
        assert_eq!(Date::parse("0000-01-01").unwrap_err(), format!("\"0000-01-01\": there is no year 0; {DATE_RULE}"));
        for bad in ["2026-1-31", "31.12.2026", "2026-12-31T00:00", " 2026-12-31", "２０２６-12-31", ""] {
            assert_eq!(Date::parse(bad).unwrap_err(), format!("{bad:?} is not a date: {DATE_RULE}"), "{bad:?}");
        }
    }

    #[test]
    fn days_order_and_follow_utc() {
        assert!(Date::parse("2026-01-31").unwrap() < Date::parse("2026-02-01").unwrap());
        assert!(Date::parse("2025-12-31").unwrap() < Date::parse("2026-01-01").unwrap());
        // 2026-03-01 00:00:00 UTC, and one second before it.
        let t = UNIX_EPOCH + Duration::from_secs(1_772_323_200);
        assert_eq!(Date::of(t).to_string(), "2026-03-01");
        assert_eq!(Date::of(t - Duration::from_secs(1)).to_string(), "2026-02-28");
    }

    #[test]
    fn read_from_toml_as_text_or_a_bare_date() {
        #[derive(serde::Deserialize)]
        struct T {
            d: Date,
        }
        assert_eq!(toml::from_str::<T>("d = \"2026-12-31\"").unwrap().d.to_string(), "2026-12-31");
        assert_eq!(toml::from_str::<T>("d = 2026-12-31").unwrap().d.to_string(), "2026-12-31");
        let e = toml::from_str::<T>("d = 2026-12-31T10:00:00Z").err().unwrap().to_string();
        assert!(e.contains("expires by the day"), "{e}");
        let e = toml::from_str::<T>("d = \"2026-02-30\"").err().unwrap().to_string();
        assert!(e.contains("February 2026 has 28 days"), "{e}");
    }
}
