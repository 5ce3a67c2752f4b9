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

use anyhow::{Context, Result};
use xshell::Shell;

use xtask::build;
use xtask::platform::Platform;
use xtask::project;

/// How the bench is started, for the record.
const COMMAND: &str = "cargo xtask bench";

/// Everything measured about one peer.
pub struct Measurement {
    pub bytes: u64,
    pub rss_kib: u64,
    pub syscalls: syscalls::Count,
    pub startup: startup::Latency,
    pub storm: std::time::Duration,
}

pub fn run(sh: &Shell) -> Result<()> {
    prerequisites::check()?;
    let host = Platform::host().context(
        "this machine's architecture is not one pause is built for: run the bench on one of them",
    )?;
    let ours = build::build(sh, &[host])?.remove(0);
    let programs = c_programs::build(sh)?;
    let peers = peer::all(&ours.path, &programs)?;

    let mut measurements = Vec::new();
    for peer in &peers {
        eprintln!("measuring {}", peer.name);
        measurements.push(measure(peer, &programs)?);
    }

    let machine = machine::describe(sh)?;
    let table = report::render(&peers, &measurements, &machine, COMMAND);
    println!("{table}");
    let results = project::target_dir().join("bench/results.md");
    sh.write_file(&results, &table)?;
    println!("written to {}", project::relative(&results).display());
    Ok(())
}

fn measure(peer: &peer::Peer, programs: &c_programs::Programs) -> Result<Measurement> {
    let bytes = peer.bytes()?;
    let at_rest = startup::measure(&programs.exec_to_blocked, &peer.command)?;
    let syscalls = syscalls::count(&programs.exec_to_blocked, &peer.command)?;
    let storm = storm::drain_time(&programs.orphan_storm, &peer.command)?;
    Ok(Measurement { bytes, rss_kib: at_rest.rss_kib, syscalls, startup: at_rest.latency, storm })
}
