//! The real Docker Engine of the docker suite: a private dockerd (Debian 12's docker.io 20.10, or
//! Debian unstable's 28) in a network namespace of its own. The engine itself lives in the xtask
//! (`xtask::engine::dockerd`), where the bench starts the same one; this is what the suite needs
//! to run it.

use xtask::engine::dockerd::{CONTAINERD, DOCKER_CLI, DOCKERD};
use xtask::tools::debian_unstable;

use crate::{Need, skip};

pub use xtask::engine::dockerd::Dockerd;

pub const NEEDS: &[Need] = &[
    Need::program(DOCKERD, "docker.io"),
    Need::program(DOCKER_CLI, "docker.io"),
    Need::program(CONTAINERD, "containerd"),
    Need::program("containerd-shim-runc-v2", "containerd"),
    Need::program("runc", "runc"),
    Need::program("ip", "iproute2"),
    Need::program("nsenter", "util-linux"),
];
/// What Docker Engine 28 needs from Debian 12 besides the binaries unpacked from unstable: runc
/// runs its containers.
pub const NEEDS_28: &[Need] = &[
    Need::program("runc", "runc"),
    Need::program("ip", "iproute2"),
    Need::program("nsenter", "util-linux"),
];

/// Whether Debian unstable's engine is unpacked: reports `test` skipped when not, and fails it
/// when one of its packages is below its floor.
pub fn unstable_ready(test: &str) -> bool {
    match debian_unstable::installed() {
        Ok(Some(_)) => true,
        Ok(None) => {
            skip(
                test,
                "needs Docker Engine 28 from Debian unstable, unpacked under target/tools/debian-unstable",
                "cargo xtask test (it downloads and unpacks it)",
            );
            false
        }
        Err(error) => panic!("{test}: {error:#}"),
    }
}
