//! `cargo xtask push` against real registries on loopback: Debian's docker-registry (plain,
//! htpasswd over TLS, token authentication behind a token server of the suite's own, with the
//! credentials users have, through faults) and ferro-oci-server, which has the OCI 1.1 referrers
//! API.

mod push;
mod referrers_api;
