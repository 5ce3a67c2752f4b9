//! cosign's key files and signatures as the xtask makes them, checked by implementations that are
//! not the xtask's: OpenSSL reads `cosign.pub` and verifies the xtask's signatures;
//! sigstore-rs (cosign's Rust port, which writes its keys at scrypt N = 32768 as cosign did before
//! 2.2) reads the keys `cargo xtask keygen` writes (N = 65536, as cosign writes them today), writes
//! keys the xtask reads, and verifies the xtask's signatures as the xtask verifies its.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pause_tests::layout::Layout;
use pause_tests::process::run;
use pause_tests::xtask_cli;
use pause_tests::{Need, PLATFORMS, image, ready};
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::signing_key::ecdsa::{ECDSAKeys, EllipticCurve};
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
use xtask::sigstore::key::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, PublicKey, SigningKey};
use xtask::sigstore::simple_signing;

const OPENSSL: Need = Need::program("openssl", "openssl");
const PASSWORD: &str = "a test password";
const PASSWORD_VAR: &str = "COSIGN_PASSWORD";
/// The PEM labels of cosign's private keys: since cosign 2.0.1, and before.
const SIGSTORE_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const COSIGN_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// Where the suites' signatures say the image lives: a payload names a repository.
const IMAGE: &str = "127.0.0.1:5000/pause:0.1.0";

/// `cargo xtask keygen --out DIR` with `password` in COSIGN_PASSWORD (none: unset), in a session
/// of its own, so it has no terminal to ask on and can never wait for one.
fn keygen(out: &Path, password: Option<&str>) -> Output {
    let mut command = Command::new(xtask_cli::project());
    command
        .args(["keygen", "--out"])
        .arg(out)
        .stdin(Stdio::null())
        .env_remove(PASSWORD_VAR);
    if let Some(password) = password {
        command.env(PASSWORD_VAR, password);
    }
    // SAFETY: setsid is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    command.output().expect("running cargo xtask keygen")
}

/// A fresh key pair from `cargo xtask keygen`: (its directory, cosign.key's text, cosign.pub's).
fn key_pair() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = keygen(dir.path(), Some(PASSWORD));
    assert!(
        out.status.success(),
        "keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name| std::fs::read_to_string(dir.path().join(name)).expect("a key file");
    let (private, public) = (read(PRIVATE_KEY_FILE), read(PUBLIC_KEY_FILE));
    (dir, private, public)
}

/// The JSON inside a cosign private key's PEM block, decoded by coreutils' base64.
fn sealed_json(key_file: &str) -> serde_json::Value {
    let body: String = key_file
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let mut child = Command::new("base64")
        .arg("--decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running base64");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(body.as_bytes())
        .expect("feeding base64");
    let out = child.wait_with_output().expect("base64's output");
    serde_json::from_slice(&out.stdout).expect("cosign's encrypted-key JSON")
}

/// A PEM document's base64 body, line breaks and line endings aside.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----"))
        .collect()
}

/// The payload the push would sign for this checkout's manifest of `platform`.
fn payload_of(platform: usize) -> Vec<u8> {
    let layout = Layout::open(&image::layout());
    let (entry, _, _, _) = layout.platform(&PLATFORMS[platform]);
    let digest = entry["digest"].as_str().expect("a digest");
    simple_signing::payload(IMAGE, digest).expect("a payload")
}

fn amd64_payload() -> Vec<u8> {
    payload_of(0)
}

