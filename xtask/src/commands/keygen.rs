//! `cargo xtask keygen [--out DIR]`: a cosign key pair, `DIR/cosign.key` (encrypted, mode 0600)
//! and `DIR/cosign.pub`, in the files `cosign generate-key-pair` writes, so either tool signs and
//! verifies with the other's keys. The password comes from `COSIGN_PASSWORD` (as cosign's does;
//! set and empty means no password), else it is asked twice on the terminal with echo off.
//! Existing files are never overwritten, and nothing secret is printed or written elsewhere.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rustix::termios::{self, LocalModes, OptionalActions, Termios};
use zeroize::Zeroizing;

use crate::project;
use crate::sigstore::key::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SigningKey};

/// cosign's variable for the key's password.
pub const PASSWORD_VAR: &str = "COSIGN_PASSWORD";
/// Where the password is asked when the variable is unset: the controlling terminal, whatever
/// standard input is.
const TERMINAL: &str = "/dev/tty";
/// Read and write for the owner alone, as cosign writes its key.
const PRIVATE_MODE: u32 = 0o600;
const PUBLIC_MODE: u32 = 0o644;

/// Writes a new key pair into `out`.
pub fn run(out: &Path) -> Result<()> {
    let private = out.join(PRIVATE_KEY_FILE);
    let public = out.join(PUBLIC_KEY_FILE);
    for path in [&private, &public] {
        if fs::symlink_metadata(path).is_ok() {
            bail!(
                "{} already exists: keygen never overwrites a key; move it away or choose another --out",
                path.display()
            );
        }
    }
    let password = password()?;
    let key = SigningKey::generate()?;
    let key_file = key.to_key_file(password.as_bytes())?;
    let public_pem = key.public_key().to_pem()?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_new(&private, key_file.as_bytes(), PRIVATE_MODE)?;
    if let Err(error) = write_new(&public, public_pem.as_bytes(), PUBLIC_MODE) {
        // Half a key pair is worse than none: the next run would refuse to overwrite it.
        let _ = fs::remove_file(&private);
        return Err(error);
    }
    println!(
        "wrote {} (encrypted, mode 0600) and {}: public key {}",
        project::relative(&private).display(),
        project::relative(&public).display(),
        key.public_key().fingerprint()
    );
    Ok(())
}

/// Creates `path`, which must not exist, with `mode`, holding `data`.
fn write_new(path: &PathBuf, data: &[u8], mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// `COSIGN_PASSWORD`, or the same password typed twice on the terminal.
fn password() -> Result<Zeroizing<String>> {
    if let Some(value) = std::env::var_os(PASSWORD_VAR) {
        return value.into_string().map(Zeroizing::new).map_err(|_| {
            anyhow::anyhow!("{PASSWORD_VAR} is not UTF-8: cosign could not read such a key either")
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
    let second = ask(&terminal, "Enter password for private key again: ")?;
    if first != second {
        bail!("the two passwords differ: run `cargo xtask keygen` again");
    }
    Ok(first)
}

/// Prints `prompt` on the terminal and reads one line with echo off.
fn ask(terminal: &File, prompt: &str) -> Result<Zeroizing<String>> {
    let mut writer = terminal;
    writer.write_all(prompt.as_bytes())?;
    writer.flush()?;
    let line = {
        let _echo_off = EchoOff::new(terminal)?;
        let mut line = Zeroizing::new(String::new());
        BufReader::new(terminal)
            .read_line(&mut line)
            .context("reading the password from the terminal")?;
        line
    };
    // Enter did not echo: move on to the next line.
    writer.write_all(b"\n")?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\n', '\r']).to_string(),
    ))
}

/// The terminal's echo switched off until dropped.
struct EchoOff<'a> {
    terminal: &'a File,
    saved: Termios,
}

impl<'a> EchoOff<'a> {
    fn new(terminal: &'a File) -> Result<EchoOff<'a>> {
        let saved = termios::tcgetattr(terminal).context("reading the terminal's settings")?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        termios::tcsetattr(terminal, OptionalActions::Now, &quiet)
            .context("switching the terminal's echo off")?;
        Ok(EchoOff { terminal, saved })
    }
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.terminal, OptionalActions::Now, &self.saved);
    }
}
