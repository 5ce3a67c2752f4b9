//! Talking to registries: the connection (TLS, plain HTTP for loopback), credentials from where
//! docker and podman keep them, retries, one-line explanations of failures, and the push itself.
//!
//! Uses the base layer and `oci`; never `commands`.

pub(crate) mod client;
pub(crate) mod credentials;
pub(crate) mod error;
pub mod push;
pub(crate) mod retry;
