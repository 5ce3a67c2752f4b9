//! `pause`: holds a pod's namespaces open and reaps the orphans reparented to it.
//!
//! No libc: the kernel enters at [`start`], every syscall goes through rustix's linux_raw backend,
//! and nothing allocates. Behaviour follows Kubernetes' `pause.c`.

#![no_std]
#![no_main]

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

/// Exit status for a clean shutdown (SIGINT, SIGTERM) and for `-v`, as pause.c.
const EXIT_OK: i32 = 0;

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
