//! Artifacts attached to a manifest (each platform's SBOM), as a registry lists them: through the
//! referrers API (`GET /v2/<name>/referrers/<digest>`, distribution-spec 1.1) when the registry
//! answers it, else through the spec's fallback, the image index under the tag
//! `sha256-<hex of the subject>` that clients maintain by read, append, write (Debian's
//! docker-registry 2.8 answers the API with 404). The index codec is `oci::referrers`; this
//! module only fetches and stores.
//!
//! Attaching is two steps, [`plan`] then [`Planned::push`], so that every listing is read and
//! merged (and a malformed one refused) before anything of the attachment is written; the
//! artifacts of one subject (its SBOM, its signed attestations' bundles) are planned together,
//! since they share one listing.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow};

use super::session::Session;
use crate::oci::artifact::Artifact;
use crate::oci::blob::Blob;
use crate::oci::descriptor::Descriptor;
use crate::oci::manifest::Manifest;
use crate::oci::referrers::{self, fallback_tag};

/// Where a registry lists the referrers of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listing {
    /// The referrers API answers: the registry keeps the list itself.
    Api,
    /// No referrers API: the index under this tag is the list.
    FallbackTag(String),
}

/// The referrers of `subject` that are artifacts of `artifact_type`, and where they were found.
pub(crate) fn find(
    session: &mut Session<'_>,
    subject: &str,
    artifact_type: &str,
) -> Result<(Listing, Vec<Descriptor>)> {
    let (listing, index) = read(session, subject)?;
    let found = match &index {
        Some(index) => referrers::listed(&index.data, artifact_type)
            .map_err(|error| anyhow!("{}: {error:#}", describe(session, &listing, subject)))?,
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
    session: &mut Session<'_>,
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

/// What attaching the artifacts of one subject takes: the artifacts themselves, and the
/// referrers index to store under the fallback tag, if the registry has no API and some artifact
/// is not listed yet. The artifacts of one subject are planned together: they share its index.
pub(crate) struct Planned<'a> {
    pub(crate) subject: String,
    pub(crate) artifacts: Vec<&'a Artifact>,
    pub(crate) listing: Listing,
    /// The new referrers index, when there is something to add to the fallback tag.
    index: Option<Blob>,
    /// The manifest digests of those of `artifacts` that the referrers API lists already: their
    /// manifests are not put again while the registry holds them, as a registry may list a
    /// manifest once for every time it is put (ferro-oci-server 1.0.0 does).
    api_listed: BTreeSet<String>,
}

/// Reads where `subject` lists its referrers and, for the fallback tag, the index with each of
/// `artifacts` (all about `subject`) appended in turn (every entry already there kept, in its
/// place; one already listed not added again); for the API, which of `artifacts` it lists
/// already. A fallback tag that holds no image index is refused, naming it; nothing is written.
/// An API answer that is not one lists nothing we can see: the artifacts are put as if unlisted.
pub(crate) fn plan<'a>(
    session: &mut Session<'_>,
    subject: &str,
    artifacts: Vec<&'a Artifact>,
) -> Result<Planned<'a>> {
    let (listing, existing) = read(session, subject)?;
    let mut index: Option<Blob> = None;
    let mut api_listed = BTreeSet::new();
    if let (Listing::Api, Some(existing)) = (&listing, &existing) {
        match referrers::listed_digests(&existing.data) {
            Ok(listed) => api_listed.extend(
                artifacts
                    .iter()
                    .map(|artifact| artifact.manifest.digest.clone())
                    .filter(|digest| listed.contains(digest)),
            ),
            // Putting an artifact once more is harmless; refusing the push would help nobody.
            Err(error) => eprintln!(
                "note: {}: {error:#}; its artifacts are put again",
                describe(session, &listing, subject)
            ),
        }
    }
    if let Listing::FallbackTag(_) = &listing {
        for artifact in &artifacts {
            debug_assert_eq!(artifact.subject.digest, subject, "planned with its subject");
            let current = index.as_ref().or(existing.as_ref());
            let added = referrers::add(
                current.map(|blob| blob.data.as_slice()),
                &artifact.referrer_descriptor()?,
            )
            .map_err(|error| anyhow!("{}: {error:#}", describe(session, &listing, subject)))?;
            if added.is_some() {
                index = added;
            }
        }
    }
    Ok(Planned {
        subject: subject.to_string(),
        artifacts,
        listing,
        index,
        api_listed,
    })
}

impl Planned<'_> {
    /// Whether the referrers API lists `artifact` already.
    pub(crate) fn already_listed(&self, artifact: &Artifact) -> bool {
        self.api_listed.contains(&artifact.manifest.digest)
    }

    /// Uploads each artifact's blobs the registry lacks and its manifest (by digest), then the
    /// referrers index under the fallback tag when it changed. A manifest the referrers API lists
    /// and the registry holds is not put again; its blobs are still checked, so that a push
    /// repairs an artifact whose blobs were deleted. Returns a phrase saying where the artifacts
    /// are listed.
    pub(crate) fn push(&self, session: &mut Session<'_>) -> Result<String> {
        for artifact in &self.artifacts {
            for blob in artifact.blobs() {
                if !session.blob_exists(&blob.digest)? {
                    session.put_blob(blob)?;
                    println!("blob {} {} bytes: uploaded", blob.digest, blob.data.len());
                }
            }
            let digest = &artifact.manifest.digest;
            if !(self.already_listed(artifact) && session.manifest_exists(digest)?) {
                session.put_manifest(digest, &artifact.manifest)?;
            }
        }
        Ok(match (&self.listing, &self.index) {
            (Listing::Api, _) if self.api_listed.len() == self.artifacts.len() => {
                "already listed by the registry's referrers API".to_string()
            }
            (Listing::Api, _) => "listed by the registry's referrers API".to_string(),
            (Listing::FallbackTag(tag), Some(index)) => {
                session.put_manifest(tag, index)?;
                format!("listed under the tag {tag} (the registry has no referrers API)")
            }
            (Listing::FallbackTag(tag), None) => format!("already listed under the tag {tag}"),
        })
    }
}

/// Where `subject`'s referrers are listed and the listing as the registry has it (None: no
/// fallback tag yet).
fn read(session: &mut Session<'_>, subject: &str) -> Result<(Listing, Option<Blob>)> {
    if let Some(index) = session.referrers(subject)? {
        return Ok((Listing::Api, Some(index)));
    }
    let tag = fallback_tag(subject);
    let existing = session.get_manifest(&tag)?;
    Ok((Listing::FallbackTag(tag), existing))
}

/// `the referrers tag REGISTRY/REPOSITORY:sha256-…` or `the referrers API's list of …`, for
/// messages.
fn describe(session: &Session<'_>, listing: &Listing, subject: &str) -> String {
    match listing {
        Listing::Api => format!(
            "the referrers API's list of {} for {subject}",
            session.name()
        ),
        Listing::FallbackTag(tag) => format!("the referrers tag {}:{tag}", session.name()),
    }
}
