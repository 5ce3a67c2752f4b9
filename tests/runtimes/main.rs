//! Our image as the pod anchor of the runtimes a cluster uses: runc and crun for a bare pod,
//! containerd's CRI plugin, podman pods, and the docker CLI against Docker Engine and podman's
//! Docker API.

mod containerd;
mod docker;
mod podman;
mod runc_crun;
