//! The container runtimes and engines the image runs in, each private to a test: runc and crun
//! with their bundles, containerd with a CRI client, podman, Docker Engine and podman's Docker
//! API; binfmt_misc for foreign platforms, the app image beside pause, what a pod looks like, and
//! what runtimes leave on the host.

pub mod app_image;
pub mod binfmt;
pub mod bundle;
pub mod containerd;
pub mod cri;
pub mod docker_api;
pub mod docker_engine;
pub mod dockerd;
pub mod host_network;
pub mod leftovers;
pub mod oci_runtime;
pub mod pod;
pub mod podman;
pub mod turns;
