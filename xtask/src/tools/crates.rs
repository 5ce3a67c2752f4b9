//! The registry the suites install from crates.io: ferro-oci-server, a registry that answers the
//! OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`), which Debian's docker-registry
//! 2.8 lacks, so that a push relying on the API is tried against a real one
//! (`tests/registry/referrers_api.rs`). `cargo install --locked` builds the pinned version with
//! the lock file it was published with into `target/tools/ferro-oci-server`
//! (`project::tools_ferro_oci_server`), never into the repository: one to two minutes on two
//! cores, once.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::project;

/// The crate and the version the suites run.
pub const FERRO_OCI_SERVER: &str = "ferro-oci-server";
pub const FERRO_OCI_SERVER_VERSION: &str = "1.0.0";
/// The file `cargo install --root` keeps its record of what it installed in.
const INSTALLED_RECORD: &str = ".crates.toml";

/// `target/tools/ferro-oci-server/bin/ferro-oci-server`.
pub fn ferro_oci_server() -> PathBuf {
    project::tools_ferro_oci_server()
        .join("bin")
        .join(FERRO_OCI_SERVER)
}

/// The command that installs it, for messages.
pub fn install_command() -> String {
    format!(
        "cargo install --locked --version {FERRO_OCI_SERVER_VERSION} --root {} {FERRO_OCI_SERVER}",
        project::relative(&project::tools_ferro_oci_server()).display()
    )
}

/// Installs the pinned version unless it is installed already.
pub(crate) fn ensure(sh: &Shell) -> Result<()> {
    let root = project::tools_ferro_oci_server();
    let wanted = format!("\"{FERRO_OCI_SERVER} {FERRO_OCI_SERVER_VERSION} ");
    let installed = fs::read_to_string(root.join(INSTALLED_RECORD))
        .is_ok_and(|record| record.contains(&wanted));
    if installed && ferro_oci_server().is_file() {
        return Ok(());
    }
    println!(
        "installing {FERRO_OCI_SERVER} {FERRO_OCI_SERVER_VERSION} into {} (cargo install)",
        project::relative(&root).display()
    );
    cmd!(
        sh,
        "cargo install --quiet --locked --version {FERRO_OCI_SERVER_VERSION} --root {root} {FERRO_OCI_SERVER}"
    )
    .run()
    .with_context(|| format!("installing from crates.io: {}", install_command()))
}
