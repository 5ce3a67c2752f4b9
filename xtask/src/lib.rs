//! The project's automation: `cargo xtask` (see `main.rs`) is a thin command line over this
//! library, and the test suites in `tests/` share its platform table and paths.
//!
//! # Layers
//!
//! Each layer may use the layers above it in this list, never one below, so there are no import
//! circles and the data model never depends on how it is shipped. `tidy.rs` checks the rule.
//!
//! 1. The base: [`project`] (where things are), [`platform`] (the one platform table),
//!    [`escape`] (outside text made safe for a terminal), [`secret_variables`] (secrets taken
//!    out of the environment before any child is started), `named_file` (files the user names,
//!    read bounded),
//!    [`host`] (facts about this machine: root, programs on PATH), [`procfs`] (processes as
//!    /proc shows them) and [`engine`] (a private
//!    Docker Engine in a network namespace of its own, and the process, mount and namespace
//!    plumbing it takes: the bench and the docker suite start the same one).
//! 2. [`oci`]: the image as data — digests and descriptors, config, manifest, index, layer, tar,
//!    the one image-reference parser, the image model and its assembly, SBOM documents, SLSA
//!    provenance and in-toto statements, and the artifacts that attach them — as pure codecs,
//!    plus the only two modules that read and write image files: `layout` and `archive`. Beside
//!    it, at the same layer, [`sigstore`]: cosign's key files, signatures, simple-signing payloads
//!    and `.sig` manifests, DSSE envelopes, Sigstore bundles, `.att` manifests, also pure; it may
//!    use `oci`, never the reverse.
//! 3. [`registry`]: talking to registries — connections, credentials, retries, error
//!    explanations, pushing, referrers.
//! 4. [`commands`]: `build`, `image`, `push`, `keygen`, `test`, `bench`: what `cargo xtask` runs.
//!
//! Everything is `pub(crate)` unless the test crate or `main.rs` needs it, so the compiler reports
//! dead code.

pub mod attest;
pub mod build;
pub mod commands;
pub mod engine;
pub mod escape;
pub mod host;
mod named_file;
pub mod oci;
pub mod platform;
pub mod procfs;
pub mod project;
pub mod registry;
pub mod secret_variables;
pub mod sigstore;
pub mod terminal;
pub mod tools;

#[cfg(test)]
mod tidy;
#[cfg(test)]
mod untrusted_input;
