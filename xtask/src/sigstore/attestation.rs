//! The image's signed attestations, in the two forms verifiers read:
//!
//! - cosign 2's: the image `sha256-<hex>.att` beside each platform manifest, one layer per DSSE
//!   envelope (`application/vnd.dsse.envelope.v1+json`) with the annotations cosign writes — its
//!   `predicateType`, and an empty `dev.cosignproject.cosign/signature` (the signature is inside
//!   the envelope). sigstore's policy-controller and Kyverno's `type: Cosign` read these.
//! - cosign 3's: one Sigstore bundle per statement, a referrer of the manifest (`bundle.rs`).
//!   cosign 3 and Kyverno's `SigstoreBundle` read these; once a digest has any bundle, cosign 3
//!   looks at nothing else — so every digest that gets a `.sig` also gets the bundle of
//!   `cosign sign`'s statement.
//!
//! [`sign_attestations`] turns an image layout's contents into every signed statement the push adds:
//! for the index, its signature statement; for each platform manifest, its signature statement,
//! its SPDX SBOM (predicate: the layout's SBOM document, byte for byte) and its SLSA provenance
//! (the layout's statement, restated for the repository pushed to). The rest is the pure
//! read-append step for the registry's `.att` manifest; the bundle referrers join their
//! subject's referrers index as the SBOMs do, through `oci::referrers`. Nothing here talks to a
//! registry.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};

use super::attached::{self, Attached, Layer};
use super::bundle::{self, SIGN_PREDICATE_TYPE};
use super::dsse::Envelope;
use super::key::{PublicKey, SigningKey};
use super::simple_signing::SIGNATURE_ANNOTATION;
use crate::attest::intoto::{self, Statement};
use crate::attest::{provenance, sbom};
use crate::oci::artifact::Artifact;
use crate::oci::blob::{Blob, digest_hex};
use crate::oci::definition::CREATED;
use crate::oci::descriptor::Descriptor;
use crate::oci::index::Index;
use crate::oci::layout::Contents;
use crate::oci::reference::Reference;

/// The media type of an `.att` layer: one DSSE envelope.
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The `.att` layer annotation naming the statement's predicate type.
pub(crate) const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// The predicate type of an SPDX document (cosign's `--type spdxjson`).
pub const SPDX_PREDICATE_TYPE: &str = "https://spdx.dev/Document";
/// The tag of a digest's attestations: `sha256-<hex>.att`.
const TAG_SUFFIX: &str = "att";

/// One signed statement about one manifest (or the index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The manifest it is about: media type, digest, size.
    subject: Descriptor,
    statement: Statement,
    envelope: Envelope,
    /// The bundle, which names the public key.
    bundle: Blob,
    /// The image's date: the bundle referrer's `org.opencontainers.image.created`.
    created: String,
}

impl Attestation {
    /// Signs `statement`, which must be about `subject`.
    pub(crate) fn sign(
        key: &SigningKey,
        subject: Descriptor,
        statement: Statement,
        created: &str,
    ) -> Result<Attestation> {
        if statement.subject_digest() != subject.digest {
            bail!(
                "a statement about {} cannot attest {}",
                statement.subject_digest(),
                subject.digest
            );
        }
        let envelope = Envelope::sign(key, intoto::MEDIA_TYPE, &statement.to_json());
        let bundle = bundle::bundle(&envelope, &key.public_key())?;
        Ok(Attestation {
            subject,
            statement,
            envelope,
            bundle,
            created: created.to_string(),
        })
    }

    /// `sha256:<hex>` of the manifest it is about.
    pub fn subject_digest(&self) -> &str {
        &self.subject.digest
    }

    pub fn predicate_type(&self) -> &str {
        self.statement.predicate_type()
    }

    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Whether cosign 2 keeps it in the `.att` image: every attestation but the signature
    /// statement, whose cosign 2 form is the simple-signing `.sig`.
    pub fn in_att(&self) -> bool {
        self.predicate_type() != SIGN_PREDICATE_TYPE
    }

    /// Its `.att` layer: the envelope's JSON as cosign 2 writes it.
    pub fn att_layer(&self) -> Blob {
        Blob::new(ENVELOPE_MEDIA_TYPE, self.envelope.to_json())
    }

    /// Its Sigstore bundle (v0.3) JSON.
    pub fn bundle(&self) -> &Blob {
        &self.bundle
    }

