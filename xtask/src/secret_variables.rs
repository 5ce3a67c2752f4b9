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

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

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
const SECRET_PREFIXES: &[&str] = &["COSIGN_"];

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
    for (name, value) in std::env::vars_os() {
        if !is_secret(&name) {
            continue;
        }
        if let Some(&wanted) = keep.iter().find(|wanted| OsStr::new(wanted) == name) {
            kept.0
                .insert(wanted, Zeroizing::new(value.as_bytes().to_vec()));
        }
        // SAFETY: the caller guarantees that no other thread exists.
        unsafe { std::env::remove_var(&name) };
    }
    kept
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
