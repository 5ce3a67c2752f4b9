//! The registries the suites push to and read back, and the servers around them: Debian's
//! docker-registry and ferro-oci-server on loopback, a token server with its JWTs, a throwaway
//! CA, fake HTTP services, a proxy that fails on purpose and one that holds a push's upload, a network where Docker Hub's names are
//! ours, and curl's view of what a registry holds.

pub mod docker_registry;
pub mod flaky_proxy;
pub mod jwt;
pub mod loopback_http;
pub mod pki;
pub mod private_network;
pub mod referrers_registry;
pub mod registry_http;
pub mod stalling_proxy;
pub mod token_server;
