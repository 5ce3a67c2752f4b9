//! Stopping and waiting for child processes without ever panicking: the daemons the xtask and the
//! suites start are stopped from `Drop`, which may run while a failed test unwinds, where a second
//! panic would abort the whole test binary and leave everything behind.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::procfs;

/// How often a wait looks at the child again.
const POLL: Duration = Duration::from_millis(20);
/// How long the output of a command that has exited may take to arrive.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long killed processes may take to disappear.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends SIGTERM to `child`, gives it `grace` to exit, then SIGKILL. Returns how it ended, or
/// None if even that could not be learnt. Never panics.
pub fn terminate(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    // Not reaped yet, so the PID is still this child's even if it has just exited.
    let _ = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Some(status) = wait_within(child, grace) {
        return Some(status);
    }
    let _ = child.kill();
    child.wait().ok()
}

/// Waits at most `timeout` for `child` to exit. Never panics.
pub(crate) fn wait_within(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            _ => return None,
        }
    }
}

/// Runs `command` (stdin closed, output captured) and kills it if it takes longer than `timeout`.
/// None if it could not start or timed out. Never panics.
pub fn output_within(command: &mut Command, timeout: Duration) -> Option<Output> {
    capture_within(command, Stdio::null(), timeout).ok()
}

/// Why [`capture_within`] has no output to give.
pub enum Unfinished {
    /// The command could not be started.
    Start(std::io::Error),
    /// It was killed at the deadline, having printed this.
    Timeout { stdout: Vec<u8>, stderr: Vec<u8> },
}

/// Runs `command` with `stdin`, capturing its output, and kills it if it takes longer than
/// `timeout`. Never panics: callers that must fail loudly do so with what it printed.
pub fn capture_within(
    command: &mut Command,
    stdin: Stdio,
    timeout: Duration,
) -> Result<Output, Unfinished> {
    let mut child = command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Unfinished::Start)?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_within(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = stdout.recv_timeout(DRAIN_TIMEOUT).unwrap_or_default();
    let stderr = stderr.recv_timeout(DRAIN_TIMEOUT).unwrap_or_default();
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => Err(Unfinished::Timeout { stdout, stderr }),
    }
}

/// Starts `command` as a daemon: stdin closed, stdout and stderr appended to the file `log`, which
/// is what a failing test shows.
pub fn spawn_logged(command: &mut Command, log: &Path) -> std::io::Result<Child> {
    let log = std::fs::File::create(log)?;
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
}

/// Reads `pipe` to its end on a thread of its own, while the command runs: a command that fills a
/// pipe nobody reads would never finish. The bytes arrive once every writer has closed the pipe,
/// which a daemon the command left behind may never do: the caller waits only so long.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = sender.send(bytes);
    });
    receiver
}

/// The PIDs of every process whose command line contains `needle`, e.g. a daemon's private
/// directory: how the shims a daemon started are found once they have left its process tree.
pub fn pids_mentioning(needle: &str) -> Vec<u32> {
    let own = std::process::id();
    procfs::pids()
        .into_iter()
        .filter(|&pid| pid != own)
        .filter(|&pid| procfs::args(pid).is_some_and(|args| args.join(" ").contains(needle)))
        .collect()
}

/// SIGKILL to each of `pids` (processes we started that are no longer our children, such as the
/// shims a daemon started), then waits until they are gone. Never panics.
pub fn kill_and_wait(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = output_within(
        Command::new("kill")
            .args(["-s", "KILL"])
            .args(pids.iter().map(u32::to_string)),
        KILL_TIMEOUT,
    );
    let deadline = Instant::now() + KILL_TIMEOUT;
    while pids.iter().any(|&pid| procfs::exists(pid)) && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
}