#[test]
fn keygen_writes_a_key_pair_that_openssl_and_sigstore_rs_read() {
    if !ready(
        "cosign::keygen_writes_a_key_pair_that_openssl_and_sigstore_rs_read",
        &[OPENSSL],
    ) {
        return;
    }
    let (dir, private, public) = key_pair();
    let mode = std::fs::metadata(dir.path().join(PRIVATE_KEY_FILE))
        .expect("cosign.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "cosign.key is the owner's alone");
    assert!(private.starts_with(&format!("-----BEGIN {SIGSTORE_LABEL}-----\n")));
    let sealed = sealed_json(&private);
    assert_eq!(sealed["kdf"]["name"], "scrypt");
    assert_eq!(
        sealed["kdf"]["params"],
        serde_json::json!({"N": 65536, "r": 8, "p": 1})
    );
    assert_eq!(sealed["cipher"]["name"], "nacl/secretbox");

    let pub_path = dir.path().join(PUBLIC_KEY_FILE).display().to_string();
    let text = run(&[
        "openssl", "ec", "-pubin", "-in", &pub_path, "-noout", "-text",
    ]);
    assert!(text.contains("prime256v1"), "not a P-256 key:\n{text}");

    let theirs = SigStoreKeyPair::from_encrypted_pem(private.as_bytes(), PASSWORD.as_bytes())
        .expect("sigstore-rs reads the key keygen wrote");
    assert_eq!(
        pem_body(&theirs.public_key_to_pem().expect("its public key")),
        pem_body(&public),
        "sigstore-rs finds cosign.pub's key inside cosign.key"
    );
    let ours =
        SigningKey::from_key_file(&private, PASSWORD.as_bytes()).expect("the xtask reads it");
    assert_eq!(
        ours.public_key(),
        PublicKey::from_pem(&public).expect("cosign.pub")
    );
}

#[test]
fn keygen_never_overwrites_a_key() {
    let (dir, private, _) = key_pair();
    let out = keygen(dir.path(), Some("another password"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second keygen succeeded");
    assert!(
        stderr.lines().count() == 1 && stderr.contains("already exists"),
        "not one line saying so:\n{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(PRIVATE_KEY_FILE)).expect("cosign.key"),
        private,
        "the key is untouched"
    );
}

/// With no COSIGN_PASSWORD and no terminal (CI), keygen says what to set in one line and writes
/// nothing.
#[test]
fn keygen_without_a_password_or_a_terminal_says_what_to_set() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = keygen(dir.path(), None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.lines().count() == 1 && stderr.contains(PASSWORD_VAR),
        "not one line naming {PASSWORD_VAR}:\n{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("the dir").count(), 0);
}

/// OpenSSL, given cosign.pub, verifies a signature the xtask's library made over the payload it
/// would push, and refuses it over a payload naming another digest.
#[test]
fn openssl_verifies_what_the_xtask_signs() {
    if !ready("cosign::openssl_verifies_what_the_xtask_signs", &[OPENSSL]) {
        return;
    }
    let (dir, private, _) = key_pair();
    let key = SigningKey::from_key_file(&private, PASSWORD.as_bytes()).expect("the key");
    let payload = amd64_payload();
    let signature = key.sign(&payload);
    assert_eq!(
        signature,
        key.sign(&payload),
        "re-signing gives the same bytes"
    );

    let verify = |payload: &[u8]| -> Output {
        let (payload_path, signature_path) = (dir.path().join("payload"), dir.path().join("sig"));
        std::fs::write(&payload_path, payload).expect("writing the payload");
        std::fs::write(&signature_path, &signature).expect("writing the signature");
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(dir.path().join(PUBLIC_KEY_FILE))
            .arg("-signature")
            .arg(&signature_path)
            .arg(&payload_path)
            .output()
            .expect("running openssl dgst")
    };
    let out = verify(&payload);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK"),
        "openssl refuses the signature: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !verify(&payload_of(1)).status.success(),
        "openssl verified the signature over a payload naming another manifest"
    );
}

/// A key sigstore-rs makes (sealed at N = 32768, cosign's cost before 2.2) loads in the xtask;
/// each verifies the other's signatures.
#[test]
fn keys_sigstore_rs_makes_load_in_the_xtask() {
    let theirs = SigStoreKeyPair::ECDSA(ECDSAKeys::new(EllipticCurve::P256).expect("a key"));
    let private = theirs
        .private_key_to_encrypted_pem(PASSWORD.as_bytes())
        .expect("sigstore-rs seals it");
    assert_eq!(
        sealed_json(&private)["kdf"]["params"]["N"],
        32768,
        "sigstore-rs seals at the older cost"
    );
    let ours = SigningKey::from_key_file(&private, PASSWORD.as_bytes())
        .expect("the xtask reads sigstore-rs's key");
    let their_public = theirs.public_key_to_pem().expect("its public key");
    assert_eq!(
        pem_body(&ours.public_key().to_pem().expect("ours")),
        pem_body(&their_public)
    );

    let payload = amd64_payload();
    let verifier = CosignVerificationKey::from_pem(
        their_public.as_bytes(),
        &SigningScheme::ECDSA_P256_SHA256_ASN1,
    )
    .expect("a verification key");
    verifier
        .verify_signature(Signature::Raw(&ours.sign(&payload)), &payload)
        .expect("sigstore-rs verifies the xtask's signature");
    let their_signature = theirs
        .to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1)
        .expect("a signer")
        .sign(&payload)
        .expect("a signature");
    ours.public_key()
        .verify(&payload, &their_signature)
        .expect("the xtask verifies sigstore-rs's signature");
}

/// cosign before 2.0.1 labelled its keys `ENCRYPTED COSIGN PRIVATE KEY`: both readers take one.
#[test]
fn the_older_label_loads_in_both() {
    let (_dir, private, public) = key_pair();
    let old = private.replace(SIGSTORE_LABEL, COSIGN_LABEL);
    assert_ne!(old, private);
    let ours = SigningKey::from_key_file(&old, PASSWORD.as_bytes()).expect("the xtask reads it");
    assert_eq!(
        ours.public_key(),
        PublicKey::from_pem(&public).expect("cosign.pub")
    );
    SigStoreKeyPair::from_encrypted_pem(old.as_bytes(), PASSWORD.as_bytes())
        .expect("sigstore-rs reads it");
}

/// A wrong password is one line naming the problem, showing neither password nor key.
#[test]
fn a_wrong_password_is_refused_in_one_line() {
    let (_dir, private, _) = key_pair();
    let wrong = "not the password";
    let error = format!(
        "{:#}",
        SigningKey::from_key_file(&private, wrong.as_bytes()).expect_err("a wrong password")
    );
    assert!(error.contains("password"), "{error}");
    assert!(
        !error.contains('\n') && !error.contains(wrong) && !error.contains(PASSWORD),
        "{error}"
    );
    let body = pem_body(&private);
    assert!(!error.contains(&body[..16]), "{error}");
    assert!(
        SigStoreKeyPair::from_encrypted_pem(private.as_bytes(), wrong.as_bytes()).is_err(),
        "sigstore-rs refuses it too"
    );
}
