//! What the bench needs from the machine, checked before anything runs, so that a missing piece
//! fails at once with the command that installs it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::storm::ORPHANS;
use crate::engine::dockerd::{CONTAINERD, DOCKER_CLI, DOCKERD};
use crate::host;

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
    // The per-pod costs: a private Docker Engine in a network namespace of its own.
    (DOCKERD, "docker.io"),
    (DOCKER_CLI, "docker.io"),
    (CONTAINERD, "containerd"),
    ("containerd-shim-runc-v2", "containerd"),
    ("runc", "runc"),
    ("ip", "iproute2"),
];

/// PIDs kept free for everything else on the machine while the storm runs.
const SPARE_PIDS: u64 = 2048;

pub(crate) fn check() -> Result<()> {
    if !host::is_root() {
        bail!(
            "cargo xtask bench needs root (it starts PID namespaces and traces their PID 1): run it as root"
        );
    }
    let missing: Vec<&(&str, &str)> = PROGRAMS
        .iter()
        .filter(|(name, _)| host::find_program(name).is_none())
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
pub(crate) fn program(name: &str) -> Result<PathBuf> {
    host::find_program(name).with_context(|| format!("{name} is not on PATH"))
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
