//! The build's one timestamp: `SOURCE_DATE_EPOCH` (reproducible-builds.org), or the Unix epoch when
//! it is unset, so that an image never depends on when it was built; and its RFC 3339 spelling.

use anyhow::{Result, bail};

/// The variable that dates a build.
pub const VAR: &str = "SOURCE_DATE_EPOCH";

const SECONDS_PER_DAY: u64 = 86_400;
const SECONDS_PER_HOUR: u64 = 3_600;
const SECONDS_PER_MINUTE: u64 = 60;
/// 9999-12-31T23:59:59Z: RFC 3339 has four-digit years, and tools (skopeo among them) refuse a
/// `created` past it.
pub(crate) const LATEST: u64 = 253_402_300_799;

/// The seconds since the Unix epoch that `value` (the variable's text, if set) names; unset or
/// empty means the epoch itself.
pub(crate) fn parse(value: Option<&str>) -> Result<u64> {
    let fix = format!("unset it or set e.g. {VAR}=$(git log -1 --format=%ct)");
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(0);
    };
    let Ok(seconds) = value.parse::<u64>() else {
        bail!("{VAR}={value:?} is not a whole number of seconds: {fix}");
    };
    if seconds > LATEST {
        bail!(
            "{VAR}={value} is after 9999-12-31T23:59:59Z ({LATEST}), the last instant an image date can name: {fix}"
        );
    }
    Ok(seconds)
}

/// `1970-01-01T00:00:00Z`: RFC 3339 in UTC, whole seconds.
pub(crate) fn rfc3339(seconds: u64) -> String {
    debug_assert!(seconds <= LATEST, "checked by parse");
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

/// The Gregorian date `days` after 1970-01-01, counted forward year by year and month by month
/// (at most 8,030 years: [`parse`] bounds the input).
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

/// The seconds since the Unix epoch that `text` names, when it is a date as [`rfc3339`] writes
/// them (`YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds, 1970 to 9999): the inverse that takes a
/// published image's `created` back to the SOURCE_DATE_EPOCH it was built with. Anything else
/// (another zone, fractions, a 30 February) is None: no build of this xtask wrote it.
pub(crate) fn seconds_of(text: &str) -> Option<u64> {
    const EPOCH_YEAR: u64 = 1970;
    const LAST_YEAR: u64 = 9999;
    let bytes = text.as_bytes();
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    if bytes.len() != shape.len()
        || !shape.bytes().zip(bytes).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            _ => want == *got,
        })
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(EPOCH_YEAR..=LAST_YEAR).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let leap_days = |year: u64| u64::from(is_leap(year));
    let mut days: u64 = (EPOCH_YEAR..year).map(|y| 365 + leap_days(y)).sum();
    const DAYS_BEFORE_MONTH: [u64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    const MARCH: u64 = 3;
    days += DAYS_BEFORE_MONTH[(month - 1) as usize] + (day - 1);
    if month >= MARCH {
        days += leap_days(year);
    }
    let seconds =
        days * SECONDS_PER_DAY + hour * SECONDS_PER_HOUR + minute * SECONDS_PER_MINUTE + second;
    // Out-of-range days, hours, minutes or seconds do not survive the way back.
    (seconds <= LATEST && rfc3339(seconds) == text).then_some(seconds)
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

#[cfg(test)]
mod tests {
    use super::{LATEST, parse, rfc3339, seconds_of};

    #[test]
    fn dates_read_back_to_their_seconds() {
        for seconds in [0, 59, 951_782_400, 1_700_000_000, 4_107_542_399, LATEST] {
            assert_eq!(seconds_of(&rfc3339(seconds)), Some(seconds), "{seconds}");
        }
        for other in [
            "2023-11-14T22:13:20.5Z",
            "2023-11-14T22:13:20+01:00",
            "2023-02-29T00:00:00Z",
            "2023-11-31T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "2023-1-14T22:13:20Z",
            "",
        ] {
            assert_eq!(seconds_of(other), None, "{other}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn the_last_representable_instant_is_accepted_and_the_next_refused() {
        assert_eq!(parse(Some("253402300799")).unwrap(), LATEST);
        assert_eq!(rfc3339(LATEST), "9999-12-31T23:59:59Z");
        for (value, expected) in [
            ("253402300800", "after 9999-12-31T23:59:59Z"),
            ("1000000000000000", "after 9999-12-31T23:59:59Z"),
            // u64::MAX: the old date code walked toward it year by year and never finished.
            ("18446744073709551615", "after 9999-12-31T23:59:59Z"),
            ("18446744073709551616", "not a whole number"),
            ("-1", "not a whole number"),
            ("1.5", "not a whole number"),
        ] {
            let error = parse(Some(value)).expect_err(value).to_string();
            assert!(error.contains(expected), "{value}: {error}");
            assert!(error.contains("SOURCE_DATE_EPOCH"), "{error}");
        }
        assert_eq!(parse(None).unwrap(), 0);
        assert_eq!(parse(Some(" ")).unwrap(), 0);
        assert_eq!(parse(Some(" 42\n")).unwrap(), 42);
    }
}
