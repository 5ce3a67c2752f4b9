//! cosign's signature documents, byte for byte as cosign writes them: the simple-signing payload
//! that is signed, and the `.sig` image that carries the signatures of one manifest digest under
//! the tag `sha256-<hex>.sig` — an image manifest whose every layer is one payload, with its
//! signature in the layer's `dev.cosignproject.cosign/signature` annotation, and whose config
//! go-containerregistry derives from those layers. Pure: the registry side fetches the existing
//! `.sig` manifest, calls [`signature_manifest`], and pushes what it returns.
//!
//! cosign serialises with Go's `encoding/json` and go-containerregistry's structs; the structs
//! here have their field order, and the tests check the bytes against a signature cosign 1.13.1
//! pushed to Docker Hub.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::attached::{self, Layer};
use crate::oci::blob::{Blob, is_sha256_digest};
use crate::oci::reference::Reference;

/// The media type of a payload layer.
pub(crate) const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature of the payload.
pub(crate) const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `critical.type` of every cosign payload.
const SIGNATURE_TYPE: &str = "cosign container image signature";
/// The tag of a digest's signatures: `sha256-<hex>.sig`.
const TAG_SUFFIX: &str = "sig";

#[derive(Serialize)]
struct Payload<'a> {
    critical: Critical<'a>,
    /// cosign writes `null` when the signer added no annotations; this xtask adds none.
    optional: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct Critical<'a> {
    identity: Identity,
    image: Image<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize)]
struct Image<'a> {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: &'a str,
}

/// What cosign writes into `docker-reference` for an image in `image`'s repository
/// (`[REGISTRY/]REPOSITORY[:TAG]`): go-containerregistry's repository name.
pub(crate) fn docker_reference(image: &str) -> Result<String> {
    let reference = Reference::parse(image).map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(reference.repository_name())
}

/// The simple-signing payload cosign signs for the manifest `digest` in `image`'s repository.
pub fn payload(image: &str, digest: &str) -> Result<Vec<u8>> {
    if !is_sha256_digest(digest) {
        bail!("`{digest}` is not a sha256 digest: a payload names the exact manifest it signs");
    }
    let payload = Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: docker_reference(image)?,
            },
            image: Image {
                docker_manifest_digest: digest,
            },
            kind: SIGNATURE_TYPE,
        },
        optional: None,
    };
    Ok(serde_json::to_vec(&payload)?)
}

/// `sha256-<hex>.sig`: the tag cosign keeps `digest`'s signatures under.
pub(crate) fn signature_tag(digest: &str) -> String {
    attached::tag(digest, TAG_SUFFIX)
}

/// The `.sig` image after adding one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signatures {
    /// The manifest to push under [`signature_tag`].
    pub(crate) manifest: Blob,
    /// Its config.
    pub(crate) config: Blob,
    /// The payload, the new layer.
    pub(crate) payload: Blob,
    /// Whether the existing manifest already held this very signature of this payload: then
    /// `manifest` is the existing one, byte for byte, and nothing needs pushing.
    pub(crate) unchanged: bool,
}

/// Adds the signature `signature` (ASN.1 DER) of `payload` to the `.sig` manifest `existing`
/// (its bytes, when the registry has one), as cosign does: every layer already there stays, with
/// its annotations, and the new one goes last; the same signature of the same payload is not
/// added twice.
pub(crate) fn signature_manifest(
    existing: Option<&[u8]>,
    payload: &[u8],
    signature: &[u8],
) -> Result<Signatures> {
    let payload = Blob::new(PAYLOAD_MEDIA_TYPE, payload.to_vec());
    let layer = Layer {
        blob: payload.clone(),
        annotations: BTreeMap::from([(
            SIGNATURE_ANNOTATION.to_string(),
            STANDARD.encode(signature),
        )]),
    };
    let attached = attached::append(existing, "signature manifest (the .sig tag)", &[layer])?;
    Ok(Signatures {
        manifest: attached.manifest,
        config: attached.config,
        payload,
        unchanged: attached.unchanged,
    })
}

/// One signature a `.sig` manifest carries: the payload layer it signs and the signature from
/// the layer's annotation (ASN.1 DER; None when the annotation is missing or not base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed {
    pub(crate) payload_digest: String,
    pub(crate) payload_size: u64,
    pub(crate) signature: Option<Vec<u8>>,
}

/// The signatures in the `.sig` manifest `manifest` (its bytes), in layer order; layers of other
/// media types are not signatures and are passed over.
pub(crate) fn signatures(manifest: &[u8]) -> Result<Vec<Signed>> {
    Ok(attached::layers_of(manifest, PAYLOAD_MEDIA_TYPE)?
        .into_iter()
        .map(|layer| Signed {
            signature: layer
                .annotations
                .get(SIGNATURE_ANNOTATION)
                .and_then(|encoded| STANDARD.decode(encoded).ok()),
            payload_digest: layer.digest,
            payload_size: layer.size,
        })
        .collect())
}

