//! cosign's signatures and attestations in a registry: the `.sig` image under the tag
//! `sha256-<hex>.sig` of each signed manifest and the `.att` image under `sha256-<hex>.att`,
//! read and extended on push (every layer already there kept, the same one never added twice),
//! and, on verify, the signatures checked and the attestations fetched. The documents are `sigstore`'s (`simple_signing`,
//! `attestation`); this module only fetches and stores.
//!
//! Attaching is two steps, [`plan`] (or [`plan_attestations`]) then [`Planned::push`], so that
//! every `.sig` and `.att` manifest is read and merged (and a malformed one refused) before
//! anything of the image is written.

use anyhow::{Result, anyhow};

use super::session::Session;
use crate::oci::blob::Blob;
use crate::sigstore::attestation::{self, Attestation, EnvelopeLayer};
use crate::sigstore::key::{PublicKey, SigningKey};
use crate::sigstore::simple_signing::{self, signature_tag};

/// The `.sig` or `.att` image to store for one digest.
pub(crate) struct Planned {
    pub(crate) digest: String,
    pub(crate) tag: String,
    manifest: Blob,
    config: Blob,
    /// The documents it adds (payloads, envelopes).
    layers: Vec<Blob>,
    /// Whether the registry held all of it already: nothing to push.
    unchanged: bool,
    /// `signed`, `attested`: what the push line says was done.
    done: &'static str,
}

/// Signs `digest` with `key` for `repository` (`REGISTRY/REPOSITORY`, as the user named it; the
/// payload spells it as cosign does, Docker Hub's as `index.docker.io/...`) and merges the
/// signature into the `.sig` manifest the registry holds for it. A `.sig` tag that holds
/// something else than an image manifest is refused, naming it; nothing is written.
pub(crate) fn plan(
    session: &mut Session<'_>,
    key: &SigningKey,
    repository: &str,
    digest: &str,
) -> Result<Planned> {
    let tag = signature_tag(digest);
    let payload = simple_signing::payload(repository, digest)?;
    let signature = key.sign(&payload);
    let existing = session.get_manifest(&tag)?;
    let signatures = simple_signing::signature_manifest(
        existing.as_ref().map(|blob| blob.data.as_slice()),
        &payload,
        &signature,
    )
    .map_err(|error| anyhow!("the signature tag {}:{tag}: {error:#}", session.name()))?;
    Ok(Planned {
        digest: digest.to_string(),
        tag,
        manifest: signatures.manifest,
        config: signatures.config,
        layers: vec![signatures.payload],
        unchanged: signatures.unchanged,
        done: "signed",
    })
}

/// Merges the DSSE envelopes of `attestations` (all about `digest`; those cosign 2 keeps in the
/// `.att` image: the SBOM and the provenance, not the signature statement) into the `.att`
/// manifest the registry holds for `digest`; None when none of them goes there. An `.att` tag
/// that holds something else than an image manifest is refused, naming it; nothing is written.
pub(crate) fn plan_attestations(
    session: &mut Session<'_>,
    digest: &str,
    attestations: &[&Attestation],
) -> Result<Option<Planned>> {
    if !attestations.iter().any(|attestation| attestation.in_att()) {
        return Ok(None);
    }
    let tag = attestation::attestation_tag(digest);
    let existing = session.get_manifest(&tag)?;
    let (attached, layers) = attestation::attestation_manifest(
        existing.as_ref().map(|blob| blob.data.as_slice()),
        digest,
        attestations,
    )
    .map_err(|error| anyhow!("the attestation tag {}:{tag}: {error:#}", session.name()))?;
    Ok(Some(Planned {
        digest: digest.to_string(),
        tag,
        manifest: attached.manifest,
        config: attached.config,
        layers,
        unchanged: attached.unchanged,
        done: "attested",
    }))
}

impl Planned {
    /// Uploads the documents and config the registry lacks and the manifest under its tag,
    /// unless all of it was there already. Returns a phrase saying which.
    pub(crate) fn push(&self, session: &mut Session<'_>) -> Result<String> {
        if self.unchanged {
            return Ok(format!(
                "already {} with this key under {}",
                self.done, self.tag
            ));
        }
        for blob in self.layers.iter().chain(std::iter::once(&self.config)) {
            if !session.blob_exists(&blob.digest)? {
                session.put_blob(blob)?;
            }
        }
        session.put_manifest(&self.tag, &self.manifest)?;
        Ok(format!("{} under {}", self.done, self.tag))
    }
}

/// What the registry's signatures say about one digest, for a given public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// A signature by the key over a payload naming exactly this digest.
    Verified,
    /// No `.sig` image for the digest.
    Missing,
    /// Signatures, none by the key (how many there are).
    OtherKeys(usize),
    /// A signature by the key, over a payload that names another digest: a signature copied
    /// from another manifest.
    OtherDigest(String),
    /// The `.sig` tag holds something that is not cosign's: why.
    Unreadable(String),
}

/// Checks the signatures stored for `digest` against `key`: one must be the key's, over a
/// payload whose `docker-manifest-digest` is `digest` (as `cosign verify --key` requires).
pub(crate) fn check(session: &mut Session<'_>, key: &PublicKey, digest: &str) -> Result<Check> {
    let tag = signature_tag(digest);
    let Some(manifest) = session.get_manifest(&tag)? else {
        return Ok(Check::Missing);
    };
    let signed = match simple_signing::signatures(&manifest.data) {
        Ok(signed) => signed,
        Err(error) => return Ok(Check::Unreadable(format!("{tag}: {error:#}"))),
    };
    if signed.is_empty() {
        return Ok(Check::Missing);
    }
    let mut other_digest = None;
    for layer in &signed {
        let Some(signature) = &layer.signature else {
            continue;
        };
        let payload = session.get_blob(&layer.payload_digest, layer.payload_size)?;
        if key.verify(&payload, signature).is_err() {
            continue;
        }
        match simple_signing::claim(&payload) {
            Ok(claim) if claim.digest == digest => return Ok(Check::Verified),
            Ok(claim) => other_digest = Some(claim.digest),
            Err(error) => return Ok(Check::Unreadable(format!("{tag}: {error:#}"))),
        }
    }
    Ok(match other_digest {
        Some(named) => Check::OtherDigest(named),
        None => Check::OtherKeys(signed.len()),
    })
}

/// The `.att` image of one digest as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attested {
    /// No `.att` tag.
    Missing,
    /// The tag holds something that is not cosign's: why, naming it.
    Unreadable(String),
    /// Each envelope layer, with its bytes (checked against its digest).
    Envelopes(Vec<(EnvelopeLayer, Vec<u8>)>),
}

/// The envelopes stored under `digest`'s `.att` tag, fetched; what they say is for the caller
/// to read (`attestation::read_envelope`).
pub(crate) fn attestations(session: &mut Session<'_>, digest: &str) -> Result<Attested> {
    let tag = attestation::attestation_tag(digest);
    let Some(manifest) = session.get_manifest(&tag)? else {
        return Ok(Attested::Missing);
    };
    let layers = match attestation::envelopes(&manifest.data) {
        Ok(layers) => layers,
        Err(error) => return Ok(Attested::Unreadable(format!("{tag}: {error:#}"))),
    };
    let mut envelopes = Vec::new();
    for layer in layers {
        let bytes = session.get_blob(&layer.digest, layer.size)?;
        envelopes.push((layer, bytes));
    }
    Ok(Attested::Envelopes(envelopes))
}
