//! Where and when the bench ran, for the record next to its numbers.

use std::time::Duration;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// /proc/loadavg begins with the 1, 5 and 15-minute load averages.
const LOAD_AVERAGES: usize = 3;

pub(crate) struct Machine {
    pub(crate) date: String,
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) kernel: String,
    /// /proc/loadavg's 1, 5 and 15-minute averages: other work on the machine shows in the numbers.
    pub(crate) load: String,
    /// What one CPUID instruction costs, on x86 (see [`cpuid_cost`]).
    pub(crate) cpuid: Option<Duration>,
}

pub(crate) fn describe(sh: &Shell) -> Result<Machine> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo")?;
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_string();
    Ok(Machine {
        date: cmd!(sh, "date -u '+%Y-%m-%d %H:%M UTC'").quiet().read()?,
        cpu,
        cores: std::thread::available_parallelism()
            .context("counting CPUs")?
            .get(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")?
            .trim()
            .to_string(),
        load: std::fs::read_to_string("/proc/loadavg")?
            .split_whitespace()
            .take(LOAD_AVERAGES)
            .collect::<Vec<_>>()
            .join(" "),
        cpuid: cpuid_cost(),
    })
}

/// glibc's start-up asks the CPU for its features and cache sizes with CPUID. On bare metal that
/// takes nanoseconds; under a hypervisor every CPUID traps and can take microseconds, which then
/// dominates the start-up of the glibc peers (ours and musl's execute none). Worth knowing when
/// reading their exec-to-blocked times.
#[cfg(target_arch = "x86_64")]
fn cpuid_cost() -> Option<Duration> {
    /// Leaf 4 (cache parameters) with its sub-leaves, as glibc's cache detection reads it.
    const CACHE_LEAF: u32 = 4;
    const SUB_LEAVES: u32 = 4;
    const TIMES: u32 = 1000;
    let start = std::time::Instant::now();
    for time in 0..TIMES {
        std::hint::black_box(std::arch::x86_64::__cpuid_count(
            CACHE_LEAF,
            time % SUB_LEAVES,
        ));
    }
    Some(start.elapsed() / TIMES)
}

#[cfg(not(target_arch = "x86_64"))]
fn cpuid_cost() -> Option<Duration> {
    None
}
