//! One runtime suite at a time on this host. The runtime suites share one test binary, whose
//! tests run on parallel threads, but not one host state: docker's leftovers check reads the
//! host's firewall, bridges and cgroups, podman's pods and podman's Docker API share /run/runc and
//! /run/netns, runc and podman register qemu in binfmt_misc. A suite's tests still run beside each
//! other, as they did when each suite was a binary of its own; another suite waits its turn.

use std::sync::{Condvar, Mutex, PoisonError};

/// The suite whose turn it is, and how many of its tests hold it.
struct Holder {
    suite: Option<&'static str>,
    tests: usize,
}

static HOLDER: Mutex<Holder> = Mutex::new(Holder {
    suite: None,
    tests: 0,
});
static RELEASED: Condvar = Condvar::new();

/// A test's share of its suite's turn; the last one dropped hands the host to the next suite.
#[must_use = "the turn ends when the value is dropped"]
pub struct Turn(());

/// Waits until no other suite holds the host, then joins `suite`'s turn.
pub fn take(suite: &'static str) -> Turn {
    let mut holder = HOLDER.lock().unwrap_or_else(PoisonError::into_inner);
    while holder.suite.is_some_and(|holding| holding != suite) {
        holder = RELEASED
            .wait(holder)
            .unwrap_or_else(PoisonError::into_inner);
    }
    holder.suite = Some(suite);
    holder.tests += 1;
    Turn(())
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut holder = HOLDER.lock().unwrap_or_else(PoisonError::into_inner);
        holder.tests -= 1;
        if holder.tests == 0 {
            holder.suite = None;
            RELEASED.notify_all();
        }
    }
}
