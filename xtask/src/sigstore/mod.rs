//! cosign's formats, so that what this xtask signs verifies with `cosign verify --key`, Kyverno,
//! sigstore's policy-controller and containers/image: key files (`key`, sealed by `encrypted`,
//! written as `pem`), and the simple-signing payload and `.sig` manifest (`simple_signing`). Pure
//! codecs; the only I/O is the system's random source, for new keys, salts and nonces.
//!
//! At the same layer as `oci`: uses `oci` and the base, never `registry` or `commands`.

pub(crate) mod attached;
pub mod dsse;
pub(crate) mod encrypted;
pub mod key;
mod pem;
pub mod simple_signing;
