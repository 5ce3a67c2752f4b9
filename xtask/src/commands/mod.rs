//! What `cargo xtask` runs, one module per command, on top of `build`, `sigstore`, `registry` and
//! everything below them. A command never uses another command (its own submodules aside), and
//! nothing below this layer imports it.

pub mod bench;
pub mod build;
pub mod image;
pub mod keygen;
pub mod lint;
pub mod push;
pub mod test;
pub mod verify;
