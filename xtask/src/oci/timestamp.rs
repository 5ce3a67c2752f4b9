//! The build's one timestamp: `SOURCE_DATE_EPOCH` (reproducible-builds.org), or the Unix epoch when
//! it is unset, so that an image never depends on when it was built; and its RFC 3339 spelling.
//!
//! The calendar is chrono's: with its default features off it is the date arithmetic alone (no
//! clock, no time zone database), one crate more in the xtask's tree (its one dependency,
//! num-traits, is there through p256) and none in the workspace's (sigstore-rs, the tests'
//! verifier, uses it). It writes the same bytes the
//! hand-written day count did for every instant this module accepts, 1970 to 9999: the test below
//! holds it against that code. What stays here is what decides the bytes: which instants are
//! accepted, whole seconds, `Z` for UTC, and that a date read back is one this module would have
//! written.

use anyhow::{Result, bail};
use chrono::{DateTime, SecondsFormat};

/// The variable that dates a build.
pub const VAR: &str = "SOURCE_DATE_EPOCH";

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
    i64::try_from(seconds)
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .expect("parse bounds the seconds to 9999, well inside chrono's range")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The seconds since the Unix epoch that `text` names, when it is a date as [`rfc3339`] writes
/// them (`YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds, 1970 to 9999): the inverse that takes a
/// published image's `created` back to the SOURCE_DATE_EPOCH it was built with. Anything else
/// (another zone, fractions, a 30 February, a leap second) is None: no build of this xtask
/// wrote it.
pub(crate) fn seconds_of(text: &str) -> Option<u64> {
    let seconds = DateTime::parse_from_rfc3339(text).ok()?.timestamp();
    let seconds = u64::try_from(seconds).ok()?;
    // RFC 3339 allows more spellings than this module writes (`t`, `z`, `+00:00`, fractions):
    // only the one it writes is its own.
    (seconds <= LATEST && rfc3339(seconds) == text).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::{LATEST, parse, rfc3339, seconds_of};

    const DAY: u64 = 86_400;

    fn is_leap(year: u64) -> bool {
        year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
    }

    fn days_in_year(year: u64) -> u64 {
        365 + u64::from(is_leap(year))
    }

    /// The hand-written formatter chrono replaced, kept as the oracle: the bytes every image
    /// dated so far was written with. It counts days forward year by year and month by month.
    fn replaced_rfc3339(seconds: u64) -> String {
        const DAYS_IN_MONTH: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let (mut days, time) = (seconds / DAY, seconds % DAY);
        let mut year = 1970;
        while days >= days_in_year(year) {
            days -= days_in_year(year);
            year += 1;
        }
        let mut month = 0;
        let month_length =
            |month: usize| DAYS_IN_MONTH[month] + u64::from(month == 1 && is_leap(year));
        while days >= month_length(month) {
            days -= month_length(month);
            month += 1;
        }
        format!(
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            month + 1,
            days + 1,
            time / 3_600,
            time % 3_600 / 60,
            time % 60
        )
    }

    /// chrono writes what the replaced code wrote, and it reads back: at instants spread over
    /// 1970 to 9999 (a stride prime to the day, so every month and time of day comes up), at the
    /// first and last second of every day of the years at the leap rules' edges (1972, 2000,
    /// 2100, 2400, 9996) and of the first and last years, and at 9999-12-31T23:59:59Z.
    #[test]
    fn chrono_writes_the_bytes_the_replaced_code_wrote() {
        const STRIDE: usize = 50_000_017;
        const EDGE_YEARS: [u64; 16] = [
            1970, 1971, 1972, 1973, 1999, 2000, 2001, 2099, 2100, 2101, 2399, 2400, 2401, 9995,
            9996, 9999,
        ];
        let spread = (0..=LATEST).step_by(STRIDE);
        let edges = EDGE_YEARS
            .into_iter()
            .flat_map(|year| {
                let first_day: u64 = (1970..year).map(days_in_year).sum();
                (first_day..first_day + days_in_year(year))
                    .flat_map(|day| [day * DAY, day * DAY + DAY - 1])
            })
            .filter(|&seconds| seconds <= LATEST);
        let mut checked = 0;
        for seconds in spread.chain(edges).chain([LATEST]) {
            let written = rfc3339(seconds);
            assert_eq!(written, replaced_rfc3339(seconds), "{seconds}");
            assert_eq!(seconds_of(&written), Some(seconds), "{written}");
            checked += 1;
        }
        assert!(checked > 10_000, "{checked} instants");
    }

    #[test]
    fn dates_read_back_to_their_seconds() {
        for seconds in [0, 59, 951_782_400, 1_700_000_000, 4_107_542_399, LATEST] {
            assert_eq!(seconds_of(&rfc3339(seconds)), Some(seconds), "{seconds}");
        }
        for other in [
            "2023-11-14T22:13:20.5Z",
            "2023-11-14T22:13:20+01:00",
            "2023-11-14T22:13:20+00:00",
            "2023-11-14t22:13:20z",
            "2016-12-31T23:59:60Z",
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
