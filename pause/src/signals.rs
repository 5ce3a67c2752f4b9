//! The wait loop: every catchable signal blocked, then taken synchronously one at a time.
//!
//! No handlers: a blocked signal stays pending until `rt_sigtimedwait` takes it, so nothing runs
//! asynchronously. Blocking also matters for PID 1, where the kernel drops signals that would take
//! their default action; pending blocked signals are never dropped.
//!
//! Why every signal other than INT, TERM and CHLD is ignored, even when pause is not PID 1: pause.c
//! handles only those three, so outside PID 1 (a `hostPID: true` pod, `docker run --init`, a
//! shell) SIGHUP, SIGQUIT, SIGUSR1 and the like kill it, and SIGTSTP, SIGTTIN and SIGTTOU stop it.
//! An anchor that dies takes its whole pod down, and one that stops no longer reaps; in a
//! `hostPID` pod a `pkill -HUP` or a terminal hangup on the host reaches it. So a stray signal
//! costs nothing here: SIGINT and SIGTERM (Ctrl-C, `docker stop`, the kubelet) still end pause
//! with 0, and SIGKILL, which no process can block, always ends it. As PID 1 the kernel already
//! drops default-action signals, so there pause.c and pause behave alike.

use rustix::io::Errno;

use crate::runtime::{How, KernelSigSet, Signal, exit_group, kernel_sigprocmask, kernel_sigwait};
use crate::{EXIT_NO_SIGNAL_MASK, EXIT_NO_SIGNAL_WAIT, EXIT_OK, children, output};

pub fn wait_forever() -> ! {
    // The kernel leaves SIGKILL and SIGSTOP out of both calls by itself.
    let all = KernelSigSet::all();
    // SAFETY: there is no libc to reserve signals, and no code here relies on asynchronous delivery.
    if unsafe { kernel_sigprocmask(How::BLOCK, Some(&all)) }.is_err() {
        end(output::CANNOT_BLOCK_SIGNALS, EXIT_NO_SIGNAL_MASK);
    }
    // Zombies that exist already (pause was exec'd by a process that had children) sent their
    // SIGCHLD before pause was there to take it. Reap them after the mask is set, not before: a
    // child that exits after this reap then leaves a SIGCHLD pending for the loop, where before
    // the mask the kernel would have discarded it (SIGCHLD's default action is to ignore it).
    children::reap_all();
    loop {
        // SAFETY: as above; every signal in `all` is blocked, as sigwait requires.
        match unsafe { kernel_sigwait(&all) } {
            Ok(Signal::INT) => end(output::GOT_SIGINT, EXIT_OK),
            Ok(Signal::TERM) => end(output::GOT_SIGTERM, EXIT_OK),
            Ok(Signal::CHILD) => children::reap_all(),
            // Consumed and ignored: see the module's documentation for why.
            Ok(_) => {}
            // EINTR: a stop and continue, or a debugger attaching, interrupted the wait. EAGAIN is
            // "no signal in time", which a wait with no timeout should never see; if it does,
            // waiting again is the answer to it too.
            Err(Errno::INTR | Errno::AGAIN) => {}
            // Anything else (EPERM from a seccomp profile recorded from pause.c, which never calls
            // rt_sigtimedwait) fails the same way on every retry: end, so that the runtime restarts
            // the sandbox, rather than spin at 100% CPU.
            Err(_) => end(output::CANNOT_WAIT, EXIT_NO_SIGNAL_WAIT),
        }
    }
}

/// Writes `line` to stderr and exits with `status`. Never inlined: its four callers share one copy,
/// 30 to 60 bytes less, depending on the platform, in a binary with a 2 KiB budget.
#[inline(never)]
fn end(line: &[u8], status: i32) -> ! {
    output::to_stderr(line);
    exit_group(status)
}
