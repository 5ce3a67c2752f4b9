//! Secret variables are taken out of the xtask's environment before it starts anything, so no
//! program it runs (cargo, rustc, build scripts, compilers, git, a credential helper) inherits
//! them: a release job holds `COSIGN_PASSWORD`, `COSIGN_PRIVATE_KEY` and `GITHUB_TOKEN`, and any
//! build script of any dependency could read or leak what it inherits.
//!
//! The rule, on the name in upper case: it contains `TOKEN`, `PASSWORD`, `PASSWD`, `PASSPHRASE`,
//! `SECRET`, `PRIVATE_KEY`, `CREDENTIAL`, `API_KEY`, `APIKEY` or `AUTH_CONFIG` (GitLab's
//! `DOCKER_AUTH_CONFIG` holds registry logins), or starts with `COSIGN_`. That covers
//! `GITHUB_TOKEN`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN` and `_URL`, `ACTIONS_RUNTIME_TOKEN`,
//! `CARGO_REGISTRY_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `NPM_TOKEN`,
//! `VAULT_TOKEN`, `SIGSTORE_ID_TOKEN`, `REGISTRY_PASSWORD` and the like. The xtask needs one of
//! them itself, `COSIGN_PASSWORD`: it is kept, in memory wiped when dropped, and passed to the
//! code that opens the key.
//!
//! Removing a variable only drops it from what children inherit: its text stays in the block the
//! kernel shows as `/proc/<pid>/environ`, which any process of the same user can read. So the
//! value's bytes there are overwritten with zeros first. What no process can do is scrub its
//! parents': the `cargo` of `cargo xtask`, the CI step's shell. Code that must not see a secret
//! must not run under any process that holds it (the release workflow compiles in steps without
//! secrets).
//!
//! A credential helper is the one program that gets secrets back: `docker-credential-ecr-login`
//! needs `AWS_SECRET_ACCESS_KEY`, `-gcr` `GOOGLE_APPLICATION_CREDENTIALS`, `-pass` its store's
//! variables, as docker hands them its whole environment. It gets every removed variable but
//! cosign's (`COSIGN_*`), which no helper reads.

use std::collections::BTreeMap;
use std::ffi::{CStr, OsStr, OsString, c_char};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::OnceLock;

use zeroize::Zeroizing;

/// Parts of a name that make it a secret's.
const SECRET_PARTS: &[&str] = &[
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "API_KEY",
    "APIKEY",
    "AUTH_CONFIG",
];
/// Prefixes that make a name a secret's: cosign's variables (`COSIGN_KEY`, `COSIGN_PASSWORD`,
/// `COSIGN_PRIVATE_KEY`) are all about its keys.
const SECRET_PREFIXES: &[&str] = &[COSIGN];
/// cosign's variables, the only ones no credential helper gets back.
const COSIGN: &str = "COSIGN_";

/// The removed variables a credential helper gets back, as [`take`] found them.
static FOR_CREDENTIAL_HELPERS: OnceLock<Vec<(OsString, Zeroizing<Vec<u8>>)>> = OnceLock::new();

unsafe extern "C" {
    /// The C library's environment: NAME=VALUE strings, first those the kernel laid out at `exec`
    /// (the block `/proc/<pid>/environ` shows), ended by a null pointer.
    static environ: *const *mut c_char;
}

