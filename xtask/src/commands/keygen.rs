//! `cargo xtask keygen [--out DIR]`: a cosign key pair, `DIR/cosign.key` (encrypted, mode 0600)
//! and `DIR/cosign.pub`, in the files `cosign generate-key-pair` writes, so either tool signs and
//! verifies with the other's keys. The password comes from `COSIGN_PASSWORD` (as cosign's does;
//! set and empty means no password), else it is asked twice on the terminal with echo off
//! (`password.rs`, which the signing push shares).
//! Existing files are never overwritten, and nothing secret is printed or written elsewhere.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::project;
use crate::sigstore::key::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SigningKey};
use crate::terminal::password::{self, Purpose};
/// Read and write for the owner alone, as cosign writes its key.
const PRIVATE_MODE: u32 = 0o600;
const PUBLIC_MODE: u32 = 0o644;

/// Writes a new key pair into `out`, encrypted with `password_variable` (the value
/// COSIGN_PASSWORD had) or a password typed on the terminal.
pub fn run(out: &Path, password_variable: Option<&[u8]>) -> Result<()> {
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
    let password = password::read(Purpose::NewKey, "cargo xtask keygen", password_variable)?;
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
