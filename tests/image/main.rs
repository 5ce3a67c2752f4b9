//! The image `cargo xtask image` writes: its layout and archive, byte for byte and against the
//! platform table, what other tools make of it, and every platform's SBOM, in the layout and
//! through a registry's fallback tags.

mod image;
mod sbom;
