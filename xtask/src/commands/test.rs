//! `cargo xtask test`: the whole suite, from a fresh checkout. Installs the prerequisites (as
//! root; and pyspdxtools into a venv), builds every platform's binary and the image (`cargo xtask
//! image`), runs the suites in `tests/`, and reports every test that skipped itself. Under CI
//! (`CI=true`) a skipped test fails the run: CI runs as root and installs everything, so a skip
//! there means something is broken.

pub(crate) mod packages;
mod venv;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use super::image;
use crate::project::{self, SKIP_LOG_VAR};

/// Runs the suite; `filter` and everything after it goes to the test binaries, as with `cargo test`.
pub fn run(sh: &Shell, cargo_test_args: &[String]) -> Result<()> {
    let ci = std::env::var("CI").is_ok_and(|value| value == "true" || value == "1");
    let all: Vec<&str> = packages::PACKAGES
        .iter()
        .map(|(package, _)| *package)
        .collect();
    packages::ensure(sh, &all)?;
    // Without it the SBOM suite's validation reports itself skipped (a failure under CI).
    if let Err(error) = venv::ensure(sh) {
        eprintln!("warning: {error:#}; the test that needs pyspdxtools will be reported skipped");
    }
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
