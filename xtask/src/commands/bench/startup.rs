//! Exec-to-blocked latency and idle memory, from `bench/exec_to_blocked.c`: it starts the peer as
//! PID 1 of a fresh PID namespace, learns at rest which syscall each of its processes waits in and
//! their VmRSS, then times starts from execve until every process sleeps (state S) in that
//! syscall, as /proc/PID/stat and /proc/PID/syscall show it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::c_programs;

pub(crate) struct Sample {
    pub(crate) rss_kib: u64,
    pub(crate) starts: Vec<Duration>,
}

pub(crate) fn sample(exec_to_blocked: &Path, starts: usize, command: &[PathBuf]) -> Result<Sample> {
    let output = c_programs::run(exec_to_blocked, &[starts.to_string()], command)?;
    let mut rss_kib = None;
    let mut timed = Vec::with_capacity(starts);
    for line in output.lines() {
        match line.split_once(' ') {
            Some(("rss_kib", value)) => rss_kib = Some(value.parse()?),
            Some(("exec_to_blocked_ns", value)) => timed.push(Duration::from_nanos(value.parse()?)),
            _ => {}
        }
    }
    if timed.len() != starts {
        bail!(
            "exec_to_blocked timed {} starts of {}, not {starts}",
            timed.len(),
            command[0].display()
        );
    }
    Ok(Sample {
        rss_kib: rss_kib.context("exec_to_blocked reported no rss_kib")?,
        starts: timed,
    })
}
