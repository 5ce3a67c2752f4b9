//! Talking to registries: the connection (TLS, plain HTTP for loopback) and the sessions on a
//! repository, opened one way for every command (`open`), logging in (Basic, Bearer tokens),
//! credentials from where docker and podman keep them, secrets that never print, retries,
//! one-line explanations of failures, the referrers listings read (`referrers`), and a push's
//! writes applied in order (`publish`). What a push writes is planned in `sigstore::plan`; this
//! layer knows no signature, attestation or SBOM.
//!
//! Uses the base layer and `oci` only; never `attest`, `sigstore` or `commands`.

pub(crate) mod challenge;
pub mod client;
pub mod credentials;
pub(crate) mod error;
mod open;
pub(crate) mod origin;
mod publish;
pub(crate) mod referrers;
pub(crate) mod retry;
pub mod secret;
pub mod session;
pub(crate) mod token;

pub use open::Options;
pub(crate) use open::open;
pub(crate) use publish::{Published, publish};
