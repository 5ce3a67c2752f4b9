//! cosign's key files and what is done with them. `cosign.key` is a PEM block labelled
//! `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign before 2.0.1 wrote `ENCRYPTED COSIGN PRIVATE KEY`;
//! both are read) whose bytes are the [`encrypted`](super::encrypted) container around the
//! PKCS#8 DER of an ECDSA P-256 key. `cosign.pub` is the key's SubjectPublicKeyInfo DER in a
//! `PUBLIC KEY` block. Signatures are ECDSA P-256 over the SHA-256 of the payload, ASN.1 DER, as
//! cosign's signer makes them; signing is deterministic (RFC 6979), so signing the same payload
//! with the same key gives the same bytes.
//!
//! The private key never leaves this module except encrypted: it has no `Debug` that shows it,
//! its decrypted bytes are wiped when dropped, and no error repeats them.

use std::fmt;

use anyhow::{Context, Result, bail};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::encrypted::{self, Cost};
use super::pem;
use crate::oci::blob::sha256;

/// The file names cosign uses.
pub const PRIVATE_KEY_FILE: &str = "cosign.key";
pub const PUBLIC_KEY_FILE: &str = "cosign.pub";
/// The most of a key file read: cosign's are under 1 KiB, PEM or JSON.
pub(crate) const MAX_KEY_FILE_BYTES: u64 = 64 << 10;
/// The label cosign writes since 2.0.1, and the one before it.
const SIGSTORE_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const COSIGN_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
const PUBLIC_LABEL: &str = "PUBLIC KEY";
/// The scrypt cost of new key files: cosign's current one.
const NEW_KEY_COST: Cost = Cost::Standard;

/// An ECDSA P-256 private key.
pub struct SigningKey {
    key: p256::ecdsa::SigningKey,
}

/// An ECDSA P-256 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

impl SigningKey {
    /// A new key from the system's random source.
    pub fn generate() -> Result<SigningKey> {
        let secret = p256::SecretKey::try_generate()
            .map_err(|error| anyhow::anyhow!("the system's random source failed: {error}"))?;
        Ok(SigningKey { key: secret.into() })
    }

    /// The text of `cosign.key`: the key sealed under `password` at cosign's current cost.
    pub fn to_key_file(&self, password: &[u8]) -> Result<Zeroizing<String>> {
        self.to_key_file_at(password, NEW_KEY_COST)
    }

    /// The same at another scrypt cost: cosign before 2.2 (and sigstore-rs) sealed at
    /// N = 32768.
    pub(crate) fn to_key_file_at(&self, password: &[u8], cost: Cost) -> Result<Zeroizing<String>> {
        let pkcs8 = self
            .key
            .to_pkcs8_der()
            .map_err(|_| anyhow::anyhow!("encoding the private key as PKCS#8 failed"))?;
        let sealed = encrypted::seal(pkcs8.as_bytes(), password, cost)?;
        Ok(pem::encode(SIGSTORE_LABEL, &sealed))
    }

    /// Reads the text of a cosign private key file. Errors are one line and never show the
    /// password or the key.
    pub fn from_key_file(text: &str, password: &[u8]) -> Result<SigningKey> {
        let (label, sealed) = pem::decode(text)?;
        if label != SIGSTORE_LABEL && label != COSIGN_LABEL {
            bail!(
                "it holds a `{label}` PEM block, not a cosign private key (`{SIGSTORE_LABEL}`): \
                 make one with `cargo xtask keygen` or `cosign generate-key-pair`"
            );
        }
        let (pkcs8, _cost) = encrypted::open(&sealed, password)?;
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(&pkcs8).map_err(|_| {
            anyhow::anyhow!(
                "it decrypts, but not to an ECDSA P-256 key, the only kind cosign's default \
                 (and this xtask) signs with"
            )
        })?;
        Ok(SigningKey { key })
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: *self.key.verifying_key(),
        }
    }

    /// The ASN.1 DER ECDSA signature of `payload` (over its SHA-256), as cosign's
    /// `dev.cosignproject.cosign/signature` annotation carries it, base64-encoded.
    pub fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(payload);
        signature.to_der().as_bytes().to_vec()
    }
}

/// Its only field is p256's key, which wipes its scalar when dropped.
impl ZeroizeOnDrop for SigningKey {}

impl fmt::Debug for SigningKey {
    /// Names the key by its public half only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?})", self.public_key())
    }
}

impl PublicKey {
    /// The text of `cosign.pub`.
    pub fn to_pem(&self) -> Result<String> {
        let der = self
            .key
            .to_public_key_der()
            .map_err(|_| anyhow::anyhow!("encoding the public key failed"))?;
        Ok(pem::encode(PUBLIC_LABEL, der.as_bytes()).to_string())
    }

    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of an ECDSA P-256 key.
    pub fn from_pem(text: &str) -> Result<PublicKey> {
        let (label, der) = pem::decode(text)?;
        if label != PUBLIC_LABEL {
            bail!("it holds a `{label}` PEM block, not a `{PUBLIC_LABEL}`: give cosign.pub");
        }
        let key = VerifyingKey::from_public_key_der(&der).map_err(|_| {
            anyhow::anyhow!("its public key is not ECDSA P-256, the kind cosign's keys are")
        })?;
        Ok(PublicKey { key })
    }

