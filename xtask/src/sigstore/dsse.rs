//! DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse `protocol.md`,
//! `envelope.md`): a payload, its type, and signatures over the pre-authentication encoding
//! (PAE) of the two, so a signature can never be replayed as one over another type of payload.
//! Here the payload is an in-toto statement (`application/vnd.in-toto+json`), signed with the
//! cosign key: ECDSA P-256 over the PAE's SHA-256, ASN.1 DER, deterministic (RFC 6979), so the
//! same statement and key always give the same envelope.
//!
//! [`Envelope::to_json`] writes the envelope as cosign 2 puts it in an `.att` layer
//! (go-securesystemslib's struct through `dsse.WrapSigner`): `payloadType`, `payload`,
//! `signatures` of `keyid` (empty: cosign names no key) and `sig`. A Sigstore bundle spells the
//! same envelope in protobuf's JSON (`bundle.rs`).

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde::{Deserialize, Serialize};

use super::key::{PublicKey, SigningKey};

/// The DSSE version the PAE names.
const PAE_VERSION: &str = "DSSEv1";
/// The `keyid` cosign writes: none.
const COSIGN_KEY_ID: &str = "";

/// `PAE(type, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, lengths in
/// ASCII decimal: the bytes that are signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!(
        "{PAE_VERSION} {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

/// A signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// An unauthenticated hint of the key; cosign leaves it empty.
    pub keyid: String,
    /// ASN.1 DER ECDSA signature over the PAE.
    pub sig: Vec<u8>,
}

/// A signed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<Signature>,
}

/// go-securesystemslib's `dsse.Envelope`, in its field order; base64 strings.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Json {
    payload_type: String,
    payload: String,
    signatures: Vec<JsonSignature>,
}

#[derive(Serialize, Deserialize)]
struct JsonSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

impl Envelope {
    /// `payload` of `payload_type`, signed with `key` as cosign signs: one signature, no key id.
    pub fn sign(key: &SigningKey, payload_type: &str, payload: &[u8]) -> Envelope {
        Envelope {
            payload_type: payload_type.to_string(),
            payload: payload.to_vec(),
            signatures: vec![Signature {
                keyid: COSIGN_KEY_ID.to_string(),
                sig: key.sign(&pae(payload_type, payload)),
            }],
        }
    }

    /// The envelope's JSON as cosign 2 writes it: compact, standard base64.
    pub fn to_json(&self) -> Vec<u8> {
        let json = Json {
            payload_type: self.payload_type.clone(),
            payload: STANDARD.encode(&self.payload),
            signatures: self
                .signatures
                .iter()
                .map(|signature| JsonSignature {
                    keyid: signature.keyid.clone(),
                    sig: STANDARD.encode(&signature.sig),
                })
                .collect(),
        };
        serde_json::to_vec(&json).expect("strings always serialise")
    }

    /// Reads an envelope's JSON, in either field order, with or without key ids, in standard or
    /// URL-safe base64 (the DSSE spec allows both).
    pub fn parse(bytes: &[u8]) -> Result<Envelope> {
        let json: Json = serde_json::from_slice(bytes).context("it is not a DSSE envelope")?;
        Ok(Envelope {
            payload_type: json.payload_type,
            payload: decode(&json.payload).context("its payload is not base64")?,
            signatures: json
                .signatures
                .into_iter()
                .map(|signature| {
                    Ok(Signature {
                        keyid: signature.keyid,
                        sig: decode(&signature.sig).context("a signature is not base64")?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// The payload, if one of the signatures is `key`'s over the PAE.
    pub fn verify(&self, key: &PublicKey) -> Result<&[u8]> {
        if self.signatures.is_empty() {
            bail!("the envelope has no signature");
        }
        let signed = pae(&self.payload_type, &self.payload);
        if self
            .signatures
            .iter()
            .any(|signature| key.verify(&signed, &signature.sig).is_ok())
        {
            Ok(&self.payload)
        } else {
            bail!(
                "no signature of the envelope is {key:?}'s over its payload: another key signed \
                 it, or the payload was changed"
            )
        }
    }
}

fn decode(text: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::{Envelope, pae};
    use crate::sigstore::key::SigningKey;

    const TYPE: &str = "application/vnd.in-toto+json";

    /// The DSSE spec's own test vector.
    #[test]
    fn the_pae_is_the_specs() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn the_envelope_is_cosign_2s_and_verifies() {
        let key = SigningKey::generate().unwrap();
        let envelope = Envelope::sign(&key, TYPE, b"{\"a\":1}");
        assert_eq!(
            envelope,
            Envelope::sign(&key, TYPE, b"{\"a\":1}"),
            "RFC 6979"
        );
        let json = String::from_utf8(envelope.to_json()).unwrap();
        assert!(
            json.starts_with(
                r#"{"payloadType":"application/vnd.in-toto+json","payload":"eyJhIjoxfQ==","signatures":[{"keyid":"","sig":"ME"#
            ),
            "{json}"
        );
        let read = Envelope::parse(json.as_bytes()).unwrap();
        assert_eq!(read, envelope);
        assert_eq!(read.verify(&key.public_key()).unwrap(), b"{\"a\":1}");
        // The PAE is what is signed: the payload alone does not verify.
        key.public_key()
            .verify(&pae(TYPE, b"{\"a\":1}"), &envelope.signatures[0].sig)
            .unwrap();
        assert!(
            key.public_key()
                .verify(b"{\"a\":1}", &envelope.signatures[0].sig)
                .is_err()
        );
    }

    #[test]
    fn a_wrong_key_a_changed_payload_or_type_fail() {
        let key = SigningKey::generate().unwrap();
        let envelope = Envelope::sign(&key, TYPE, b"{\"a\":1}");
        let other = SigningKey::generate().unwrap().public_key();
        let error = envelope.verify(&other).unwrap_err().to_string();
        assert!(error.contains("another key"), "{error}");
        let mut changed = envelope.clone();
        changed.payload = b"{\"a\":2}".to_vec();
        assert!(changed.verify(&key.public_key()).is_err());
        let mut retyped = envelope.clone();
        retyped.payload_type = "text/plain".to_string();
        assert!(retyped.verify(&key.public_key()).is_err());
        let mut unsigned = envelope;
        unsigned.signatures.clear();
        assert!(unsigned.verify(&key.public_key()).is_err());
    }

    /// The bundle's spelling (protobuf's field order, no keyid) and URL-safe base64 read too.
    #[test]
    fn other_spellings_of_the_envelope_read() {
        let key = SigningKey::generate().unwrap();
        let envelope = Envelope::sign(&key, TYPE, b"{\"a\":1}");
        let sig = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE,
            &envelope.signatures[0].sig,
        );
        let text = format!(
            r#"{{"payload":"eyJhIjoxfQ==","payloadType":"{TYPE}","signatures":[{{"sig":"{sig}"}}]}}"#
        );
        let read = Envelope::parse(text.as_bytes()).unwrap();
        assert_eq!(read.verify(&key.public_key()).unwrap(), b"{\"a\":1}");
        assert!(Envelope::parse(b"{}").is_err());
    }
}
