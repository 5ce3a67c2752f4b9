//! The build's one timestamp: `SOURCE_DATE_EPOCH` (reproducible-builds.org), or the Unix epoch when
//! it is unset, so that an image never depends on when it was built.

use anyhow::{Context, Result};

pub const VAR: &str = "SOURCE_DATE_EPOCH";

const SECONDS_PER_DAY: u64 = 86_400;
const SECONDS_PER_HOUR: u64 = 3_600;
const SECONDS_PER_MINUTE: u64 = 60;

/// Seconds since the Unix epoch.
pub fn seconds() -> Result<u64> {
    match std::env::var(VAR) {
        Ok(value) if !value.trim().is_empty() => value.trim().parse().with_context(|| {
            format!("{VAR}={value:?} is not a whole number of seconds: unset it or set e.g. {VAR}=$(git log -1 --format=%ct)")
        }),
        _ => Ok(0),
    }
}

/// `1970-01-01T00:00:00Z`: RFC 3339 in UTC, whole seconds.
pub fn rfc3339(seconds: u64) -> String {
    let days = seconds / SECONDS_PER_DAY;
    let time = seconds % SECONDS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / SECONDS_PER_HOUR,
        time % SECONDS_PER_HOUR / SECONDS_PER_MINUTE,
        time % SECONDS_PER_MINUTE
    )
}

/// The Gregorian date `days` after 1970-01-01, counted forward year by year and month by month.
fn civil_from_days(mut days: u64) -> (u64, u64, u64) {
    const EPOCH_YEAR: u64 = 1970;
    const DAYS_IN_MONTH: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    const FEBRUARY: usize = 1;
    const DAYS_IN_COMMON_YEAR: u64 = 365;
    let mut year = EPOCH_YEAR;
    loop {
        let length = DAYS_IN_COMMON_YEAR + u64::from(is_leap(year));
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let mut month = 0;
    loop {
        let length = DAYS_IN_MONTH[month] + u64::from(month == FEBRUARY && is_leap(year));
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    (year, month as u64 + 1, days + 1)
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
