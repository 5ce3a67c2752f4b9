//! Making the image, below the commands that ship it: `pause` compiles the binary for each
//! platform and asks what it was built with; `assemble` makes every document of the image from the
//! binaries, with each platform's SBOM and provenance (`attest`) attached; `image` does both for
//! this checkout, checks the size budgets and writes the layout and the archive (`oci`).
//!
//! Uses `attest`, `oci` and the base; never `sigstore`, `registry` or `commands`.

pub(crate) mod assemble;
pub mod image;
pub mod pause;
