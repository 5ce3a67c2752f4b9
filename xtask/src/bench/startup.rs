//! Exec-to-blocked latency and idle memory, from `bench/exec_to_blocked.c`: it starts the peer as
//! PID 1 of a fresh PID namespace, learns at rest which syscall each of its processes waits in and
//! their VmRSS, then times STARTS starts from execve until every process sleeps (state S) in that
//! syscall, as /proc/PID/stat and /proc/PID/syscall show it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Enough starts for a steady median and p90, still well under a second per peer.
pub const STARTS: usize = 500;
const PERCENT: usize = 100;
const P90: usize = 90;

pub struct Latency {
    pub median: Duration,
    pub p90: Duration,
}

pub struct AtRest {
    pub rss_kib: u64,
    pub latency: Latency,
}

pub fn measure(exec_to_blocked: &Path, command: &[PathBuf]) -> Result<AtRest> {
    let output = run(exec_to_blocked, STARTS, command)?;
    let mut rss_kib = None;
    let mut starts = Vec::with_capacity(STARTS);
    for line in output.lines() {
        match line.split_once(' ') {
            Some(("rss_kib", value)) => rss_kib = Some(value.parse()?),
            Some(("exec_to_blocked_ns", value)) => {
                starts.push(Duration::from_nanos(value.parse()?))
            }
            _ => {}
        }
    }
    if starts.len() != STARTS {
        bail!(
            "exec_to_blocked timed {} starts of {}, not {STARTS}",
            starts.len(),
            command[0].display()
        );
    }
    starts.sort();
    Ok(AtRest {
        rss_kib: rss_kib.context("exec_to_blocked reported no rss_kib")?,
        latency: Latency {
            median: starts[starts.len() / 2],
            p90: starts[starts.len() * P90 / PERCENT],
        },
    })
}

/// Runs the probe; with `starts` 0 it only starts the peer once, lets it settle and kills it.
fn run(exec_to_blocked: &Path, starts: usize, command: &[PathBuf]) -> Result<String> {
    let output = std::process::Command::new(exec_to_blocked)
        .arg(starts.to_string())
        .args(command)
        .output()
        .with_context(|| format!("running {}", exec_to_blocked.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed: {}",
            exec_to_blocked.display(),
            command[0].display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}
