//! Running a command to completion within a deadline: a hung runtime or daemon fails the test
//! with the command's output instead of stalling the suite.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use xtask::engine::process::{Unfinished, capture_within};

/// Runs `command` (stdin closed, output captured) for at most `timeout`; kills it and panics,
/// showing what it printed, if it takes longer.
pub fn output_within(command: &mut Command, timeout: Duration) -> Output {
    output_within_reading(command, Stdio::null(), timeout)
}

/// [`output_within`], with `stdin` as the command's standard input.
pub fn output_within_reading(command: &mut Command, stdin: Stdio, timeout: Duration) -> Output {
    match capture_within(command, stdin, timeout) {
        Ok(output) => output,
        Err(Unfinished::Start(error)) => panic!("cannot start {command:?}: {error}"),
        Err(Unfinished::Timeout { stdout, stderr }) => panic!(
            "{command:?} did not finish within {timeout:?}; it printed:\n{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
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
