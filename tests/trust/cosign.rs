//! cosign's key files and signatures as the xtask makes them, checked by implementations that are
//! not the xtask's: OpenSSL reads `cosign.pub` and verifies the xtask's signatures;
//! sigstore-rs (cosign's Rust port, which writes its keys at scrypt N = 32768 as cosign did before
//! 2.2) reads the keys `cargo xtask keygen` writes (N = 65536, as cosign writes them today), writes
//! keys the xtask reads, and verifies the xtask's signatures as the xtask verifies its. Then the
//! signatures `cargo xtask push --sign-key` leaves in a real registry: fetched and verified by
//! sigstore-rs's cosign client and, raw, by OpenSSL; rejected by sigstore-rs when the key, the
//! digest or the signed bytes are not the ones signed.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pause_tests::layout::Layout;
use pause_tests::process::run;
use pause_tests::registry::docker_registry::{self, REPOSITORY, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::xtask_cli::{self, PASSWORD_VAR, Said};
use pause_tests::{Need, PLATFORMS, image, ready};
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::signing_key::ecdsa::{ECDSAKeys, EllipticCurve};
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
use xtask::sigstore::key::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, PublicKey, SigningKey};
use xtask::sigstore::simple_signing;

const OPENSSL: Need = Need::program("openssl", "openssl");
const PASSWORD: &str = "a test password";
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

// ---------------------------------------------------------------------------------------------
// Signatures in a real registry (Debian's docker-registry 2.8): pushed by `cargo xtask push
// --sign-key`, read back with curl and verified by sigstore-rs's cosign client (which fetches the
// `.sig` images itself) and by `openssl dgst -verify` on the raw payloads and signatures.
// ---------------------------------------------------------------------------------------------

const SIMPLE_SIGNING_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";

fn registry_needs() -> Vec<Need> {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.extend([registry_http::NEEDS, OPENSSL]);
    needs
}

/// Runs the xtask binary with `args`, COSIGN_PASSWORD set to `password` (None: unset), with no
/// terminal and no stored registry credentials.
fn xtask(args: &[&str], password: Option<&str>) -> Said {
    let env: Vec<(&str, &str)> = password.map(|p| (PASSWORD_VAR, p)).into_iter().collect();
    xtask_cli::run(args, &env)
}

/// `cargo xtask push REFERENCE --sign-key KEY` with the right password; it must succeed.
fn signed_push(reference: &str, key: &Path) -> Said {
    let said = xtask(
        &["push", reference, "--sign-key", &key.display().to_string()],
        Some(PASSWORD),
    );
    assert!(said.success, "the signed push failed:\n{}", said.all());
    said
}

/// The digests a push signs: the index and each platform manifest of the project's layout.
fn signed_digests() -> Vec<String> {
    let layout = Layout::open(&image::layout());
    let mut digests = vec![layout.index_digest()];
    for platform in PLATFORMS {
        let (entry, _, _, _) = layout.platform(platform);
        digests.push(entry["digest"].as_str().expect("a digest").to_string());
    }
    digests
}

/// `sha256-<hex>.sig`, the tag cosign keeps a digest's signatures under.
fn sig_tag(digest: &str) -> String {
    format!("sha256-{}.sig", &digest["sha256:".len()..])
}

/// One signature as the registry holds it: the payload's bytes, the signature (DER, decoded from
/// the layer's annotation with the base64 crate), and the payload as JSON.
struct Stored {
    payload: Vec<u8>,
    signature: Vec<u8>,
    claim: serde_json::Value,
}

/// Every signature stored for `digest` in `repository`, read with curl.
fn stored_signatures(http: &RegistryHttp<'_>, repository: &str, digest: &str) -> Vec<Stored> {
    use base64::Engine as _;
    let manifest = http.manifest_json(repository, &sig_tag(digest));
    assert_eq!(manifest["mediaType"], MANIFEST_TYPE, "{manifest}");
    manifest["layers"]
        .as_array()
        .expect("a .sig manifest lists layers")
        .iter()
        .map(|layer| {
            assert_eq!(layer["mediaType"], SIMPLE_SIGNING_TYPE);
            let payload = http.blob(repository, layer["digest"].as_str().expect("a digest"));
            let signature = base64::engine::general_purpose::STANDARD
                .decode(
                    layer["annotations"][SIGNATURE_ANNOTATION]
                        .as_str()
                        .expect("a signature annotation"),
                )
                .expect("base64");
            Stored {
                claim: serde_json::from_slice(&payload).expect("a JSON payload"),
                payload,
                signature,
            }
        })
        .collect()
}

