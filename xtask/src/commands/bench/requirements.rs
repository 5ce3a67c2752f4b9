//! What the bench needs from the machine, checked before anything runs, so that a missing piece
//! fails at once with the command that installs it. Docker Engine 28 and containerd 2 are fetched
//! from Debian unstable here if they are not unpacked yet, as `cargo xtask test` fetches them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::Shell;

use super::storm::ORPHANS;
use crate::host;
use crate::tools::debian_unstable;

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
    // The per-pod costs: a private Docker Engine 28 in a network namespace of its own, whose
    // containers Debian 12's runc runs (the engine itself comes from Debian unstable, below).
    ("runc", "runc"),
    ("ip", "iproute2"),
];

/// PIDs kept free for everything else on the machine while the storm runs.
const SPARE_PIDS: u64 = 2048;

pub(crate) fn check(sh: &Shell) -> Result<()> {
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
    check_pid_room()?;
    check_docker_28(sh)
}

/// The per-pod costs are measured on Debian unstable's Docker Engine 28 over its containerd 2:
/// fetched and unpacked under target/tools if they are not yet, and refused below their floors.
fn check_docker_28(sh: &Shell) -> Result<()> {
    debian_unstable::ensure(sh).context(
        "cargo xtask bench measures the per-pod costs on Docker Engine 28 and containerd 2 from \
         Debian unstable, and could not fetch them (apt-get download, as `cargo xtask test` does)",
    )?;
    if debian_unstable::installed()?.is_none() {
        bail!(
            "cargo xtask bench needs Docker Engine 28 and containerd 2 from Debian unstable, \
             unpacked under target/tools/debian-unstable, and they are not there: run `cargo xtask \
             test` (it downloads and unpacks them)"
        );
    }
    Ok(())
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
