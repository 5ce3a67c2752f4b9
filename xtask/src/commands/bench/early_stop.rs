//! The early-stop window, from `bench/early_stop.c`: it starts the peer as PID 1 of a fresh PID
//! namespace and sends it SIGTERM a fixed delay after execve. The kernel drops a signal sent to a
//! namespace's init that has neither a handler for it nor blocked it, so a SIGTERM that lands before
//! the peer has done either is lost, and the peer runs on: a runtime that stops a sandbox with one
//! SIGTERM (CRI-O) then waits out its whole stop timeout. Reported as the fraction of tries lost at
//! each delay.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::c_programs;
use super::measurement::{MEDIAN, percentile};

/// After execve, in µs: from "at once" to past the slowest peer's start-up.
pub(crate) const DELAYS_US: [u64; 8] = [0, 10, 20, 50, 100, 200, 500, 1_000];
/// Tries per peer and delay, over all rounds: a lost fraction to half a percent.
pub(crate) const TRIES: usize = 200;
/// A peer that caught the SIGTERM has ended by then; one still running lost it. Every peer exits
/// within microseconds of taking SIGTERM, so this only has to outlast the scheduler's delays on a
/// busy machine.
pub(crate) const GRACE: Duration = Duration::from_millis(50);
/// A try whose SIGTERM left more than this after its delay is not counted but done again: the
/// helper's spinning was preempted.
pub(crate) const TOLERANCE: Duration = Duration::from_micros(5);

/// What the tries of one peer came to.
#[derive(Debug, PartialEq)]
pub(crate) struct Window {
    /// One per delay of [`DELAYS_US`], in that order.
    pub(crate) delays: Vec<Delay>,
    /// Tries not counted because their SIGTERM left too late.
    pub(crate) late: usize,
    /// How long after its delay the SIGTERM of a counted try left: median and maximum.
    pub(crate) lateness_median: Duration,
    pub(crate) lateness_max: Duration,
}

#[derive(Debug, PartialEq)]
pub(crate) struct Delay {
    pub(crate) delay_us: u64,
    pub(crate) tries: usize,
    pub(crate) lost: usize,
}

/// Runs `tries` tries at every delay and returns the helper's report, for [`summarise`].
pub(crate) fn tries(early_stop: &Path, tries: usize, command: &[PathBuf]) -> Result<String> {
    let delays: Vec<String> = DELAYS_US.iter().map(u64::to_string).collect();
    let arguments = [
        tries.to_string(),
        GRACE.as_millis().to_string(),
        TOLERANCE.as_nanos().to_string(),
        delays.join(","),
    ];
    c_programs::run(early_stop, &arguments, command)
}

/// Counts the tries and losses per delay in the helper's reports (`try DELAY_US LOST SENT_NS` and
/// `late DELAY_US SENT_NS` lines), any number of them one after the other.
pub(crate) fn summarise(report: &str) -> Result<Window> {
    let mut delays: Vec<Delay> = DELAYS_US
        .iter()
        .map(|&delay_us| Delay {
            delay_us,
            tries: 0,
            lost: 0,
        })
        .collect();
    let mut late = 0;
    let mut lateness = Vec::new();
    for line in report.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[..] {
            ["try", delay_us, lost, sent_ns] => {
                let delay_us: u64 = delay_us.parse()?;
                let sent = Duration::from_nanos(sent_ns.parse()?);
                let delay = delays
                    .iter_mut()
                    .find(|delay| delay.delay_us == delay_us)
                    .with_context(|| {
                        format!("early_stop tried a delay it was not given: {line}")
                    })?;
                delay.tries += 1;
                delay.lost += match lost {
                    "1" => 1,
                    "0" => 0,
                    _ => bail!("early_stop reported neither lost nor not: {line}"),
                };
                lateness.push(sent.saturating_sub(Duration::from_micros(delay_us)));
            }
            ["late", _, _] => late += 1,
            _ => bail!("unexpected line from early_stop: {line}"),
        }
    }
    if lateness.is_empty() {
        bail!("early_stop reported no tries");
    }
    Ok(Window {
        delays,
        late,
        lateness_max: *lateness.iter().max().expect("not empty"),
        lateness_median: percentile(lateness, MEDIAN),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{DELAYS_US, Delay, summarise};

    #[test]
    fn tries_are_counted_per_delay_over_every_report_and_late_ones_apart() {
        let report = "try 0 1 120\n\
                      try 10 1 10050\n\
                      late 20 30000\n\
                      try 20 0 20400\n\
                      try 0 0 90\n\
                      try 1000 0 1004000\n";
        let window = summarise(report).unwrap();
        let counted: Vec<(u64, usize, usize)> = window
            .delays
            .iter()
            .map(
                |&Delay {
                     delay_us,
                     tries,
                     lost,
                 }| (delay_us, tries, lost),
            )
            .collect();
        assert_eq!(
            counted,
            [
                (0, 2, 1),
                (10, 1, 1),
                (20, 1, 0),
                (50, 0, 0),
                (100, 0, 0),
                (200, 0, 0),
                (500, 0, 0),
                (1_000, 1, 0)
            ]
        );
        assert_eq!(DELAYS_US.len(), window.delays.len());
        assert_eq!(window.late, 1);
        // Lateness of the counted tries: 120, 50, 400, 90 and 4,000 ns.
        assert_eq!(window.lateness_median, Duration::from_nanos(120));
        assert_eq!(window.lateness_max, Duration::from_nanos(4_000));
    }

    #[test]
    fn a_report_it_cannot_read_is_an_error_not_a_number() {
        for report in [
            "",
            "late 0 9000\n",
            "try 30 1 30000\n",
            "try 0 yes 10\n",
            "try 0 1\n",
            "exec_to_blocked_ns 5\n",
        ] {
            assert!(summarise(report).is_err(), "{report:?}");
        }
    }
}
