//! One write to a repository, as plain OCI data: what a push plan (`sigstore::plan`) lists and
//! `registry::publish` applies, in order, saying what it did as it goes.

use super::blob::Blob;

/// A blob, a manifest, or the line that says what the writes before it did.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// A blob, uploaded unless the repository holds it already.
    Blob { blob: Blob, said: Said },
    /// A manifest stored under `reference`, its digest or a tag, unless the repository holds it
    /// there already (a registry may list a referrer once for every time it is put, and a second
    /// push should write nothing). `said` names it in the line that says `pushed` or `exists`;
    /// None for a manifest another line names.
    Manifest {
        reference: String,
        manifest: Blob,
        said: Option<String>,
    },
    /// A line printed once the writes before it are done.
    Say(String),
}

/// The lines a blob's write prints: `blob DIGEST N bytes: uploaded` or `...: skipped, already
/// there`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Said {
    /// Neither: a part of something another line names.
    Nothing,
    /// Only when it was uploaded.
    Uploaded,
    /// Either.
    Always,
}
