//! Where things are: the repository, its target directory, its revision.

use std::path::{Path, PathBuf};

use xshell::{Shell, cmd};

/// The repository root (the workspace holding xtask).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// A path relative to the repository root when it is inside it, for shorter messages.
pub fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(root()).unwrap_or(path).to_path_buf()
}

/// The commit being built (12 hex digits), if this is a git checkout.
pub fn git_revision(sh: &Shell) -> Option<String> {
    let root = root();
    cmd!(sh, "git -C {root} rev-parse --short=12 HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
}
