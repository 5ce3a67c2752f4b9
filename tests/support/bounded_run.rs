//! The xtask run as an attacker's target: under an address-space limit (RLIMIT_AS, as
//! `prlimit --as` sets it), so that an unbounded read fails instead of taking the machine's
//! memory, and under GNU time, which reports its peak RSS. A refusal must be one line, no panic,
//! and its peak RSS well under the 256 MiB the suites allow.
//!
//! GNU time is the parent because `wait4`'s count for a child of the test process itself would
//! start at the test's own peak (a forked child inherits its parent's high-water mark through
//! `exec`), where time is small.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crate::Need;
use crate::deadline::output_within;
use crate::xtask_cli::{self, Said};

const TIME: &str = "/usr/bin/time";
/// What a bounded run needs besides what its test needs.
pub const NEEDS_TIME: Need = Need::program(TIME, "time");
/// What GNU time writes before the numbers when the command died of a signal.
const KILLED_BY: &str = "Command terminated by signal ";
/// The address space a command may map: room for the xtask's threads and their allocator
/// arenas, while a client that kept an endless answer or inflated a bomb fails at it.
pub const ADDRESS_SPACE: u64 = 1 << 30;
/// The peak RSS a bounded command stays under, a quarter of 256 MiB. Measured: 11 to 21 MiB for
/// the debug xtask's refusals, 40 MiB for a verify, whose rebuild runs cargo (time counts the
/// peak of what the command waited for too). Without the bounds they reached the limit above.
pub const MAX_PEAK_RSS: u64 = 64 << 20;
/// The exit code of a Rust program that panicked.
const PANICKED: i32 = 101;

/// How a run under [`ADDRESS_SPACE`] ended.
pub struct Bounded {
    pub said: Said,
    /// The command's exit code; None when a signal ended it.
    pub code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// The most resident memory the command (and anything it waited for) had, in bytes.
    pub peak_rss: u64,
}

/// Runs the xtask binary with `args` as [`xtask_cli::run`] does, under [`ADDRESS_SPACE`] and GNU
/// time; killed, and the test failed, after `timeout` (a read that hangs).
pub fn run(args: &[&str], timeout: Duration) -> Bounded {
    let home = tempfile::tempdir().expect("a temp dir");
    let report = home.path().join("time-report");
    let xtask = xtask_cli::command(args, &[], home.path());
    let mut command = Command::new(TIME);
    command
        .args(["--format=%M", "--output"])
        .arg(&report)
        .arg("--")
        .arg(xtask.get_program())
        .args(xtask.get_args());
    for (name, value) in xtask.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    // SAFETY: setsid and setrlimit are async-signal-safe, and nothing else runs between fork and
    // exec. The limit is inherited by the xtask that time starts.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &limit) {
                0 => Ok(()),
                _ => Err(io::Error::last_os_error()),
            }
        });
    }
    let out = output_within(&mut command, timeout);
    let said = Said {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let report = std::fs::read_to_string(&report).unwrap_or_default();
    let signal = report
        .lines()
        .find_map(|line| line.strip_prefix(KILLED_BY)?.trim().parse().ok());
    let peak_kib: u64 = report
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time reported no peak RSS: {report}\n{}", said.all()));
    Bounded {
        code: if signal.is_some() {
            None
        } else {
            out.status.code()
        },
        signal,
        said,
        peak_rss: peak_kib * 1024,
    }
}

/// Asserts `run` ended by itself, without a panic, its peak RSS under [`MAX_PEAK_RSS`].
pub fn assert_bounded(case: &str, run: &Bounded) {
    assert_ne!(
        run.code,
        Some(PANICKED),
        "{case}: it panicked:\n{}",
        run.said.all()
    );
    assert!(
        run.code.is_some(),
        "{case}: killed by signal {:?}, peak RSS {} MiB:\n{}",
        run.signal,
        run.peak_rss >> 20,
        run.said.all()
    );
    assert!(
        run.peak_rss < MAX_PEAK_RSS,
        "{case}: peak RSS {} MiB, over {} MiB:\n{}",
        run.peak_rss >> 20,
        MAX_PEAK_RSS >> 20,
        run.said.all()
    );
}

/// [`assert_bounded`], and `run` refused in one line naming each of `named`; returns the line.
pub fn assert_refused(case: &str, run: &Bounded, named: &[&str]) -> String {
    assert_bounded(case, run);
    let line = run.said.error_line(case);
    xtask_cli::assert_names(&line, named);
    eprintln!("{case}: peak RSS {} KiB: {line}", run.peak_rss >> 10);
    line
}
