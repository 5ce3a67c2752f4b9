//! `pause`: holds a pod's namespaces open and reaps the orphans reparented to it.
//!
//! No libc: the kernel enters at [`start`], every syscall goes through rustix's linux_raw backend,
//! and nothing allocates. Behaviour follows Kubernetes' `pause.c`.

#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

mod args;
mod children;
mod mem;
mod output;
mod panic;
mod signals;
mod start;

use rustix::process::getpid;

/// rustix's libc-replacement API (signal mask, sigwait, exit_group) under its rotating mangled name:
/// this is why Cargo.toml pins rustix exactly.
use rustix::runtime_448b8ad740e2a26f as runtime;

// Every exit status pause has (the README lists the same). A runtime restarts a sandbox whose
// anchor exits, so each failure ends pause rather than leave it half-working.

/// A clean shutdown (SIGINT, SIGTERM) and `-v`, as pause.c.
const EXIT_OK: i32 = 0;
/// The signal mask cannot be set: pause would die on the first signal otherwise.
const EXIT_NO_SIGNAL_MASK: i32 = 1;
/// rt_sigtimedwait fails other than by an interruption (EPERM from a seccomp profile that does not
/// expect it): every retry would fail the same, at 100% CPU.
const EXIT_NO_SIGNAL_WAIT: i32 = 2;
/// A panic, which nothing in pause is meant to reach; the status a shell gives "found but could not
/// run".
const EXIT_PANIC: i32 = 126;

/// Everything after the architecture-specific entry: `argv` as the kernel laid it out.
fn main(argv: args::Argv) -> ! {
    if argv.asks_for_version() {
        output::version();
        runtime::exit_group(EXIT_OK);
    }
    if !getpid().is_init() {
        output::to_stderr(output::NOT_INIT);
    }
    signals::wait_forever()
}
