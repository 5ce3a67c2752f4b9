//! cosign's signatures in a registry: the `.sig` image under the tag `sha256-<hex>.sig` of each
//! signed manifest, read and extended on push (every signature already there kept, the same one
//! never added twice) and checked on verify. The documents are `sigstore::simple_signing`'s; this
//! module only fetches and stores.
//!
//! Signing is two steps, [`plan`] then [`Planned::push`], so that every `.sig` manifest is read
//! and merged (and a malformed one refused) before anything of the image is written.

use anyhow::{Result, anyhow};

use super::session::Session;
use crate::sigstore::key::{PublicKey, SigningKey};
use crate::sigstore::simple_signing::{self, Signatures, signature_tag};

/// The `.sig` image to store for one digest.
pub(crate) struct Planned {
    pub(crate) digest: String,
    pub(crate) tag: String,
    pub(crate) signatures: Signatures,
}

/// Signs `digest` with `key` for `repository` (`REGISTRY/REPOSITORY`, as the user named it; the
/// payload spells it as cosign does, Docker Hub's as `index.docker.io/...`) and merges the signature into the `.sig` manifest the registry holds for it. A `.sig` tag that
/// holds something else than an image manifest is refused, naming it; nothing is written.
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
        signatures,
    })
}

impl Planned {
    /// Uploads the payload and config the registry lacks and the `.sig` manifest under its tag,
    /// unless this very signature was there already. Returns a line saying which.
    pub(crate) fn push(&self, session: &mut Session<'_>) -> Result<String> {
        let signatures = &self.signatures;
        if signatures.unchanged {
            return Ok(format!("already signed with this key under {}", self.tag));
        }
        for blob in [&signatures.payload, &signatures.config] {
            if !session.blob_exists(&blob.digest)? {
                session.put_blob(blob)?;
            }
        }
        session.put_manifest(&self.tag, &signatures.manifest)?;
        Ok(format!("signed under {}", self.tag))
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
        let payload = session.get_blob(&layer.payload_digest)?;
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
