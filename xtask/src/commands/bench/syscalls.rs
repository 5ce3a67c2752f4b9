//! Syscalls from exec until blocked: the peer is started once under `strace -f` (through
//! `exec_to_blocked` with no timed starts, which lets it settle, then kills it) and every syscall
//! its processes make from its execve on is counted, the blocking one included.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

pub(crate) struct Count {
    pub(crate) total: usize,
    /// The syscall each process ends up waiting in, by name, in the order the processes started.
    pub(crate) waits_in: Vec<String>,
}

pub(crate) fn count(sh: &Shell, exec_to_blocked: &Path, command: &[PathBuf]) -> Result<Count> {
    let dir = sh.create_temp_dir()?;
    let trace = dir.path().join("strace");
    let starts = 0.to_string();
    cmd!(
        sh,
        "strace -f -qq -o {trace} {exec_to_blocked} {starts} {command...}"
    )
    .quiet()
    .ignore_stdout()
    .run()
    .context("tracing a start with strace")?;
    let text = sh.read_file(&trace)?;
    parse(&text, &command[0])
        .with_context(|| format!("no execve of {} in its strace output", command[0].display()))
}

/// Counts the lines of the peer's processes from its execve on. `strace -f` writes one line per
/// syscall, `PID name(args) = result`, except for continuations (`<... name resumed>`), signals
/// (`---`) and exits (`+++`). The first line is the probe's own; every other process in the trace
/// is the peer or one it started (results such as clone's are PIDs inside the peer's namespace, so
/// they cannot name its children).
fn parse(text: &str, program: &Path) -> Option<Count> {
    let probe = text.lines().next()?.split_once(' ')?.0;
    let exec = format!("execve(\"{}\"", program.display());
    let mut waits_in: Vec<(&str, &str)> = Vec::new();
    let mut total = 0;
    let lines = text
        .lines()
        .filter_map(|line| {
            line.split_once(' ')
                .map(|(pid, call)| (pid, call.trim_start()))
        })
        .skip_while(|(_, call)| !call.starts_with(&exec));
    for (pid, call) in lines {
        if pid == probe
            || ["<...", "---", "+++"]
                .iter()
                .any(|mark| call.starts_with(mark))
        {
            continue;
        }
        total += 1;
        let name = call.split(['(', ' ']).next().unwrap_or_default();
        match waits_in.iter_mut().find(|(process, _)| *process == pid) {
            Some(entry) => entry.1 = name,
            None => waits_in.push((pid, name)),
        }
    }
    (total > 0).then(|| Count {
        total,
        waits_in: waits_in
            .into_iter()
            .map(|(_, name)| name.to_string())
            .collect(),
    })
}