    /// The referrer that carries the bundle, with its subject.
    pub(crate) fn bundle_referrer(&self) -> Result<Artifact> {
        bundle::referrer(
            &self.subject,
            self.bundle.clone(),
            self.predicate_type(),
            &self.created,
            &format!(
                "sha256-{}.{}.sigstore.json",
                digest_hex(&self.subject.digest),
                short_name(self.predicate_type())
            ),
        )
    }
}

/// A file-name word for a predicate type: `provenance`, `sbom`, `signature`.
fn short_name(predicate_type: &str) -> &'static str {
    match predicate_type {
        provenance::PREDICATE_TYPE => "provenance",
        SPDX_PREDICATE_TYPE => "sbom",
        SIGN_PREDICATE_TYPE => "signature",
        _ => "attestation",
    }
}

/// Every attestation the signed push of the layout `contents` to `image`
/// (`REGISTRY/REPOSITORY[:TAG]`) adds, signed with `key`, in a fixed order: the index's
/// signature statement; then for each platform manifest its signature statement, SBOM and
/// provenance. A platform without an SBOM or provenance is an error: the layout was not made
/// by `cargo xtask image`.
pub fn sign_attestations(
    contents: &Contents,
    image: &str,
    key: &SigningKey,
) -> Result<Vec<Attestation>> {
    let repository = Reference::parse(image)
        .map_err(|error| anyhow::anyhow!("{error}"))?
        .repository_name();
    let index: Index = serde_json::from_slice(&contents.index.data)
        .context("the layout's image index does not parse")?;
    let created = index.annotations.get(CREATED).context(
        "the layout's image index has no creation date: rebuild it with `cargo xtask image`",
    )?;
    let rebuild = "rebuild the layout with `cargo xtask image`";
    let sign = |subject: &Blob, statement: Statement| {
        Attestation::sign(key, subject.descriptor(), statement, created)
    };

    let mut signed = vec![sign(
        &contents.index,
        bundle::sign_statement(&contents.index.digest)?,
    )?];
    for manifest in &contents.manifests {
        signed.push(sign(manifest, bundle::sign_statement(&manifest.digest)?)?);
        let sbom = contents
            .referrers
            .iter()
            .find(|artifact| {
                artifact.artifact_type == sbom::MEDIA_TYPE
                    && artifact.subject.digest == manifest.digest
            })
            .with_context(|| format!("the layout has no SBOM of {}: {rebuild}", manifest.digest))?;
        signed.push(sign(
            manifest,
            Statement::new(
                Some(&repository),
                &manifest.digest,
                SPDX_PREDICATE_TYPE,
                &sbom.layer.data,
            )?,
        )?);
        let provenance = contents
            .referrers
            .iter()
            .find(|artifact| {
                artifact.artifact_type == intoto::MEDIA_TYPE
                    && artifact.subject.digest == manifest.digest
            })
            .with_context(|| {
                format!(
                    "the layout has no provenance of {}: {rebuild}",
                    manifest.digest
                )
            })?;
        let statement = Statement::parse(&provenance.layer.data).with_context(|| {
            format!(
                "the layout's provenance of {} is broken: {rebuild}",
                manifest.digest
            )
        })?;
        if statement.predicate_type() != provenance::PREDICATE_TYPE {
            bail!(
                "the layout's statement about {} is a {}, not SLSA provenance: {rebuild}",
                manifest.digest,
                statement.predicate_type()
            );
        }
        signed.push(sign(manifest, statement.named(&repository))?);
    }
    Ok(signed)
}

/// `sha256-<hex>.att`: the tag cosign 2 keeps `digest`'s attestations under.
pub(crate) fn attestation_tag(digest: &str) -> String {
    attached::tag(digest, TAG_SUFFIX)
}

