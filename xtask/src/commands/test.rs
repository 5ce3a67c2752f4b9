//! `cargo xtask test`: the whole suite, from a fresh checkout. Installs the prerequisites (as
//! root), builds every platform's binary and the image (`cargo xtask image`), runs the suites in
//! `tests/`, and reports every test that skipped itself. Under CI (`CI=true`) a skipped test
//! fails the run: CI runs as root and installs everything, so a skip there means something is
//! broken.

use std::path::PathBuf;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::platform::PLATFORMS;
use crate::{image, prerequisites, project};

/// Where the suites record skipped tests, when this variable does not say otherwise.
pub const SKIP_LOG_VAR: &str = "PAUSE_TEST_SKIP_LOG";

pub fn default_skip_log() -> PathBuf {
    project::target_dir().join("test-skips.log")
}

/// Runs the suite; `filter` and everything after it goes to the test binaries, as with `cargo test`.
pub fn run(sh: &Shell, cargo_test_args: &[String]) -> Result<()> {
    let ci = std::env::var("CI").is_ok_and(|value| value == "true" || value == "1");
    prerequisites::ensure(sh)?;
    // The image suites read target/image; building it builds every platform's binary too.
    image::run(
        sh,
        &image::Options {
            tag: image::default_tag(),
            platforms: PLATFORMS.iter().collect(),
            out: image::default_out(),
        },
    )?;

    let skip_log = default_skip_log();
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
