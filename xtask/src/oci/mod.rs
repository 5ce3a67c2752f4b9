//! The image as data, and the only code that reads or writes image files: `layout` (an OCI image
//! layout directory) and `archive` (the tarball that is both an OCI archive and a
//! docker-archive). Everything else here is a pure codec: the same values give the same bytes.
//!
//! Uses only the base layer (`project`, `platform`); never `registry` or `commands`.

pub(crate) mod archive;
pub(crate) mod artifact;
pub mod blob;
pub(crate) mod config;
pub(crate) mod definition;
pub mod descriptor;
pub(crate) mod image;
pub(crate) mod index;
pub mod intoto;
pub(crate) mod layer;
pub mod layout;
pub(crate) mod manifest;
pub(crate) mod materials;
pub(crate) mod provenance;
pub(crate) mod reference;
pub(crate) mod referrers;
pub(crate) mod sbom;
mod staging;
pub(crate) mod tarball;
pub mod timestamp;
