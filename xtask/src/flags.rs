//! Command-line parsing: subcommands take `--name value`, `--name=value` and `--switch` options.

use anyhow::{Result, bail};

/// The arguments after the subcommand, consumed option by option; `finish` rejects leftovers.
pub struct Flags {
    args: Vec<String>,
}

impl Flags {
    pub fn new(args: Vec<String>) -> Flags {
        Flags { args }
    }

    /// Whether `--name` was given (removing it).
    pub fn switch(&mut self, name: &str) -> bool {
        let before = self.args.len();
        self.args.retain(|arg| arg != name);
        self.args.len() != before
    }

    /// The value of `--name value` or `--name=value` (removing it).
    pub fn value(&mut self, name: &str) -> Result<Option<String>> {
        let prefix = format!("{name}=");
        if let Some(index) = self.args.iter().position(|arg| arg.starts_with(&prefix)) {
            return Ok(Some(self.args.remove(index)[prefix.len()..].to_string()));
        }
        let Some(index) = self.args.iter().position(|arg| arg == name) else {
            return Ok(None);
        };
        if index + 1 >= self.args.len() {
            bail!("{name} needs a value");
        }
        self.args.remove(index);
        Ok(Some(self.args.remove(index)))
    }

    /// The first argument that is not an option (removing it).
    pub fn positional(&mut self) -> Option<String> {
        let index = self.args.iter().position(|arg| !arg.starts_with("--"))?;
        Some(self.args.remove(index))
    }

    /// Everything not consumed, for a command that passes it on (`cargo xtask test FILTER`).
    pub fn rest(self) -> Vec<String> {
        self.args
    }

    /// Fails on anything not consumed, naming it.
    pub fn finish(self, usage: &str) -> Result<()> {
        match self.args.first() {
            None => Ok(()),
            Some(arg) => bail!("unexpected argument `{arg}`\n\n{usage}"),
        }
    }
}
