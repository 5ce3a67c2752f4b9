//! The `cargo xtask` program itself, for the tests that drive its command line as a user does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::deadline::run_within;

/// The longest a build of the xtask from nothing may take on a busy 2-core machine.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

/// Builds the xtask binary into the target directory `target` and returns its path.
pub fn build(target: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_within(
        Command::new(cargo)
            .args(["build", "--quiet", "--locked", "--package", "xtask"])
            .current_dir(xtask::project::root())
            .env("CARGO_TARGET_DIR", target),
        BUILD_TIMEOUT,
    );
    target.join("debug/xtask")
}

/// The xtask binary of the project's own target directory (the one `cargo xtask` runs), built if
/// it is missing or stale.
pub fn project() -> PathBuf {
    build(&xtask::project::target_dir())
}
