//! What the image says about itself, as documents others verify: each platform's SPDX SBOM
//! (`sbom`), its SLSA build provenance (`provenance`), the in-toto statements both are carried in
//! (`intoto`), and the crates and compiler that went into each binary (`materials`, parsed from
//! cargo's and rustc's own answers). Pure: the same inputs give the same bytes.
//!
//! Uses `oci` (digests, the manifest a statement is about) and the base; never `sigstore`,
//! `registry` or the commands, which sign, ship and check these documents.

pub mod intoto;
pub(crate) mod materials;
pub(crate) mod provenance;
pub(crate) mod sbom;
