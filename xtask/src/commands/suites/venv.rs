//! The Python tools the suites run, in a virtual environment of their own at
//! `target/tools/venv` (`project::tools_venv`): pip never touches the system's Python, and every
//! version is pinned here. pyspdxtools, the SPDX project's validator, checks every SBOM; the
//! in-toto Attestation Framework's Python bindings check every provenance and SBOM statement
//! (`tests/verifiers/check-statement.py`); `jsonschema` checks the README's admission policies
//! against their controllers' CRD schemas (`tests/verifiers/check-policy.py`).

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::project;

/// PyPI's `spdx-tools`, whose `pyspdxtools` validates SPDX 2.2 and 2.3 documents.
const SPDX_TOOLS: &str = "spdx-tools==0.8.5";
/// PyPI's `in-toto-attestation`: the framework's protobuf schemas of the Statement and of SLSA
/// provenance v1, with their validators.
const IN_TOTO_ATTESTATION: &str = "in-toto-attestation==0.9.3";
/// Its one dependency, unpinned there: the version the framework's own requirements pin.
const PROTOBUF: &str = "protobuf==5.29.6";
/// PyPI's `jsonschema`, the JSON Schema validator that holds the README's admission policies
/// against the schemas in `tests/verifiers/policy-schemas/`.
const JSONSCHEMA: &str = "jsonschema==4.26.0";
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
            format!(
                "creating the Python venv for the suites' tools: apt-get install {VENV_PACKAGE}"
            )
        })?;
    }
    let pins = [SPDX_TOOLS, IN_TOTO_ATTESTATION, PROTOBUF, JSONSCHEMA];
    cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check {pins...}"
    )
    .run()
    .with_context(|| {
        format!(
            "installing {} from PyPI into {}",
            pins.join(" "),
            venv.display()
        )
    })
}
