//! Sigstore bundles v0.3 (sigstore/protobuf-specs `sigstore_bundle.proto`) as cosign 3 writes
//! them for `cosign sign --key` and `cosign attest --key` with no transparency log: a DSSE
//! envelope of an in-toto statement, and as verification material only a hint of the public key
//! (base64 of the SHA-256 of its SubjectPublicKeyInfo DER), no tlog entry, no timestamp. cosign 3
//! stores each as an OCI 1.1 referrer of the manifest it is about: an artifact manifest of type
//! `application/vnd.dev.sigstore.bundle.v0.3+json` with the empty config, the bundle as its one
//! layer, and the annotations `dev.sigstore.bundle.content: dsse-envelope` and
//! `dev.sigstore.bundle.predicateType`.
//!
//! The JSON is protobuf's JSON mapping as cosign (sigstore-go, `protojson`) writes it: fields in
//! field-number order, empty ones left out — so the envelope's signature has no `keyid` (cosign
//! sets none; the bundle's key is the hint) and there is no `tlogEntries`. Pure; deterministic
//! with the deterministic envelope.
//!
//! Others' keyless bundles (cosign's keyless signing, actions/attest-build-provenance) sit beside
//! ours with the same artifact type, verified by a Fulcio certificate and a Rekor entry instead
//! of a key: reading one says so, in one line, without reading the certificate.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::dsse::{Envelope, Signature};
use super::key::PublicKey;
use crate::attest::intoto::{self, Statement};
use crate::oci::artifact::{self, Artifact};
use crate::oci::blob::{Blob, hex};
use crate::oci::definition::CREATED;
use crate::oci::descriptor::Descriptor;

/// The bundle's media type: its `mediaType`, its layer's media type and its referrer's
/// `artifactType`.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The referrer annotation saying what the bundle holds, and its value for a DSSE envelope.
pub(crate) const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
const DSSE_CONTENT: &str = "dsse-envelope";
/// The referrer annotation naming the statement's predicate type.
pub(crate) const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The predicate type of the statement `cosign sign` signs in a bundle (cosign 3's
/// `types.CosignSignPredicateType`): the bundle form of a `.sig` signature.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// A bundle's DSSE envelope has exactly one signature (protobuf-specs).
const BUNDLE_SIGNATURES: usize = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Json {
    media_type: String,
    verification_material: VerificationMaterial,
    dsse_envelope: JsonEnvelope,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerificationMaterial {
    public_key: PublicKeyIdentifier,
    /// Never written (no transparency log); read only to say why such a bundle is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tlog_entries: Vec<Value>,
}

#[derive(Serialize, Deserialize)]
struct PublicKeyIdentifier {
    hint: String,
}

/// The verification material of a keyless bundle (cosign's keyless signing,
/// actions/attest-build-provenance): a Fulcio certificate for an OIDC identity, alone or with
/// its chain. Looked for only to say that no key verifies it; the certificate is not read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keyless {
    verification_material: KeylessMaterial,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeylessMaterial {
    certificate: Option<IgnoredAny>,
    x509_certificate_chain: Option<IgnoredAny>,
}

impl Keyless {
    /// Whether `bytes` are a bundle verified by a certificate rather than a key.
    fn is(bytes: &[u8]) -> bool {
        serde_json::from_slice::<Keyless>(bytes).is_ok_and(|bundle| {
            let material = bundle.verification_material;
            material.certificate.is_some() || material.x509_certificate_chain.is_some()
        })
    }
}

/// Why a keyless bundle is not read with a key, and how its signer is checked instead.
const KEYLESS: &str = "it is signed keyless (a certificate for an OIDC identity, not a key): \
                       check it with `cosign verify --certificate-identity ... \
                       --certificate-oidc-issuer ...` or `gh attestation verify` \
                       (docs/verify.md#the-published-image)";

/// The envelope in protobuf's field order: `payload`, `payloadType`, `signatures`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonEnvelope {
    payload: String,
    payload_type: String,
    signatures: Vec<JsonSignature>,
}

#[derive(Serialize, Deserialize)]
struct JsonSignature {
    sig: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    keyid: String,
}

/// A bundle read back: its key hint and envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub hint: String,
    pub envelope: Envelope,
}