/// What a simple-signing payload claims: the repository it names and the manifest digest it
/// vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) docker_reference: String,
    pub(crate) digest: String,
}

/// Reads the claim of a payload, refusing one that is not a cosign container image signature.
pub(crate) fn claim(payload: &[u8]) -> Result<Claim> {
    #[derive(Deserialize)]
    struct Read {
        critical: ReadCritical,
    }
    #[derive(Deserialize)]
    struct ReadCritical {
        identity: ReadIdentity,
        image: ReadImage,
        #[serde(rename = "type")]
        kind: String,
    }
    #[derive(Deserialize)]
    struct ReadIdentity {
        #[serde(rename = "docker-reference")]
        docker_reference: String,
    }
    #[derive(Deserialize)]
    struct ReadImage {
        #[serde(rename = "docker-manifest-digest")]
        docker_manifest_digest: String,
    }
    let read: Read = serde_json::from_slice(payload)
        .map_err(|error| anyhow::anyhow!("not a simple-signing payload ({error})"))?;
    if read.critical.kind != SIGNATURE_TYPE {
        bail!(
            "the payload's type is `{}`, not `{SIGNATURE_TYPE}`",
            read.critical.kind
        );
    }
    Ok(Claim {
        docker_reference: read.critical.identity.docker_reference,
        digest: read.critical.image.docker_manifest_digest,
    })
}

#[cfg(test)]
mod tests {
    use super::{
        SIGNATURE_ANNOTATION, docker_reference, payload, signature_manifest, signature_tag,
    };
    use crate::oci::blob::{Blob, sha256};
    use crate::sigstore::attached::{AttachedManifest as SignatureManifest, GoDescriptor};

    // A signature cosign 1.13.1 pushed to Docker Hub (`index.docker.io/chihjenhuang/cosign1`,
    // February 2023), as its --verbose log shows the requests: the payload's and the manifest's
    // digests are those the registry stored.
    const HUB_IMAGE: &str = "docker.io/chihjenhuang/cosign1";
    const HUB_DIGEST: &str =
        "sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d";
    const HUB_PAYLOAD_DIGEST: &str =
        "sha256:b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc";
    const HUB_PAYLOAD_SIZE: usize = 252;
    /// That cosign recorded the signing time in the config (today's does not by default).
    const HUB_CONFIG: &str = r#"{"architecture":"","created":"2023-02-17T09:25:33.91047962-08:00","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc"]},"config":{}}"#;
    const HUB_SIGNATURE: &str = "MEYCIQCPH7NJAIfrB6BZN91dV0o7l/i11muXrvrAh100jDMMhAIhAPsLH0oXb2OPITXRpWBMUd3vHtz5Ks5pql2Hr6t/IJXw";
    const HUB_MANIFEST_DIGEST: &str =
        "sha256:7ebe8964225fa4619b53aa35416ef0246c037e36ddf81776b21b15e1dda2262b";

    fn signature_bytes(base64: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(base64)
            .unwrap()
    }