/// The `.att` image of `digest` after adding `attestations` (all about it) to `existing` (the
/// registry's manifest under [`attestation_tag`], if any), as cosign 2 does: every layer already
/// there stays, whole and first; an attestation already there is not added again (the envelope
/// is deterministic, so the same statement and key give the same layer); a manifest that is not
/// one is an error naming the tag, and nothing is changed.
pub(crate) fn attestation_manifest(
    existing: Option<&[u8]>,
    digest: &str,
    attestations: &[&Attestation],
) -> Result<(Attached, Vec<Blob>)> {
    let mut layers = Vec::new();
    for attestation in attestations {
        if attestation.subject_digest() != digest {
            bail!(
                "an attestation of {} does not go in the .att image of {digest}",
                attestation.subject_digest()
            );
        }
        if attestation.in_att() {
            layers.push(Layer {
                blob: attestation.att_layer(),
                annotations: BTreeMap::from([
                    (SIGNATURE_ANNOTATION.to_string(), String::new()),
                    (
                        PREDICATE_TYPE_ANNOTATION.to_string(),
                        attestation.predicate_type().to_string(),
                    ),
                ]),
            });
        }
    }
    let tag = format!("`{}`", attestation_tag(digest));
    let attached = attached::append(existing, &tag, &layers)?;
    Ok((
        attached,
        layers.into_iter().map(|layer| layer.blob).collect(),
    ))
}

/// One envelope an `.att` manifest carries: its layer's digest and the predicate type its
/// annotation names (what cosign 2 and policy-controller pick an attestation by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvelopeLayer {
    pub(crate) digest: String,
    pub(crate) size: u64,
    pub(crate) predicate_type: Option<String>,
}

/// The envelopes in the `.att` manifest `manifest` (its bytes), in layer order; layers of other
/// media types are not attestations and are passed over.
pub(crate) fn envelopes(manifest: &[u8]) -> Result<Vec<EnvelopeLayer>> {
    Ok(attached::layers_of(manifest, ENVELOPE_MEDIA_TYPE)?
        .into_iter()
        .map(|layer| EnvelopeLayer {
            predicate_type: layer.annotations.get(PREDICATE_TYPE_ANNOTATION).cloned(),
            digest: layer.digest,
            size: layer.size,
        })
        .collect())
}

/// What one stored attestation (an `.att` envelope or a bundle) is, read with a public key, for
/// the manifest it is stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The key's signature over an in-toto statement about that manifest.
    Verified(Statement),
    /// The key's signature over a statement about another manifest: it was moved here, and a
    /// reader that trusts where it found it would take one manifest's claims for another's.
    AboutAnother(Statement),
    /// It names the key (a bundle's hint) or carries its valid signature, and is still not the
    /// key's signed statement: changed after signing, or not an in-toto statement. Why.
    Broken(String),
    /// Not the key's: another signer's, or (an `.att` envelope names no key, so the two look
    /// alike) changed after signing; or not readable as an attestation at all. Why.
    NotTheKeys(String),
}

/// Reads a DSSE envelope (an `.att` layer's bytes) stored for the manifest `digest`.
pub(crate) fn read_envelope(bytes: &[u8], key: &PublicKey, digest: &str) -> Reading {
    match Envelope::parse(bytes) {
        Ok(envelope) => read_signed(
            &envelope,
            key,
            digest,
            Reading::NotTheKeys(
                "no signature of it verifies with the key: another signer's, or changed after \
                 signing"
                    .to_string(),
            ),
        ),
        Err(error) => Reading::NotTheKeys(format!("{error:#}")),
    }
}

/// Reads a Sigstore bundle (a bundle referrer's layer) stored for the manifest `digest`. A
/// bundle names its key (the hint), so one that names this key and does not verify was changed.
pub(crate) fn read_bundle(bytes: &[u8], key: &PublicKey, digest: &str) -> Reading {
    let read = match bundle::parse(bytes) {
        Ok(read) => read,
        Err(error) => return Reading::NotTheKeys(format!("{error:#}")),
    };
    match bundle::key_hint(key) {
        Ok(hint) if hint == read.hint => read_signed(
            &read.envelope,
            key,
            digest,
            Reading::Broken(
                "it names the key and its signature does not verify: changed after signing"
                    .to_string(),
            ),
        ),
        _ => Reading::NotTheKeys(format!(
            "it names another key, {}",
            bundle::named_key(&read.hint)
        )),
    }
}

/// `envelope`, found with the manifest `digest`, as the key's signed statement; `unsigned` when
/// no signature of it is the key's.
fn read_signed(envelope: &Envelope, key: &PublicKey, digest: &str, unsigned: Reading) -> Reading {
    let Ok(payload) = envelope.verify(key) else {
        return unsigned;
    };
    if envelope.payload_type != intoto::MEDIA_TYPE {
        return Reading::Broken(format!(
            "the key signed a `{}`, not an in-toto statement",
            envelope.payload_type
        ));
    }
    about(Statement::parse(payload), digest)
}

