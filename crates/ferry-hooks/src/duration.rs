//! Durations as the config file writes them: a number and a unit, `"500ms"`,
//! `"30s"`, `"2m"`, `"1h"`, `"7d"`, or several run together (`"1h30m"`).
//!
//! A bare number is refused: `timeout = 30` could mean seconds or
//! milliseconds, and guessing wrong by a factor of a thousand is worse than
//! asking.

use std::time::Duration;

/// A duration string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a duration: {why} (write e.g. \"500ms\", \"30s\", \"2m\", \"1h\", \"7d\")")]
pub struct DurationError {
    text: String,
    why: &'static str,
}

/// Parse `"30s"`, `"2m"`, `"1h30m"`, ...
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let fail = |why| DurationError { text: text.into(), why };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(fail("it is empty"));
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(fail("a number must come first"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| fail("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            "" => return Err(fail("a unit must follow the number")),
            _ => return Err(fail("the unit is not one of ms, s, m, h, d")),
        };
        rest = &rest[unit_len..];
        let part =
            unit.checked_mul(u32::try_from(n).map_err(|_| fail("the number is too large"))?).ok_or_else(|| fail("it is too long"))?;
        total = total.checked_add(part).ok_or_else(|| fail("it is too long"))?;
    }
    Ok(total)
}

/// Serde: an optional duration string (a field that may be left out).
pub fn deserialize_optional<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    deserialize(d).map(Some)
}

/// For `#[serde(deserialize_with = "ferry_hooks::duration::deserialize")]`
/// on a [`Duration`] field written as a string.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sums() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 5s "), Ok(Duration::from_secs(5)));
    }

    #[test]
    fn refusals_say_why() {
        for (text, why) in [
            ("30", "a unit must follow"),
            ("", "empty"),
            ("s", "a number must come first"),
            ("3 weeks", "not one of"),
            ("5x", "not one of"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }
}