/// Whether `openssl dgst -sha256 -verify PUBLIC` accepts `signature` over `payload`.
fn openssl_verifies(public: &Path, payload: &[u8], signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (payload_path, signature_path) = (dir.path().join("payload"), dir.path().join("sig"));
    std::fs::write(&payload_path, payload).expect("writing the payload");
    std::fs::write(&signature_path, signature).expect("writing the signature");
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(&signature_path)
        .arg(&payload_path)
        .output()
        .expect("running openssl dgst");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

/// sigstore-rs's verdict on `reference` (a tag or `@digest`) with the public key `public_pem`,
/// as `cosign verify --key` gives it: its cosign client resolves the reference to a digest,
/// fetches the `.sig` image of that digest from the registry itself (plain HTTP to this loopback
/// registry), keeps the layers whose payload names that digest, and checks that one is signed by
/// the key. Ok(number of layers it trusted), or why not.
fn sigstore_rs_verify(
    registry: &Registry,
    reference: &str,
    public_pem: &str,
) -> Result<usize, String> {
    use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraintVec};
    use sigstore::cosign::{ClientBuilder, CosignCapabilities, verify_constraints};
    use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};
    let image: OciReference = reference.parse().map_err(|error| format!("{error}"))?;
    let config = ClientConfig {
        // cosign's --allow-insecure-registry: plain HTTP, for this registry alone.
        protocol: ClientProtocol::HttpsExcept(vec![registry.host().to_string()]),
        ..ClientConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let mut client = ClientBuilder::default()
            .with_oci_client_config(config)
            .build()
            .map_err(|error| format!("building the cosign client: {error}"))?;
        let layers = client
            .trusted_signature_layers(&Auth::Anonymous, &image)
            .await
            .map_err(|error| format!("fetching the signatures: {error}"))?;
        let verifier = PublicKeyVerifier::new(
            public_pem.as_bytes(),
            &SigningScheme::ECDSA_P256_SHA256_ASN1,
        )
        .map_err(|error| format!("reading the public key: {error}"))?;
        let constraints: VerificationConstraintVec = vec![Box::new(verifier)];
        verify_constraints(&layers, constraints.iter())
            .map(|()| layers.len())
            .map_err(|_| {
                format!(
                    "{} layers whose payload names the digest, none signed by the key",
                    layers.len()
                )
            })
    })
}

