//! `cargo xtask`'s exit statuses, one per kind of ending, so that a script can tell "the image is
//! not what it should be" from "you typed it wrong" and "the registry is down": 0 done, 1 failed
//! (verification failed, or the work could not be done), 2 usage (a flag, an argument or a
//! reference that cannot be right), 3 the registry could not be reached or refused us.
//!
//! An error says its kind by carrying a [`Classified`] anywhere in its chain; `main` asks
//! [`of`] which status to exit with. An error that carries none is a plain failure, 1.

use std::fmt;

/// How the process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what it was asked.
    Done = 0,
    /// A verification failed, or the work could not be done.
    Failed = 1,
    /// The command line cannot be right: nothing was tried.
    Usage = 2,
    /// The registry could not be reached, or refused us (login, permissions, an answer it should
    /// not give).
    Registry = 3,
}

impl ExitStatus {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error's message with the status it ends the process with.
#[derive(Debug)]
pub struct Classified {
    status: ExitStatus,
    message: String,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Classified {}

/// An error that ends the process with `status`.
pub fn error(status: ExitStatus, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        status,
        message: message.into(),
    })
}

/// The status `error` ends the process with: the first [`Classified`] in its chain, else
/// [`ExitStatus::Failed`].
pub fn of(error: &anyhow::Error) -> ExitStatus {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Classified>())
        .map_or(ExitStatus::Failed, |classified| classified.status)
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::{ExitStatus, error, of};

    #[test]
    fn the_status_is_found_under_any_context() {
        let plain = anyhow::anyhow!("no such file");
        assert_eq!(of(&plain), ExitStatus::Failed);
        let refused = Err::<(), _>(error(ExitStatus::Registry, "connection refused"))
            .context("pushing")
            .context("the index")
            .unwrap_err();
        assert_eq!(of(&refused), ExitStatus::Registry);
        assert_eq!(
            format!("{refused:#}"),
            "the index: pushing: connection refused"
        );
        assert_eq!(ExitStatus::Usage.code(), 2);
    }
}
