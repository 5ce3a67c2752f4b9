//! JSON Web Tokens signed ES256 (ECDSA P-256 with SHA-256, ring) the way the reference registry's
//! token authentication checks them: the header's `x5c` carries the signing certificate, which
//! must chain to a certificate in the registry's `rootcertbundle`; the signature is the JWS form,
//! the 32-byte r and s side by side.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

/// Signs tokens with one key, its certificate named in every token's header.
pub struct Signer {
    key: EcdsaKeyPair,
    certificate: String,
    random: SystemRandom,
}

impl Signer {
    /// The key (PKCS#8 PEM) and its certificate (PEM), as [`crate::registry::pki::Pki::issue`] writes them.
    pub fn load(certificate: &Path, key: &Path) -> Signer {
        let certificate =
            CertificateDer::from_pem_file(certificate).expect("reading the signing certificate");
        let key = PrivatePkcs8KeyDer::from_pem_file(key).expect("reading the signing key (PKCS#8)");
        let random = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            key.secret_pkcs8_der(),
            &random,
        )
        .expect("an ECDSA P-256 key");
        Signer {
            key,
            certificate: STANDARD.encode(certificate.as_ref()),
            random,
        }
    }

    /// `header.claims.signature`, each base64url without padding.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [self.certificate]});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.random, input.as_bytes())
            .expect("signing a token");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}
