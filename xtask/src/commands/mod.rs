//! What `cargo xtask` runs, one module per command, on top of `oci`, `sigstore` and `registry`.
//! Nothing below this layer imports it.

pub mod bench;
pub mod build;
pub mod image;
pub mod keygen;
pub mod lint;
pub mod password;
pub mod push;
mod quiet_line;
pub mod suites;
pub mod verify;