    #[test]
    fn the_payload_is_cosigns_byte_for_byte() {
        let bytes = payload(HUB_IMAGE, HUB_DIGEST).unwrap();
        assert_eq!(bytes.len(), HUB_PAYLOAD_SIZE);
        assert_eq!(sha256(&bytes), HUB_PAYLOAD_DIGEST);
        assert!(
            String::from_utf8(bytes)
                .unwrap()
                .starts_with(r#"{"critical":{"identity":{"docker-reference":"index.docker.io/chihjenhuang/cosign1"},"image":{"docker-manifest-digest":"sha256:4c1c"#)
        );
        let error = payload(HUB_IMAGE, "sha256:abc").unwrap_err().to_string();
        assert!(error.contains("not a sha256 digest"), "{error}");
    }

    /// The manifest serialiser gives the bytes cosign pushed, given that push's config.
    #[test]
    fn the_manifest_is_cosigns_byte_for_byte() {
        let payload = payload(HUB_IMAGE, HUB_DIGEST).unwrap();
        let config = Blob::new(
            crate::oci::config::MEDIA_TYPE,
            HUB_CONFIG.as_bytes().to_vec(),
        );
        let signed = signature_manifest(None, &payload, &signature_bytes(HUB_SIGNATURE)).unwrap();
        let mut document: SignatureManifest =
            serde_json::from_slice(&signed.manifest.data).unwrap();
        document.config.size = config.size();
        document.config.digest = config.digest.clone();
        assert_eq!(
            sha256(&serde_json::to_vec(&document).unwrap()),
            HUB_MANIFEST_DIGEST
        );
        // Today's cosign leaves the date at Go's zero time: the config is otherwise that one.
        assert_eq!(
            String::from_utf8(signed.config.data).unwrap(),
            HUB_CONFIG.replace("2023-02-17T09:25:33.91047962-08:00", "0001-01-01T00:00:00Z")
        );
    }

    #[test]
    fn docker_reference_spells_registries_as_cosign_does() {
        for (image, expected) in [
            (
                "docker.io/chihjenhuang/cosign1:v1",
                "index.docker.io/chihjenhuang/cosign1",
            ),
            ("pause", "index.docker.io/library/pause"),
            (
                "index.docker.io/library/pause",
                "index.docker.io/library/pause",
            ),
            ("ghcr.io/o/pause:0.1.0", "ghcr.io/o/pause"),
            ("127.0.0.1:5000/pause:x", "127.0.0.1:5000/pause"),
            ("localhost/pause:0.1.0", "localhost/pause"),
        ] {
            assert_eq!(docker_reference(image).unwrap(), expected, "{image}");
        }
    }

    #[test]
    fn the_tag_names_the_digest() {
        assert_eq!(
            signature_tag(HUB_DIGEST),
            format!("sha256-{}.sig", &HUB_DIGEST[7..])
        );
    }

    fn layers(manifest: &Blob) -> Vec<GoDescriptor> {
        serde_json::from_slice::<SignatureManifest>(&manifest.data)
            .unwrap()
            .layers
    }

    /// Signing a second digest's payload, or the same payload with another key, appends: what
    /// was there stays first and whole, annotations others added included.
    #[test]
    fn adding_a_signature_keeps_every_existing_one() {
        let first = signature_manifest(None, b"payload one", b"sig one").unwrap();
        let mut document: SignatureManifest = serde_json::from_slice(&first.manifest.data).unwrap();
        document.layers[0]
            .annotations
            .insert("dev.sigstore.cosign/bundle".to_string(), "{}".to_string());
        let existing = serde_json::to_vec(&document).unwrap();

        let second = signature_manifest(Some(&existing), b"payload one", b"sig two").unwrap();
        assert!(!second.unchanged);
        let listed = layers(&second.manifest);
        assert_eq!(listed.len(), 2);
        assert!(
            listed[0] == document.layers[0],
            "the existing layer, untouched"
        );
        assert_eq!(
            listed[1].annotations[SIGNATURE_ANNOTATION], "c2lnIHR3bw==",
            "base64 of the new signature"
        );
        let config: serde_json::Value = serde_json::from_slice(&second.config.data).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        assert_eq!(config["history"].as_array().unwrap().len(), 2);
        let manifest: serde_json::Value = serde_json::from_slice(&second.manifest.data).unwrap();
        assert_eq!(manifest["config"]["digest"], second.config.digest.as_str());
    }

    /// The same signature of the same payload is there once, however often it is added.
    #[test]
    fn the_same_signature_twice_is_added_once() {
        let first = signature_manifest(None, b"payload", b"sig").unwrap();
        let again = signature_manifest(Some(&first.manifest.data), b"payload", b"sig").unwrap();
        assert!(again.unchanged);
        assert_eq!(again.manifest, first.manifest);
        assert_eq!(layers(&again.manifest).len(), 1);
    }

    /// The signatures and claims read back are the ones written.
    #[test]
    fn signatures_and_claims_read_back() {
        let payload = payload(HUB_IMAGE, HUB_DIGEST).unwrap();
        let first = signature_manifest(None, &payload, b"sig one").unwrap();
        let second = signature_manifest(Some(&first.manifest.data), b"other", b"sig two").unwrap();
        let read = super::signatures(&second.manifest.data).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].payload_digest, sha256(&payload));
        assert_eq!(read[0].payload_size, payload.len() as u64);
        assert_eq!(read[0].signature.as_deref(), Some(&b"sig one"[..]));
        assert_eq!(read[1].signature.as_deref(), Some(&b"sig two"[..]));
        let claim = super::claim(&payload).unwrap();
        assert_eq!(claim.digest, HUB_DIGEST);
        assert_eq!(
            claim.docker_reference,
            "index.docker.io/chihjenhuang/cosign1"
        );
        let other_type = String::from_utf8(payload)
            .unwrap()
            .replace("cosign container image signature", "something else");
        assert!(super::claim(other_type.as_bytes()).is_err());
        assert!(super::signatures(b"[]").is_err());
    }

    /// A manifest that is not one is refused with what to do.
    #[test]
    fn a_broken_existing_manifest_is_refused() {
        let error = signature_manifest(Some(b"<html>"), b"p", b"s")
            .unwrap_err()
            .to_string();
        assert!(error.contains(".sig tag"), "{error}");
    }
}