/// Whether a variable named `name` holds a secret, by the rule above.
pub fn is_secret(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    SECRET_PARTS.iter().any(|part| name.contains(part))
        || SECRET_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// The values of the secret variables the xtask itself reads, taken from the environment.
/// `Debug` names them, never shows a value.
#[derive(Default)]
pub struct Kept(BTreeMap<&'static str, Zeroizing<Vec<u8>>>);

impl Kept {
    /// The value `name` had, if it was set and asked to be kept.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|value| value.as_slice())
    }
}

impl fmt::Debug for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Removes every secret variable from the process's environment, so that no child inherits
/// one; returns the values of those named in `keep`.
///
/// # Safety
/// No other thread may exist: changing the environment races with any thread reading it (libc's
/// `getenv` included). Call it first thing in `main`.
pub unsafe fn take(keep: &[&'static str]) -> Kept {
    let mut kept = Kept::default();
    let mut for_helpers = Vec::new();
    for (name, value) in std::env::vars_os() {
        if !is_secret(&name) {
            continue;
        }
        if let Some(&wanted) = keep.iter().find(|wanted| OsStr::new(wanted) == name) {
            kept.0
                .insert(wanted, Zeroizing::new(value.as_bytes().to_vec()));
        }
        let value = Zeroizing::new(value.into_vec());
        if !name
            .to_string_lossy()
            .to_ascii_uppercase()
            .starts_with(COSIGN)
        {
            for_helpers.push((name.clone(), value));
        }
        // SAFETY: the caller guarantees that no other thread exists.
        unsafe {
            blank(&name);
            std::env::remove_var(&name);
        }
    }
    let _ = FOR_CREDENTIAL_HELPERS.set(for_helpers);
    kept
}

/// The secret variables a credential helper gets back: every one [`take`] removed but cosign's.
pub fn for_credential_helpers() -> impl Iterator<Item = (&'static OsStr, &'static OsStr)> {
    FOR_CREDENTIAL_HELPERS
        .get()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_os_str(), OsStr::from_bytes(value)))
}

/// Overwrites with zeros the value of every `name=` entry of the C library's environment, in
/// place: in the block laid out at `exec`, that is what `/proc/<pid>/environ` shows.
///
/// # Safety
/// No other thread may exist, and nothing may hold a pointer into the environment.
unsafe fn blank(name: &OsStr) {
    let prefix = [name.as_bytes(), b"="].concat();
    // SAFETY: `environ` is the C library's, valid until the environment changes, which only this
    // thread can do (the caller's promise).
    let mut entry = unsafe { environ };
    if entry.is_null() {
        return;
    }
    loop {
        // SAFETY: `entry` points into the null-terminated array of `environ`.
        let text = unsafe { *entry };
        if text.is_null() {
            break;
        }
        // SAFETY: every entry is a NUL-terminated string, writable: the exec block is on the
        // stack, and setenv's copies are the C library's heap.
        let length = unsafe { CStr::from_ptr(text) }.to_bytes().len();
        // SAFETY: `text` holds `length` bytes before its NUL.
        let bytes = unsafe { std::slice::from_raw_parts_mut(text.cast::<u8>(), length) };
        if bytes.starts_with(&prefix) {
            bytes[prefix.len()..].fill(0);
        }
        // SAFETY: the array goes on until its null pointer, not reached yet.
        entry = unsafe { entry.add(1) };
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::{Kept, is_secret};

    #[test]
    fn secret_names_by_the_rule() {
        for name in [
            "COSIGN_PASSWORD",
            "COSIGN_PRIVATE_KEY",
            "COSIGN_KEY",
            "GITHUB_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "CARGO_REGISTRY_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "registry_password",
            "DB_PASSWD",
            "GPG_PASSPHRASE",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "OPENAI_API_KEY",
            "DOCKER_AUTH_CONFIG",
        ] {
            assert!(is_secret(OsStr::new(name)), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "CARGO_TARGET_DIR",
            "RUSTUP_TOOLCHAIN",
            "SOURCE_DATE_EPOCH",
            "GITHUB_ACTIONS",
            "GITHUB_REPOSITORY",
            "SSH_AUTH_SOCK",
            "DOCKER_CONFIG",
            "REGISTRY_AUTH_FILE",
        ] {
            assert!(!is_secret(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn kept_values_never_format() {
        let mut kept = Kept::default();
        kept.0.insert("COSIGN_PASSWORD", b"hunter2".to_vec().into());
        let shown = format!("{kept:?}");
        assert_eq!(shown, r#"{"COSIGN_PASSWORD"}"#);
        assert_eq!(kept.get("COSIGN_PASSWORD"), Some(&b"hunter2"[..]));
    }
}
