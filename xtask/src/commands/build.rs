//! `cargo xtask build`: the pause binary for each platform, at `target/pause/<os>-<arch>[-<variant>]/pause`.
//!
//! The static, libc-free link of the shipped binary is set up here and only here: per-target
//! `CARGO_TARGET_<TRIPLE>_RUSTFLAGS` reach pause and its dependencies for that target, never the
//! host's xtask, tests or build scripts.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Cmd, Shell, cmd};

use crate::platform::Platform;
use crate::project;

/// pause's own workspace, whose release profile is the shipped one.
const MANIFEST: &str = "pause/Cargo.toml";
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

pub fn run(sh: &Shell, platforms: &[&'static Platform]) -> Result<()> {
    let binaries = build(sh, platforms)?;
    println!("{:<16} {:>6}  path", "platform", "bytes");
    for binary in &binaries {
        println!(
            "{:<16} {:>6}  {}",
            binary.platform.name,
            binary.bytes,
            project::relative(&binary.path).display()
        );
    }
    Ok(())
}

/// Builds every platform in one cargo invocation (they compile in parallel) and copies each binary
/// to its documented path.
pub(crate) fn build(sh: &Shell, platforms: &[&'static Platform]) -> Result<Vec<Binary>> {
    install_missing_targets(sh, platforms)?;
    let target_dir = project::target_dir();
    pause_cargo(sh, "build", platforms)
        .args(["--quiet", "--release", "--locked"])
        .env(
            "PAUSE_GIT_REVISION",
            project::git_revision(sh).unwrap_or_default(),
        )
        .run()
        .context("building pause")?;

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
    let link_script = root.join("pause/link.ld");
    let manifest = root.join(MANIFEST);
    let target_dir = project::target_dir();
    let mut cargo = cmd!(
        sh,
        "cargo {subcommand} --manifest-path {manifest} --target-dir {target_dir}"
    )
    .env("RUSTC_BOOTSTRAP", "rustix");
    for platform in platforms {
        let triple = platform.triple;
        let mut flags: Vec<String> = RUSTFLAGS.iter().map(|flag| flag.to_string()).collect();
        flags.push(format!("-Clink-arg=-T{}", link_script.display()));
        if EXPERIMENTAL_ASM_ARCHES.contains(&platform.rust_arch) {
            flags.push(EXPERIMENTAL_ASM_CFG.to_string());
        }
        let var = format!(
            "CARGO_TARGET_{}_RUSTFLAGS",
            triple.to_uppercase().replace('-', "_")
        );
        cargo = cargo
            .arg(format!("--target={triple}"))
            .env(var, flags.join(" "));
    }
    cargo
}

pub(crate) fn install_missing_targets(sh: &Shell, platforms: &[&Platform]) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed")
        .read()
        .context("listing rustup targets: is rustup installed?")?;
    for platform in platforms {
        let triple = platform.triple;
        if !installed.lines().any(|line| line.trim() == triple) {
            println!(
                "installing the Rust standard library for {triple} (rustup target add {triple})"
            );
            cmd!(sh, "rustup target add {triple}").quiet().run()?;
        }
    }
    Ok(())
}