/// `verificationMaterial.publicKey.hint` for `key`: base64 of the SHA-256 of its DER, as cosign 3
/// writes it (and as a verifier's trust material looks the key up).
pub fn key_hint(key: &PublicKey) -> Result<String> {
    Ok(STANDARD.encode(Sha256::digest(key.to_der()?)))
}

/// The key a hint names, as every message names a key: `sha256:<hex>` of its
/// SubjectPublicKeyInfo ([`PublicKey::fingerprint`]); none for a hint that is not base64 of a
/// SHA-256.
pub(crate) fn hinted_key(hint: &str) -> Option<String> {
    let digest = STANDARD.decode(hint).ok()?;
    (digest.len() == Sha256::output_size()).then(|| format!("sha256:{}", hex(&digest)))
}

/// The bundle of `envelope` (one signature), signed by `key`.
pub fn bundle(envelope: &Envelope, key: &PublicKey) -> Result<Blob> {
    if envelope.signatures.len() != BUNDLE_SIGNATURES {
        bail!(
            "a bundle's envelope has exactly one signature, this one has {}",
            envelope.signatures.len()
        );
    }
    let json = Json {
        media_type: MEDIA_TYPE.to_string(),
        verification_material: VerificationMaterial {
            public_key: PublicKeyIdentifier {
                hint: key_hint(key)?,
            },
            tlog_entries: Vec::new(),
        },
        dsse_envelope: JsonEnvelope {
            payload: STANDARD.encode(&envelope.payload),
            payload_type: envelope.payload_type.clone(),
            signatures: envelope
                .signatures
                .iter()
                .map(|signature| JsonSignature {
                    sig: STANDARD.encode(&signature.sig),
                    keyid: signature.keyid.clone(),
                })
                .collect(),
        },
    };
    Blob::json(MEDIA_TYPE, &json)
}

/// Reads a bundle of a DSSE envelope verified by a public key; a keyless one is refused saying
/// so.
pub fn parse(bytes: &[u8]) -> Result<Bundle> {
    // The material is a oneof: a bundle with a certificate names no key, whatever else it holds.
    if Keyless::is(bytes) {
        bail!(KEYLESS);
    }
    let json: Json = serde_json::from_slice(bytes).context(
        "it is not a Sigstore bundle of a DSSE envelope with a public key's hint (cosign 3's \
         `--key` bundles)",
    )?;
    if json.media_type != MEDIA_TYPE {
        bail!("its mediaType is `{}`, not `{MEDIA_TYPE}`", json.media_type);
    }
    let decode = |text: &str, what: &str| {
        STANDARD
            .decode(text)
            .with_context(|| format!("its {what} is not base64"))
    };
    let envelope = Envelope {
        payload: decode(&json.dsse_envelope.payload, "payload")?,
        payload_type: json.dsse_envelope.payload_type,
        signatures: json
            .dsse_envelope
            .signatures
            .into_iter()
            .map(|signature| {
                Ok(Signature {
                    sig: decode(&signature.sig, "signature")?,
                    keyid: signature.keyid,
                })
            })
            .collect::<Result<_>>()?,
    };
    if envelope.signatures.len() != BUNDLE_SIGNATURES {
        bail!(
            "its envelope has {} signatures; a bundle's has exactly one",
            envelope.signatures.len()
        );
    }
    Ok(Bundle {
        hint: json.verification_material.public_key.hint,
        envelope,
    })
}

impl Bundle {
    /// The statement, if the bundle names `key` and its envelope is `key`'s signature over an
    /// in-toto statement.
    pub fn verify(&self, key: &PublicKey) -> Result<Statement> {
        if self.hint != key_hint(key)? {
            bail!(
                "the bundle names another key, {}, than {}",
                named_key(&self.hint),
                key.fingerprint()
            );
        }
        if self.envelope.payload_type != intoto::MEDIA_TYPE {
            bail!(
                "the bundle's payload is a `{}`, not an in-toto statement",
                self.envelope.payload_type
            );
        }
        Statement::parse(self.envelope.verify(key)?)
    }
}

/// The key a hint names, for a message: its fingerprint, else the hint, quoted.
pub(crate) fn named_key(hint: &str) -> String {
    hinted_key(hint).unwrap_or_else(|| format!("a key by the hint `{hint}`, not a SHA-256"))
}

