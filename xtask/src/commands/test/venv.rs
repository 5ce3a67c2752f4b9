//! The Python tools the suites run, in a virtual environment of their own at
//! `target/tools/venv` (`project::tools_venv`): pip never touches the system's Python, and the
//! version is pinned here. Today one tool: pyspdxtools, the SPDX project's validator, which the
//! SBOM suite runs on every document.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::project;

/// PyPI's `spdx-tools`, whose `pyspdxtools` validates SPDX 2.2 and 2.3 documents.
const SPDX_TOOLS: &str = "spdx-tools==0.8.5";
/// The Debian package whose `python3 -m venv` makes the environment (pip included).
const VENV_PACKAGE: &str = "python3-venv";

/// Creates the venv if it is missing and installs the pinned tools into it; pip does nothing when
/// they are already there.
pub(crate) fn ensure(sh: &Shell) -> Result<()> {
    let venv = project::tools_venv();
    let python = venv.join("bin").join("python3");
    if !python.is_file() {
        println!(
            "creating {} (python3 -m venv)",
            project::relative(&venv).display()
        );
        cmd!(sh, "python3 -m venv {venv}").run().with_context(|| {
            format!("creating the Python venv for pyspdxtools: apt-get install {VENV_PACKAGE}")
        })?;
    }
    cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check {SPDX_TOOLS}"
    )
    .run()
    .with_context(|| format!("installing {SPDX_TOOLS} from PyPI into {}", venv.display()))
}
