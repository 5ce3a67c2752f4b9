//! Where things are: the repository, its target directory, its revision, and the paths of what
//! the commands write there (the suites read the same paths).

use std::path::{Path, PathBuf};

use xshell::{Shell, cmd};

use crate::platform::Platform;

/// Tells the suites where to record a skipped test; `cargo xtask test` reads the file afterwards.
pub const SKIP_LOG_VAR: &str = "PAUSE_TEST_SKIP_LOG";

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
pub(crate) fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(root()).unwrap_or(path).to_path_buf()
}

/// The commit being built (12 hex digits), if this is a git checkout.
pub(crate) fn git_revision(sh: &Shell) -> Option<String> {
    let root = root();
    cmd!(sh, "git -C {root} rev-parse --short=12 HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
}

/// The toolchain `rust-toolchain.toml` pins (`1.95.0`): the compiler every build uses, whose
/// version each SBOM records.
pub(crate) fn pinned_toolchain() -> anyhow::Result<String> {
    use anyhow::Context;
    let path = root().join("rust-toolchain.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    file.get("toolchain")
        .and_then(|toolchain| toolchain.get("channel"))
        .and_then(|channel| channel.as_str())
        .map(str::to_string)
        .with_context(|| format!("{} names no [toolchain] channel", path.display()))
}

/// The commit being built, all 40 hex digits (what a provenance's `gitCommit` digest is), if this
/// is a git checkout.
pub(crate) fn git_commit(sh: &Shell) -> Option<String> {
    let root = root();
    cmd!(sh, "git -C {root} rev-parse --verify HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
}

/// Whether a tracked file differs from the commit (staged or not): then the build is not of the
/// commit alone, and its provenance says so. Untracked files are left out: the build reads only
/// tracked ones (a new module must be added to build from a clean checkout).
pub(crate) fn has_uncommitted_changes(sh: &Shell) -> bool {
    let root = root();
    cmd!(sh, "git -C {root} status --porcelain --untracked-files=no")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|status| !status.trim().is_empty())
}

/// `target/pause/linux-arm-v7/pause`: where `cargo xtask build` puts a platform's binary.
pub fn binary_path(platform: &Platform) -> PathBuf {
    target_dir()
        .join("pause")
        .join(platform.dir_name())
        .join("pause")
}

/// `target/image`: where `cargo xtask image` writes unless given `--out`.
pub fn image_dir() -> PathBuf {
    target_dir().join("image")
}

/// `<out>/oci`: the OCI layout an image build writes and a push reads.
pub fn layout_dir(out: &Path) -> PathBuf {
    out.join("oci")
}

/// `<out>/pause.tar`: the OCI layout archive that is also a docker-archive.
pub fn archive_path(out: &Path) -> PathBuf {
    out.join("pause.tar")
}

/// `target/tools/venv`: the Python virtual environment `cargo xtask test` installs the suites'
/// Python tools into (pyspdxtools, in-toto-attestation).
pub fn tools_venv() -> PathBuf {
    target_dir().join("tools").join("venv")
}

/// `tests/verifiers`: the scripts that run verifiers this project did not write, and the npm
/// manifest and lock file of the one in JavaScript.
pub fn verifiers_dir() -> PathBuf {
    root().join("tests").join("verifiers")
}

/// `target/tools/sigstore-js`: where `cargo xtask test` installs the npm packages of
/// `tests/verifiers/package-lock.json` (sigstore-js); its `node_modules` is the suites'
/// `NODE_PATH`.
pub fn tools_node() -> PathBuf {
    target_dir().join("tools").join("sigstore-js")
}

/// `target/tools/ferro-oci-server`: where `cargo xtask test` installs crates.io's
/// ferro-oci-server (`cargo install --root`), the registry with the OCI 1.1 referrers API that
/// the suites push to; its program is `bin/ferro-oci-server` there.
pub fn tools_ferro_oci_server() -> PathBuf {
    target_dir().join("tools").join("ferro-oci-server")
}

/// `target/tools/debian-unstable`: where `cargo xtask test` downloads containerd 2, Docker
/// Engine 28 and compose v2 from Debian's unstable suite (its private apt sources, lists and
/// cache), and unpacks them, under `root`.
pub fn tools_debian_unstable() -> PathBuf {
    target_dir().join("tools").join("debian-unstable")
}

/// Where the suites record skipped tests when [`SKIP_LOG_VAR`] does not say otherwise.
pub fn skip_log() -> PathBuf {
    target_dir().join("test-skips.log")
}
