//! Running commands and waiting on processes, with deadlines so that a hang fails instead of
//! stalling the suite.

use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

// Stopping daemons and running commands from `Drop`, where nothing may panic (a second panic
// while a failed test unwinds aborts the binary and loses the fixture's log): the xtask's own,
// shared with its private Docker Engine. `output_for_cleanup` gives None instead of panicking.
pub use xtask::engine::process::{output_within as output_for_cleanup, spawn_logged, terminate};

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
