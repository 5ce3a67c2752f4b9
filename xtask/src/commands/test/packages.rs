//! The Debian packages the suites and the benchmark drive for real, and their installation.
//!
//! `cargo xtask test` installs what is missing when it runs as root (as CI does); otherwise it
//! says what is missing and the tests that need it report themselves skipped.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// Every package a full test run uses, and why.
pub const PACKAGES: &[(&str, &str)] = &[
    (
        "qemu-user-static",
        "runs the five foreign platforms' binaries and images",
    ),
    (
        "util-linux",
        "unshare and nsenter: pause as PID 1 of a fresh PID namespace",
    ),
    ("strace", "the benchmark's syscall counts"),
    ("catatonit", "a peer in the benchmark"),
    ("tini", "a peer in the benchmark (tini-static)"),
    ("musl-tools", "the benchmark's musl build of the C pause"),
    ("skopeo", "inspects and copies the image"),
    ("umoci", "unpacks the image into a runtime bundle"),
    (
        "docker-registry",
        "the real registry the image is pushed to and pulled from",
    ),
    ("apache2-utils", "htpasswd for the authenticated registry"),
    ("openssl", "the throwaway CA of the TLS registry"),
    ("runc", "the pod runtime"),
    ("crun", "the second pod runtime"),
    ("busybox-static", "the app containers of the test pods"),
    (
        "podman",
        "pods with our infra image, kube play, the Docker API",
    ),
    ("containerd", "the CRI runtime kubelet drives"),
    (
        "containernetworking-plugins",
        "the CNI bridge of the CRI pods",
    ),
    ("iproute2", "ip: the CRI pods' network namespaces"),
    ("protobuf-compiler", "protoc for the CRI API client"),
    (
        "docker-compose",
        "the compose pod through podman's Docker API",
    ),
];

/// Installs the missing packages as root; otherwise lists them. Returns the ones still missing.
pub fn ensure(sh: &Shell) -> Result<Vec<&'static str>> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .map(|(package, _)| *package)
        .filter(|package| !installed(sh, package))
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    if !is_root(sh) {
        eprintln!(
            "not root: cannot install {}; the tests that need them will be reported skipped. \
             Install with: sudo apt-get install {}",
            missing.join(", "),
            missing.join(" ")
        );
        return Ok(missing);
    }
    println!("installing {} (apt-get)", missing.join(" "));
    cmd!(sh, "apt-get update -qq")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
        .context("apt-get update")?;
    cmd!(
        sh,
        "apt-get install -y -qq --no-install-recommends {missing...}"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()
    .context("apt-get install of the test prerequisites")?;
    Ok(Vec::new())
}

fn installed(sh: &Shell, package: &str) -> bool {
    let format = "${Status}";
    cmd!(sh, "dpkg-query --show --showformat={format} {package}")
        .quiet()
        .ignore_stderr()
        .read()
        // `install ok installed` (or `hold ok installed`); a removed package is `not-installed`.
        .is_ok_and(|status| status.split_whitespace().last() == Some("installed"))
}

fn is_root(sh: &Shell) -> bool {
    cmd!(sh, "id -u")
        .quiet()
        .read()
        .is_ok_and(|uid| uid.trim() == "0")
}
