//! Running a command to completion within a deadline: a hung runtime or daemon fails the test
//! with the command's output instead of stalling the suite.

use std::fs::{self, File};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::process::wait_exit;

/// Runs `command` (stdin closed, output captured) for at most `timeout`; kills it and panics,
/// showing what it printed, if it takes longer.
pub fn output_within(command: &mut Command, timeout: Duration) -> Output {
    output_within_reading(command, Stdio::null(), timeout)
}

/// [`output_within`], with `stdin` as the command's standard input.
pub fn output_within_reading(command: &mut Command, stdin: Stdio, timeout: Duration) -> Output {
    // Files, not pipes: a chatty command cannot block on a full pipe while nobody reads it.
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let (stdout_path, stderr_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = command
        .stdin(stdin)
        .stdout(File::create(&stdout_path).expect("creating an output file"))
        .stderr(File::create(&stderr_path).expect("creating an output file"))
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let status = wait_exit(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = fs::read(&stdout_path).expect("reading stdout");
    let stderr = fs::read(&stderr_path).expect("reading stderr");
    let Some(status) = status else {
        panic!(
            "{command:?} did not finish within {timeout:?}; it printed:\n{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )
    };
    Output {
        status,
        stdout,
        stderr,
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
