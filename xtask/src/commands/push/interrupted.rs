//! Ctrl-C (or SIGTERM) during a push, before its tag is written: one line on stderr,
//! `interrupted: nothing was tagged; run the same push again`, and exit status 128 + the signal
//! (130 for Ctrl-C), as a shell reports a program a signal ended. The line is true up to the
//! tag's write, the plan's last: what was written before (blobs, manifests by digest, referrers,
//! `.sig` and `.att` images) names no image under the tag, and the same push again finds it and
//! completes. From the tag's write on ([`tagging`]) it would not be: the signal then does what it
//! does to any program, and ends the push.
//!
//! The handler does only what a signal handler may: an atomic read, then `write(2)` of a static
//! line and `_exit(2)`, or `sigaction(2)` and `raise(3)`; no allocation, no lock, no destructor
//! (an upload in flight is simply cut off).

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

use crate::caught_signals::{self, Caught};

/// The line, and the same after a newline, for a terminal, where Ctrl-C left `^C` on the line.
const LINE: &[u8] = b"interrupted: nothing was tagged; run the same push again\n";
const LINE_AFTER_ECHO: &[u8] = b"\ninterrupted: nothing was tagged; run the same push again\n";
/// What ends a push on purpose: Ctrl-C, and `kill` (a CI job cancelled).
const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];
/// The status of a program a signal ended, less the signal's number (POSIX shells).
const SIGNALLED: libc::c_int = 128;

/// Whether stderr is a terminal: found out when the handler is installed, not in it.
static ON_TERMINAL: AtomicBool = AtomicBool::new(false);
/// Whether the tag's write has begun.
static TAGGING: AtomicBool = AtomicBool::new(false);

extern "C" fn interrupted(signal: libc::c_int) {
    if TAGGING.load(Ordering::SeqCst) {
        // SAFETY: sigaction and raise are async-signal-safe; all zeros is SIG_DFL with an empty
        // mask, and the signal's default action ends the process.
        unsafe {
            let default: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, &default, std::ptr::null_mut());
            libc::raise(signal);
        }
        return;
    }
    let line = if ON_TERMINAL.load(Ordering::SeqCst) {
        LINE_AFTER_ECHO
    } else {
        LINE
    };
    // SAFETY: write and _exit are async-signal-safe, and `line` is static.
    unsafe {
        libc::write(libc::STDERR_FILENO, line.as_ptr().cast(), line.len());
        libc::_exit(SIGNALLED + signal);
    }
}

/// Installs the handler for the push about to start, until the value returned is dropped. A
/// signal that was ignored (`nohup`) stays ignored.
pub(super) fn catch() -> Result<Caught> {
    TAGGING.store(false, Ordering::SeqCst);
    // SAFETY: isatty has no preconditions.
    let on_terminal = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
    ON_TERMINAL.store(on_terminal, Ordering::SeqCst);
    caught_signals::catch(&SIGNALS, interrupted)
}

/// The tag is about to be written: from now on an interruption may leave it written, and the
/// line would not be true. Without the handler (the library called from the suites), nothing.
pub(super) fn tagging() {
    TAGGING.store(true, Ordering::SeqCst);
}
