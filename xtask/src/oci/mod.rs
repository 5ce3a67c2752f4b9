//! The image as data, and the only code that reads or writes image files: `layout` (an OCI image
//! layout directory), `archive` (the tarball that is both an OCI archive and a docker-archive)
//! and `out_dir` (the directory they are written to, held and checked), with `staging` (scratch
//! paths) and `regular_file` (bounded reads of files outside input names) under them. Everything
//! else here is a pure codec: the same values give the same bytes.
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
