//! The plan of a push: from an OCI layout's contents, the signing key (if any) and what the
//! registry holds already (each `.sig` and `.att` manifest, each manifest's referrers listing),
//! the ordered list of plain OCI writes that puts the image there with its SBOMs attached and,
//! with a key, cosign's signatures of the index and of every platform manifest and their signed
//! attestations (the `.att` images of cosign 2, the Sigstore bundle referrers of cosign 3). The
//! registry reads what is asked and applies the writes (`registry::publish`); nothing here talks
//! to it.
//!
//! The order, so that the tag only ever names a whole image and nothing of others' is lost:
//! 1. with a key, the signatures and attestations are made ([`Plan::new`]) and merged with the
//!    `.sig` and `.att` manifests the registry holds ([`Plan::signatures`]; a wrong key password
//!    failed earlier, in `commands::push`; a malformed `.sig` or `.att` fails here, before any
//!    upload);
//! 2. the image's blobs (each only if the registry lacks it), each platform manifest by digest,
//!    then the index by digest, untagged ([`Plan::image`]);
//! 3. the referrers of each manifest (its SBOM, and with a key its bundles): where the registry
//!    lists them (the API, or the fallback tag `sha256-<hex>`, read — once the subjects exist, so
//!    that a registry with the API says so — and merged for every subject before any is
//!    written), then their blobs, their manifests, and the extended fallback index;
//! 4. the `.sig` and `.att` images;
//! 5. the index under the tag, last: a failure anywhere before leaves no tag on a partial image,
//!    an unsigned one, or one whose SBOMs cannot be found.
//!
//! Steps 3 and 4 are [`Plan::attachments`], step 5 [`Plan::tag`]: a push interrupted before the
//! tag's write can say that nothing was tagged.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow};

use super::attestation::{self, Attestation};
use super::bundle;
use super::key::SigningKey;
use super::simple_signing::{self, signature_tag};
use crate::attest::{intoto, sbom};
use crate::oci::artifact::Artifact;
use crate::oci::blob::Blob;
use crate::oci::descriptor::Descriptor;
use crate::oci::index::Index;
use crate::oci::layout::Contents;
use crate::oci::manifest::Manifest;
use crate::oci::reference::Reference;
use crate::oci::referrers::{self, Listed, Listing};
use crate::oci::write::{Said, Write};

/// A push of one layout to one tag, with what signing it made.
pub(crate) struct Plan<'a> {
    contents: &'a Contents,
    index: Index,
    /// `REGISTRY/REPOSITORY`, as the user named it.
    name: String,
    tag: String,
    key: Option<&'a SigningKey>,
    /// Every attestation the push adds (none without a key).
    attestations: Vec<Attestation>,
    /// Their bundles, as referrers of their subjects.
    bundles: Vec<Artifact>,
}

