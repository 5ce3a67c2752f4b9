//! Talking to registries: the connection (TLS, plain HTTP for loopback) and the sessions on a
//! repository, logging in (Basic, Bearer tokens), credentials from where docker and podman keep
//! them, secrets that never print, retries, one-line explanations of failures, the push, and the
//! artifacts and signatures attached to what it pushed (`referrers`, `signatures`).
//!
//! Uses the base layer, `oci` and `sigstore`; never `commands`.

pub(crate) mod challenge;
pub mod client;
pub mod credentials;
pub(crate) mod error;
pub(crate) mod origin;
pub mod push;
pub(crate) mod referrers;
pub(crate) mod retry;
pub mod secret;
pub mod session;
pub(crate) mod signatures;
pub(crate) mod token;
