//! Two things the pause binary needs from its build:
//! - its own `_start`, so the toolchain's start files and libraries stay out of the link:
//!   `-nostdlib` says that both to a C compiler driver (a plain `cargo build`) and to `ld.lld`
//!   (`cargo xtask build`, which sets the rest of the static link up);
//! - its version line as one constant, so that `-v` is a single `write`.

use std::{env, fs, path::Path};

/// Set by `cargo xtask build` from `git rev-parse`: a plain `cargo build` has no revision.
const REVISION_VAR: &str = "PAUSE_GIT_REVISION";

fn main() {
    println!("cargo:rustc-link-arg-bins=-nostdlib");
    println!("cargo:rerun-if-env-changed={REVISION_VAR}");
    println!("cargo:rerun-if-changed=build.rs");

    let version = env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let line = match env::var(REVISION_VAR) {
        Ok(revision) if !revision.is_empty() => format!("pause {version}+{revision}\n"),
        _ => format!("pause {version}\n"),
    };
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out).join("version-line"), line).expect("writing the version line");
}