/// A signed push through `cargo xtask push --sign-key`, as a user types it: every digest (the
/// index and each platform manifest) has a `.sig` with one signature, whose payload names exactly
/// that digest and this repository; sigstore-rs verifies each (by digest, and the index by its
/// tag) with cosign.pub, and openssl verifies each raw payload and signature fetched from the
/// registry. Nothing printed holds the password or the key. A second signed push of the same
/// image adds nothing: every `.sig` manifest is the same bytes, one layer each.
#[test]
fn a_signed_push_verifies_with_sigstore_rs_and_openssl() {
    if !ready(
        "cosign::a_signed_push_verifies_with_sigstore_rs_and_openssl",
        &registry_needs(),
    ) {
        return;
    }
    let (keys, private, public) = key_pair();
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    let reference = registry.reference(&format!("{REPOSITORY}:signed"));
    let said = signed_push(&reference, &keys.path().join(PRIVATE_KEY_FILE));
    eprintln!("{}", said.stderr);
    for secret in [PASSWORD, &pem_body(&private)[..40]] {
        assert!(
            !said.all().contains(secret),
            "the push printed a secret:\n{}",
            said.all()
        );
    }
    let digests = signed_digests();
    let signed_lines = said
        .stderr
        .lines()
        .filter(|line| line.starts_with("signature of ") && line.contains(": signed under "));
    assert_eq!(signed_lines.count(), digests.len(), "{}", said.stderr);

    let public_path = keys.path().join(PUBLIC_KEY_FILE);
    let mut sig_manifests = Vec::new();
    for digest in &digests {
        let stored = stored_signatures(&http, REPOSITORY, digest);
        assert_eq!(stored.len(), 1, "{digest}: one signature");
        let claim = &stored[0].claim;
        assert_eq!(
            claim["critical"]["image"]["docker-manifest-digest"],
            digest.as_str()
        );
        assert_eq!(
            claim["critical"]["identity"]["docker-reference"],
            registry.reference(REPOSITORY),
            "the repository as the user named it"
        );
        assert_eq!(
            claim["critical"]["type"],
            "cosign container image signature"
        );
        assert!(
            openssl_verifies(&public_path, &stored[0].payload, &stored[0].signature),
            "{digest}: openssl refuses the registry's signature"
        );
        let by_digest = registry.reference(&format!("{REPOSITORY}@{digest}"));
        assert_eq!(
            sigstore_rs_verify(&registry, &by_digest, &public),
            Ok(1),
            "{digest}: sigstore-rs"
        );
        sig_manifests.push(http.manifest(REPOSITORY, &sig_tag(digest)));
    }
    assert_eq!(
        sigstore_rs_verify(&registry, &reference, &public),
        Ok(1),
        "sigstore-rs, by the tag"
    );

    let again = signed_push(
        &registry.reference(&format!("{REPOSITORY}:again")),
        &keys.path().join(PRIVATE_KEY_FILE),
    );
    let unchanged = again
        .stderr
        .lines()
        .filter(|line| line.contains("already signed with this key"));
    assert_eq!(unchanged.count(), digests.len(), "{}", again.stderr);
    for (digest, before) in digests.iter().zip(sig_manifests) {
        assert_eq!(
            http.manifest(REPOSITORY, &sig_tag(digest)),
            before,
            "{digest}: the second push changed the .sig manifest"
        );
    }
}

/// A second key adds its signature and keeps the first: after pushes signed with two keys, each
/// `.sig` manifest holds two layers, the first one untouched, and sigstore-rs and openssl verify
/// the image with either key.
#[test]
fn a_second_key_adds_a_signature_and_keeps_the_first() {
    if !ready(
        "cosign::a_second_key_adds_a_signature_and_keeps_the_first",
        &registry_needs(),
    ) {
        return;
    }
    let (first_keys, _, first_public) = key_pair();
    let (second_keys, _, second_public) = key_pair();
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    let reference = registry.reference(&format!("{REPOSITORY}:two-keys"));
    signed_push(&reference, &first_keys.path().join(PRIVATE_KEY_FILE));
    let digests = signed_digests();
    let first_layers: Vec<serde_json::Value> = digests
        .iter()
        .map(|digest| http.manifest_json(REPOSITORY, &sig_tag(digest))["layers"][0].clone())
        .collect();
    signed_push(&reference, &second_keys.path().join(PRIVATE_KEY_FILE));
    for (digest, first_layer) in digests.iter().zip(first_layers) {
        let manifest = http.manifest_json(REPOSITORY, &sig_tag(digest));
        let layers = manifest["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 2, "{digest}: both signatures");
        assert_eq!(
            layers[0], first_layer,
            "{digest}: the first signature, untouched"
        );
        let stored = stored_signatures(&http, REPOSITORY, digest);
        for (layer, keys) in stored.iter().zip([&first_keys, &second_keys]) {
            assert!(openssl_verifies(
                &keys.path().join(PUBLIC_KEY_FILE),
                &layer.payload,
                &layer.signature
            ));
        }
    }
    for public in [&first_public, &second_public] {
        assert_eq!(sigstore_rs_verify(&registry, &reference, public), Ok(2));
    }
}

/// Stores `document` under `reference` in `repository` as a manifest of its own `mediaType`.
fn put_json(
    http: &RegistryHttp<'_>,
    repository: &str,
    reference: &str,
    document: &serde_json::Value,
) -> String {
    let media_type = document["mediaType"]
        .as_str()
        .expect("a mediaType")
        .to_string();
    http.put_manifest(
        repository,
        reference,
        &media_type,
        &serde_json::to_vec(document).expect("JSON"),
    )
}

/// A `.sig` manifest carrying `payload` signed with `signature`, as cosign lays it out, built here
/// from JSON; its blobs stored in `repository`.
fn plant_signature(
    http: &RegistryHttp<'_>,
    repository: &str,
    digest: &str,
    payload: &[u8],
    signature: &[u8],
) {
    use base64::Engine as _;
    let payload_digest = http.put_blob(repository, payload);
    let config = serde_json::json!({
        "architecture": "", "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [payload_digest]}, "config": {},
    });
    let config_bytes = serde_json::to_vec(&config).expect("JSON");
    let config_digest = http.put_blob(repository, &config_bytes);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": config_bytes.len(), "digest": config_digest},
        "layers": [{
            "mediaType": SIMPLE_SIGNING_TYPE,
            "size": payload.len(),
            "digest": payload_digest,
            "annotations": {
                SIGNATURE_ANNOTATION: base64::engine::general_purpose::STANDARD.encode(signature),
            },
        }],
    });
    put_json(http, repository, &sig_tag(digest), &manifest);
}

