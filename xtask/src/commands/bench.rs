//! `cargo xtask bench`: pause side by side with what a user would run instead (catatonit, tini, and
//! a C pause built the Kubernetes way with glibc and with musl), all in one run on this machine.
//! Prints a table with ratios to ours and writes it as Markdown to `target/bench/results.md`.

mod c_programs;
mod machine;
mod peer;
mod prerequisites;
mod report;
mod startup;
mod storm;
mod syscalls;

use std::time::Duration;

use anyhow::{Context, Result};
use xshell::Shell;

use xtask::build;
use xtask::platform::Platform;
use xtask::project;

/// How the bench is started, for the record.
const COMMAND: &str = "cargo xtask bench";
/// The timed measurements go round all peers this many times, so that a burst of load from
/// elsewhere on the machine hits every peer alike instead of one peer's whole series.
pub const ROUNDS: usize = 5;
/// Timed starts per peer and round: with ROUNDS, enough for a steady median and p90.
pub const STARTS_PER_ROUND: usize = 100;
const PERCENT: usize = 100;
const P90: usize = 90;
const MEDIAN: usize = 50;

/// Everything measured about one peer.
pub struct Measurement {
    pub bytes: u64,
    /// Median over the rounds.
    pub rss_kib: u64,
    pub syscalls: syscalls::Count,
    pub start_median: Duration,
    pub start_p90: Duration,
    /// Median over the rounds' storms.
    pub storm: Duration,
}

/// What the rounds collect for one peer.
#[derive(Default)]
struct Samples {
    rss_kib: Vec<u64>,
    starts: Vec<Duration>,
    storms: Vec<Duration>,
}

pub fn run(sh: &Shell) -> Result<()> {
    prerequisites::check()?;
    let host = Platform::host().context(
        "this machine's architecture is not one pause is built for: run the bench on one of them",
    )?;
    let ours = build::build(sh, &[host])?.remove(0);
    let programs = c_programs::build(sh)?;
    let peers = peer::all(&ours.path, &programs)?;

    // Before the bench loads the machine itself.
    let machine = machine::describe(sh)?;
    let mut samples: Vec<Samples> = peers.iter().map(|_| Samples::default()).collect();
    for round in 1..=ROUNDS {
        eprintln!(
            "round {round} of {ROUNDS}: starts and a {}-orphan storm per peer",
            storm::ORPHANS
        );
        for (peer, samples) in peers.iter().zip(&mut samples) {
            let sample =
                startup::sample(&programs.exec_to_blocked, STARTS_PER_ROUND, &peer.command)?;
            samples.rss_kib.push(sample.rss_kib);
            samples.starts.extend(sample.starts);
            samples
                .storms
                .push(storm::drain_time(&programs.orphan_storm, &peer.command)?);
        }
    }
    let mut measurements = Vec::new();
    for (peer, samples) in peers.iter().zip(samples) {
        measurements.push(Measurement {
            bytes: peer.bytes()?,
            rss_kib: percentile(samples.rss_kib, MEDIAN),
            syscalls: syscalls::count(sh, &programs.exec_to_blocked, &peer.command)?,
            start_median: percentile(samples.starts.clone(), MEDIAN),
            start_p90: percentile(samples.starts, P90),
            storm: percentile(samples.storms, MEDIAN),
        });
    }

    let table = report::render(&peers, &measurements, &machine, COMMAND);
    println!("{table}");
    let results = project::target_dir().join("bench/results.md");
    sh.write_file(&results, &table)?;
    println!("written to {}", project::relative(&results).display());
    Ok(())
}

/// The value below which `percent` of the samples lie (nearest rank).
fn percentile<T: Ord + Copy>(mut samples: Vec<T>, percent: usize) -> T {
    samples.sort();
    samples[(samples.len() * percent / PERCENT).min(samples.len() - 1)]
}
