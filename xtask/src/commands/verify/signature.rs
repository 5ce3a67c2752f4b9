//! The `.sig` cell's question: do the signatures the registry stores for a digest (cosign's
//! `.sig` image, under `sha256-<hex>.sig`) include one by the key, over a payload naming exactly
//! that digest? The registry is read here; what a signature says is `sigstore::simple_signing`'s.

use anyhow::Result;

use crate::registry::session::Session;
use crate::sigstore::key::PublicKey;
use crate::sigstore::simple_signing::{self, signature_tag};

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
pub(crate) fn check(session: &mut Session, key: &PublicKey, digest: &str) -> Result<Check> {
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
