//! The distribution spec's referrers tag schema (distribution-spec 1.1, for registries without
//! the referrers API, such as Debian's docker-registry 2.8): the artifacts that refer to a
//! manifest are listed in an image index under the tag `sha256-<hex of that manifest>`, which
//! every client maintains by read, append, write. Pure: given the index the registry holds (if
//! any), [`add`] gives the one to push.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::blob::{Blob, digest_hex};
use super::descriptor::Descriptor;
use super::index;
use super::manifest::SCHEMA_VERSION;

/// The referrers index, keeping every entry as the registry returned it: entries other clients
/// wrote may carry fields this xtask does not model, and none may be lost.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferrersIndex {
    schema_version: u32,
    media_type: String,
    manifests: Vec<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// Where a registry lists the referrers of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listing {
    /// The referrers API answers: the registry keeps the list itself.
    Api,
    /// No referrers API: the index under this tag is the list.
    FallbackTag(String),
}

impl Listing {
    /// `the referrers API` or `the tag sha256-…`: where, for messages.
    pub(crate) fn place(&self) -> String {
        match self {
            Listing::Api => "the referrers API".to_string(),
            Listing::FallbackTag(tag) => format!("the tag {tag}"),
        }
    }

    /// `the referrers tag REGISTRY/REPOSITORY:sha256-…` or `the referrers API's list of
    /// REGISTRY/REPOSITORY for DIGEST`, naming the listing of `subject` in the repository `name`,
    /// for messages.
    pub(crate) fn describe(&self, name: &str, subject: &str) -> String {
        match self {
            Listing::Api => format!("the referrers API's list of {name} for {subject}"),
            Listing::FallbackTag(tag) => format!("the referrers tag {name}:{tag}"),
        }
    }
}

/// The referrers of one manifest as a registry holds them: where they are listed, and the
/// listing (the API's answer, or the index under the fallback tag; None: no fallback tag yet).
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) listing: Listing,
    pub(crate) index: Option<Blob>,
}

/// `sha256-<hex>`: the tag listing the referrers of the manifest `subject`.
pub(crate) fn fallback_tag(subject: &str) -> String {
    format!("sha256-{}", digest_hex(subject))
}

/// The referrers index after listing `referrer` (the artifact manifest's descriptor, with its
/// `artifactType` and annotations) in `existing` (the index's bytes, when the tag exists); `None`
/// when it is listed already, so there is nothing to push. Every entry already there stays, in
/// its place.
pub(crate) fn add(existing: Option<&[u8]>, referrer: &Descriptor) -> Result<Option<Blob>> {
    let mut listing = match existing {
        Some(bytes) => serde_json::from_slice::<ReferrersIndex>(bytes).map_err(|error| {
            anyhow!(
                "it does not hold an image index ({error}): another tool uses that tag; nothing \
                 was written to it: remove it, or push to another repository"
            )
        })?,
        None => ReferrersIndex {
            schema_version: SCHEMA_VERSION,
            media_type: index::MEDIA_TYPE.to_string(),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
        },
    };
    if digests(&listing).contains(&referrer.digest) {
        return Ok(None);
    }
    listing.manifests.push(serde_json::to_value(referrer)?);
    Blob::json(index::MEDIA_TYPE, &listing).map(Some)
}

/// The referrers an index lists (the referrers API's answer, or the fallback tag's index) that
/// are artifacts of `artifact_type`, as descriptors. Entries that are not descriptors at all
/// (another tool's mistake) are passed over: they cannot be the artifact looked for.
pub(crate) fn listed(index: &[u8], artifact_type: &str) -> Result<Vec<Descriptor>> {
    Ok(parse(index)?
        .manifests
        .into_iter()
        .filter_map(|entry| serde_json::from_value::<Descriptor>(entry).ok())
        .filter(|descriptor| descriptor.artifact_type.as_deref() == Some(artifact_type))
        .collect())
}

/// The referrers API's answer over several pages (a registry that pages says where the next one is
/// in a `Link` header) as one index: every page's entries, in order. One page is returned as it
/// came; a page that is not an index is refused, so that nothing listed goes unseen.
pub(crate) fn join_pages(pages: Vec<Vec<u8>>) -> Result<Vec<u8>> {
    if pages.len() == 1 {
        return Ok(pages.into_iter().next().unwrap_or_default());
    }
    let mut joined: Option<ReferrersIndex> = None;
    for page in &pages {
        let page = parse(page)?;
        match &mut joined {
            Some(joined) => joined.manifests.extend(page.manifests),
            None => joined = Some(page),
        }
    }
    let joined = joined.context("the referrers API answered no page")?;
    Ok(serde_json::to_vec(&joined)?)
}

