//! Times as the API and the pages write them: RFC 3339, UTC, seconds.

use std::time::SystemTime;

/// `2026-05-04T10:11:12Z` (the calendar is ferry-proto's, shared with
/// FTP's `MDTM` times).
pub fn rfc3339(t: SystemTime) -> String {
    let c = ferry_proto::time::civil(t);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_777_889_472)), "2026-05-04T10:11:12Z");
    }
}
