//! The image as data, and the only code that reads or writes image files: `layout` (an OCI image
//! layout directory), `archive` (the tarball that is both an OCI archive and a docker-archive)
//! and `out_dir` (the directory they are written to, held and checked), with `staging` (scratch
//! paths) and `regular_file` (bounded reads of files outside input names) under them. Everything
//! else here is a pure codec: the same values give the same bytes.
//!
//! The documents (descriptor, config, manifest, index) are this module's own serde types, not
//! oci-spec's: an image's digests are the hashes of these exact bytes, and oci-spec keeps
//! annotations and labels in a `HashMap`, whose order changes from one run to the next. Here they
//! are `BTreeMap`s and the fields serialise in the order the structs declare, so the same image
//! is always the same bytes. The parts whose bytes do not depend on such choices are crates':
//! tar headers (`tar`), gzip (`flate2`), digests (`sha2`), the calendar (`chrono`).
//!
//! Uses only the base layer (`project`, `platform`, `escape`, `procfs`, `named_file`); never
//! `attest`, `sigstore`, `registry`, `build` or `commands`: the model knows no SBOM, provenance or
//! signature.

pub(crate) mod archive;
pub(crate) mod artifact;
pub mod blob;
pub(crate) mod config;
pub(crate) mod definition;
pub mod descriptor;
pub(crate) mod image;
pub(crate) mod index;
pub(crate) mod layer;
pub mod layout;
pub(crate) mod manifest;
pub(crate) mod out_dir;
pub(crate) mod reference;
pub(crate) mod referrers;
mod regular_file;
mod staging;
pub(crate) mod tarball;
pub mod timestamp;
pub(crate) mod write;