/// A statement the key signed, placed with the manifest `digest`.
fn about(statement: Result<Statement>, digest: &str) -> Reading {
    match statement {
        Ok(statement) if statement.subject_digest() == digest => Reading::Verified(statement),
        Ok(statement) => Reading::AboutAnother(statement),
        Err(error) => Reading::Broken(format!(
            "the key signed something that is not an in-toto statement about one manifest \
             ({error:#})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{
        Attestation, ENVELOPE_MEDIA_TYPE, EnvelopeLayer, Reading, SPDX_PREDICATE_TYPE,
        attestation_manifest, attestation_tag, envelopes, read_bundle, read_envelope,
        sign_attestations,
    };
    use crate::build::assemble::tests::every_platform;
    use crate::oci::layout::{self, Contents};
    use crate::oci::referrers;
    use crate::sigstore::bundle::{self, SIGN_PREDICATE_TYPE};
    use crate::sigstore::dsse::pae;
    use crate::sigstore::key::SigningKey;

    const IMAGE: &str = "ghcr.io/o/pause:0.1.0";

    fn refs(list: &[Attestation]) -> Vec<&Attestation> {
        list.iter().collect()
    }

    /// The layout of the stand-in image, read back as the push reads it.
    fn contents() -> Contents {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        layout::write(&every_platform(1_700_000_000), &dir).unwrap();
        layout::read(&dir).unwrap()
    }

    #[test]
    fn every_digest_gets_its_signature_and_every_platform_its_sbom_and_provenance() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let signed = sign_attestations(&contents, IMAGE, &key).unwrap();
        assert_eq!(signed.len(), 1 + 3 * contents.manifests.len());
        assert_eq!(signed[0].subject_digest(), contents.index.digest);
        assert_eq!(signed[0].predicate_type(), SIGN_PREDICATE_TYPE);
        for (manifest, three) in contents.manifests.iter().zip(signed[1..].chunks(3)) {
            let types: Vec<&str> = three.iter().map(Attestation::predicate_type).collect();
            assert_eq!(
                types,
                [
                    SIGN_PREDICATE_TYPE,
                    SPDX_PREDICATE_TYPE,
                    "https://slsa.dev/provenance/v1"
                ]
            );
            for attestation in three {
                assert_eq!(attestation.subject_digest(), manifest.digest);
                assert_eq!(attestation.statement().subject_digest(), manifest.digest);
                let statement = bundle::parse(&attestation.bundle().data)
                    .unwrap()
                    .verify(&key.public_key())
                    .unwrap();
                assert_eq!(&statement, attestation.statement());
            }
            assert_eq!(three[1].statement().subject_name(), Some("ghcr.io/o/pause"));
            assert_eq!(
                three[2].statement().subject_name(),
                Some("ghcr.io/o/pause"),
                "restated for the repository pushed to"
            );
            let sbom = contents
                .referrers
                .iter()
                .find(|artifact| artifact.subject.digest == manifest.digest)
                .unwrap();
            assert_eq!(
                three[1].statement().predicate(),
                &sbom.layer.data[..],
                "the signed SBOM is the referrer's document, byte for byte"
            );
        }
        assert_eq!(
            sign_attestations(&contents, IMAGE, &key).unwrap(),
            signed,
            "RFC 6979: the same layout and key give the same bytes"
        );
    }

    /// The `.att` layer is the envelope, signed over the PAE of the statement; its annotations
    /// are cosign's; the signature statement is not in it.
    #[test]
    fn the_att_image_holds_the_sbom_and_provenance_as_cosign_2_does() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let signed = sign_attestations(&contents, IMAGE, &key).unwrap();
        let digest = &contents.manifests[0].digest;
        let mine: Vec<&Attestation> = signed
            .iter()
            .filter(|attestation| attestation.subject_digest() == digest)
            .collect();
        let (att, layers) = attestation_manifest(None, digest, &mine).unwrap();
        assert_eq!(layers.len(), 2, "the SBOM and the provenance");
        let document: Value = serde_json::from_slice(&att.manifest.data).unwrap();
        for (layer, attestation) in document["layers"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&mine[1..])
        {
            assert_eq!(layer["mediaType"], ENVELOPE_MEDIA_TYPE);
            assert_eq!(
                layer["annotations"],
                serde_json::json!({
                    "dev.cosignproject.cosign/signature": "",
                    "predicateType": attestation.predicate_type(),
                })
            );
            let blob = layers
                .iter()
                .find(|blob| layer["digest"] == blob.digest.as_str())
                .unwrap();
            let envelope: Value = serde_json::from_slice(&blob.data).unwrap();
            assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
            assert_eq!(envelope["signatures"][0]["keyid"], "");
            let envelope = &attestation.envelope();
            key.public_key()
                .verify(
                    &pae(&envelope.payload_type, &envelope.payload),
                    &envelope.signatures[0].sig,
                )
                .unwrap();
        }
        assert_eq!(
            attestation_tag(digest),
            format!("sha256-{}.att", &digest[7..])
        );
    }

    /// Pushing twice adds nothing twice; another signer's layers stay; a broken manifest is an
    /// error naming the tag; an attestation of another digest is refused.
    #[test]
    fn the_att_merge_appends_once_keeps_others_and_refuses_what_is_broken() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let other_key = SigningKey::generate().unwrap();
        let signed = sign_attestations(&contents, IMAGE, &key).unwrap();
        let theirs = sign_attestations(&contents, IMAGE, &other_key).unwrap();
        let digest = &contents.manifests[0].digest;
        let of = |all: &[Attestation]| -> Vec<Attestation> {
            all.iter()
                .filter(|attestation| attestation.subject_digest() == digest)
                .cloned()
                .collect()
        };
        let (mine, others) = (of(&signed), of(&theirs));

        let (first, _) = attestation_manifest(None, digest, &refs(&others)).unwrap();
        let (second, _) =
            attestation_manifest(Some(&first.manifest.data), digest, &refs(&mine)).unwrap();
        let before: Value = serde_json::from_slice(&first.manifest.data).unwrap();
        let after: Value = serde_json::from_slice(&second.manifest.data).unwrap();
        assert_eq!(after["layers"].as_array().unwrap().len(), 4);
        assert_eq!(
            after["layers"][0], before["layers"][0],
            "theirs, first and whole"
        );
        assert_eq!(after["layers"][1], before["layers"][1]);
        let (third, _) =
            attestation_manifest(Some(&second.manifest.data), digest, &refs(&mine)).unwrap();
        assert!(third.unchanged, "the same attestations twice add nothing");
        assert_eq!(third.manifest, second.manifest);

        let error = format!(
            "{:#}",
            attestation_manifest(Some(b"{\"manifests\":[]}"), digest, &refs(&mine)).unwrap_err()
        );
        assert!(
            error.contains(&format!("sha256-{}.att", &digest[7..])),
            "{error}"
        );
        let other_digest = &contents.manifests[1].digest;
        assert!(attestation_manifest(None, other_digest, &refs(&mine)).is_err());
    }

    /// The bundle referrer is listed in the fallback index as the push lists it (its
    /// `referrer_descriptor`, through `oci::referrers::add`): with its type and annotations,
    /// next to the SBOM already there; listed twice, once.
    #[test]
    fn the_bundle_referrer_joins_the_referrers_index() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let signed = sign_attestations(&contents, IMAGE, &key).unwrap();
        let provenance = signed[3].bundle_referrer().unwrap();
        assert_eq!(provenance.subject.digest, contents.manifests[0].digest);
        let sbom_listed =
            referrers::add(None, &contents.referrers[0].referrer_descriptor().unwrap())
                .unwrap()
                .unwrap();
        let descriptor = provenance.referrer_descriptor().unwrap();
        let index = referrers::add(Some(&sbom_listed.data), &descriptor)
            .unwrap()
            .unwrap();
        let listed: Value = serde_json::from_slice(&index.data).unwrap();
        let entries = listed["manifests"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["artifactType"], "application/spdx+json");
        assert_eq!(
            entries[1]["artifactType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(
            entries[1]["annotations"]["dev.sigstore.bundle.predicateType"],
            "https://slsa.dev/provenance/v1"
        );
        assert!(
            referrers::add(Some(&index.data), &descriptor)
                .unwrap()
                .is_none()
        );
    }

    /// A statement about another manifest is not signed as this one's.
    #[test]
    fn a_statement_about_another_manifest_is_refused() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let statement = bundle::sign_statement(&contents.manifests[1].digest).unwrap();
        let error = Attestation::sign(
            &key,
            contents.manifests[0].descriptor(),
            statement,
            "1970-01-01T00:00:00Z",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("cannot attest"), "{error}");
    }

    /// Read back with the key, a stored attestation is the key's statement about its manifest;
    /// about another manifest (moved); a bundle naming the key that was changed (broken); or not
    /// the key's (another key, a keyless signer, an envelope changed after signing, or not an
    /// attestation).
    #[test]
    fn stored_attestations_read_as_what_they_are() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let public = key.public_key();
        let other = SigningKey::generate().unwrap();
        let signed = sign_attestations(&contents, IMAGE, &key).unwrap();
        let theirs = sign_attestations(&contents, IMAGE, &other).unwrap();
        let (amd64, arm64) = (&contents.manifests[0].digest, &contents.manifests[1].digest);
        let provenance = &signed[3];
        assert_eq!(provenance.subject_digest(), amd64);

        let verified = Reading::Verified(provenance.statement().clone());
        assert_eq!(
            read_envelope(&provenance.att_layer().data, &public, amd64),
            verified
        );
        assert_eq!(
            read_bundle(&provenance.bundle().data, &public, amd64),
            verified
        );
        let moved = Reading::AboutAnother(provenance.statement().clone());
        assert_eq!(
            read_envelope(&provenance.att_layer().data, &public, arm64),
            moved
        );
        assert_eq!(
            read_bundle(&provenance.bundle().data, &public, arm64),
            moved
        );

        let mut changed = provenance.envelope().clone();
        changed.payload.extend_from_slice(b" ");
        assert!(matches!(
            read_envelope(&changed.to_json(), &public, amd64),
            Reading::NotTheKeys(why) if why.contains("changed after signing")
        ));
        let changed_bundle = bundle::bundle(&changed, &public).unwrap();
        assert!(matches!(
            read_bundle(&changed_bundle.data, &public, amd64),
            Reading::Broken(why) if why.contains("changed after signing")
        ));
        assert!(matches!(
            read_bundle(&theirs[3].bundle().data, &public, amd64),
            Reading::NotTheKeys(why) if why.contains("another key")
        ));
        assert!(matches!(
            read_envelope(&theirs[3].att_layer().data, &public, amd64),
            Reading::NotTheKeys(_)
        ));
        assert!(matches!(
            read_envelope(b"<html>", &public, amd64),
            Reading::NotTheKeys(why) if why.contains("not a DSSE envelope")
        ));
        let keyless = bundle::tests::keyless(
            &theirs[3].bundle().data,
            serde_json::json!({"certificate": {"rawBytes": "MIIBkzCCATmgAwIBAgIU"}}),
        );
        assert!(matches!(
            read_bundle(&keyless, &public, amd64),
            Reading::NotTheKeys(why) if why.starts_with("it is signed keyless")
        ));
        assert!(matches!(
            read_bundle(b"{}", &public, amd64),
            Reading::NotTheKeys(why) if why.contains("not a Sigstore bundle")
        ));
        let text = crate::sigstore::dsse::Envelope::sign(&key, "text/plain", b"hello");
        assert!(matches!(
            read_envelope(&text.to_json(), &public, amd64),
            Reading::Broken(why) if why.contains("not an in-toto statement")
        ));
    }

    /// The envelopes of an `.att` manifest, with the predicate type each is labelled with.
    #[test]
    fn the_att_manifest_lists_its_envelopes() {
        let contents = contents();
        let key = SigningKey::generate().unwrap();
        let signed = sign_attestations(&contents, IMAGE, &key).unwrap();
        let digest = &contents.manifests[0].digest;
        let (att, layers) = attestation_manifest(None, digest, &refs(&signed[1..4])).unwrap();
        assert_eq!(
            envelopes(&att.manifest.data).unwrap(),
            layers
                .iter()
                .zip([SPDX_PREDICATE_TYPE, "https://slsa.dev/provenance/v1"])
                .map(|(layer, predicate_type)| EnvelopeLayer {
                    digest: layer.digest.clone(),
                    size: layer.data.len() as u64,
                    predicate_type: Some(predicate_type.to_string()),
                })
                .collect::<Vec<_>>()
        );
        let error = format!("{:#}", envelopes(b"[]").unwrap_err());
        assert!(error.contains("not an image manifest"), "{error}");
    }
}
