//! The wait loop: every catchable signal blocked, then taken synchronously one at a time.
//!
//! No handlers: a blocked signal stays pending until `rt_sigtimedwait` takes it, so nothing runs
//! asynchronously. Blocking also matters for PID 1, where the kernel drops signals that would take
//! their default action; pending blocked signals are never dropped.

use crate::runtime::{How, KernelSigSet, Signal, exit_group, kernel_sigprocmask, kernel_sigwait};

use crate::{EXIT_OK, children, output};

/// Status when the signal mask cannot be set: pause would die on the first signal otherwise.
const EXIT_NO_SIGNAL_MASK: i32 = 1;

pub fn wait_forever() -> ! {
    // The kernel leaves SIGKILL and SIGSTOP out of both calls by itself.
    let all = KernelSigSet::all();
    // SAFETY: there is no libc to reserve signals, and no code here relies on asynchronous delivery.
    if unsafe { kernel_sigprocmask(How::BLOCK, Some(&all)) }.is_err() {
        output::to_stderr(output::CANNOT_BLOCK_SIGNALS);
        exit_group(EXIT_NO_SIGNAL_MASK);
    }
    loop {
        // SAFETY: as above; every signal in `all` is blocked, as sigwait requires.
        match unsafe { kernel_sigwait(&all) } {
            Ok(Signal::INT) => shut_down(output::GOT_SIGINT),
            Ok(Signal::TERM) => shut_down(output::GOT_SIGTERM),
            Ok(Signal::CHILD) => children::reap_all(),
            // Every other signal is consumed and ignored; an interrupted wait is simply retried.
            Ok(_) | Err(_) => {}
        }
    }
}

fn shut_down(message: &[u8]) -> ! {
    output::to_stderr(message);
    exit_group(EXIT_OK)
}