/// The statement `cosign sign` (cosign 3, bundle format) signs for the manifest `digest`: no
/// subject name, empty subject annotations (no `-a`), an empty predicate.
pub fn sign_statement(digest: &str) -> Result<Statement> {
    Ok(Statement::new(None, digest, SIGN_PREDICATE_TYPE, b"{}")?
        .with_subject_annotations(BTreeMap::new()))
}

/// The referrer cosign 3 pushes for `bundle` (of a statement of `predicate_type`) about the
/// manifest `subject`, dated `created` (cosign writes the signing time; the image's date keeps
/// the same push byte-identical); `title` names the layer as a file.
pub(crate) fn referrer(
    subject: &Descriptor,
    bundle: Blob,
    predicate_type: &str,
    created: &str,
    title: &str,
) -> Result<Artifact> {
    artifact::attach(
        subject.clone(),
        bundle,
        title,
        BTreeMap::from([
            (CREATED.to_string(), created.to_string()),
            (CONTENT_ANNOTATION.to_string(), DSSE_CONTENT.to_string()),
            (
                PREDICATE_TYPE_ANNOTATION.to_string(),
                predicate_type.to_string(),
            ),
        ]),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::{Bundle, bundle, hinted_key, key_hint, parse, referrer, sign_statement};
    use crate::attest::intoto::MEDIA_TYPE as IN_TOTO;
    use crate::oci::blob::{Blob, sha256};
    use crate::sigstore::dsse::Envelope;
    use crate::sigstore::key::SigningKey;

    fn manifest() -> Blob {
        Blob::new(crate::oci::manifest::MEDIA_TYPE, b"{\"m\":1}".to_vec())
    }

    fn signed(key: &SigningKey) -> (Envelope, Blob) {
        let statement = sign_statement(&manifest().digest).unwrap();
        let envelope = Envelope::sign(key, IN_TOTO, &statement.to_json());
        let blob = bundle(&envelope, &key.public_key()).unwrap();
        (envelope, blob)
    }

    /// cosign 3's shape, field for field: protobuf's order, no keyid, no tlogEntries.
    #[test]
    fn the_bundle_is_cosign_3s_shape() {
        let key = SigningKey::generate().unwrap();
        let (envelope, blob) = signed(&key);
        assert_eq!(
            blob.media_type,
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        let text = String::from_utf8(blob.data.clone()).unwrap();
        let hint = key_hint(&key.public_key()).unwrap();
        assert!(
            text.starts_with(&format!(
                r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"publicKey":{{"hint":"{hint}"}}}},"dsseEnvelope":{{"payload":""#
            )),
            "{text}"
        );
        assert!(
            text.ends_with(r#""}]}}"#) && !text.contains("keyid"),
            "{text}"
        );
        // The hint is base64 of the SHA-256 of the DER: coreutils-free, by the blob digest.
        let der = key.public_key().to_der().unwrap();
        let hex = &sha256(&der)[7..];
        let decoded =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &hint).unwrap();
        assert_eq!(crate::oci::blob::hex(&decoded), hex);
        // And named in messages as every key is: its fingerprint.
        assert_eq!(hinted_key(&hint), Some(key.public_key().fingerprint()));
        assert_eq!(hinted_key("not base64"), None);
        assert_eq!(
            parse(&blob.data).unwrap(),
            Bundle {
                hint,
                envelope: Envelope {
                    signatures: envelope.signatures.clone(),
                    ..envelope
                }
            }
        );
    }

    /// `bundle` (one of ours) as a keyless signer's would be: its verification material
    /// `material`, the rest kept, and a Rekor entry of the shape Rekor gives (made up: nothing
    /// here reads it).
    pub(crate) fn keyless(bundle: &[u8], mut material: Value) -> Vec<u8> {
        let mut json: Value = serde_json::from_slice(bundle).unwrap();
        material["tlogEntries"] = json!([{
            "logIndex": "155690850",
            "logId": {"keyId": "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": "1733468400",
            "inclusionPromise": {"signedEntryTimestamp": "MEUCIQD="},
            "canonicalizedBody": "eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiZHNzZSJ9"
        }]);
        json["verificationMaterial"] = material;
        serde_json::to_vec(&json).unwrap()
    }

    /// A Fulcio certificate, as `certificate` (cosign 3, sigstore-go) or as
    /// `x509CertificateChain` (older bundles), in place of a key's hint: the bundle reads as
    /// keyless, with how to check it, not as a bundle missing its key; with a hint beside it too,
    /// as the material is one or the other.
    #[test]
    fn a_keyless_bundle_reads_as_keyless() {
        let key = SigningKey::generate().unwrap();
        let (_, blob) = signed(&key);
        let hint = key_hint(&key.public_key()).unwrap();
        let certificate = json!({"rawBytes": "MIIBkzCCATmgAwIBAgIU"});
        for material in [
            json!({"certificate": certificate}),
            json!({"x509CertificateChain": {"certificates": [certificate]}}),
            json!({"publicKey": {"hint": hint}, "certificate": certificate}),
        ] {
            let error = format!(
                "{:#}",
                parse(&keyless(&blob.data, material.clone())).unwrap_err()
            );
            assert!(
                error.starts_with(
                    "it is signed keyless (a certificate for an OIDC identity, not a key): check \
                     it with `cosign verify --certificate-identity"
                ) && error.contains("`gh attestation verify`")
                    && !error.contains('\n'),
                "{material}: {error}"
            );
        }
        // A null certificate is protobuf's JSON for none: the bundle is the key's.
        let read = parse(&keyless(
            &blob.data,
            json!({"publicKey": {"hint": hint}, "certificate": null}),
        ))
        .unwrap();
        assert_eq!(read.hint, hint);
    }

    /// cosign 3's signature statement: subject by digest alone, `annotations: {}`, predicate
    /// `{}`.
    #[test]
    fn the_sign_statement_is_cosign_3s() {
        let digest = manifest().digest;
        let statement = sign_statement(&digest).unwrap();
        assert_eq!(
            String::from_utf8(statement.to_json()).unwrap(),
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"digest":{{"sha256":"{}"}},"annotations":{{}}}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{{}}}}"#,
                &digest[7..]
            )
        );
    }

    #[test]
    fn the_bundle_verifies_with_its_key_only() {
        let key = SigningKey::generate().unwrap();
        let (_, blob) = signed(&key);
        let read = parse(&blob.data).unwrap();
        let statement = read.verify(&key.public_key()).unwrap();
        assert_eq!(statement.subject_digest(), manifest().digest);
        let other = SigningKey::generate().unwrap().public_key();
        let error = read.verify(&other).unwrap_err().to_string();
        assert!(error.contains("another key"), "{error}");
        // Another key's hint on this key's signature: the signature check refuses it.
        let mut forged = read.clone();
        forged.hint = key_hint(&other).unwrap();
        assert!(forged.verify(&other).is_err());
        let mut changed = read;
        changed.envelope.payload.push(b' ');
        assert!(changed.verify(&key.public_key()).is_err());
        let error = parse(b"{\"mediaType\":\"x\"}").unwrap_err().to_string();
        assert!(error.contains("not a Sigstore bundle"), "{error}");
    }

    /// The referrer cosign 3 lists: its type, the empty config, the bundle as its one layer, the
    /// content and predicate type annotations.
    #[test]
    fn the_referrer_carries_the_bundle_and_its_predicate_type() {
        let key = SigningKey::generate().unwrap();
        let (_, blob) = signed(&key);
        let subject = manifest().descriptor();
        let attached = referrer(
            &subject,
            blob.clone(),
            super::SIGN_PREDICATE_TYPE,
            "1970-01-01T00:00:00Z",
            "signature.sigstore.json",
        )
        .unwrap();
        let document: Value = serde_json::from_slice(&attached.manifest.data).unwrap();
        assert_eq!(
            document["artifactType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(
            document["config"]["mediaType"],
            "application/vnd.oci.empty.v1+json"
        );
        assert_eq!(document["layers"][0]["digest"], blob.digest.as_str());
        assert_eq!(
            document["layers"][0]["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(document["subject"]["digest"], subject.digest.as_str());
        assert_eq!(
            document["annotations"],
            serde_json::json!({
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
                "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
            })
        );
    }
}
