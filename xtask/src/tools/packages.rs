//! The Debian packages the suites and the benchmark drive for real, and their installation. The
//! tidy test checks that every package a test, fixture or the bench names is listed here.
//!
//! `cargo xtask test` installs what is missing when it runs as root (as CI does); otherwise it
//! says what is missing and the tests that need it report themselves skipped.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::host;

/// Every package a full test run uses, and why.
pub(crate) const PACKAGES: &[(&str, &str)] = &[
    (
        "qemu-user-static",
        "runs the five foreign platforms' binaries and images",
    ),
    (
        "util-linux",
        "unshare and nsenter: pause as PID 1 of a fresh PID namespace",
    ),
    (
        "strace",
        "the benchmark's syscall counts; injects rt_sigtimedwait failures into pause",
    ),
    ("catatonit", "a peer in the benchmark"),
    (
        "gcc",
        "the benchmark's C programs and its glibc-static C pause",
    ),
    (
        "libc6-dev",
        "glibc's static libc for the benchmark's C pause",
    ),
    ("binutils", "strip for the benchmark's C builds"),
    ("tini", "a peer in the benchmark (tini-static)"),
    ("musl-tools", "the benchmark's musl build of the C pause"),
    ("skopeo", "inspects and copies the image"),
    (
        "time",
        "GNU time: the peak RSS of a command fed endless answers",
    ),
    ("umoci", "unpacks the image into a runtime bundle"),
    (
        "docker-registry",
        "the real registry the image is pushed to and pulled from",
    ),
    ("apache2-utils", "htpasswd for the authenticated registry"),
    (
        "jq",
        "runs the release workflow's own script on a real push's metadata file",
    ),
    (
        "curl",
        "reads what a push stored, and plants what other tools store, over the registry's HTTP API (not the xtask's client)",
    ),
    (
        "openssl",
        "the throwaway CA of the TLS registry; reads cosign keys and verifies signatures",
    ),
    (
        "python3-venv",
        "python3 and its venv module: the venv of the SPDX validator and in-toto's bindings",
    ),
    (
        "nodejs",
        "node runs sigstore-js, the bundle verifier (NodeSource's nodejs includes the npm that \
         installs it; with Debian's, add its npm package)",
    ),
    ("runc", "the pod runtime"),
    ("conmon", "podman's container monitor"),
    (
        "mount",
        "mount and umount: binfmt_misc for the foreign platforms",
    ),
    ("tar", "packs the app containers' busybox rootfs"),
    (
        "perl-base",
        "execs pause from a process that left a zombie (tests/pause/behaviour.rs)",
    ),
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
    (
        "iproute2",
        "ip: the CRI pods' network namespaces, the docker engines' private ones",
    ),
    ("protobuf-compiler", "protoc for the CRI API client"),
    (
        "docker.io",
        "Docker Engine 20.10 (dockerd, /usr/bin/docker): the docker suite's engine and CLI, the bench's pods",
    ),
    (
        "docker-compose",
        "docker-compose 1.29: the compose pod on Docker Engine and podman's Docker API",
    ),
    (
        "iptables",
        "iptables-save: the docker suite checks that no engine left a firewall rule on the host",
    ),
];

/// Installs those of `wanted` that are missing, as root; otherwise lists them.
pub(crate) fn ensure(sh: &Shell, wanted: &[&str]) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|package| !installed(sh, package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !host::is_root() {
        eprintln!(
            "not root: cannot install {}; the tests that need them will be reported skipped. \
             Install with: sudo apt-get install {}",
            missing.join(", "),
            missing.join(" ")
        );
        return Ok(());
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
    Ok(())
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
