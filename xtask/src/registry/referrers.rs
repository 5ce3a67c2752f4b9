//! Artifacts attached to a manifest (each platform's SBOM), as a registry lists them: through the
//! referrers API (`GET /v2/<name>/referrers/<digest>`, distribution-spec 1.1) when the registry
//! answers it, else through the spec's fallback, the image index under the tag
//! `sha256-<hex of the subject>` that clients maintain by read, append, write (Debian's
//! docker-registry 2.8 answers the API with 404). The index codec is `oci::referrers`; this
//! module only reads: a push's plan (`sigstore::plan`) extends what [`read`] found, and
//! `publish` writes it.

use std::collections::BTreeMap;

use anyhow::Result;

use super::session::Session;
use crate::exit_status::{self, ExitStatus};
use crate::oci::descriptor::Descriptor;
use crate::oci::manifest::Manifest;
use crate::oci::referrers::{self, Listed, Listing, fallback_tag};

/// The referrers of `subject` that are artifacts of `artifact_type`, and where they were found.
pub(crate) fn find(
    session: &mut Session,
    subject: &str,
    artifact_type: &str,
) -> Result<(Listing, Vec<Descriptor>)> {
    let Listed { listing, index } = read(session, subject)?;
    let found = match &index {
        // A listing that does not parse is a malformed answer of the registry's.
        Some(index) => referrers::listed(&index.data, artifact_type).map_err(|error| {
            exit_status::error(
                ExitStatus::Registry,
                format!("{}: {error:#}", listing.describe(&session.name(), subject)),
            )
        })?,
        None => Vec::new(),
    };
    Ok((listing, found))
}

/// One referrer of a manifest, read from the registry: the artifact manifest the listing names
/// and, when it can be read, what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// The artifact manifest's digest, as the listing names it.
    pub(crate) digest: String,
    /// Its annotations as the listing names them (what a reader picks it by without fetching).
    pub(crate) listed_annotations: BTreeMap<String, String>,
    /// What it holds, or why it cannot be read (missing, not an image manifest, not one
    /// document): a sentence that names it.
    pub(crate) content: Result<Content, String>,
}

/// What an artifact manifest holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Content {
    /// The digest of the manifest it names as its subject, if any: a listing may name an
    /// artifact of another manifest (an entry copied from another listing).
    pub(crate) subject: Option<String>,
    /// The artifact manifest's annotations.
    pub(crate) annotations: BTreeMap<String, String>,
    /// Its one layer, the document, checked against its digest.
    pub(crate) document: Vec<u8>,
}

/// Every referrer of `subject` of `artifact_type`, its manifest and document fetched, and where
/// they are listed.
pub(crate) fn fetch(
    session: &mut Session,
    subject: &str,
    artifact_type: &str,
) -> Result<(Listing, Vec<Fetched>)> {
    let (listing, found) = find(session, subject, artifact_type)?;
    let mut fetched = Vec::new();
    for descriptor in found {
        let content = match session.get_manifest(&descriptor.digest)? {
            None => Err(format!(
                "it lists {}, which the registry does not have",
                descriptor.digest
            )),
            Some(manifest) => match serde_json::from_slice::<Manifest>(&manifest.data) {
                Err(_) => Err(format!("{} is not an image manifest", descriptor.digest)),
                Ok(manifest) => match manifest.layers.as_slice() {
                    [layer] => Ok(Content {
                        subject: manifest.subject.map(|subject| subject.digest),
                        annotations: manifest.annotations,
                        document: session.get_blob(&layer.digest, layer.size)?,
                    }),
                    _ => Err(format!("{} has no single document", descriptor.digest)),
                },
            },
        };
        fetched.push(Fetched {
            digest: descriptor.digest,
            listed_annotations: descriptor.annotations,
            content,
        });
    }
    Ok((listing, fetched))
}

/// Where `subject`'s referrers are listed and the listing as the registry has it (None: no
/// fallback tag yet).
pub(crate) fn read(session: &mut Session, subject: &str) -> Result<Listed> {
    if let Some(index) = session.referrers(subject)? {
        return Ok(Listed {
            listing: Listing::Api,
            index: Some(index),
        });
    }
    let tag = fallback_tag(subject);
    let index = session.get_manifest(&tag)?;
    Ok(Listed {
        listing: Listing::FallbackTag(tag),
        index,
    })
}
