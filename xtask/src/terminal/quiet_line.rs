//! One line typed on a terminal with its echo off (a password), and the echo back on whatever
//! ends the wait: Enter, end of input, an error, or a signal that ends the process (Ctrl-C,
//! Ctrl-\, the terminal hanging up, `kill`). A process killed by the default action of such a
//! signal would leave the echo off, and the user's shell typing blind; so while the echo is off
//! those signals are caught, the read they interrupt returns, the echo is restored, and the same
//! signal is raised again with its previous action, so the process still ends as signalled (the
//! shell sees the signal in its status).

use std::fs::File;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result, bail};
use rustix::io::Errno;
use rustix::termios::{self, LocalModes, OptionalActions, Termios};
use zeroize::Zeroizing;

use crate::caught_signals::{self, Caught};

/// The signals whose default action ends a process waiting at a prompt: Ctrl-C, Ctrl-\, the
/// terminal hanging up, `kill`.
const ENDING_SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGTERM];
/// No ending signal has arrived.
const NO_SIGNAL: libc::c_int = 0;
/// The longest line read: Linux's terminal keeps at most 4095 characters of a line in canonical
/// mode. Reserved at once, so the buffer never moves and leaves an unwiped copy behind.
const MAX_LINE: usize = 4096;

/// The ending signal that arrived while the echo was off. The handler does nothing else: storing
/// an atomic is all a signal handler may safely do here; the rest happens in [`read`].
static CAUGHT: AtomicI32 = AtomicI32::new(NO_SIGNAL);

extern "C" fn note(signal: libc::c_int) {
    CAUGHT.store(signal, Ordering::SeqCst);
}

/// Reads one line from `terminal` with its echo off, without the line ending. A signal that
/// ends the process ends it here, after the echo is back on.
pub(crate) fn read(terminal: &File) -> Result<Zeroizing<String>> {
    let line = {
        let _quiet = Quiet::new(terminal)?;
        read_line(terminal)
    };
    let signal = CAUGHT.swap(NO_SIGNAL, Ordering::SeqCst);
    if signal != NO_SIGNAL {
        // Enter was not typed: end the prompt's line before the shell's comes back.
        let _ = rustix::io::write(terminal, b"\n");
        // SAFETY: raise has no preconditions; the signal's previous action is back in place, so
        // its default ends the process here.
        unsafe { libc::raise(signal) };
        bail!("interrupted by signal {signal} while reading the password");
    }
    let line = line?;
    let line = std::str::from_utf8(&line).context("the password typed is not UTF-8")?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\n', '\r']).to_string(),
    ))
}

/// Reads up to a newline or the end of input; stops at once when an ending signal has arrived.
fn read_line(terminal: &File) -> Result<Zeroizing<Vec<u8>>> {
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_LINE));
    let mut chunk = Zeroizing::new([0; MAX_LINE]);
    while !line.ends_with(b"\n") {
        if CAUGHT.load(Ordering::SeqCst) != NO_SIGNAL {
            bail!("interrupted");
        }
        let read = match rustix::io::read(terminal, chunk.as_mut_slice()) {
            Ok(0) => break,
            Ok(read) => read,
            Err(Errno::INTR) => continue,
            Err(error) => {
                return Err(std::io::Error::from(error))
                    .context("reading the password from the terminal");
            }
        };
        if line.len() + read > MAX_LINE {
            bail!("the password typed is longer than {MAX_LINE} bytes");
        }
        line.extend_from_slice(&chunk[..read]);
    }
    Ok(line)
}

/// The terminal's echo off and the ending signals caught, until dropped.
struct Quiet<'a> {
    terminal: &'a File,
    saved: Termios,
    /// The ending signals, caught with [`note`]; their actions come back after the echo (fields
    /// drop after [`Quiet`]'s `drop`).
    _caught: Caught,
}

impl<'a> Quiet<'a> {
    fn new(terminal: &'a File) -> Result<Quiet<'a>> {
        let saved = termios::tcgetattr(terminal).context("reading the terminal's settings")?;
        // The handlers first: a signal between the two steps is noted, not fatal with echo off.
        // Without SA_RESTART, a signal interrupts the read.
        let quiet = Quiet {
            terminal,
            saved: saved.clone(),
            _caught: caught_signals::catch(&ENDING_SIGNALS, note)?,
        };
        let mut silent = saved;
        silent.local_modes.remove(LocalModes::ECHO);
        termios::tcsetattr(terminal, OptionalActions::Now, &silent)
            .context("switching the terminal's echo off")?;
        Ok(quiet)
    }
}

impl Drop for Quiet<'_> {
    /// The echo first, then the signals' actions (as `_caught` drops): a signal between the two
    /// is noted and raised again by [`read`], with the echo already on.
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.terminal, OptionalActions::Now, &self.saved);
    }
}