/// The manifest digests an index lists (the referrers API's answer, or the fallback tag's index).
pub(crate) fn listed_digests(index: &[u8]) -> Result<BTreeSet<String>> {
    Ok(digests(&parse(index)?))
}

fn parse(index: &[u8]) -> Result<ReferrersIndex> {
    serde_json::from_slice(index).context("it does not hold an image index")
}

fn digests(listing: &ReferrersIndex) -> BTreeSet<String> {
    listing
        .manifests
        .iter()
        .filter_map(|entry| entry["digest"].as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{add, fallback_tag, join_pages, listed, listed_digests};
    use crate::oci::blob::Blob;
    use crate::oci::descriptor::Descriptor;

    fn referrer(content: &[u8]) -> Descriptor {
        Descriptor {
            artifact_type: Some("application/spdx+json".to_string()),
            ..Blob::new(crate::oci::manifest::MEDIA_TYPE, content.to_vec()).descriptor()
        }
    }

    #[test]
    fn the_tag_names_the_subject() {
        assert_eq!(fallback_tag("sha256:ab12"), "sha256-ab12");
    }

    #[test]
    fn a_first_referrer_makes_the_index() {
        let index = add(None, &referrer(b"a")).unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&index.data).unwrap();
        assert_eq!(
            value["mediaType"],
            "application/vnd.oci.image.index.v1+json"
        );
        assert_eq!(value["schemaVersion"], 2);
        assert_eq!(
            value["manifests"][0]["artifactType"],
            "application/spdx+json"
        );
    }

    /// Entries others put there stay whole (fields this xtask does not know included) and first.
    #[test]
    fn adding_keeps_every_existing_entry() {
        let theirs = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:00","size":1,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","data":"e30=","annotations":{"x":"y"}}]}"#;
        let index = add(Some(theirs.as_bytes()), &referrer(b"a"))
            .unwrap()
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&index.data).unwrap();
        let before: serde_json::Value = serde_json::from_str(theirs).unwrap();
        assert_eq!(value["manifests"][0], before["manifests"][0]);
        assert_eq!(value["manifests"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_listing_gives_the_referrers_of_one_type() {
        let sbom = referrer(b"a");
        let mut other = referrer(b"b");
        other.artifact_type = Some("application/vnd.dev.sigstore.bundle.v0.3+json".to_string());
        let first = add(None, &sbom).unwrap().unwrap();
        let both = add(Some(&first.data), &other).unwrap().unwrap();
        assert_eq!(listed(&both.data, "application/spdx+json").unwrap(), [sbom]);
        assert!(listed(b"{}", "application/spdx+json").is_err());
    }

    #[test]
    fn an_index_lists_a_manifest_by_its_digest() {
        let sbom = referrer(b"a");
        let index = add(None, &sbom).unwrap().unwrap();
        let digests = listed_digests(&index.data).unwrap();
        assert!(digests.contains(&sbom.digest));
        assert!(!digests.contains(&referrer(b"b").digest));
        assert!(listed_digests(b"[]").is_err());
    }

    #[test]
    fn pages_join_into_one_listing_in_order() {
        let (a, b, c) = (referrer(b"a"), referrer(b"b"), referrer(b"c"));
        let first = add(None, &a).unwrap().unwrap();
        let first = add(Some(&first.data), &b).unwrap().unwrap();
        let second = add(None, &c).unwrap().unwrap();
        let joined = join_pages(vec![first.data.clone(), second.data]).unwrap();
        let digests: Vec<String> = listed(&joined, "application/spdx+json")
            .unwrap()
            .into_iter()
            .map(|descriptor| descriptor.digest)
            .collect();
        assert_eq!(digests, [a.digest, b.digest, c.digest]);
        assert_eq!(join_pages(vec![first.data.clone()]).unwrap(), first.data);
        assert!(join_pages(vec![first.data, b"<html>".to_vec()]).is_err());
    }

    #[test]
    fn a_listed_referrer_is_not_added_again() {
        let first = add(None, &referrer(b"a")).unwrap().unwrap();
        assert!(add(Some(&first.data), &referrer(b"a")).unwrap().is_none());
        let error = add(Some(b"not json"), &referrer(b"a"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not hold an image index"), "{error}");
    }
}
