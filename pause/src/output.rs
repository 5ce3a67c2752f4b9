//! The few lines pause ever writes, each a single `write` of a constant. Write errors are ignored:
//! there is nobody left to tell.

use rustix::io::write;
use rustix::stdio::{stderr, stdout};

/// `pause <version>[+<git revision>]\n`, composed by build.rs.
const VERSION_LINE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/version-line"));

pub fn version() {
    // SAFETY: fd 1 is never closed by this process, so borrowing it for one call is sound.
    let _ = write(unsafe { stdout() }, VERSION_LINE);
}

/// pause.c's words, which scripts grep for. The signal names are `strsignal()`'s, as pause.c prints.
pub const NOT_INIT: &[u8] = b"Warning: pause should be the first process\n";
pub const GOT_SIGINT: &[u8] = b"Shutting down, got signal: Interrupt\n";
pub const GOT_SIGTERM: &[u8] = b"Shutting down, got signal: Terminated\n";
pub const CANNOT_BLOCK_SIGNALS: &[u8] = b"pause: rt_sigprocmask failed: cannot block signals\n";
pub const CANNOT_WAIT: &[u8] = b"pause: rt_sigtimedwait failed: cannot wait for signals\n";

pub fn to_stderr(line: &[u8]) {
    // SAFETY: fd 2 is never closed by this process, so borrowing it for one call is sound.
    let _ = write(unsafe { stderr() }, line);
}
