//! Compiling pause: the binary for each platform, at `target/pause/<os>-<arch>[-<variant>]/pause`,
//! and what it was built with (the compiler, the crates linked), for the SBOMs.
//!
//! The static, libc-free link of the shipped binary is set up here and only here: per-target
//! `CARGO_TARGET_<TRIPLE>_RUSTFLAGS` reach pause and its dependencies for that target, never the
//! host's xtask, tests or build scripts.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Cmd, Shell, cmd};

use crate::attest::materials::{self, Compiler, Materials};
use crate::exit_status::{self, ExitStatus};
use crate::platform::Platform;
use crate::project;

/// pause's own workspace, whose release profile is the shipped one.
const MANIFEST: &str = "pause/Cargo.toml";
/// Its lock file: the exact crate versions and their checksums.
const LOCKFILE: &str = "pause/Cargo.lock";
const PROFILE_DIR: &str = "release";
/// The largest binary any platform may ship; a build that grows past it fails.
pub const MAX_BINARY_BYTES: u64 = 2048;

/// Flags for every platform's link: rust-lld directly (no C toolchain for the foreign
/// architectures), a non-PIE static executable, and nothing a libc-free binary never reads.
const RUSTFLAGS: &[&str] = &[
    "-Clinker=rust-lld",
    "-Clinker-flavor=ld.lld",
    "-Crelocation-model=static",
    "-Ctarget-feature=+crt-static",
    "-Cforce-unwind-tables=no",
    "-Clink-arg=--build-id=none",
    "-Clink-arg=--no-eh-frame-hdr",
    "-Clink-arg=-znorelro",
];

/// rustix only takes its raw-syscall backend on these architectures when told to (its inline asm
/// there is still "experimental" for rustc); enabling that needs RUSTC_BOOTSTRAP, granted to the
/// rustix crate alone.
const EXPERIMENTAL_ASM_ARCHES: &[&str] = &["powerpc64", "s390x"];
const EXPERIMENTAL_ASM_CFG: &str = "--cfg=rustix_use_experimental_asm";

/// One platform's built binary.
pub(crate) struct Binary {
    pub(crate) platform: &'static Platform,
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
}

/// Refuses an empty platform list (`--platform ''`, or only commas): cargo, given no `--target`,
/// would build for the host, without the shipped link flags, and report nothing wrong.
pub(crate) fn check_platforms(platforms: &[&'static Platform]) -> Result<()> {
    if platforms.is_empty() {
        return Err(exit_status::error(
            ExitStatus::Usage,
            format!(
                "--platform lists no platform: choose from {}",
                crate::platform::all_names()
            ),
        ));
    }
    Ok(())
}

/// Builds every platform in one cargo invocation (they compile in parallel) and copies each binary
/// to its documented path. `quiet` (`--quiet` pushes) leaves out the `$ cargo build …` line and
/// holds cargo's own stderr back unless the build fails: even `cargo --quiet` says `Blocking
/// waiting for file lock on package cache` while another cargo holds the lock.
pub(crate) fn build(
    sh: &Shell,
    platforms: &[&'static Platform],
    quiet: bool,
) -> Result<Vec<Binary>> {
    check_platforms(platforms)?;
    install_missing_targets(sh, platforms)?;
    let target_dir = project::target_dir();
    let mut cargo = pause_cargo(sh, "build", platforms)
        .args(["--quiet", "--release", "--locked"])
        .env(
            "PAUSE_GIT_REVISION",
            project::git_revision(sh).unwrap_or_default(),
        );
    if quiet {
        cargo.set_quiet(true);
        let out = cargo.ignore_status().output().context("building pause")?;
        if !out.status.success() {
            std::io::stderr().write_all(&out.stderr)?;
            bail!("building pause failed: {}", out.status);
        }
    } else {
        cargo.run().context("building pause")?;
    }

    platforms
        .iter()
        .map(|&platform| {
            let built = target_dir
                .join(platform.triple)
                .join(PROFILE_DIR)
                .join("pause");
            let path = project::binary_path(platform);
            sh.create_dir(path.parent().expect("binary paths have a directory"))?;
            // Copy, then rename over the old binary: writing into it fails with ETXTBSY while a
            // test still runs it.
            let staging = path.with_extension("new");
            sh.copy_file(&built, &staging)?;
            std::fs::rename(&staging, &path)?;
            let bytes = std::fs::metadata(&path)?.len();
            if bytes > MAX_BINARY_BYTES {
                bail!(
                    "{}: pause is {bytes} bytes, over the {MAX_BINARY_BYTES}-byte budget: \
                     find what grew with `nm -S --size-sort` on an unstripped build",
                    platform.name
                );
            }
            Ok(Binary {
                platform,
                path,
                bytes,
            })
        })
        .collect()
}

/// `cargo SUBCOMMAND` on pause's own workspace for `platforms`, with each target's flags: the ones
/// the shipped binary is linked with, and rustix's experimental-asm switch where it needs one.
pub(crate) fn pause_cargo<'a>(sh: &'a Shell, subcommand: &str, platforms: &[&Platform]) -> Cmd<'a> {
    let root = project::root();
    let manifest = root.join(MANIFEST);
    let target_dir = project::target_dir();
    let mut cargo = cmd!(
        sh,
        "cargo {subcommand} --manifest-path {manifest} --target-dir {target_dir}"
    )
    .env("RUSTC_BOOTSTRAP", "rustix");
    for platform in platforms {
        let (var, flags) = target_rustflags(platform);
        cargo = cargo
            .arg(format!("--target={}", platform.triple))
            .env(var, flags);
    }
    cargo
}

