//! What `cargo xtask --version` says: the xtask's version, the commit of this checkout, and the
//! toolchain `rust-toolchain.toml` pins, one a line.
//!
//! The commit is read when the command runs (`git rev-parse` of the checkout), not stamped in at
//! build time: `cargo xtask` is `cargo run`, which rebuilds the xtask from this checkout whenever
//! its sources change, so the checkout's HEAD is what the running xtask was built from, and it is
//! the commit `image` records in the provenance and `verify` compares with. A stamp would need a
//! build script rerun on every move of HEAD, and would go stale when HEAD moves and no source
//! changes (the binary is not rebuilt then).

use xshell::Shell;

use crate::project;

/// The lines `--version` prints:
///
/// ```text
/// xtask 0.1.0
/// commit 81268c846c5a (with uncommitted changes)
/// toolchain 1.95.0 (rust-toolchain.toml)
/// ```
pub fn lines(sh: &Shell) -> String {
    let commit = match project::git_revision(sh) {
        Some(commit) if project::has_uncommitted_changes(sh) => {
            format!("{commit} (with uncommitted changes)")
        }
        Some(commit) => commit,
        None => "unknown (not a git checkout)".to_string(),
    };
    let toolchain = match project::pinned_toolchain() {
        Ok(channel) => format!("{channel} (rust-toolchain.toml)"),
        Err(error) => format!("unknown ({error:#})"),
    };
    format!(
        "xtask {}\ncommit {commit}\ntoolchain {toolchain}",
        env!("CARGO_PKG_VERSION")
    )
}
