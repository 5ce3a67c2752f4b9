//! The password-encrypted container cosign keeps its private key in: go-securesystemslib's
//! `encrypted` package (before it, go-tuf's, with the same format). A JSON object
//!
//! ```text
//! {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<32 bytes>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<24 bytes>"},"ciphertext":"<sealed bytes>"}
//! ```
//!
//! (one line, keys in this order, byte strings in standard base64 with padding, as Go's
//! `encoding/json` writes `[]byte`): scrypt turns the password and salt into a 32-byte key, and
//! NaCl's secretbox (XSalsa20-Poly1305, the 16-byte tag before the ciphertext) seals the
//! plaintext with it.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
const SALT_BYTES: usize = 32;
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
/// scrypt's block size and parallelism in every parameter set cosign has used.
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

/// The scrypt costs go-securesystemslib accepts, and so the only ones read here: a key file that
/// asks for another is refused before any work, so a tampered file cannot make the KDF run for
/// hours or take gigabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cost {
    /// N = 2^15: go-tuf's, so cosign's before 2.2 (August 2023), and sigstore-rs's.
    Legacy,
    /// N = 2^16: go-securesystemslib's default, so cosign's since 2.2.
    Standard,
    /// N = 2^17: go-securesystemslib's strongest.
    Owasp,
}

impl Cost {
    /// log2 of scrypt's N.
    fn log_n(self) -> u8 {
        match self {
            Cost::Legacy => 15,
            Cost::Standard => 16,
            Cost::Owasp => 17,
        }
    }

    fn n(self) -> u32 {
        1 << self.log_n()
    }

    fn of(params: &ScryptParams) -> Option<Cost> {
        [Cost::Legacy, Cost::Standard, Cost::Owasp]
            .into_iter()
            .find(|cost| params.n == cost.n() && params.r == SCRYPT_R && params.p == SCRYPT_P)
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u32,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// The secretbox key scrypt derives from `password`.
fn derive_key(password: &[u8], salt: &[u8], cost: Cost) -> Result<Zeroizing<[u8; KEY_BYTES]>> {
    let params = scrypt::Params::new(cost.log_n(), SCRYPT_R, SCRYPT_P)
        .map_err(|error| anyhow::anyhow!("scrypt parameters: {error}"))?;
    let mut key = Zeroizing::new([0; KEY_BYTES]);
    scrypt::scrypt(password, salt, &params, key.as_mut())
        .map_err(|error| anyhow::anyhow!("scrypt: {error}"))?;
    Ok(key)
}

/// Seals `plaintext` under `password` with a fresh salt and nonce: the container's JSON bytes.
pub(crate) fn seal(plaintext: &[u8], password: &[u8], cost: Cost) -> Result<Vec<u8>> {
    let mut salt = [0; SALT_BYTES];
    let mut nonce = [0; NONCE_BYTES];
    getrandom::fill(&mut salt)
        .and_then(|()| getrandom::fill(&mut nonce))
        .map_err(|error| anyhow::anyhow!("the system's random source failed: {error}"))?;
    let key = derive_key(password, &salt, cost)?;
    let ciphertext = XSalsa20Poly1305::new(Key::from_slice(key.as_ref()))
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .map_err(|_| anyhow::anyhow!("sealing the key failed"))?;
    let sealed = Sealed {
        kdf: Kdf {
            name: KDF_NAME.to_string(),
            params: ScryptParams {
                n: cost.n(),
                r: SCRYPT_R,
                p: SCRYPT_P,
            },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.to_string(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    Ok(serde_json::to_vec(&sealed)?)
}

/// Opens a container with `password`: the plaintext, and the scrypt cost it was sealed with.
pub(crate) fn open(container: &[u8], password: &[u8]) -> Result<(Zeroizing<Vec<u8>>, Cost)> {
    let sealed: Sealed = serde_json::from_slice(container)
        .context("it is not cosign's encrypted-key JSON (kdf, cipher, ciphertext)")?;
    if sealed.kdf.name != KDF_NAME || sealed.cipher.name != CIPHER_NAME {
        bail!(
            "it is sealed with {} and {}, not cosign's {KDF_NAME} and {CIPHER_NAME}",
            sealed.kdf.name,
            sealed.cipher.name
        );
    }
    let params = &sealed.kdf.params;
    let Some(cost) = Cost::of(params) else {
        bail!(
            "its scrypt parameters (N={}, r={}, p={}) are none cosign writes (N=32768, 65536 or 131072, r=8, p=1): \
             it was not made by cosign, or was altered",
            params.n,
            params.r,
            params.p
        );
    };
    let decode = |field: &str, text: &str| {
        STANDARD
            .decode(text)
            .with_context(|| format!("its {field} is not base64"))
    };
    let salt = decode("salt", &sealed.kdf.salt)?;
    let nonce = decode("nonce", &sealed.cipher.nonce)?;
    let ciphertext = decode("ciphertext", &sealed.ciphertext)?;
    if nonce.len() != NONCE_BYTES {
        bail!(
            "its nonce has {} bytes, not secretbox's {NONCE_BYTES}",
            nonce.len()
        );
    }
    let key = derive_key(password, &salt, cost)?;
    let plaintext = XSalsa20Poly1305::new(Key::from_slice(key.as_ref()))
        .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| {
            anyhow::anyhow!("the password does not open it (a wrong password, or a damaged file)")
        })?;
    Ok((Zeroizing::new(plaintext), cost))
}

#[cfg(test)]
mod tests {
    use super::{Cost, open, seal};

    /// Sealing at the cheapest cost keeps the unit tests fast; the format is the same.
    #[test]
    fn what_is_sealed_opens_with_the_password_only() {
        let sealed = seal(b"secret bytes", b"pw", Cost::Legacy).unwrap();
        let (plaintext, cost) = open(&sealed, b"pw").unwrap();
        assert_eq!(
            (plaintext.as_slice(), cost),
            (&b"secret bytes"[..], Cost::Legacy)
        );
        let error = open(&sealed, b"wrong").unwrap_err().to_string();
        assert!(error.contains("password"), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }

    /// The JSON is go-securesystemslib's, key for key and in its order.
    #[test]
    fn the_container_is_go_securesystemslibs_json() {
        let sealed = String::from_utf8(seal(b"x", b"", Cost::Legacy).unwrap()).unwrap();
        assert!(
            sealed.starts_with(
                r#"{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":""#
            ),
            "{sealed}"
        );
        assert!(
            sealed.contains(r#""cipher":{"name":"nacl/secretbox","nonce":""#),
            "{sealed}"
        );
        let value: serde_json::Value = serde_json::from_str(&sealed).unwrap();
        let bytes = |text: &serde_json::Value| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(text.as_str().unwrap())
                .unwrap()
                .len()
        };
        assert_eq!(bytes(&value["kdf"]["salt"]), 32);
        assert_eq!(bytes(&value["cipher"]["nonce"]), 24);
        assert_eq!(
            bytes(&value["ciphertext"]),
            1 + 16,
            "the plaintext and secretbox's tag"
        );
    }

    /// A container asking for a cost cosign never used is refused before scrypt runs.
    #[test]
    fn unknown_scrypt_costs_are_refused() {
        let sealed = String::from_utf8(seal(b"x", b"", Cost::Legacy).unwrap()).unwrap();
        let tampered = sealed.replace(r#""N":32768"#, r#""N":1073741824"#);
        let error = open(tampered.as_bytes(), b"").unwrap_err().to_string();
        assert!(error.contains("N=1073741824"), "{error}");
    }
}
