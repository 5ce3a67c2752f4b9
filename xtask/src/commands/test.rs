//! `cargo xtask test`: the whole suite, from a fresh checkout. Installs the prerequisites (as
//! root; the Python verifiers into a venv, sigstore-js with npm, a registry with the referrers API
//! with cargo, the newer runtimes unpacked from Debian unstable), builds every platform's binary and the image (`cargo xtask image`), runs the
//! suites in `tests/`, and reports every test that skipped itself. Under CI (`CI=true`) a skipped test fails the run, and so does a verifier that
//! cannot be installed: CI runs as root and installs everything, so either means something is
//! broken.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::build::image;
use crate::project::{self, SKIP_LOG_VAR};
use crate::tools::{crates, debian_unstable, node, packages, venv};

/// Runs the suite; `filter` and everything after it goes to the test binaries, as with `cargo test`.
pub fn run(sh: &Shell, cargo_test_args: &[String]) -> Result<()> {
    let ci = std::env::var("CI").is_ok_and(|value| value == "true" || value == "1");
    let all: Vec<&str> = packages::PACKAGES
        .iter()
        .map(|(package, _)| *package)
        .collect();
    packages::ensure(sh, &all)?;
    // The verifiers from PyPI and npm, and the registry from crates.io. Without them the tests
    // that run them report themselves skipped; under CI the run stops here instead, saying which
    // could not be installed.
    for (verifiers, installed) in [
        (
            "pyspdxtools, in-toto-attestation and jsonschema (PyPI)",
            venv::ensure(sh),
        ),
        ("sigstore-js (npm)", node::ensure(sh)),
        ("ferro-oci-server (crates.io)", crates::ensure(sh)),
        (
            "containerd 2, Docker Engine 28 and compose v2 (Debian unstable)",
            debian_unstable::ensure(sh),
        ),
    ] {
        match installed {
            Err(error) if ci => {
                return Err(error.context(format!(
                    "CI needs every verifier and registry, and {verifiers} could not be installed"
                )));
            }
            Err(error) => eprintln!(
                "warning: {error:#}; the tests that run {verifiers} will be reported skipped"
            ),
            Ok(()) => {}
        }
    }
    // Unstable moves: a runtime below its floor fails the run, CI or not, rather than be tested
    // as if it were the one the suites are about.
    debian_unstable::installed()?;
    // The image suites read target/image; building it builds every platform's binary too.
    image::run(sh, &image::Options::default())?;

    let skip_log = project::skip_log();
    sh.remove_path(&skip_log)?;
    // Every suite runs even when an earlier one fails, so one run shows every failure.
    let result = cmd!(
        sh,
        "cargo test --workspace --locked --no-fail-fast -- {cargo_test_args...}"
    )
    .env(SKIP_LOG_VAR, &skip_log)
    .run();

    let skips = sh.read_file(&skip_log).unwrap_or_default();
    if !skips.is_empty() {
        eprintln!(
            "\n{} test(s) skipped themselves:\n{skips}",
            skips.lines().count()
        );
    }
    result?;
    if ci && !skips.is_empty() {
        bail!(
            "CI runs as root with every prerequisite installed, so nothing may skip: fix the cause above"
        );
    }
    Ok(())
}
