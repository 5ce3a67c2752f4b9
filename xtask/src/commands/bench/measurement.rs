//! What the bench measures of each peer, and how its repeated samples are summarised.

use std::time::Duration;

use super::syscalls;

/// The timed measurements go round all peers this many times, so that a burst of load from
/// elsewhere on the machine hits every peer alike instead of one peer's whole series.
pub(crate) const ROUNDS: usize = 5;
/// Timed starts per peer and round: with ROUNDS, enough for a steady median and p90.
pub(crate) const STARTS_PER_ROUND: usize = 100;
/// Everything measured about one peer.
pub(crate) struct Measurement {
    pub(crate) bytes: u64,
    /// Median over the rounds.
    pub(crate) rss_kib: u64,
    pub(crate) syscalls: syscalls::Count,
    pub(crate) start_median: Duration,
    pub(crate) start_p90: Duration,
    /// Median over the rounds' storms.
    pub(crate) storm: Duration,
}

pub(crate) const MEDIAN: usize = 50;
pub(crate) const P90: usize = 90;
const PERCENT: usize = 100;

/// The value below which `percent` of the samples lie (nearest rank).
pub(crate) fn percentile<T: Ord + Copy>(mut samples: Vec<T>, percent: usize) -> T {
    samples.sort();
    samples[(samples.len() * percent / PERCENT).min(samples.len() - 1)]
}
