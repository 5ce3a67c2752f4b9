//! The real Docker Engine of the docker suite: a private dockerd (Debian's docker.io) in a network
//! namespace of its own. The engine itself lives in the xtask (`xtask::engine::dockerd`), where the bench
//! starts the same one; this is what the suite needs to run it.

use xtask::engine::dockerd::{CONTAINERD, DOCKER_CLI, DOCKERD};

use crate::Need;

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
