//! Reaping: pause is the pod's PID 1, so every orphan in the pod becomes its child.

use rustix::process::{WaitOptions, wait};

/// Collects every exited child. Signals coalesce: one SIGCHLD may stand for thousands of exits, so
/// keep going until no zombie is left (`Ok(None)`: live children only; `Err`: no children at all).
pub fn reap_all() {
    while let Ok(Some(_)) = wait(WaitOptions::NOHANG) {}
}
