//! The JavaScript verifier the suites run: sigstore-js (`@sigstore/verify`, `@sigstore/bundle`),
//! which checks the Sigstore bundles (`tests/verifiers/verify-bundle.cjs`). The versions and
//! their integrity hashes are pinned by `tests/verifiers/package-lock.json`; `npm ci` installs
//! exactly that into `target/tools/sigstore-js` (`project::tools_node`), never into the
//! repository, and runs no install script.

use std::fs;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{host, project};

/// What `npm ci` reads, copied from `tests/verifiers`.
const NPM_FILES: &[&str] = &["package.json", "package-lock.json"];
/// What `npm ci` leaves in `node_modules` once it installed a lock file: the same packages.
const INSTALLED_LOCK: &str = "node_modules/.package-lock.json";

/// Installs the locked packages unless exactly these are installed already.
pub(crate) fn ensure(sh: &Shell) -> Result<()> {
    if host::find_program("npm").is_none() {
        bail!(
            "npm is not on PATH, so sigstore-js cannot be installed: NodeSource's nodejs package \
             includes npm; Debian's has it in a package of its own"
        );
    }
    let source = project::verifiers_dir();
    let dir = project::tools_node();
    let current = NPM_FILES
        .iter()
        .all(|name| match fs::read(source.join(name)) {
            Ok(wanted) => fs::read(dir.join(name)).is_ok_and(|installed| installed == wanted),
            Err(_) => false,
        });
    if current && dir.join(INSTALLED_LOCK).is_file() {
        return Ok(());
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in NPM_FILES {
        fs::copy(source.join(name), dir.join(name))
            .with_context(|| format!("copying tests/verifiers/{name}"))?;
    }
    println!(
        "installing sigstore-js into {} (npm ci)",
        project::relative(&dir).display()
    );
    let _in_dir = sh.push_dir(&dir);
    cmd!(
        sh,
        "npm ci --ignore-scripts --no-audit --no-fund --loglevel=error"
    )
    .run()
    .with_context(|| {
        format!(
            "installing tests/verifiers/package-lock.json from npm into {}",
            dir.display()
        )
    })
}
