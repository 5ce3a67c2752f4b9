//! Running a command to completion within a deadline: a hung runtime or daemon fails the test
//! with the command's output instead of stalling the suite.

use std::fs::{self, File};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::process::wait_for;

/// Runs `command` (stdin closed, output captured) for at most `timeout`; kills it and panics,
/// showing what it printed, if it takes longer.
pub fn output_within(command: &mut Command, timeout: Duration) -> Output {
    output_within_reading(command, Stdio::null(), timeout)
}

/// [`output_within`], with `stdin` as the command's standard input.
pub fn output_within_reading(command: &mut Command, stdin: Stdio, timeout: Duration) -> Output {
    match attempt(command, stdin, timeout) {
        Ok(output) => output,
        Err(Failure::Start(error)) => panic!("cannot start {command:?}: {error}"),
        Err(Failure::Timeout { stdout, stderr }) => panic!(
            "{command:?} did not finish within {timeout:?}; it printed:\n{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// [`output_within`] for cleanup in `Drop`, which must not panic: `None` when the command could
/// not start or did not finish in time (it is killed then).
pub fn output_for_cleanup(command: &mut Command, timeout: Duration) -> Option<Output> {
    attempt(command, Stdio::null(), timeout).ok()
}

/// Why a command gave no output.
enum Failure {
    Start(std::io::Error),
    /// Killed at the deadline, after printing this.
    Timeout {
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
}

fn attempt(command: &mut Command, stdin: Stdio, timeout: Duration) -> Result<Output, Failure> {
    // Files, not pipes: a chatty command cannot block on a full pipe while nobody reads it.
    let dir = tempfile::tempdir().map_err(Failure::Start)?;
    let (stdout_path, stderr_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = command
        .stdin(stdin)
        .stdout(File::create(&stdout_path).map_err(Failure::Start)?)
        .stderr(File::create(&stderr_path).map_err(Failure::Start)?)
        .spawn()
        .map_err(Failure::Start)?;
    let status = wait_for(timeout, || match child.try_wait() {
        Ok(None) => None,
        Ok(Some(status)) => Some(Some(status)),
        Err(_) => Some(None),
    })
    .flatten();
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = fs::read(&stdout_path).unwrap_or_default();
    let stderr = fs::read(&stderr_path).unwrap_or_default();
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => Err(Failure::Timeout { stdout, stderr }),
    }
}

/// Like [`output_within`], and the command must succeed; returns its stdout.
pub fn run_within(command: &mut Command, timeout: Duration) -> String {
    let out = output_within(command, timeout);
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
