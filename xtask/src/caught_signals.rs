//! Signals caught with a handler of ours for a while, their previous actions put back after: the
//! password prompt (`terminal::quiet_line`: the echo restored) and a push
//! (`commands::push::interrupted`: nothing tagged) each catch the signals that would end the
//! process. A signal that was ignored (`nohup`) stays ignored.

use anyhow::{Context, Result};

/// The signals caught, each with the action it had before; dropping it puts them back.
pub(crate) struct Caught {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

/// Catches each of `signals` with `handler`, without SA_RESTART, so that a blocking call the
/// signal interrupts returns. `handler` must do only what a signal handler may
/// (async-signal-safe calls, atomics).
pub(crate) fn catch(
    signals: &[libc::c_int],
    handler: extern "C" fn(libc::c_int),
) -> Result<Caught> {
    let mut caught = Caught {
        previous: Vec::new(),
    };
    for &signal in signals {
        // SAFETY: sigaction is plain data; all zeros is an empty mask, no flags, SIG_DFL.
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a valid signal number; a null new action only reads the current one.
        if unsafe { libc::sigaction(signal, std::ptr::null(), &mut previous) } != 0 {
            return Err(std::io::Error::last_os_error()).context("reading a signal's action");
        }
        if previous.sa_sigaction == libc::SIG_IGN {
            continue;
        }
        // SAFETY: as above.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = handler as libc::sighandler_t;
        // SAFETY: the caller's handler does only async-signal-safe work.
        if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error()).context("catching a signal");
        }
        caught.previous.push((signal, previous));
    }
    Ok(caught)
}

impl Drop for Caught {
    fn drop(&mut self) {
        for (signal, previous) in &self.previous {
            // SAFETY: puts back the action sigaction gave for this signal.
            unsafe { libc::sigaction(*signal, previous, std::ptr::null_mut()) };
        }
    }
}
