//! The password of a cosign key, as cosign takes it: from `COSIGN_PASSWORD` (set and empty means
//! no password), else asked on the controlling terminal with echo off — twice for a new key, once
//! to use one. Nothing typed is echoed, printed or kept past its use.

use std::fs::{File, OpenOptions};
use std::io::Write;

use anyhow::{Result, bail};
use zeroize::Zeroizing;

use super::quiet_line;

/// cosign's variable for the key's password: taken out of the environment when the xtask starts
/// (`secret_variables`), and handed here as `variable`.
pub const PASSWORD_VAR: &str = "COSIGN_PASSWORD";
/// Where the password is asked when the variable is unset: the controlling terminal, whatever
/// standard input is (a push may read a registry password from it).
const TERMINAL: &str = "/dev/tty";

/// Whether the password is for a new key (typed twice, to catch a typo that would lock the key
/// away for good) or for an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    NewKey,
    ExistingKey,
}

/// `variable` (the value `COSIGN_PASSWORD` had), or the password typed on the terminal. `rerun`
/// is the command to run again when the two typed passwords differ.
pub(crate) fn read(
    purpose: Purpose,
    rerun: &str,
    variable: Option<&[u8]>,
) -> Result<Zeroizing<String>> {
    if let Some(value) = variable {
        return std::str::from_utf8(value)
            .map(|value| Zeroizing::new(value.to_string()))
            .map_err(|_| {
                anyhow::anyhow!(
                    "{PASSWORD_VAR} is not UTF-8: cosign could not read such a key either"
                )
            });
    }
    let terminal = OpenOptions::new()
        .read(true)
        .write(true)
        .open(TERMINAL)
        .map_err(|_| {
            anyhow::anyhow!(
                "{PASSWORD_VAR} is unset and there is no terminal to ask on: set {PASSWORD_VAR} \
                 (empty for a key without a password)"
            )
        })?;
    let first = ask(&terminal, "Enter password for private key: ")?;
    if purpose == Purpose::NewKey {
        let second = ask(&terminal, "Enter password for private key again: ")?;
        if first != second {
            bail!("the two passwords differ: run `{rerun}` again");
        }
    }
    Ok(first)
}

/// Prints `prompt` on the terminal and reads one line with echo off.
fn ask(terminal: &File, prompt: &str) -> Result<Zeroizing<String>> {
    let mut writer = terminal;
    writer.write_all(prompt.as_bytes())?;
    writer.flush()?;
    let line = quiet_line::read(terminal)?;
    // Enter did not echo: move on to the next line.
    writer.write_all(b"\n")?;
    Ok(line)
}
