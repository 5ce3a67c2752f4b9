//! The Python tools the suites and `cargo xtask lint` run, in a virtual environment of their own
//! at `target/tools/venv` (`project::tools_venv`): pip never touches the system's Python. Every
//! package, the ones they depend on too, comes from one lock file, `tests/verifiers/
//! requirements.txt`, that pins each version with the SHA-256 of its files; pip installs it with
//! `--require-hashes`, so a file that is not one of those is refused. That file says what each
//! tool checks and how to change a version.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::project;

/// The lock file, from the repository's root.
const LOCK: &str = "tests/verifiers/requirements.txt";
/// The Debian package whose `python3 -m venv` makes the environment (pip included).
pub(crate) const VENV_PACKAGE: &str = "python3-venv";

/// The lock file's path.
fn lock() -> PathBuf {
    project::root().join(LOCK)
}

/// A program the venv installs, e.g. `zizmor`.
pub(crate) fn program(name: &str) -> PathBuf {
    project::tools_venv().join("bin").join(name)
}

/// pip's arguments: the lock, every file checked against its hashes.
fn install_args(lock: &Path) -> Vec<String> {
    [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--require-hashes",
        "--requirement",
    ]
    .into_iter()
    .map(str::to_string)
    .chain(std::iter::once(lock.display().to_string()))
    .collect()
}

/// Creates the venv if it is missing and installs the lock file into it; pip does nothing when
/// everything is already there.
pub(crate) fn ensure(sh: &Shell) -> Result<()> {
    let venv = project::tools_venv();
    let python = program("python3");
    if !python.is_file() {
        println!(
            "creating {} (python3 -m venv)",
            project::relative(&venv).display()
        );
        cmd!(sh, "python3 -m venv {venv}").run().with_context(|| {
            format!(
                "creating the Python venv for the suites' tools: apt-get install {VENV_PACKAGE}"
            )
        })?;
    }
    let lock = lock();
    let args = install_args(&lock);
    cmd!(sh, "{python} {args...}").run().with_context(|| {
        format!(
            "installing {} from PyPI into {}, every file checked against its SHA-256",
            project::relative(&lock).display(),
            venv.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{install_args, lock};

    /// The length of a SHA-256 in hex.
    const SHA256_HEX: usize = 64;

    /// Every requirement of the lock, its continuation lines joined, comments left out.
    fn requirements(text: &str) -> Vec<String> {
        let mut joined = Vec::new();
        let mut current = String::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let (part, continued) = match line.strip_suffix('\\') {
                Some(part) => (part.trim(), true),
                None => (line, false),
            };
            current = format!("{current} {part}").trim().to_string();
            if !continued {
                joined.push(std::mem::take(&mut current));
            }
        }
        joined
    }

    /// What is wrong with one requirement of a lock, if anything: an exact version and at least
    /// one SHA-256, nothing else (no option, URL or index that could fetch something else).
    fn problem(requirement: &str) -> Option<String> {
        let mut words = requirement.split_whitespace();
        let pin = words.next().unwrap_or_default();
        let pinned = pin.split_once("==").is_some_and(|(name, version)| {
            !name.is_empty() && !version.is_empty() && !pin.contains(['<', '>', '*', ';', '@', '/'])
        });
        if !pinned {
            return Some(format!("`{pin}` is not `name==version`"));
        }
        let hashes: Vec<&str> = words.collect();
        if hashes.is_empty() {
            return Some(format!("`{pin}` has no --hash"));
        }
        hashes
            .iter()
            .find(|hash| {
                !hash.strip_prefix("--hash=sha256:").is_some_and(|hex| {
                    hex.len() == SHA256_HEX && hex.bytes().all(|byte| byte.is_ascii_hexdigit())
                })
            })
            .map(|hash| format!("`{pin}`: `{hash}` is not --hash=sha256:<64 hex digits>"))
    }

    #[test]
    fn every_requirement_of_the_lock_is_pinned_with_its_hashes() {
        let text = std::fs::read_to_string(lock()).expect("reading the lock file");
        let requirements = requirements(&text);
        assert!(requirements.len() > 4, "{requirements:?}");
        let problems: Vec<String> = requirements.iter().filter_map(|r| problem(r)).collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        for tool in [
            "spdx-tools==",
            "in-toto-attestation==",
            "jsonschema==",
            "zizmor==",
        ] {
            assert!(
                requirements.iter().any(|r| r.starts_with(tool)),
                "{tool} is not in the lock"
            );
        }
    }

    #[test]
    fn a_requirement_without_a_hash_or_an_exact_version_is_found() {
        let hash = format!("--hash=sha256:{}", "a".repeat(super::tests::SHA256_HEX));
        assert_eq!(problem(&format!("ply==3.11 {hash}")), None);
        for bad in [
            "ply==3.11".to_string(),
            format!("ply>=3.11 {hash}"),
            format!("ply {hash}"),
            "ply==3.11 --hash=sha256:abc".to_string(),
            format!("ply==3.11 {hash} --index-url=http://elsewhere"),
        ] {
            assert!(problem(&bad).is_some(), "{bad}");
        }
        assert_eq!(
            requirements("a==1 \\\n    --hash=sha256:x\n    # via b\nc==2 # d\n"),
            ["a==1 --hash=sha256:x", "c==2"]
        );
    }

    #[test]
    fn pip_installs_the_lock_with_require_hashes() {
        let args = install_args(&lock());
        assert!(args.iter().any(|arg| arg == "--require-hashes"), "{args:?}");
        assert_eq!(
            args[args.len() - 2..],
            ["--requirement".to_string(), lock().display().to_string()]
        );
    }
}