/// sigstore-rs accepts the signed image and rejects, each built in the registry: a wrong key; a
/// payload naming another digest (the key's genuine signature of the arm64 manifest, stored as
/// the amd64 manifest's); a manifest changed after signing (the index moved under the tag to a
/// changed one, with the old signature copied to its `.sig` tag); and a payload changed after
/// signing (the amd64 `.sig` layer rewritten, the signature kept).
#[test]
fn sigstore_rs_rejects_a_wrong_key_another_digest_and_changes_after_signing() {
    if !ready(
        "cosign::sigstore_rs_rejects_a_wrong_key_another_digest_and_changes_after_signing",
        &registry_needs(),
    ) {
        return;
    }
    let (keys, private, public) = key_pair();
    let (_other_keys, _, other_public) = key_pair();
    let key = SigningKey::from_key_file(&private, PASSWORD.as_bytes()).expect("the key");
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    let layout = Layout::open(&image::layout());
    let index_digest = layout.index_digest();
    let (amd64, _, _, _) = layout.platform(&PLATFORMS[0]);
    let (arm64, _, _, _) = layout.platform(&PLATFORMS[1]);
    let amd64 = amd64["digest"].as_str().expect("a digest").to_string();
    let arm64 = arm64["digest"].as_str().expect("a digest").to_string();
    let private_path = keys.path().join(PRIVATE_KEY_FILE);
    let at = |repository: &str, reference: &str| {
        let separator = if reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        registry.reference(&format!("{repository}{separator}{reference}"))
    };

    // Signed as the xtask signs: accepted with the key, rejected with another.
    signed_push(&at(REPOSITORY, "signed"), &private_path);
    assert_eq!(
        sigstore_rs_verify(&registry, &at(REPOSITORY, "signed"), &public),
        Ok(1)
    );
    assert_eq!(
        sigstore_rs_verify(&registry, &at(REPOSITORY, &amd64), &public),
        Ok(1)
    );
    let wrong_key = sigstore_rs_verify(&registry, &at(REPOSITORY, "signed"), &other_public);
    eprintln!("wrong key: {wrong_key:?}");
    assert!(wrong_key.is_err(), "sigstore-rs accepted another key");

    // Another digest: the amd64 manifest's .sig holds the key's signature of the arm64 one.
    let forged = "forged/pause";
    let unsigned = xtask(&["push", &at(forged, "unsigned")], None);
    assert!(
        unsigned.success,
        "the unsigned push failed:\n{}",
        unsigned.all()
    );
    let arm64_payload =
        simple_signing::payload(&registry.reference(forged), &arm64).expect("a payload");
    plant_signature(
        &http,
        forged,
        &amd64,
        &arm64_payload,
        &key.sign(&arm64_payload),
    );
    assert!(
        openssl_verifies(
            &keys.path().join(PUBLIC_KEY_FILE),
            &arm64_payload,
            &key.sign(&arm64_payload)
        ),
        "the planted signature is the key's own"
    );
    let other_digest = sigstore_rs_verify(&registry, &at(forged, &amd64), &public);
    eprintln!("payload naming another digest: {other_digest:?}");
    assert!(
        other_digest.is_err(),
        "sigstore-rs accepted a payload naming another digest"
    );

    // The manifest changed after signing: the tag moved to a changed index, the old signature
    // copied to the new digest's .sig tag.
    let moved = "moved/pause";
    signed_push(&at(moved, "t"), &private_path);
    let mut index = http.manifest_json(moved, "t");
    index["annotations"]["org.example.changed"] = "after signing".into();
    let changed = put_json(&http, moved, "t", &index);
    assert_ne!(changed, index_digest);
    let old_signature = http
        .manifest(moved, &sig_tag(&index_digest))
        .expect("the old .sig");
    http.put_manifest(moved, &sig_tag(&changed), MANIFEST_TYPE, &old_signature);
    let changed_manifest = sigstore_rs_verify(&registry, &at(moved, "t"), &public);
    eprintln!("manifest changed after signing: {changed_manifest:?}");
    assert!(
        changed_manifest.is_err(),
        "sigstore-rs accepted a changed manifest"
    );

    // The payload changed after signing: same signature, payload rewritten.
    let tampered = "tampered/pause";
    signed_push(&at(tampered, "t"), &private_path);
    let stored = stored_signatures(&http, tampered, &amd64);
    let rewritten = String::from_utf8(stored[0].payload.clone())
        .expect("a UTF-8 payload")
        .replace(
            "\"optional\":null",
            "\"optional\":{\"note\":\"added after signing\"}",
        );
    assert_ne!(rewritten.as_bytes(), stored[0].payload.as_slice());
    plant_signature(
        &http,
        tampered,
        &amd64,
        rewritten.as_bytes(),
        &stored[0].signature,
    );
    let changed_payload = sigstore_rs_verify(&registry, &at(tampered, &amd64), &public);
    eprintln!("payload changed after signing: {changed_payload:?}");
    assert!(
        changed_payload.is_err(),
        "sigstore-rs accepted a changed payload"
    );
    // The other manifests of that push still verify: the rejection is the tampered one's.
    assert_eq!(
        sigstore_rs_verify(&registry, &at(tampered, &arm64), &public),
        Ok(1)
    );
}

