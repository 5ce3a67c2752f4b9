//! Fixtures shared by the suites: prerequisites and loud skips, the built artifacts, processes;
//! in [`registry`] the registries and servers the pushes talk to, in [`runtime`] the container
//! runtimes and engines the image runs in.
//!
//! A test that cannot run here (not root, a program missing) never passes silently: it calls
//! [`ready`], which prints `SKIPPED <test>: <reason>; to run it: <install command>` and appends the
//! same line to the skip log that `cargo xtask test` reports (and fails on, in CI).

pub mod bounded_run;
pub mod deadline;
pub mod elf;
pub mod image;
pub mod layout;
pub mod pause;
pub mod process;
pub mod registry;
pub mod runtime;
pub mod skopeo;
pub mod verifiers;
pub mod xtask_cli;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

pub use xtask::platform::{PLATFORMS, Platform};

use xtask::project::{SKIP_LOG_VAR, skip_log};

/// Something a test needs from the machine.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Namespaces, mounts, runtimes: the suites run as root.
    Root,
    /// A program on PATH (or at a path, when the name holds a slash), and the Debian package that
    /// provides it.
    Program {
        name: &'static str,
        package: &'static str,
    },
}

impl Need {
    pub const fn program(name: &'static str, package: &'static str) -> Need {
        Need::Program { name, package }
    }

    /// The qemu-user-static emulator for a platform this host does not run natively.
    pub fn emulator(platform: &Platform) -> Option<Need> {
        (!platform.is_native()).then_some(Need::Program {
            name: platform.qemu,
            package: "qemu-user-static",
        })
    }
}

/// Whether every need is met. Otherwise reports `test` as skipped, naming each missing piece and
/// the command that installs it, and returns false: the caller returns at once.
pub fn ready(test: &str, needs: &[Need]) -> bool {
    let mut missing = Vec::new();
    let mut packages = Vec::new();
    for need in needs {
        match *need {
            Need::Root if !is_root() => missing.push("root (uid 0)".to_string()),
            Need::Program { name, package } if !on_path(name) => {
                missing.push(format!("`{name}`"));
                packages.push(package);
            }
            _ => {}
        }
    }
    if missing.is_empty() {
        return true;
    }
    let install = if packages.is_empty() {
        "run the suite as root: sudo cargo xtask test".to_string()
    } else {
        packages.sort_unstable();
        packages.dedup();
        format!("apt-get install {}", packages.join(" "))
    };
    skip(test, &format!("needs {}", missing.join(", ")), &install);
    false
}

/// Records a skip: on stderr now, and in the skip log for `cargo xtask test`'s summary.
pub fn skip(test: &str, reason: &str, install: &str) {
    let line = format!("SKIPPED {test}: {reason}; to run it: {install}");
    eprintln!("{line}");
    let log = std::env::var_os(SKIP_LOG_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(skip_log);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap_or_else(|error| panic!("cannot record a skip in {}: {error}", log.display()));
    writeln!(file, "{line}").expect("writing the skip log");
}

pub use xtask::host::is_root;

pub fn on_path(program: &str) -> bool {
    xtask::host::find_program(program).is_some()
}

/// The built binary for a platform; a missing one is a failure, with the command that builds it.
pub fn binary(platform: &Platform) -> PathBuf {
    let path = xtask::project::binary_path(platform);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask build` (or the whole suite, `cargo xtask test`)",
        path.display()
    );
    path
}

/// The command line that runs a platform's binary here: directly, or under its qemu.
pub fn launcher(platform: &Platform) -> Vec<String> {
    let binary = binary(platform).display().to_string();
    if platform.is_native() {
        vec![binary]
    } else {
        vec![platform.qemu.to_string(), binary]
    }
}
