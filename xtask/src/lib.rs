//! The project's automation: `cargo xtask` (see `main.rs`) is a thin command line over this
//! library, and the test suites in `tests/` share its platform table and paths.
//!
//! # Layers
//!
//! Each layer may import only the layers it lists, so there are no import circles, the data model
//! never depends on how it is shipped, and the registry client moves bytes without knowing what
//! they mean. `tidy.rs` checks the rule.
//!
//! 1. The base, importing nothing above it: [`project`] (where things are), [`platform`] (the one
//!    platform table), [`escape`] (outside text made safe for a terminal), [`exit_status`] (one exit status per kind of
//!    failure), [`secret_variables`]
//!    (secrets taken out of the environment before any child is started), `named_file` (files
//!    the user names, read bounded), [`host`] (facts about this machine: root, programs on PATH),
//!    [`procfs`] (processes as /proc shows them), [`progress`] (where progress lines go: stderr
//!    or nowhere, the result alone on stdout), [`engine`] (a private Docker Engine in a
//!    network namespace of its own, and the process, mount and namespace plumbing it takes: the
//!    bench and the docker suite start the same one), [`terminal`] (a cosign key's password,
//!    read with the echo off), `caught_signals` (signals caught for a while, their actions put
//!    back after), [`tools`] (the prerequisites the suites and the linters run, and their
//!    installation) and [`version`] (what `--version` says).
//! 2. [`oci`], importing the base: the image as data — digests and descriptors, config, manifest,
//!    index, layer, tar, the one image-reference parser, the image model, and the OCI 1.1
//!    artifacts that attach documents to it — as pure codecs, plus the only modules that read
//!    and write image files: `layout` and `archive`. It knows no SBOM, provenance or signature.
//! 3. [`attest`], importing `oci` and the base: SPDX SBOMs, SLSA provenance, in-toto statements
//!    and the crate list they are made from, all pure.
//! 4. [`sigstore`], importing `attest`, `oci` and the base: cosign's key files, signatures,
//!    simple-signing payloads and `.sig` manifests, DSSE envelopes, Sigstore bundles, `.att`
//!    manifests, also pure; and a push's plan (its `plan` module): from the layout, the key and
//!    what the registry already holds, the ordered list of plain OCI writes, the tag last.
//! 5. [`registry`], importing only `oci` and the base: talking to registries — `open` (one
//!    option group, one connect sequence), connections, credentials, retries, error
//!    explanations, referrers read, and `publish`, which applies a plan's writes. It moves
//!    bytes; what they mean is the layers' above.
//! 6. [`build`], importing `attest`, `oci` and the base: compiling pause and assembling the image,
//!    its SBOMs and provenance attached, and writing it.
//! 7. [`commands`], importing every layer listed before it: `build`, `image`, `push`, `verify`,
//!    `keygen`, `lint`, `test`, `bench`: what `cargo xtask` runs, one module each. A command never
//!    imports another command (its own submodules are its own), so what two commands share lives
//!    in a layer listed before it.
//!
//! Everything is `pub(crate)` unless the test crate or `main.rs` needs it, so the compiler reports
//! dead code.

pub mod attest;
pub mod build;
mod caught_signals;
pub mod commands;
pub mod engine;
pub mod escape;
pub mod exit_status;
pub mod host;
mod named_file;
pub mod oci;
pub mod platform;
pub mod procfs;
pub mod progress;
pub mod project;
pub mod registry;
pub mod secret_variables;
pub mod sigstore;
pub mod terminal;
pub mod tools;
pub mod version;

#[cfg(test)]
mod tidy;
#[cfg(test)]
mod untrusted_input;
