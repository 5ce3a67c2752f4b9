//! `cargo xtask push REGISTRY/REPOSITORY:TAG` (and `image --push`): the command line's side of a
//! push — the password from standard input — over `registry::push`.

use std::io::Read;

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::registry::credentials::Credentials;
use crate::registry::push::{self, PushOptions};

/// Who logs in, as the command line says it.
pub struct Login {
    pub username: Option<String>,
    /// `--password-stdin`: the password is piped to standard input.
    pub password_stdin: bool,
}

/// Pushes `options.layout` to `reference`, logging in as `login` says.
pub fn run(sh: &Shell, mut options: PushOptions, login: &Login, reference: &str) -> Result<()> {
    options.login = match (&login.username, login.password_stdin) {
        (Some(username), true) => Some(Credentials::new(username, password_from_stdin()?)),
        (None, false) => None,
        (Some(_), false) => {
            bail!("--username needs --password-stdin, with the password piped to standard input")
        }
        (None, true) => bail!("--password-stdin needs --username U"),
    };
    push::push(sh, &options, reference)?;
    Ok(())
}

/// The password given on standard input for `--username`, without its line ending.
fn password_from_stdin() -> Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!(
            "--password-stdin read an empty password: pipe it in, e.g. `echo \"$TOKEN\" | cargo xtask push REF --username U --password-stdin`"
        );
    }
    Ok(password)
}
