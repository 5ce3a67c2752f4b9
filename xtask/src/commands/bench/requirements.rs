//! What the bench needs from the machine, checked before anything runs, so that a missing piece
//! fails at once with the command that installs it.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::storm::ORPHANS;

/// Each program the bench runs, with the Debian package that ships it.
const PROGRAMS: &[(&str, &str)] = &[
    ("catatonit", "catatonit"),
    ("tini-static", "tini"),
    ("gcc", "gcc"),
    ("musl-gcc", "musl-tools"),
    ("strip", "binutils"),
    ("strace", "strace"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
];

/// PIDs kept free for everything else on the machine while the storm runs.
const SPARE_PIDS: u64 = 2048;

pub fn check() -> Result<()> {
    if effective_uid()? != 0 {
        bail!(
            "cargo xtask bench needs root (it starts PID namespaces and traces their PID 1): run it as root"
        );
    }
    let missing: Vec<&(&str, &str)> = PROGRAMS
        .iter()
        .filter(|(name, _)| find(name).is_none())
        .collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|(name, _)| *name).collect();
        let mut packages: Vec<&str> = missing.iter().map(|(_, package)| *package).collect();
        packages.dedup();
        bail!(
            "cargo xtask bench needs {} (not on PATH): install with `apt-get install {}`",
            names.join(", "),
            packages.join(" ")
        );
    }
    check_pid_room()
}

/// The absolute path of a program on PATH.
pub fn program(name: &str) -> Result<PathBuf> {
    find(name).with_context(|| format!("{name} is not on PATH"))
}

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

fn effective_uid() -> Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .context("no effective uid in /proc/self/status")
}

/// The storm's orphans each take a PID: make sure the kernel has that many left.
fn check_pid_room() -> Result<()> {
    let pid_max: u64 = read_number("/proc/sys/kernel/pid_max", |text| Some(text))?;
    // /proc/loadavg's fourth field is `running/total` scheduling entities, each holding a PID.
    let in_use: u64 = read_number("/proc/loadavg", |text| {
        text.split_whitespace().nth(3)?.split('/').nth(1)
    })?;
    let needed = in_use + ORPHANS + SPARE_PIDS;
    if needed > pid_max {
        bail!(
            "kernel.pid_max is {pid_max} with {in_use} PIDs in use: the {ORPHANS}-orphan storm needs \
             {needed}; raise it with `sysctl -w kernel.pid_max={}`",
            needed.next_power_of_two()
        );
    }
    Ok(())
}

fn read_number(path: &str, field: impl Fn(&str) -> Option<&str>) -> Result<u64> {
    let text = std::fs::read_to_string(path)?;
    field(text.trim())
        .and_then(|value| value.parse().ok())
        .with_context(|| format!("unexpected {path}: {text}"))
}