/// `CARGO_TARGET_<TRIPLE>_RUSTFLAGS` and its value for `platform`: the shipped link, and the
/// `cfg` that picks rustix's raw-syscall backend where it needs one.
fn target_rustflags(platform: &Platform) -> (String, String) {
    let link_script = project::root().join("pause/link.ld");
    let mut flags: Vec<String> = RUSTFLAGS.iter().map(|flag| flag.to_string()).collect();
    flags.push(format!("-Clink-arg=-T{}", link_script.display()));
    if EXPERIMENTAL_ASM_ARCHES.contains(&platform.rust_arch) {
        flags.push(EXPERIMENTAL_ASM_CFG.to_string());
    }
    let var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        platform.triple.to_uppercase().replace('-', "_")
    );
    (var, flags.join(" "))
}

/// The compiler this checkout builds with: `rustc -vV` of the toolchain `rust-toolchain.toml`
/// pins (rustup picks it in the repository).
pub(crate) fn compiler(sh: &Shell) -> Result<Compiler> {
    Compiler::parse(
        &cmd!(sh, "rustc -vV")
            .quiet()
            .read()
            .context("asking rustc its version (`rustc -vV`)")?,
    )
}

/// What the binaries were built with, for their SBOMs: the compiler (`rustc -vV` of the pinned
/// toolchain) and, per platform, the crates linked into pause (`cargo metadata`'s resolve graph
/// for that target, with that target's RUSTFLAGS so the same `cfg`s hold as in the build, and
/// `Cargo.lock`'s checksums).
pub(crate) fn materials(sh: &Shell, platforms: &[&'static Platform]) -> Result<Materials> {
    let root = project::root();
    let manifest = root.join(MANIFEST);
    let compiler = compiler(sh)?;
    let lockfile_path = root.join(LOCKFILE);
    let lockfile = sh
        .read_file(&lockfile_path)
        .with_context(|| format!("reading {}", lockfile_path.display()))?;
    let format = materials::METADATA_FORMAT;
    let mut linked = std::collections::BTreeMap::new();
    for platform in platforms {
        let triple = platform.triple;
        let (var, flags) = target_rustflags(platform);
        let metadata = cmd!(
            sh,
            "cargo metadata --manifest-path {manifest} --filter-platform {triple} --format-version {format} --locked"
        )
        .env(var, flags)
        .quiet()
        .read()
        .with_context(|| format!("`cargo metadata` of pause for {triple}"))?;
        linked.insert(
            triple.to_string(),
            materials::linked(metadata.as_bytes(), &lockfile)
                .with_context(|| format!("the crates linked into pause for {triple}"))?,
        );
    }
    Ok(Materials { compiler, linked })
}

pub(crate) fn install_missing_targets(sh: &Shell, platforms: &[&Platform]) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed")
        .read()
        .context("listing rustup targets: is rustup installed?")?;
    for platform in platforms {
        let triple = platform.triple;
        if !installed.lines().any(|line| line.trim() == triple) {
            // Progress, on stderr: verify's stdout is its result (the table, or JSON).
            eprintln!(
                "installing the Rust standard library for {triple} (rustup target add {triple})"
            );
            cmd!(sh, "rustup target add {triple}").quiet().run()?;
        }
    }
    Ok(())
}