/// A wrong key password is one line naming --sign-key and the password, before anything happens:
/// no blob uploaded, no tag; `image --push` fails the same way before it builds anything. With no
/// COSIGN_PASSWORD and no terminal, one line names the variable. Neither shows a secret.
#[test]
fn a_wrong_key_password_fails_before_anything_is_pushed() {
    if !ready(
        "cosign::a_wrong_key_password_fails_before_anything_is_pushed",
        &registry_needs(),
    ) {
        return;
    }
    let (keys, private, _) = key_pair();
    let key = keys.path().join(PRIVATE_KEY_FILE).display().to_string();
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    let reference = registry.reference(&format!("{REPOSITORY}:wrong"));
    let wrong = "not the password";
    for (args, password, named) in [
        (
            vec!["push", &reference, "--sign-key", &key],
            Some(wrong),
            "password",
        ),
        (
            vec!["image", "--push", &reference, "--sign-key", &key],
            Some(wrong),
            "password",
        ),
        (
            vec!["push", &reference, "--sign-key", &key],
            None,
            PASSWORD_VAR,
        ),
    ] {
        let said = xtask(&args, password);
        let shown = args.join(" ");
        assert!(!said.success, "{shown} succeeded");
        let lines: Vec<&str> = said.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("error: ") && lines[0].contains(named),
            "{shown}: not one `error:` line naming {named}:\n{}",
            said.all()
        );
        assert!(
            said.stdout.trim().is_empty(),
            "{shown}: it did something before refusing:\n{}",
            said.stdout
        );
        for secret in [wrong, PASSWORD, &pem_body(&private)[..40]] {
            assert!(
                !said.all().contains(secret),
                "{shown} printed a secret:\n{}",
                said.all()
            );
        }
        eprintln!("{shown}: {}", lines[0]);
    }
    assert_eq!(registry.blob_uploads(REPOSITORY), 0, "{}", registry.log());
    assert_eq!(http.manifest(REPOSITORY, "wrong"), None, "a tag was left");
}
