//! Where and when the bench ran, for the record next to its numbers.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

pub struct Machine {
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
}

pub fn describe(sh: &Shell) -> Result<Machine> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo")?;
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_string();
    Ok(Machine {
        date: cmd!(sh, "date -u '+%Y-%m-%d %H:%M UTC'").quiet().read()?,
        cpu,
        cores: std::thread::available_parallelism().context("counting CPUs")?.get(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")?.trim().to_string(),
    })
}
