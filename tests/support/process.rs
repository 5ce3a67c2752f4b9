//! Running commands and waiting on processes, with deadlines so that a hang fails instead of
//! stalling the suite.

use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How often polling loops look again.
pub const POLL: Duration = Duration::from_millis(20);

/// Runs `argv` to completion, capturing its output; panics if it cannot start.
pub fn output(argv: &[impl AsRef<str>]) -> Output {
    let (program, args) = argv.split_first().expect("a command line has a program");
    Command::new(program.as_ref())
        .args(args.iter().map(AsRef::as_ref))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.as_ref()))
}

/// Runs `argv` and returns its stdout, panicking with its stderr if it fails.
pub fn run(argv: &[impl AsRef<str>]) -> String {
    let out = output(argv);
    assert!(
        out.status.success(),
        "`{}` failed ({}): {}",
        argv.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` until it gives a value or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(POLL);
    }
}

/// Waits for `child` to exit, for at most `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    wait_for(timeout, || child.try_wait().expect("waiting on a child"))
}

/// Sends `signal` (a name such as `TERM`) to `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) {
    run(&["kill", "-s", signal, &pid.to_string()]);
}

/// Ends `child` for good, for cleanup in `Drop`: SIGTERM, up to `grace` to exit, then SIGKILL, and
/// always reaped. Never panics, so a fixture whose daemon already died (or never started) still
/// gets to show its log instead of aborting the test binary mid-unwind.
pub fn terminate(child: &mut Child, grace: Duration) {
    if !matches!(child.try_wait(), Ok(None)) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let exited = wait_for(grace, || match child.try_wait() {
        Ok(None) => None,
        Ok(Some(_)) | Err(_) => Some(()),
    });
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Runs `command` (stdio closed) for at most `timeout`, killing it then; for cleanup in `Drop`,
/// which must not panic: gives the exit status, or None if it could not start or timed out.
pub fn status_within(command: &mut Command, timeout: Duration) -> Option<ExitStatus> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let status = wait_exit(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}
