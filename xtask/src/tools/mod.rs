//! The prerequisites the suites, the bench and `cargo xtask lint` run, and their installation, each
//! where the machine's own tools never see it: `packages` (Debian packages, as root), `venv` (the
//! Python verifiers and linters, hash-pinned), `node` (sigstore-js, lock-pinned) and `crates`
//! (ferro-oci-server, a registry with the referrers API), `debian_unstable` (containerd 2 and
//! Docker Engine 28, unpacked from Debian's unstable suite, never installed). Part of the base
//! layer: it uses only `project`, `host` and `named_file`.

pub mod crates;
pub mod debian_unstable;
pub(crate) mod node;
pub(crate) mod packages;
pub(crate) mod venv;
