//! Processes as /proc shows them, read in one place for the xtask and the suites. Every reader
//! answers `None` (or nothing) for a process that is gone, which any of them may be by the time
//! its files are read, so callers never panic on a race with an exiting process.

use std::fmt::Display;
use std::path::PathBuf;

/// /proc/PID/stat's fields after the command name: the state is the first of them, the start
/// time (in clock ticks since boot) the twentieth.
const STATE_AFTER_COMM: usize = 0;
const START_TIME_AFTER_COMM: usize = 19;

fn file(pid: impl Display, name: &str) -> String {
    format!("/proc/{pid}/{name}")
}

/// Every process's pid.
pub fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether process `pid` exists (zombies included).
pub fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// /proc/PID/stat's fields after the command name, which may itself hold spaces and parentheses.
fn stat_after_comm(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(file(pid, "stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// The one-letter state (`S`, `R`, `Z`, `T`, ...).
pub fn state(pid: u32) -> Option<char> {
    stat_after_comm(pid)?.get(STATE_AFTER_COMM)?.chars().next()
}

/// When the process started, in clock ticks since boot: a pid's reuse changes it.
pub fn start_time(pid: u32) -> Option<u64> {
    stat_after_comm(pid)?
        .get(START_TIME_AFTER_COMM)?
        .parse()
        .ok()
}

/// The pids of the process's children, zombies included, from its main thread's list; `None` once
/// the process is gone.
pub fn children(pid: u32) -> Option<Vec<u32>> {
    let listed = std::fs::read_to_string(file(pid, &format!("task/{pid}/children"))).ok()?;
    Some(
        listed
            .split_whitespace()
            .filter_map(|child| child.parse().ok())
            .collect(),
    )
}

/// The command line, one string per argument.
pub fn args(pid: u32) -> Option<Vec<String>> {
    let cmdline = std::fs::read(file(pid, "cmdline")).ok()?;
    Some(
        cmdline
            .split(|&byte| byte == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect(),
    )
}

/// The executable's path.
pub fn exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(file(pid, "exe")).ok()
}

/// The command name (at most 15 bytes).
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(file(pid, "comm"))
        .ok()
        .map(|comm| comm.trim_end().to_string())
}

/// The kernel function the process sleeps in, or nothing.
pub fn wchan(pid: u32) -> String {
    std::fs::read_to_string(file(pid, "wchan")).unwrap_or_default()
}

/// The namespace of `kind` (`pid`, `net`, `ipc`, ...) the process is in, as its link target names
/// it (`pid:[4026531836]`): equal for processes in the same namespace. `pid` may be `self`.
pub fn namespace(pid: impl Display, kind: &str) -> Option<PathBuf> {
    std::fs::read_link(file(pid, &format!("ns/{kind}"))).ok()
}

/// A field of /proc/PID/status (`Uid`, `Gid`, `PPid`, ...), without its name; `pid` may be `self`.
pub fn status_field(pid: impl Display, name: &str) -> Option<String> {
    let status = std::fs::read_to_string(file(pid, "status")).ok()?;
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_back() {
        let pid = std::process::id();
        assert!(exists(pid));
        assert!(state(pid).is_some());
        assert!(start_time(pid).is_some());
        assert!(pids().contains(&pid));
        assert_eq!(exe(pid), std::env::current_exe().ok());
        assert!(args(pid).is_some_and(|args| !args.is_empty()));
        assert!(namespace(pid, "pid").is_some());
        assert_eq!(
            status_field("self", "Pid").map(|value| value.parse::<u32>().ok()),
            Some(Some(pid))
        );
        assert!(children(pid).is_some());
    }
}
