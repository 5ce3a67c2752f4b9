//! Opening a session on the repository a reference names: the one option group every command that
//! reaches a registry takes (who logs in, where stored logins are, plain HTTP, a CA), and the one
//! sequence that uses it — credentials found, the registry reached, the session logged in.

use std::path::PathBuf;

use anyhow::Result;
use xshell::Shell;

use super::client::{ConnectOptions, Registry};
use super::credentials::{self, Credentials};
use super::session::{Access, Session};
use crate::oci::reference::Reference;

/// How to reach a registry and as whom. Its `Debug` shows no password (see
/// [`super::secret::Secret`]).
#[derive(Debug, Clone)]
pub struct Options {
    /// `--username` with its password; otherwise the credentials stored in `auth_files`.
    pub login: Option<Credentials>,
    /// docker `config.json` / podman `auth.json` files to look in, first match wins.
    pub auth_files: Vec<PathBuf>,
    /// Plain HTTP even for a registry that is not on loopback.
    pub insecure: bool,
    /// A CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            login: None,
            auth_files: credentials::default_files(),
            insecure: false,
            ca_file: None,
        }
    }
}

/// A session on `reference`'s repository with the rights `access` needs, logged in with
/// `options.login`, else with the credentials stored for its registry, else anonymously.
pub(crate) fn open(
    sh: &Shell,
    reference: &Reference,
    access: Access,
    options: &Options,
) -> Result<Session> {
    let login = match &options.login {
        Some(credentials) => Some(credentials.clone()),
        None => credentials::lookup(sh, &options.auth_files, reference.registry())?,
    };
    let connect = ConnectOptions {
        insecure: options.insecure,
        ca_file: options.ca_file.clone(),
    };
    let registry = Registry::connect(reference.registry(), &connect, login)?;
    Session::open(registry, &reference.repository, access)
}