impl<'a> Plan<'a> {
    /// The push of `contents` to `target` (`REGISTRY/REPOSITORY:TAG`), with every attestation
    /// signed with `key` made.
    pub(crate) fn new(
        contents: &'a Contents,
        target: &Reference,
        key: Option<&'a SigningKey>,
    ) -> Result<Plan<'a>> {
        let index: Index = serde_json::from_slice(&contents.index.data)
            .context("reading the layout's image index")?;
        let name = target.name();
        let tag = target.tag.clone().unwrap_or_default();
        let attestations = match key {
            Some(key) => attestation::sign_attestations(contents, &format!("{name}:{tag}"), key)?,
            None => Vec::new(),
        };
        let bundles = attestations
            .iter()
            .map(Attestation::bundle_referrer)
            .collect::<Result<_>>()?;
        Ok(Plan {
            contents,
            index,
            name,
            tag,
            key,
            attestations,
            bundles,
        })
    }

    /// What signatures and referrers are attached to: the index, then each platform manifest.
    fn subjects(&self) -> impl Iterator<Item = &'a Blob> + use<'a> {
        std::iter::once(&self.contents.index).chain(&self.contents.manifests)
    }

    /// The digests of [`Plan::subjects`]: whose referrers listings [`Plan::attachments`] takes,
    /// in this order.
    pub(crate) fn subject_digests(&self) -> Vec<String> {
        self.subjects()
            .map(|subject| subject.digest.clone())
            .collect()
    }

    /// The attestations about `digest`.
    fn about(&self, digest: &str) -> Vec<&Attestation> {
        self.attestations
            .iter()
            .filter(|attestation| attestation.subject_digest() == digest)
            .collect()
    }

    /// The `.sig` and `.att` tags whose manifests [`Plan::signatures`] merges into, in the order
    /// to read them: each subject's `.sig`, then its `.att` when an attestation goes there. None
    /// without a key.
    pub(crate) fn held_tags(&self) -> Vec<String> {
        if self.key.is_none() {
            return Vec::new();
        }
        let mut tags = Vec::new();
        for subject in self.subjects() {
            tags.push(signature_tag(&subject.digest));
            if self.about(&subject.digest).iter().any(|a| a.in_att()) {
                tags.push(attestation::attestation_tag(&subject.digest));
            }
        }
        tags
    }

    /// Step 1's writes: each subject signed (for `REGISTRY/REPOSITORY`, as the user named it;
    /// the payload spells it as cosign does, Docker Hub's as `index.docker.io/...`) and its
    /// signature merged into the `.sig` manifest the registry holds, its attestations into the
    /// `.att` one; `held` is what the registry holds under each of [`Plan::held_tags`]. A tag that
    /// holds something else than an image manifest is refused, naming it.
    pub(crate) fn signatures(&self, held: &BTreeMap<String, Option<Blob>>) -> Result<Vec<Write>> {
        let Some(key) = self.key else {
            return Ok(Vec::new());
        };
        let held = |tag: &str| {
            held.get(tag)
                .and_then(Option::as_ref)
                .map(|blob| blob.data.as_slice())
        };
        let mut writes = Vec::new();
        for subject in self.subjects() {
            let digest = &subject.digest;
            let tag = signature_tag(digest);
            let payload = simple_signing::payload(&self.name, digest)?;
            let signature = key.sign(&payload);
            let signed = simple_signing::signature_manifest(held(&tag), &payload, &signature)
                .map_err(|error| anyhow!("the signature tag {}:{tag}: {error:#}", self.name))?;
            writes.extend(tag_image(
                digest,
                &tag,
                TagImage {
                    manifest: signed.manifest,
                    config: signed.config,
                    layers: vec![signed.payload],
                    unchanged: signed.unchanged,
                    done: "signed",
                },
            ));
            let about = self.about(digest);
            if !about.iter().any(|attestation| attestation.in_att()) {
                continue;
            }
            let tag = attestation::attestation_tag(digest);
            let (attached, layers) = attestation::attestation_manifest(held(&tag), digest, &about)
                .map_err(|error| anyhow!("the attestation tag {}:{tag}: {error:#}", self.name))?;
            writes.extend(tag_image(
                digest,
                &tag,
                TagImage {
                    manifest: attached.manifest,
                    config: attached.config,
                    layers,
                    unchanged: attached.unchanged,
                    done: "attested",
                },
            ));
        }
        Ok(writes)
    }

    /// Step 2's writes: the image, untagged.
    pub(crate) fn image(&self) -> Vec<Write> {
        let mut writes: Vec<Write> = self
            .contents
            .blobs
            .iter()
            .map(|blob| Write::Blob {
                blob: blob.clone(),
                said: Said::Always,
            })
            .collect();
        for (manifest, descriptor) in self.contents.manifests.iter().zip(&self.index.manifests) {
            writes.push(Write::Manifest {
                reference: manifest.digest.clone(),
                manifest: manifest.clone(),
                said: Some(format!(
                    "manifest {}{} {} bytes",
                    manifest.digest,
                    platform_of(descriptor),
                    manifest.data.len()
                )),
            });
        }
        writes.push(Write::Manifest {
            reference: self.contents.index.digest.clone(),
            manifest: self.contents.index.clone(),
            said: None,
        });
        writes
    }

    /// The index's entries: each platform manifest's descriptor, its platform with it.
    pub(crate) fn manifests(&self) -> &[Descriptor] {
        &self.index.manifests
    }

    /// The referrers of `subject` the push attaches: its SBOM and, with a key, its bundles.
    fn referrers_of(&self, subject: &str) -> Vec<&Artifact> {
        // A provenance statement is never pushed unsigned, naming the repository the build was
        // tagged for: the signing push restates it for this one, in a bundle.
        self.contents
            .referrers
            .iter()
            .filter(|artifact| artifact.artifact_type != intoto::MEDIA_TYPE)
            .chain(&self.bundles)
            .filter(|artifact| artifact.subject.digest == subject)
            .collect()
    }

    /// Every referrer the push attaches, subject by subject in [`Plan::subject_digests`]' order.
    pub(crate) fn referrers(&self) -> Vec<&Artifact> {
        self.subjects()
            .flat_map(|subject| self.referrers_of(&subject.digest))
            .collect()
    }

    /// Steps 3 and 4's writes: the referrers of each subject (each SBOM, and with a key each
    /// attestation's bundle) added to `listed`, the registry's listing of each of
    /// [`Plan::subject_digests`] in that order; then `signatures` (step 1's writes). Every
    /// listing is merged, and a malformed one refused, before any of these writes.
    pub(crate) fn attachments(
        &self,
        listed: &[Listed],
        signatures: Vec<Write>,
    ) -> Result<Vec<Write>> {
        let referrers = self
            .subjects()
            .zip(listed)
            .map(|(subject, listed)| {
                Referrers::merge(
                    &self.name,
                    &subject.digest,
                    listed,
                    self.referrers_of(&subject.digest),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let mut writes = Vec::new();
        for merged in referrers
            .iter()
            .filter(|merged| !merged.artifacts.is_empty())
        {
            let of = self
                .index
                .manifests
                .iter()
                .find(|descriptor| descriptor.digest == merged.subject)
                .map_or_else(|| " the index".to_string(), platform_of);
            writes.extend(merged.writes(&of));
        }
        writes.extend(signatures);
        Ok(writes)
    }

    /// Step 5's write, the last: the index under the tag.
    pub(crate) fn tag(&self) -> Vec<Write> {
        vec![Write::Manifest {
            reference: self.tag.clone(),
            manifest: self.contents.index.clone(),
            said: Some(format!(
                "index {} {} bytes under the tag {}",
                self.contents.index.digest,
                self.contents.index.data.len(),
                self.tag
            )),
        }]
    }
}

/// A `.sig` or `.att` image to store for one digest.
struct TagImage {
    manifest: Blob,
    config: Blob,
    /// The documents it adds (payloads, envelopes).
    layers: Vec<Blob>,
    /// Whether the registry held all of it already: nothing to push.
    unchanged: bool,
    /// `signed`, `attested`: what the push line says was done.
    done: &'static str,
}

/// The writes of `image`, the `.sig` or `.att` image of `digest` under `tag`: its documents and
/// config the registry lacks and its manifest, unless all of it was there already; then the line
/// saying which.
fn tag_image(digest: &str, tag: &str, image: TagImage) -> Vec<Write> {
    let done = image.done;
    if image.unchanged {
        return vec![Write::Say(format!(
            "signature of {digest}: already {done} with this key under {tag}"
        ))];
    }
    let mut writes: Vec<Write> = image
        .layers
        .into_iter()
        .chain(std::iter::once(image.config))
        .map(|blob| Write::Blob {
            blob,
            said: Said::Nothing,
        })
        .collect();
    writes.push(Write::Manifest {
        reference: tag.to_string(),
        manifest: image.manifest,
        said: None,
    });
    writes.push(Write::Say(format!(
        "signature of {digest}: {done} under {tag}"
    )));
    writes
}

/// The artifacts of one subject and where they go: the referrers index to store under the
/// fallback tag, if the registry has no API and some artifact is not listed yet. The artifacts of
/// one subject are merged together: they share its listing.
struct Referrers<'a> {
    subject: String,
    artifacts: Vec<&'a Artifact>,
    listing: Listing,
    /// The new referrers index, when there is something to add to the fallback tag.
    index: Option<Blob>,
    /// The manifest digests of those of `artifacts` that the referrers API lists already, for the
    /// line that says so. (Their manifests are not put again: `registry::publish` puts none the
    /// registry holds, and a registry may list a manifest once for every time it is put, as
    /// ferro-oci-server 1.0.0 does.)
    api_listed: BTreeSet<String>,
}

impl<'a> Referrers<'a> {
    /// For the fallback tag, the index `listed` holds with each of `artifacts` (all about
    /// `subject`) appended in turn (every entry already there kept, in its place; one already
    /// listed not added again); for the API, which of `artifacts` it lists already. A fallback
    /// tag that holds no image index is refused, naming it (in the repository `name`). An API
    /// answer that is not one lists nothing we can see: the artifacts are put as if unlisted.
    fn merge(
        name: &str,
        subject: &str,
        listed: &Listed,
        artifacts: Vec<&'a Artifact>,
    ) -> Result<Referrers<'a>> {
        let Listed { listing, index } = listed;
        let mut merged: Option<Blob> = None;
        let mut api_listed = BTreeSet::new();
        if let (Listing::Api, Some(existing)) = (listing, index) {
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
                    listing.describe(name, subject)
                ),
            }
        }
        if let Listing::FallbackTag(_) = listing {
            for artifact in &artifacts {
                debug_assert_eq!(artifact.subject.digest, subject, "merged with its subject");
                let current = merged.as_ref().or(index.as_ref());
                let added = referrers::add(
                    current.map(|blob| blob.data.as_slice()),
                    &artifact.referrer_descriptor()?,
                )
                .map_err(|error| anyhow!("{}: {error:#}", listing.describe(name, subject)))?;
                if added.is_some() {
                    merged = added;
                }
            }
        }
        Ok(Referrers {
            subject: subject.to_string(),
            artifacts,
            listing: listing.clone(),
            index: merged,
            api_listed,
        })
    }

    /// Each artifact's blobs (uploaded where the registry lacks them: their checks repair an
    /// artifact whose blobs were deleted) and its manifest (by digest, with a line saying whether
    /// it was pushed or was there), then the referrers index under the fallback tag when it
    /// changed; then a line saying where they are listed, naming the subject as `of` (` the
    /// index`, ` linux/arm64`).
    fn writes(&self, of: &str) -> Vec<Write> {
        let mut writes = Vec::new();
        for artifact in &self.artifacts {
            for blob in artifact.blobs() {
                writes.push(Write::Blob {
                    blob: blob.clone(),
                    said: Said::Uploaded,
                });
            }
            writes.push(Write::Manifest {
                reference: artifact.manifest.digest.clone(),
                manifest: artifact.manifest.clone(),
                said: Some(format!(
                    "{} {} of{of}",
                    describe_artifact(artifact),
                    artifact.manifest.digest
                )),
            });
        }
        let listed = match (&self.listing, &self.index) {
            (Listing::Api, _) if self.api_listed.len() == self.artifacts.len() => {
                "already listed by the registry's referrers API".to_string()
            }
            (Listing::Api, _) => "listed by the registry's referrers API".to_string(),
            (Listing::FallbackTag(tag), Some(index)) => {
                writes.push(Write::Manifest {
                    reference: tag.clone(),
                    manifest: index.clone(),
                    said: None,
                });
                format!("listed under the tag {tag} (the registry has no referrers API)")
            }
            (Listing::FallbackTag(tag), None) => format!("already listed under the tag {tag}"),
        };
        writes.push(Write::Say(format!("referrers of{of}: {listed}")));
        writes
    }
}