    /// Whether `signature` (ASN.1 DER) is this key's over `payload`.
    pub fn verify(&self, payload: &[u8], signature: &[u8]) -> Result<()> {
        let signature = DerSignature::from_bytes(signature)
            .ok()
            .and_then(|der| Signature::try_from(der).ok())
            .context("the signature is not an ASN.1 DER ECDSA signature")?;
        self.key
            .verify(payload, &signature)
            .map_err(|_| anyhow::anyhow!("the signature is not this key's over this payload"))
    }

    /// The SubjectPublicKeyInfo DER: what `cosign.pub` holds, and what a Sigstore bundle's key
    /// hint is the SHA-256 of.
    pub(crate) fn to_der(&self) -> Result<Vec<u8>> {
        self.key
            .to_public_key_der()
            .map(|der| der.as_bytes().to_vec())
            .map_err(|_| anyhow::anyhow!("encoding the public key failed"))
    }

    /// `sha256:<hex>` of the SubjectPublicKeyInfo: names a key in messages.
    pub fn fingerprint(&self) -> String {
        self.key
            .to_public_key_der()
            .map(|der| sha256(der.as_bytes()))
            .unwrap_or_default()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::{COSIGN_LABEL, PublicKey, SIGSTORE_LABEL, SigningKey};
    use crate::sigstore::encrypted::Cost;

    const PASSWORD: &[u8] = b"correct horse";

    fn key_and_file(cost: Cost) -> (SigningKey, String) {
        let key = SigningKey::generate().unwrap();
        let file = key.to_key_file_at(PASSWORD, cost).unwrap().to_string();
        (key, file)
    }

    #[test]
    fn a_key_file_reads_back_as_the_same_key() {
        let (key, file) = key_and_file(Cost::Legacy);
        assert!(file.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let read = SigningKey::from_key_file(&file, PASSWORD).unwrap();
        assert_eq!(read.public_key(), key.public_key());
    }

    /// cosign's current cost; slower (about 0.1 s of scrypt), so tested once.
    #[test]
    fn new_key_files_use_cosigns_current_scrypt_cost() {
        let key = SigningKey::generate().unwrap();
        let file = key.to_key_file(PASSWORD).unwrap();
        let (_, sealed) = crate::sigstore::pem::decode(&file).unwrap();
        assert!(String::from_utf8_lossy(&sealed).contains(r#""params":{"N":65536,"r":8,"p":1}"#));
        SigningKey::from_key_file(&file, PASSWORD).unwrap();
    }

    #[test]
    fn the_older_label_reads_too_and_others_are_refused() {
        let (key, file) = key_and_file(Cost::Legacy);
        let old = file.replace(SIGSTORE_LABEL, COSIGN_LABEL);
        let read = SigningKey::from_key_file(&old, PASSWORD).unwrap();
        assert_eq!(read.public_key(), key.public_key());
        let error =
            SigningKey::from_key_file(&file.replace(SIGSTORE_LABEL, "EC PRIVATE KEY"), PASSWORD)
                .unwrap_err()
                .to_string();
        assert!(error.contains("`EC PRIVATE KEY`"), "{error}");
    }

    #[test]
    fn a_wrong_password_is_one_line_without_secrets() {
        let (_, file) = key_and_file(Cost::Legacy);
        let error = format!(
            "{:#}",
            SigningKey::from_key_file(&file, b"wrong horse").unwrap_err()
        );
        assert!(error.contains("password"), "{error}");
        assert!(!error.contains('\n') && !error.contains("horse"), "{error}");
    }

    #[test]
    fn signatures_verify_with_the_public_key_and_repeat() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(b"payload");
        assert_eq!(signature, key.sign(b"payload"), "RFC 6979: deterministic");
        assert_eq!(signature[0], 0x30, "an ASN.1 SEQUENCE");
        let public = PublicKey::from_pem(&key.public_key().to_pem().unwrap()).unwrap();
        public.verify(b"payload", &signature).unwrap();
        assert!(public.verify(b"payloaD", &signature).is_err());
        let other = SigningKey::generate().unwrap().public_key();
        assert!(other.verify(b"payload", &signature).is_err());
    }

    #[test]
    fn the_private_key_is_wiped_when_dropped() {
        fn wiped_when_dropped<T: zeroize::ZeroizeOnDrop>() {}
        wiped_when_dropped::<p256::ecdsa::SigningKey>();
        wiped_when_dropped::<SigningKey>();
    }

    #[test]
    fn debug_shows_no_secret() {
        let key = SigningKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(shown.starts_with("SigningKey(PublicKey(sha256:"), "{shown}");
        let secret_hex = crate::oci::blob::hex(&key.key.to_bytes());
        assert!(!shown.contains(&secret_hex));
    }
}
