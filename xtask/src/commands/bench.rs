//! `cargo xtask bench`: pause side by side with what a user would run instead (catatonit, tini, and
//! a C pause built the Kubernetes way with glibc and with musl), all in one run on this machine,
//! and how early after its start each of them can miss a SIGTERM; then what a pod costs with each
//! anchor image in a real Docker Engine. Prints the tables, with ratios to ours, and writes them as
//! Markdown to `target/bench/results.md`.

mod c_programs;
mod early_stop;
mod engine;
mod machine;
mod measurement;
mod peer;
mod pod_images;
mod pods;
mod report;
mod requirements;
mod startup;
mod storm;
mod syscalls;

use std::time::Duration;

use anyhow::{Context, Result};
use xshell::Shell;

use self::measurement::{MEDIAN, Measurement, P90, ROUNDS, STARTS_PER_ROUND, percentile};
use crate::build::pause;
use crate::platform::Platform;
use crate::project;

/// How the bench is started, for the record.
const COMMAND: &str = "cargo xtask bench";
/// What the rounds collect for one peer.
#[derive(Default)]
struct Samples {
    rss_kib: Vec<u64>,
    starts: Vec<Duration>,
    storms: Vec<Duration>,
    /// The early-stop helper's reports, one after the other.
    early_stop: String,
}

pub fn run(sh: &Shell) -> Result<()> {
    requirements::check(sh)?;
    let host = Platform::host().context(
        "this machine's architecture is not one pause is built for: run the bench on one of them",
    )?;
    let ours = pause::build(sh, &[host], false)?.remove(0);
    let programs = c_programs::build(sh)?;
    let peers = peer::all(&ours.path, &programs)?;

    // Before the bench loads the machine itself.
    let machine = machine::describe(sh)?;
    let mut samples: Vec<Samples> = peers.iter().map(|_| Samples::default()).collect();
    for round in 1..=ROUNDS {
        eprintln!(
            "round {round} of {ROUNDS}: starts, a {}-orphan storm and {} early SIGTERMs per peer",
            storm::ORPHANS,
            early_stop::TRIES / ROUNDS * early_stop::DELAYS_US.len()
        );
        for (peer, samples) in peers.iter().zip(&mut samples) {
            let sample =
                startup::sample(&programs.exec_to_blocked, STARTS_PER_ROUND, &peer.command)?;
            samples.rss_kib.push(sample.rss_kib);
            samples.starts.extend(sample.starts);
            samples
                .storms
                .push(storm::drain_time(&programs.orphan_storm, &peer.command)?);
            samples.early_stop += &early_stop::tries(
                &programs.early_stop,
                early_stop::TRIES / ROUNDS,
                &peer.command,
            )?;
        }
    }
    let mut measurements = Vec::new();
    let mut windows = Vec::new();
    for (peer, samples) in peers.iter().zip(samples) {
        windows.push(early_stop::summarise(&samples.early_stop)?);
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
    let window_table = report::render_early_stop(&peers, &windows, &machine, COMMAND);
    println!("{window_table}");

    // After the timed runs above, which an engine and its anchors would disturb.
    let images = pod_images::build(&ours.path, &programs, host)?;
    let machine = machine::describe(sh)?;
    let pods = pods::measure(sh, &images)?;
    let pod_table = report::render_pods(&images, &pods, &machine, COMMAND);
    println!("{pod_table}");

    let results = project::target_dir().join("bench/results.md");
    sh.write_file(&results, format!("{table}\n{window_table}\n{pod_table}"))?;
    println!("written to {}", project::relative(&results).display());
    Ok(())
}
