//! Today's date without a calendar crate: the system prompt only needs `YYYY-MM-DD`.

use std::time::{SystemTime, UNIX_EPOCH};

use cuervo_domain::calendar::civil_from_days;

pub fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    cuervo_domain::calendar::utc_day(i64::try_from(secs).unwrap_or(0))
}

/// A time in milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC`, for notices
/// such as "cached answer from …".
pub fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        of_day / 3600,
        (of_day % 3600) / 60
    )
}

/// A random id for a new session: 16 hex digits.
pub fn new_session_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::utc_minute;

    #[test]
    fn utc_minutes() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        // 2026-11-24 13:05:59.999
        assert_eq!(
            utc_minute((20_781 * 86_400 + 13 * 3600 + 5 * 60 + 59) * 1000 + 999),
            "2026-11-24 13:05 UTC"
        );
    }
}
