//! The C programs under `bench/`, compiled into `target/bench/`: the C pause, twice (the way
//! Kubernetes builds pause.c, and with musl), and the three measuring helpers.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::project;

pub(crate) struct Programs {
    pub(crate) pause_glibc: PathBuf,
    pub(crate) pause_musl: PathBuf,
    pub(crate) exec_to_blocked: PathBuf,
    pub(crate) early_stop: PathBuf,
    pub(crate) orphan_storm: PathBuf,
}

/// Kubernetes' build/pause Makefile compiles pause.c with these, then strips it.
const PAUSE_FLAGS: &[&str] = &["-Os", "-Wall", "-Werror", "-static"];
const HELPER_FLAGS: &[&str] = &["-O2", "-Wall", "-Werror"];
/// The storm forks 10,000 copies of its spawner: a small static musl image forks fastest, so the
/// storm's set-up stays short and leaves the measured part (the reaping) alone.
const SPAWNER_FLAGS: &[&str] = &["-O2", "-Wall", "-Werror", "-static"];

pub(crate) fn build(sh: &Shell) -> Result<Programs> {
    let out = project::target_dir().join("bench");
    sh.create_dir(&out)?;
    let compile = |compiler: &str, flags: &[&str], source: &str, output: &str| -> Result<PathBuf> {
        let source = project::root().join("bench").join(source);
        let output = out.join(output);
        cmd!(sh, "{compiler} {flags...} -o {output} {source}")
            .quiet()
            .run()
            .with_context(|| format!("compiling {} with {compiler}", source.display()))?;
        Ok(output)
    };
    let strip = |binary: PathBuf| -> Result<PathBuf> {
        cmd!(sh, "strip {binary}").quiet().run()?;
        Ok(binary)
    };
    Ok(Programs {
        pause_glibc: strip(compile("gcc", PAUSE_FLAGS, "pause.c", "pause-glibc")?)?,
        pause_musl: strip(compile("musl-gcc", PAUSE_FLAGS, "pause.c", "pause-musl")?)?,
        exec_to_blocked: compile("gcc", HELPER_FLAGS, "exec_to_blocked.c", "exec_to_blocked")?,
        early_stop: compile("gcc", HELPER_FLAGS, "early_stop.c", "early_stop")?,
        orphan_storm: compile("musl-gcc", SPAWNER_FLAGS, "orphan_storm.c", "orphan_storm")?,
    })
}

/// Runs a measuring helper with its own arguments, then the peer's command, and returns what it
/// printed.
pub(crate) fn run(helper: &Path, arguments: &[String], command: &[PathBuf]) -> Result<String> {
    let output = std::process::Command::new(helper)
        .args(arguments)
        .args(command)
        .output()
        .with_context(|| format!("running {}", helper.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed: {}",
            helper.display(),
            command[0].display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}