/// ` linux/arm/v7` for a descriptor with a platform, else nothing.
fn platform_of(descriptor: &Descriptor) -> String {
    descriptor
        .platform
        .as_ref()
        .map_or_else(String::new, |platform| format!(" {platform}"))
}

/// `sbom` for an SPDX document, `bundle (PREDICATE TYPE)` for a Sigstore bundle, otherwise the
/// artifact type itself.
fn describe_artifact(artifact: &Artifact) -> String {
    match artifact.artifact_type.as_str() {
        sbom::MEDIA_TYPE => "sbom".to_string(),
        bundle::MEDIA_TYPE => {
            let predicate = serde_json::from_slice::<Manifest>(&artifact.manifest.data)
                .ok()
                .and_then(|manifest| {
                    manifest
                        .annotations
                        .get(bundle::PREDICATE_TYPE_ANNOTATION)
                        .cloned()
                })
                .unwrap_or_default();
            format!("bundle ({predicate})")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::Plan;
    use crate::build::assemble::tests::every_platform;
    use crate::oci::blob::Blob;
    use crate::oci::layout::{self, Contents};
    use crate::oci::reference::Reference;
    use crate::oci::referrers::{Listed, Listing, fallback_tag};
    use crate::oci::write::Write;
    use crate::sigstore::key::SigningKey;
    use crate::sigstore::simple_signing::signature_tag;

    const TAG: &str = "0.1.0";

    fn contents() -> Contents {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        layout::write(&every_platform(1_700_000_000), &dir).unwrap();
        layout::read(&dir).unwrap()
    }

    fn target() -> Reference {
        Reference::to_push(&format!("ghcr.io/o/pause:{TAG}")).unwrap()
    }

    #[test]
    fn the_tag_is_written_last_after_the_image_its_referrers_and_signatures() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let target = target();
        let plan = Plan::new(&contents, &target, Some(&key)).unwrap();
        let held: BTreeMap<String, Option<Blob>> = plan
            .held_tags()
            .into_iter()
            .map(|tag| (tag, None))
            .collect();
        // The index's only attestation is its signature statement, which is no `.att` layer.
        assert_eq!(held.len(), 1 + 2 * contents.manifests.len());
        let signatures = plan.signatures(&held).unwrap();
        let listed: Vec<Listed> = plan
            .subject_digests()
            .iter()
            .map(|subject| Listed {
                listing: Listing::FallbackTag(fallback_tag(subject)),
                index: None,
            })
            .collect();
        let writes: Vec<Write> = plan
            .image()
            .into_iter()
            .chain(plan.attachments(&listed, signatures).unwrap())
            .chain(plan.tag())
            .collect();
        let stored: Vec<&str> = writes
            .iter()
            .filter_map(|write| match write {
                Write::Manifest { reference, .. } => Some(reference.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(stored.last(), Some(&TAG), "{stored:?}");
        assert_eq!(stored.iter().filter(|stored| **stored == TAG).count(), 1);
        let index = stored
            .iter()
            .position(|stored| *stored == contents.index.digest)
            .unwrap();
        let first_tag = stored
            .iter()
            .position(|stored| stored.starts_with("sha256-"))
            .unwrap();
        assert!(index < first_tag, "{stored:?}");
        for digest in plan.subject_digests() {
            assert!(stored.contains(&fallback_tag(&digest).as_str()), "{digest}");
            assert!(
                stored.contains(&signature_tag(&digest).as_str()),
                "{digest}"
            );
        }
        let Some(Write::Manifest {
            said: Some(last), ..
        }) = writes.last()
        else {
            panic!("the last write is not the tag's, named");
        };
        assert_eq!(
            *last,
            format!(
                "index {} {} bytes under the tag {TAG}",
                contents.index.digest,
                contents.index.data.len()
            )
        );
    }

    #[test]
    fn a_malformed_signature_tag_is_refused_naming_it() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let target = target();
        let plan = Plan::new(&contents, &target, Some(&key)).unwrap();
        let tag = signature_tag(&contents.index.digest);
        let held = BTreeMap::from([(
            tag.clone(),
            Some(Blob::new("text/html", b"<html>".to_vec())),
        )]);
        let error = plan.signatures(&held).err().unwrap().to_string();
        assert!(
            error.starts_with(&format!("the signature tag ghcr.io/o/pause:{tag}: ")),
            "{error}"
        );
    }

    #[test]
    fn without_a_key_nothing_is_read_or_signed() {
        let contents = contents();
        let target = target();
        let plan = Plan::new(&contents, &target, None).unwrap();
        assert!(plan.held_tags().is_empty());
        assert!(plan.signatures(&BTreeMap::new()).unwrap().is_empty());
    }
}
