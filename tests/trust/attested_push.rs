//! What a signed push (`cargo xtask push --sign-key`, the binary as a user runs it) leaves in
//! Debian's docker-registry 2.8, which has no referrers API, read back through curl alone (the
//! fallback tags `sha256-<hex>`, the `.att` tags) and checked by verifiers this project did not
//! write, then by `cargo xtask verify`:
//!
//! - every Sigstore bundle referrer by sigstore-js against `cosign.pub` alone;
//! - every `.att` layer by OpenSSL over the DSSE pre-authentication encoding, its statement
//!   about that manifest;
//! - every SBOM and provenance statement by in-toto's Python bindings, and the signed SBOM
//!   against the SBOM referrer's bytes;
//! - `cargo xtask verify --key` passing on it.
//!
//! Then each check failing on the registry, for the verifiers and for verify (one `error:` line
//! naming the platform, the format, the predicate type and what differs), one table of
//! tamperings ([`TAMPERINGS`]) on one push each: another key; a statement about another
//! platform's manifest; a payload changed after signing; an attestation moved to another
//! manifest's referrers or `.att` image; an attestation missing; one the key signed that names
//! another commit, or another SBOM. And the push beside what others put there: their `.att`
//! layers and referrers (another key's, and keyless bundles as cosign and GitHub's
//! attest-build-provenance leave them: an OpenSSL-made certificate chain, a Rekor-shaped entry)
//! kept, whole and first, ours added once over two pushes, and verify naming a keyless bundle as
//! such; a malformed `.sig`, `.att` or referrers tag refused, naming it, nothing of others'
//! changed ([`MALFORMED`], the one place this suite checks it).
//!
//! Each test builds its own image (`cargo xtask image --out`, at the checkout's commit) and its
//! own key pair (`cargo xtask keygen`), as [`super::verify`] does.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::verifiers::{
    Dsse, OPENSSL, in_toto_check, in_toto_ready, openssl_verifies, pae, said, sigstore_js,
    sigstore_js_ready, subject_digest, write,
};
use pause_tests::xtask_cli::{self, ATTESTATIONS, BUNDLE, SIG, Said, verify_table};
use pause_tests::{Need, PLATFORMS, Platform, ready};
use serde_json::{Value, json};
use tempfile::TempDir;
use xtask::attest::intoto;
use xtask::oci::blob::sha256;
use xtask::sigstore::bundle;
use xtask::sigstore::dsse::Envelope;
use xtask::sigstore::key::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SigningKey};

const PASSWORD: &str = "attested push's key password";
const EPOCH_VAR: &str = "SOURCE_DATE_EPOCH";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const SPDX_TYPE: &str = "application/spdx+json";
const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const ENVELOPE_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The annotations that name a statement's predicate type: on a bundle referrer, on a `.att`
/// layer.
const BUNDLE_PREDICATE: &str = "dev.sigstore.bundle.predicateType";
const ATT_PREDICATE: &str = "predicateType";
const SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
const SPDX: &str = "https://spdx.dev/Document";
const PROVENANCE: &str = "https://slsa.dev/provenance/v1";
/// A commit this checkout is not.
const OTHER_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// What a keyless signature of the release workflow names: the workflow (the certificate's SAN),
/// the OIDC issuer (Fulcio's extensions 1.3.6.1.4.1.57264.1.1, the raw string, and .1.8, DER),
/// and when it signed (the referrer's date; fixed, as the rest of the fixture is where it can
/// be).
const KEYLESS_IDENTITY: &str =
    "https://github.com/pause-rs/pause/.github/workflows/release.yml@refs/tags/v0.1.0";
const KEYLESS_ISSUER: &str = "https://token.actions.githubusercontent.com";
const KEYLESS_SIGNED_AT: &str = "2026-12-06T08:00:00Z";
/// GitHub's build type, which actions/attest-build-provenance's provenance names.
const GITHUB_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";

fn needs() -> Vec<Need> {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.push(registry_http::NEEDS);
    needs.push(OPENSSL);
    needs
}

/// A key pair, the image this checkout builds, and a registry to push it to.
struct Setup {
    dir: TempDir,
    registry: Registry,
    layout: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("a temp dir");
        for keys in ["ours", "theirs"] {
            xtask_cli::key_pair(&dir.path().join(keys), PASSWORD);
        }
        let layout = xtask_cli::build_image(&dir.path().join("image"), &[(EPOCH_VAR, "0")]);
        Setup {
            layout,
            dir,
            registry: Registry::start_plain(),
        }
    }

    /// `cosign.key` or `cosign.pub` of `keys` (`ours`, `theirs`).
    fn key_file(&self, keys: &str, file: &str) -> String {
        self.dir.path().join(keys).join(file).display().to_string()
    }

    fn public_key(&self) -> PathBuf {
        PathBuf::from(self.key_file("ours", PUBLIC_KEY_FILE))
    }

    /// Our signing key, as a library user opens it (to sign statements the push would not).
    fn signing_key(&self) -> SigningKey {
        let text = std::fs::read_to_string(self.key_file("ours", PRIVATE_KEY_FILE))
            .expect("reading cosign.key");
        SigningKey::from_key_file(&text, PASSWORD.as_bytes()).expect("opening cosign.key")
    }

    fn reference(&self, repository: &str) -> String {
        self.registry.reference(&format!("{repository}:t"))
    }

    /// `cargo xtask push REPOSITORY:t --sign-key` with `keys`' key.
    fn push(&self, repository: &str, keys: &str) -> Said {
        let layout = self.layout.display().to_string();
        let key = self.key_file(keys, PRIVATE_KEY_FILE);
        xtask_cli::run(
            &[
                "push",
                &self.reference(repository),
                "--layout",
                &layout,
                "--sign-key",
                &key,
            ],
            &[(xtask_cli::PASSWORD_VAR, PASSWORD)],
        )
    }

    fn pushed(&self, repository: &str) -> Repository<'_> {
        let said = self.push(repository, "ours");
        assert!(said.success, "the signed push failed:\n{}", said.all());
        self.repository(repository)
    }

    fn repository(&self, name: &str) -> Repository<'_> {
        Repository {
            http: RegistryHttp::new(&self.registry),
            name: name.to_string(),
        }
    }

    /// `cargo xtask verify REPOSITORY:t --key PUBLIC`.
    fn verify(&self, repository: &str, public: &Path) -> Said {
        let reference = self.reference(repository);
        let key = public.display().to_string();
        let said = xtask_cli::run(&["verify", &reference, "--key", &key], &[]);
        eprintln!(
            "$ cargo xtask verify {reference} --key {key}\n{}",
            said.all()
        );
        said
    }
}

/// One repository of the registry, read and written through curl.
struct Repository<'a> {
    http: RegistryHttp<'a>,
    name: String,
}

impl Repository<'_> {
    fn json(&self, reference: &str) -> Value {
        self.http.manifest_json(&self.name, reference)
    }

    /// The image index under the tag `t`.
    fn index(&self) -> (String, Value) {
        let bytes = self.http.manifest(&self.name, "t").expect("the tag t");
        (
            sha256(&bytes),
            serde_json::from_slice(&bytes).expect("JSON"),
        )
    }

    /// Each platform's manifest digest, as the registry's index lists it.
    fn platforms(&self) -> Vec<(&'static Platform, String)> {
        let (_, index) = self.index();
        PLATFORMS
            .iter()
            .map(|platform| {
                let entry = index["manifests"]
                    .as_array()
                    .expect("manifests")
                    .iter()
                    .find(|entry| {
                        entry["platform"]["architecture"] == platform.arch
                            && entry["platform"]["variant"].as_str() == platform.variant
                    })
                    .unwrap_or_else(|| panic!("{} is not in the index", platform.name));
                (platform, entry["digest"].as_str().expect("a digest").into())
            })
            .collect()
    }

    fn amd64_and_arm64(&self) -> (String, String) {
        let platforms = self.platforms();
        (platforms[0].1.clone(), platforms[1].1.clone())
    }

    /// The referrers index under the fallback tag of `digest`.
    fn referrers(&self, digest: &str) -> Value {
        self.json(&fallback_tag(digest))
    }

    fn put_referrers(&self, digest: &str, index: &Value) {
        self.put_json(&fallback_tag(digest), INDEX_TYPE, index);
    }

    /// The entry of `digest`'s referrers index for its bundle of `predicate_type`.
    fn bundle_entry(&self, digest: &str, predicate_type: &str) -> Value {
        let listing = self.referrers(digest);
        let found: Vec<&Value> = entries(&listing)
            .iter()
            .filter(|entry| {
                entry["artifactType"] == BUNDLE_TYPE
                    && entry["annotations"][BUNDLE_PREDICATE] == predicate_type
            })
            .collect();
        assert_eq!(found.len(), 1, "{predicate_type} of {digest}: {listing}");
        found[0].clone()
    }

    /// The bundle a referrer entry's manifest carries, and that manifest.
    fn bundle_of(&self, entry: &Value) -> (Vec<u8>, Value) {
        let manifest = self.json(entry["digest"].as_str().expect("a digest"));
        assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(1));
        (self.blob(&manifest["layers"][0]), manifest)
    }

    /// The `.att` manifest of `digest`.
    fn att(&self, digest: &str) -> Value {
        self.json(&att_tag(digest))
    }

    /// The `.att` layer of `digest` of `predicate_type`: its descriptor and its envelope.
    fn att_layer(&self, digest: &str, predicate_type: &str) -> (Value, Vec<u8>) {
        let att = self.att(digest);
        let layer = att["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .find(|layer| layer["annotations"][ATT_PREDICATE] == predicate_type)
            .unwrap_or_else(|| panic!("no {predicate_type} layer: {att}"))
            .clone();
        let bytes = self.blob(&layer);
        (layer, bytes)
    }

    fn blob(&self, descriptor: &Value) -> Vec<u8> {
        self.http
            .blob(&self.name, descriptor["digest"].as_str().expect("a digest"))
    }

    /// Stores `document` under `reference`; returns its descriptor.
    fn put_json(&self, reference: &str, media_type: &str, document: &Value) -> Value {
        let bytes = serde_json::to_vec(document).expect("JSON");
        let digest = self
            .http
            .put_manifest(&self.name, reference, media_type, &bytes);
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// Copies the blobs `descriptors` name from `from`.
    fn copy_blobs<'v>(
        &self,
        from: &Repository<'_>,
        descriptors: impl IntoIterator<Item = &'v Value>,
    ) {
        for descriptor in descriptors {
            self.http.put_blob(&self.name, &from.blob(descriptor));
        }
    }

    /// Stores `bytes` as a blob; returns its descriptor, of `media_type`.
    fn put_blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let digest = self.http.put_blob(&self.name, bytes);
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// A bundle referrer whose manifest names `subject` and carries `bundle`, listed with the
    /// annotations of `like` (a referrer entry) in `subject`'s referrers index, in place of the
    /// entry `replacing` (or after the others).
    fn list_bundle(&self, subject: &str, bundle: &[u8], like: &Value, replacing: Option<&Value>) {
        let (_, original) = self.bundle_of(like);
        let mut manifest = original.clone();
        let layer = self.put_blob(BUNDLE_TYPE, bundle);
        manifest["layers"][0]["digest"] = layer["digest"].clone();
        manifest["layers"][0]["size"] = layer["size"].clone();
        manifest["subject"] = self.subject_descriptor(subject);
        let stored = self.put_json_by_digest(&manifest);
        let mut entry = like.clone();
        entry["digest"] = stored["digest"].clone();
        entry["size"] = stored["size"].clone();
        self.list_entry(subject, entry, replacing);
    }

    /// `entry` in `subject`'s referrers index, in place of `replacing` or after the others.
    fn list_entry(&self, subject: &str, entry: Value, replacing: Option<&Value>) {
        let mut listing = self.referrers(subject);
        let listed = listing["manifests"].as_array_mut().expect("manifests");
        match replacing.and_then(|old| listed.iter().position(|e| e == old)) {
            Some(at) => listed[at] = entry,
            None => listed.push(entry),
        }
        self.put_referrers(subject, &listing);
    }

    /// Stores a manifest under its own digest; returns its descriptor.
    fn put_json_by_digest(&self, manifest: &Value) -> Value {
        let bytes = serde_json::to_vec(manifest).expect("JSON");
        self.put_json(&sha256(&bytes), MANIFEST_TYPE, manifest)
    }

    /// The descriptor of the manifest or index `digest`, as a `subject` names it.
    fn subject_descriptor(&self, digest: &str) -> Value {
        let bytes = self
            .http
            .manifest(&self.name, digest)
            .expect("the manifest");
        let document: Value = serde_json::from_slice(&bytes).expect("JSON");
        json!({"mediaType": document["mediaType"], "digest": digest, "size": bytes.len()})
    }

    /// A keyless signer's bundle referrer of `subject` (a descriptor), as cosign and
    /// @sigstore/oci push one: an image manifest of the bundle's artifact type, the empty
    /// config, the bundle as its one layer, the content, predicate type and date annotations.
    /// Stored by its digest; returns the entry the fallback referrers index lists it with.
    fn put_keyless_referrer(&self, subject: &Value, bundle: &[u8], predicate_type: &str) -> Value {
        let config = self.put_blob(EMPTY_TYPE, b"{}");
        let layer = self.put_blob(BUNDLE_TYPE, bundle);
        let annotations = json!({
            "dev.sigstore.bundle.content": "dsse-envelope",
            BUNDLE_PREDICATE: predicate_type,
            "org.opencontainers.image.created": KEYLESS_SIGNED_AT,
        });
        let stored = self.put_json_by_digest(&json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": BUNDLE_TYPE,
            "config": config,
            "layers": [layer],
            "subject": subject,
            "annotations": annotations,
        }));
        json!({
            "mediaType": MANIFEST_TYPE,
            "digest": stored["digest"],
            "size": stored["size"],
            "artifactType": BUNDLE_TYPE,
            "annotations": annotations,
        })
    }

    /// Replaces `digest`'s `.att` layer `old` (its descriptor) with `envelope`, or appends
    /// `envelope` when `old` is None, with `annotations`.
    fn put_att_layer(
        &self,
        digest: &str,
        old: Option<&Value>,
        envelope: &[u8],
        annotations: &Value,
    ) {
        let mut att = self.att(digest);
        let mut layer = self.put_blob(ENVELOPE_TYPE, envelope);
        layer["annotations"] = annotations.clone();
        let layers = att["layers"].as_array_mut().expect("layers");
        match old.and_then(|old| layers.iter().position(|l| l == old)) {
            Some(at) => layers[at] = layer,
            None => layers.push(layer),
        }
        self.put_json(&att_tag(digest), MANIFEST_TYPE, &att);
    }
}

fn entries(listing: &Value) -> &Vec<Value> {
    listing["manifests"].as_array().expect("manifests")
}

fn fallback_tag(digest: &str) -> String {
    format!("sha256-{}", &digest["sha256:".len()..])
}

fn att_tag(digest: &str) -> String {
    format!("{}.att", fallback_tag(digest))
}

/// A statement's payload with `from` replaced by `to` (the signature is left as it was).
fn replaced(payload: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(payload.to_vec()).expect("UTF-8");
    assert!(text.contains(from), "`{from}` is not in the statement");
    text.replace(from, to).into_bytes()
}

/// A bundle with its envelope's payload replaced by `payload`, the signature kept.
fn bundle_with_payload(bundle: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut json: Value = serde_json::from_slice(bundle).expect("a bundle is JSON");
    json["dsseEnvelope"]["payload"] = STANDARD.encode(payload).into();
    serde_json::to_vec(&json).expect("JSON")
}

/// An `.att` envelope with its payload replaced by `payload`, the signature kept.
fn envelope_with_payload(envelope: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut json: Value = serde_json::from_slice(envelope).expect("an envelope is JSON");
    json["payload"] = STANDARD.encode(payload).into();
    serde_json::to_vec(&json).expect("JSON")
}

/// The payload of a bundle's envelope.
fn bundle_payload(bundle: &[u8]) -> Vec<u8> {
    let json: Value = serde_json::from_slice(bundle).expect("a bundle is JSON");
    STANDARD
        .decode(json["dsseEnvelope"]["payload"].as_str().expect("a payload"))
        .expect("base64")
}

/// A keyless signer as the release workflow is one on GitHub: a leaf certificate for the
/// workflow's identity (an empty subject, the identity as a critical SAN URI, code signing, the
/// issuer extensions) issued by a CA of its own, Fulcio's stand-in, and the leaf's key; made with
/// OpenSSL in a directory of the test's temp dir.
struct KeylessSigner {
    dir: PathBuf,
    /// The leaf certificate, DER.
    der: Vec<u8>,
    /// The leaf certificate, PEM: what Rekor's entry names as the verifier.
    pem: Vec<u8>,
}

impl KeylessSigner {
    fn new(dir: &Path) -> KeylessSigner {
        std::fs::create_dir_all(dir).expect("the keyless signer's directory");
        let issuer_hex: String = KEYLESS_ISSUER
            .bytes()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let extensions = format!(
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=codeSigning\n\
             subjectAltName=critical,URI:{KEYLESS_IDENTITY}\n\
             1.3.6.1.4.1.57264.1.1=DER:{issuer_hex}\n\
             1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{KEYLESS_ISSUER}\n"
        );
        write(&dir.join("leaf.cnf"), extensions.as_bytes());
        for args in [
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ca.key \
             -out ca.pem -days 1 -subj /O=sigstore.dev/CN=sigstore-intermediate \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
            "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key",
            "req -new -key leaf.key -subj / -out leaf.csr",
            "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 1 \
             -extfile leaf.cnf -out leaf.pem",
            "verify -CAfile ca.pem leaf.pem",
            "x509 -in leaf.pem -outform DER -out leaf.der",
            "x509 -in leaf.pem -pubkey -noout -out leaf.pub",
        ] {
            openssl(dir, args);
        }
        let read = |file: &str| std::fs::read(dir.join(file)).expect("what OpenSSL wrote");
        KeylessSigner {
            der: read("leaf.der"),
            pem: read("leaf.pem"),
            dir: dir.to_path_buf(),
        }
    }

    /// `statement` in a bundle as cosign 3 and sigstore-js write a keyless one: a DSSE envelope
    /// the leaf's key signed (OpenSSL, over the PAE), the leaf certificate as its verification
    /// material, and a Rekor entry of Rekor's shape (its proofs made up, its body the dsse
    /// entry of this envelope).
    fn bundle(&self, statement: &Value) -> Vec<u8> {
        let payload = serde_json::to_vec(statement).expect("JSON");
        let signed = pae(intoto::MEDIA_TYPE, &payload);
        write(&self.dir.join("pae"), &signed);
        openssl(&self.dir, "dgst -sha256 -sign leaf.key -out pae.sig pae");
        let sig = std::fs::read(self.dir.join("pae.sig")).expect("the signature");
        assert!(
            openssl_verifies(&self.dir, &self.dir.join("leaf.pub"), &signed, &sig),
            "the leaf's key signed the PAE"
        );
        let envelope = json!({
            "payload": STANDARD.encode(&payload),
            "payloadType": intoto::MEDIA_TYPE,
            "signatures": [{"sig": STANDARD.encode(&sig)}],
        });
        let hash = |bytes: &[u8]| json!({"algorithm": "sha256", "value": &sha256(bytes)[7..]});
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": hash(&serde_json::to_vec(&envelope).expect("JSON")),
                "payloadHash": hash(&payload),
                "signatures": [{
                    "signature": STANDARD.encode(&sig),
                    "verifier": STANDARD.encode(&self.pem),
                }],
            },
        });
        let made_up = STANDARD.encode([7; 32]);
        let bundle = json!({
            "mediaType": BUNDLE_TYPE,
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(&self.der)},
                "tlogEntries": [{
                    "logIndex": "155690850",
                    "logId": {"keyId": "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="},
                    "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                    "integratedTime": "1796544000",
                    "inclusionPromise": {"signedEntryTimestamp": made_up},
                    "inclusionProof": {
                        "logIndex": "33786588",
                        "rootHash": made_up,
                        "treeSize": "33786600",
                        "hashes": [made_up],
                        "checkpoint": {"envelope": format!(
                            "rekor.sigstore.dev - 1193050959916656506\n33786600\n{made_up}\n\n\
                             \u{2014} rekor.sigstore.dev wNI9ajBFAiEA\n"
                        )},
                    },
                    "canonicalizedBody": STANDARD.encode(serde_json::to_vec(&body).expect("JSON")),
                }],
            },
            "dsseEnvelope": envelope,
        });
        serde_json::to_vec(&bundle).expect("JSON")
    }
}

/// `openssl ARGS` (split at spaces) in `dir`, which must succeed.
fn openssl(dir: &Path, args: &str) {
    let out = std::process::Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(out.status.success(), "openssl {args}: {}", said(&out));
}

/// The statement `cosign sign` signs keyless for the manifest `digest` (as with a key).
fn keyless_sign_statement(digest: &str) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": &digest[7..]}, "annotations": {}}],
        "predicateType": SIGN,
        "predicate": {},
    })
}

/// The provenance actions/attest-build-provenance attests for `digest` of
/// `ghcr.io/pause-rs/pause`: GitHub's build type, the workflow and its run.
fn github_provenance(digest: &str) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "ghcr.io/pause-rs/pause", "digest": {"sha256": &digest[7..]}}],
        "predicateType": PROVENANCE,
        "predicate": {
            "buildDefinition": {
                "buildType": GITHUB_BUILD_TYPE,
                "externalParameters": {"workflow": {
                    "ref": "refs/tags/v0.1.0",
                    "repository": "https://github.com/pause-rs/pause",
                    "path": ".github/workflows/release.yml",
                }},
                "internalParameters": {"github": {
                    "event_name": "push",
                    "repository_id": "900000001",
                    "repository_owner_id": "900000000",
                    "runner_environment": "github-hosted",
                }},
                "resolvedDependencies": [{
                    "uri": "git+https://github.com/pause-rs/pause@refs/tags/v0.1.0",
                    "digest": {"gitCommit": OTHER_COMMIT},
                }],
            },
            "runDetails": {
                "builder": {"id": "https://github.com/actions/runner/github-hosted"},
                "metadata": {
                    "invocationId":
                        "https://github.com/pause-rs/pause/actions/runs/12000000000/attempts/1",
                },
            },
        },
    })
}

/// What a test that runs sigstore-js needs, ready: the setup and sigstore-js's modules; None
/// after a loud skip.
fn with_sigstore_js(test: &str) -> Option<(Setup, PathBuf)> {
    if !ready(test, &needs()) {
        return None;
    }
    let modules = sigstore_js_ready(test)?;
    Some((Setup::new(), modules))
}

/// Every bundle and `.att` layer the registry holds verifies with verifiers this project did not
/// write: each bundle referrer (found through the fallback tag, its manifest naming the digest)
/// by sigstore-js with cosign.pub alone, as a statement of its annotated predicate type about
/// that digest; each `.att` layer by OpenSSL over the PAE, its statement about that manifest and
/// of its annotated type; every SBOM and provenance statement by in-toto's bindings; the signed
/// SBOM is the SBOM referrer's document, byte for byte. The index has its signature bundle; every platform its
/// signature, SBOM and provenance bundles and its SBOM and provenance `.att` layers. Then
/// `cargo xtask verify --key` passes, every cell `ok`.
#[test]
fn every_attestation_in_the_registry_verifies_with_verifiers_we_did_not_write() {
    const TEST: &str =
        "attested_push::every_attestation_in_the_registry_verifies_with_verifiers_we_did_not_write";
    if !ready(TEST, &needs()) {
        return;
    }
    let (Some(modules), Some(python)) = (sigstore_js_ready(TEST), in_toto_ready(TEST)) else {
        return;
    };
    let setup = Setup::new();
    let repository = setup.pushed("good/pause");
    let scratch = setup.dir.path();
    let key = setup.public_key();
    let (index, _) = repository.index();
    let mut subjects = vec![(None, index)];
    subjects.extend(
        repository
            .platforms()
            .into_iter()
            .map(|(platform, digest)| (Some(platform), digest)),
    );
    let mut statements = Vec::new();
    for (platform, digest) in &subjects {
        let name = platform.map_or("index", |platform| platform.name);
        let listing = repository.referrers(digest);
        let mut bundled = Vec::new();
        for entry in entries(&listing)
            .iter()
            .filter(|entry| entry["artifactType"] == BUNDLE_TYPE)
        {
            let predicate_type = entry["annotations"][BUNDLE_PREDICATE]
                .as_str()
                .expect("a predicate type");
            let (bundle, manifest) = repository.bundle_of(entry);
            assert_eq!(manifest["subject"]["digest"], digest.as_str(), "{name}");
            let out = sigstore_js(&modules, scratch, &bundle, &key, digest, predicate_type);
            assert!(
                out.status.success(),
                "{name}: sigstore-js refuses its {predicate_type} bundle: {}",
                said(&out)
            );
            bundled.push(predicate_type.to_string());
            // cosign 3's signature statement has `"predicate":{}`, which in-toto's bindings
            // take for no predicate ("Predicate object required"): the SBOM and provenance go.
            if predicate_type != SIGN {
                statements.push((
                    format!("{}-bundle-{}", name.replace('/', "-"), bundled.len()),
                    bundle_payload(&bundle),
                ));
            }
        }
        let Some(platform) = platform else {
            assert_eq!(bundled, [SIGN], "the index: its signature's bundle");
            assert!(
                repository
                    .http
                    .manifest(&repository.name, &att_tag(digest))
                    .is_none(),
                "the index has no .att image"
            );
            continue;
        };
        assert_eq!(bundled, [SIGN, SPDX, PROVENANCE], "{name}");
        let att = repository.att(digest);
        let mut attested = Vec::new();
        for layer in att["layers"].as_array().expect("layers") {
            assert_eq!(layer["mediaType"], ENVELOPE_TYPE, "{name}");
            let predicate_type = layer["annotations"][ATT_PREDICATE]
                .as_str()
                .expect("a predicate type");
            let envelope = Dsse::read(&repository.blob(layer));
            assert_eq!(envelope.payload_type, intoto::MEDIA_TYPE);
            assert!(
                envelope.openssl_verifies(scratch, &key),
                "{name}: OpenSSL refuses its {predicate_type} .att layer"
            );
            let statement = envelope.statement();
            assert_eq!(subject_digest(&statement), *digest, "{name}: about it");
            assert_eq!(statement["predicateType"], predicate_type, "{name}");
            if predicate_type == SPDX {
                let sbom = entries(&repository.referrers(digest))
                    .iter()
                    .find(|entry| entry["artifactType"] == SPDX_TYPE)
                    .map(|entry| repository.bundle_of(entry).0)
                    .expect("an SBOM referrer");
                let mut expected = br#","predicate":"#.to_vec();
                expected.extend_from_slice(&sbom);
                expected.push(b'}');
                assert!(
                    envelope.payload.ends_with(&expected),
                    "{name}: the signed SBOM is not the referrer's document, byte for byte"
                );
            }
            attested.push(predicate_type.to_string());
            statements.push((
                format!("{}-att-{predicate_type:.20}", platform.dir_name())
                    .replace([':', '/'], "-"),
                envelope.payload,
            ));
        }
        assert_eq!(attested, [SPDX, PROVENANCE], "{name}");
    }
    let out = in_toto_check(&python, scratch, &statements);
    assert!(out.status.success(), "in-toto refuses: {}", said(&out));
    eprint!("{}", said(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        4 * PLATFORMS.len(),
        "every SBOM and provenance statement, as bundles and .att layers"
    );

    let said = setup.verify("good/pause", &key);
    assert!(said.success, "verify failed:\n{}", said.all());
    for (name, cells) in verify_table(&said.stdout) {
        for column in [SIG, BUNDLE] {
            assert_eq!(cells[column], "ok", "{name}: {column}");
        }
        let attestations = if name == "index" { "-" } else { "ok" };
        assert_eq!(cells[ATTESTATIONS], attestations, "{name}");
    }
}

/// One way to tamper with a signed push in the registry, done to a fresh push of its own
/// repository, and what every verifier must then say.
struct Tampering {
    /// What is done, as a failure names it.
    name: &'static str,
    repository: &'static str,
    /// Does it; returns what the verifiers must say of it.
    tamper: fn(&Setup, &Repository) -> Expected,
}

/// What the verifiers must say of a tampering.
struct Expected {
    /// The public key every verifier is given: ours, unless the case is another key.
    key: PathBuf,
    /// A bundle sigstore-js must refuse as a digest's provenance, and what its refusal says.
    refused_bundle: Option<(Vec<u8>, String, String)>,
    /// An `.att` envelope and what OpenSSL makes of it.
    envelope: Option<(Vec<u8>, OpensslSays)>,
    /// What verify's one `error:` line names.
    error: Vec<String>,
    /// Cells of verify's table: row, column, what it reads.
    cells: Vec<(String, &'static str, &'static str)>,
    /// Lines verify prints: each holds every one of its fragments.
    lines: Vec<Vec<String>>,
}

/// What OpenSSL must say of an `.att` envelope.
enum OpensslSays {
    /// Its signature does not verify.
    Refused,
    /// Its signature verifies, and its statement is about another manifest: this digest.
    VerifiesAbout(String),
}

impl Expected {
    /// verify refuses naming `error`; linux/amd64's attestations cell reads `cell`, every other
    /// platform's `ok`.
    fn attestations(setup: &Setup, cell: &'static str, error: &[&str]) -> Expected {
        let mut cells = vec![("linux/amd64".to_string(), ATTESTATIONS, cell)];
        cells.extend(
            PLATFORMS[1..]
                .iter()
                .map(|platform| (platform.name.to_string(), ATTESTATIONS, "ok")),
        );
        Expected {
            key: setup.public_key(),
            refused_bundle: None,
            envelope: None,
            error: error.iter().map(|named| named.to_string()).collect(),
            cells,
            lines: Vec::new(),
        }
    }

    /// And sigstore-js refuses `bundle` as `digest`'s, saying `says`.
    fn refusing_bundle(self, bundle: Vec<u8>, digest: &str, says: &str) -> Expected {
        let refused_bundle = Some((bundle, digest.to_string(), says.to_string()));
        Expected {
            refused_bundle,
            ..self
        }
    }

    /// And OpenSSL says `says` of `envelope`.
    fn with_envelope(self, envelope: Vec<u8>, says: OpensslSays) -> Expected {
        Expected {
            envelope: Some((envelope, says)),
            ..self
        }
    }
}

/// Another key than the one that signed: sigstore-js (the bundle's hint is not the key's),
/// OpenSSL (the envelope's signature), and verify, whose every `.sig`, bundle and attestations
/// cell is `not by this key`.
fn another_key(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, _) = repository.amd64_and_arm64();
    let (bundle, _) = repository.bundle_of(&repository.bundle_entry(&amd64, PROVENANCE));
    let (_, envelope) = repository.att_layer(&amd64, PROVENANCE);
    let mut cells = Vec::new();
    for row in ["index"]
        .into_iter()
        .chain(PLATFORMS.iter().map(|p| p.name))
    {
        cells.push((row.to_string(), SIG, "not by this key"));
        cells.push((row.to_string(), BUNDLE, "not by this key"));
        if row != "index" {
            cells.push((row.to_string(), ATTESTATIONS, "not by this key"));
        }
    }
    Expected {
        key: PathBuf::from(setup.key_file("theirs", PUBLIC_KEY_FILE)),
        refused_bundle: Some((bundle, amd64, "key not found".to_string())),
        envelope: Some((envelope, OpensslSays::Refused)),
        error: vec!["does not verify".to_string(), "check --key".to_string()],
        cells,
        // One line for every cell, naming the key that signed and the key given.
        lines: vec![
            [
                "signed by key sha256:",
                "; cosign.pub is sha256:",
                ": check --key",
            ]
            .map(str::to_string)
            .to_vec(),
        ],
    }
}

/// The key's statement about arm64's manifest offered as amd64's: a new bundle referrer of amd64
/// carrying arm64's provenance bundle, beside amd64's own. sigstore-js refuses it for amd64's
/// digest; verify names the platform, the format, the predicate type and the manifest it is
/// about.
fn another_platforms_bundle(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, arm64) = repository.amd64_and_arm64();
    let (theirs, _) = repository.bundle_of(&repository.bundle_entry(&arm64, PROVENANCE));
    let ours = repository.bundle_entry(&amd64, PROVENANCE);
    repository.list_bundle(&amd64, &theirs, &ours, None);
    Expected::attestations(
        setup,
        "moved",
        &[
            "linux/amd64: bundle https://slsa.dev/provenance/v1",
            &format!("the key's statement about linux/arm64's manifest {arm64}"),
        ],
    )
    .refusing_bundle(theirs, &amd64, &format!("not {amd64}"))
}

/// arm64's provenance layer in amd64's `.att` image: OpenSSL verifies its signature, and its
/// statement names arm64's digest, not amd64's.
fn another_platforms_att_layer(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, arm64) = repository.amd64_and_arm64();
    let (layer, envelope) = repository.att_layer(&arm64, PROVENANCE);
    repository.put_att_layer(&amd64, None, &envelope, &layer["annotations"]);
    Expected::attestations(
        setup,
        "moved",
        &[
            "linux/amd64: .att https://slsa.dev/provenance/v1",
            "linux/arm64's manifest",
        ],
    )
    .with_envelope(envelope, OpensslSays::VerifiesAbout(arm64))
}

/// What a changed payload says instead: amd64's provenance made to say linux/arm64.
const CHANGED: (&str, &str) = ("\"linux/amd64\"", "\"linux/arm64\"");

/// A bundle's payload changed after signing, in place of the signed one: sigstore-js refuses it;
/// verify reads `changed` (a bundle names the key, and its signature fails).
fn a_changed_bundle(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, _) = repository.amd64_and_arm64();
    let entry = repository.bundle_entry(&amd64, PROVENANCE);
    let (bundle, _) = repository.bundle_of(&entry);
    let (from, to) = CHANGED;
    let changed = bundle_with_payload(&bundle, &replaced(&bundle_payload(&bundle), from, to));
    repository.list_bundle(&amd64, &changed, &entry, Some(&entry));
    Expected::attestations(
        setup,
        "changed",
        &[
            "linux/amd64: bundle https://slsa.dev/provenance/v1",
            "changed after signing",
        ],
    )
    .refusing_bundle(changed, &amd64, "signature verification failed")
}

/// An `.att` envelope's payload changed after signing: OpenSSL refuses it; verify reads `not by
/// this key` (an envelope names no key: a changed one and another signer's look alike).
fn a_changed_att_layer(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, _) = repository.amd64_and_arm64();
    let (layer, envelope) = repository.att_layer(&amd64, PROVENANCE);
    let payload = Dsse::read(&envelope).payload;
    let (from, to) = CHANGED;
    let changed = envelope_with_payload(&envelope, &replaced(&payload, from, to));
    repository.put_att_layer(&amd64, Some(&layer), &changed, &layer["annotations"]);
    Expected::attestations(
        setup,
        "not by this key",
        &[
            "linux/amd64: .att https://slsa.dev/provenance/v1",
            "another signer's, or changed after signing",
        ],
    )
    .with_envelope(changed, OpensslSays::Refused)
}

/// arm64's provenance referrer listed in amd64's referrers index, its manifest still naming
/// arm64: sigstore-js refuses the bundle as amd64's; verify names it moved.
fn a_bundle_moved_from_another_manifest(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, arm64) = repository.amd64_and_arm64();
    let entry = repository.bundle_entry(&arm64, PROVENANCE);
    repository.list_entry(&amd64, entry.clone(), None);
    let (bundle, manifest) = repository.bundle_of(&entry);
    assert_eq!(manifest["subject"]["digest"], arm64.as_str());
    let listed = &entry["digest"].as_str().expect("a digest")[..19];
    Expected::attestations(
        setup,
        "moved",
        &[
            "linux/amd64: bundle https://slsa.dev/provenance/v1",
            &format!("({listed})"),
            "linux/arm64's manifest",
            "moved here from another manifest",
        ],
    )
    .refusing_bundle(bundle, &amd64, &format!("not {amd64}"))
}

/// arm64's SBOM layer copied into amd64's `.att` image: its statement is arm64's; verify names it
/// moved.
fn an_att_layer_moved_from_another_manifest(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, arm64) = repository.amd64_and_arm64();
    let (layer, envelope) = repository.att_layer(&arm64, SPDX);
    repository.put_att_layer(&amd64, None, &envelope, &layer["annotations"]);
    Expected::attestations(
        setup,
        "moved",
        &[
            "linux/amd64: .att https://spdx.dev/Document",
            "linux/arm64's manifest",
        ],
    )
    .with_envelope(envelope, OpensslSays::VerifiesAbout(arm64))
}

/// amd64's provenance left out of its `.att` image, its signature's bundle out of its referrers
/// index: verify reads `missing`, naming both.
fn a_missing_attestation(setup: &Setup, repository: &Repository) -> Expected {
    let (amd64, _) = repository.amd64_and_arm64();
    let (layer, _) = repository.att_layer(&amd64, PROVENANCE);
    let mut att = repository.att(&amd64);
    att["layers"]
        .as_array_mut()
        .expect("layers")
        .retain(|kept| *kept != layer);
    repository.put_json(&att_tag(&amd64), MANIFEST_TYPE, &att);
    let signature = repository.bundle_entry(&amd64, SIGN);
    let mut listing = repository.referrers(&amd64);
    listing["manifests"]
        .as_array_mut()
        .expect("manifests")
        .retain(|kept| *kept != signature);
    repository.put_referrers(&amd64, &listing);
    let amd64_reads = |column, cell| ("linux/amd64".to_string(), column, cell);
    Expected {
        key: setup.public_key(),
        refused_bundle: None,
        envelope: None,
        error: Vec::new(),
        cells: vec![
            amd64_reads(BUNDLE, "missing"),
            amd64_reads(ATTESTATIONS, "missing"),
            amd64_reads(SIG, "ok"),
        ],
        lines: [
            "linux/amd64: bundle https://sigstore.dev/cosign/sign/v1: no bundle among its referrers (the tag sha256-",
            "linux/amd64: .att https://slsa.dev/provenance/v1: none in its .att image",
        ]
        .map(|line| vec![line.to_string()])
        .to_vec(),
    }
}

/// Statements the key did sign that do not say what the checkout says: amd64's provenance
/// naming another commit (in its `.att` image), its SBOM statement holding another document
/// than the SBOM referrer (as a bundle). The verifiers of signatures accept both, rightly;
/// verify names the commit to check out, and the SBOM that differs.
fn signed_claims_the_checkout_does_not_make(setup: &Setup, repository: &Repository) -> Expected {
    let key = setup.signing_key();
    let (amd64, _) = repository.amd64_and_arm64();

    let (layer, envelope) = repository.att_layer(&amd64, PROVENANCE);
    let statement = Dsse::read(&envelope).statement();
    let commit =
        statement["predicate"]["buildDefinition"]["externalParameters"]["source"]["commit"]
            .as_str()
            .expect("the provenance names its commit")
            .to_string();
    let payload = replaced(&Dsse::read(&envelope).payload, &commit, OTHER_COMMIT);
    let resigned = Envelope::sign(&key, intoto::MEDIA_TYPE, &payload).to_json();
    repository.put_att_layer(&amd64, Some(&layer), &resigned, &layer["annotations"]);

    let entry = repository.bundle_entry(&amd64, SPDX);
    let (bundle, _) = repository.bundle_of(&entry);
    let payload = replaced(&bundle_payload(&bundle), "\"SPDX-2.3\"", "\"SPDX-2.2\"");
    let envelope = Envelope::sign(&key, intoto::MEDIA_TYPE, &payload);
    let resigned = bundle::bundle(&envelope, &key.public_key()).expect("a bundle");
    repository.list_bundle(&amd64, &resigned.data, &entry, Some(&entry));

    Expected {
        lines: vec![vec![
            "linux/amd64: bundle https://spdx.dev/Document".to_string(),
            "the signed SBOM is not the SBOM referrer's document".to_string(),
        ]],
        ..Expected::attestations(
            setup,
            "other commit",
            &[
                "linux/amd64: .att https://slsa.dev/provenance/v1",
                &format!("built from commit {OTHER_COMMIT}, this checkout is {commit}"),
                &format!("`git checkout {OTHER_COMMIT}`"),
            ],
        )
    }
}

/// Every way to tamper with a signed push this suite knows, each in a repository of its own.
const TAMPERINGS: &[Tampering] = &[
    Tampering {
        name: "another key",
        repository: "keyed/pause",
        tamper: another_key,
    },
    Tampering {
        name: "another platform's statement as a bundle",
        repository: "subject-bundle/pause",
        tamper: another_platforms_bundle,
    },
    Tampering {
        name: "another platform's statement as an .att layer",
        repository: "subject-att/pause",
        tamper: another_platforms_att_layer,
    },
    Tampering {
        name: "a bundle changed after signing",
        repository: "changed-bundle/pause",
        tamper: a_changed_bundle,
    },
    Tampering {
        name: "an .att layer changed after signing",
        repository: "changed-att/pause",
        tamper: a_changed_att_layer,
    },
    Tampering {
        name: "a bundle moved from another manifest",
        repository: "moved-bundle/pause",
        tamper: a_bundle_moved_from_another_manifest,
    },
    Tampering {
        name: "an .att layer moved from another manifest",
        repository: "moved-att/pause",
        tamper: an_att_layer_moved_from_another_manifest,
    },
    Tampering {
        name: "a missing attestation",
        repository: "missing/pause",
        tamper: a_missing_attestation,
    },
    Tampering {
        name: "signed claims the checkout does not make",
        repository: "claims/pause",
        tamper: signed_claims_the_checkout_does_not_make,
    },
];

impl Tampering {
    /// Pushes, tampers, and holds every verifier to what it must say.
    fn check(&self, setup: &Setup, modules: &Path) {
        let repository = setup.pushed(self.repository);
        let expected = (self.tamper)(setup, &repository);
        let scratch = setup.dir.path();
        if let Some((bundle, digest, named)) = &expected.refused_bundle {
            let out = sigstore_js(modules, scratch, bundle, &expected.key, digest, PROVENANCE);
            let text = said(&out);
            assert!(!out.status.success(), "sigstore-js accepted it: {text}");
            eprint!("sigstore-js refuses {}: {text}", self.name);
            assert!(text.contains(named.as_str()), "`{named}` not in: {text}");
        }
        match &expected.envelope {
            Some((envelope, OpensslSays::Refused)) => assert!(
                !Dsse::read(envelope).openssl_verifies(scratch, &expected.key),
                "OpenSSL verified it"
            ),
            Some((envelope, OpensslSays::VerifiesAbout(other))) => {
                let read = Dsse::read(envelope);
                assert!(
                    read.openssl_verifies(scratch, &expected.key),
                    "the signature holds"
                );
                assert_eq!(
                    &subject_digest(&read.statement()),
                    other,
                    "and names another manifest"
                );
            }
            None => {}
        }
        let said = setup.verify(self.repository, &expected.key);
        let line = said.error_line(self.name);
        for named in &expected.error {
            assert!(line.contains(named.as_str()), "`{named}` not in: {line}");
        }
        eprintln!("verify, {}: {line}", self.name);
        let rows = verify_table(&said.stdout);
        for (row, column, cell) in &expected.cells {
            assert_eq!(
                rows[row][*column], *cell,
                "{row}: {column}\n{}",
                said.stdout
            );
        }
        for fragments in &expected.lines {
            assert!(
                said.stderr.lines().any(|line| fragments
                    .iter()
                    .all(|fragment| line.contains(fragment.as_str()))),
                "no line holding {fragments:?} in:\n{}",
                said.stderr
            );
        }
    }
}

/// What a caught panic said: an assertion's message.
fn panic_message(panicked: &(dyn std::any::Any + Send)) -> &str {
    panicked
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panicked.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}

/// Each tampering in [`TAMPERINGS`], on a signed push of one image with one key, is refused by
/// every verifier that can see it: sigstore-js, OpenSSL, and verify (one `error:` line naming the
/// platform, the format, the predicate type and what differs). Every case runs; the failure
/// names each one that was not refused as it should be.
#[test]
fn every_tampering_is_refused_by_every_verifier() {
    const TEST: &str = "attested_push::every_tampering_is_refused_by_every_verifier";
    let Some((setup, modules)) = with_sigstore_js(TEST) else {
        return;
    };
    let failed: Vec<String> = TAMPERINGS
        .iter()
        .filter_map(|tampering| {
            let checked =
                panic::catch_unwind(AssertUnwindSafe(|| tampering.check(&setup, &modules)));
            checked
                .err()
                .map(|panicked| format!("{}: {}", tampering.name, panic_message(&*panicked)))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "not refused as it should be:\n{}",
        failed.join("\n")
    );
}

/// What others put beside the image stays: another signer's `.att` image (their SBOM and
/// provenance envelopes) and their bundle referrer in the fallback index, and keyless signers'
/// bundle referrers (the release workflow's `cosign sign` of the index and of amd64, and
/// actions/attest-build-provenance's provenance of amd64, as [`KeylessSigner`] makes them), are
/// kept, whole and first, and ours are added once; a second push changes none of it, nor one
/// over the index's referrers as the release leaves them (the keyless one after ours); verify
/// passes, others' attestations aside. Where none of a kind is the key's and the first found is
/// keyless, verify's line says it is keyless and how to check it.
#[test]
fn a_signed_push_keeps_others_attestations() {
    const TEST: &str = "attested_push::a_signed_push_keeps_others_attestations";
    if !ready(TEST, &needs()) {
        return;
    }
    let setup = Setup::new();

    // Theirs first: another key's signed push to a scratch repository, whose .att image and
    // provenance bundle referrer of amd64 are then planted where ours will go.
    let scratch = setup.repository("scratch/pause");
    let said = setup.push("scratch/pause", "theirs");
    assert!(said.success, "their push failed:\n{}", said.all());
    let kept = setup.repository("kept/pause");
    let (index, _) = scratch.index();
    let (amd64, _) = scratch.amd64_and_arm64();
    let mut their_att = scratch.att(&amd64);
    kept.copy_blobs(
        &scratch,
        their_att["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .chain([&their_att["config"]]),
    );
    their_att["org.example.field"] = "theirs".into();
    kept.put_json(&att_tag(&amd64), MANIFEST_TYPE, &their_att);
    let their_entry = scratch.bundle_entry(&amd64, PROVENANCE);
    let (_, mut their_referrer) = scratch.bundle_of(&their_entry);
    kept.copy_blobs(
        &scratch,
        [&their_referrer["layers"][0], &their_referrer["config"]],
    );
    // The subject need not exist yet: docker-registry 2.8 stores a referrer before its subject.
    their_referrer["annotations"]["org.example.note"] = "theirs".into();
    let stored = kept.put_json_by_digest(&their_referrer);
    let mut listed = their_entry.clone();
    listed["digest"] = stored["digest"].clone();
    listed["size"] = stored["size"].clone();
    // And the keyless ones, listed as cosign and @sigstore/oci list theirs.
    let keyless = KeylessSigner::new(&setup.dir.path().join("keyless"));
    let keyless_bundles = [
        (
            &index,
            keyless.bundle(&keyless_sign_statement(&index)),
            SIGN,
        ),
        (
            &amd64,
            keyless.bundle(&keyless_sign_statement(&amd64)),
            SIGN,
        ),
        (
            &amd64,
            keyless.bundle(&github_provenance(&amd64)),
            PROVENANCE,
        ),
    ];
    let keyless_entries: Vec<(&String, Vec<u8>, Value)> = keyless_bundles
        .into_iter()
        .map(|(subject, bundle, predicate_type)| {
            let entry = kept.put_keyless_referrer(
                &scratch.subject_descriptor(subject),
                &bundle,
                predicate_type,
            );
            (subject, bundle, entry)
        })
        .collect();
    let planted = |subject: &String| -> Vec<Value> {
        let theirs = (subject == &amd64).then(|| listed.clone());
        theirs
            .into_iter()
            .chain(
                keyless_entries
                    .iter()
                    .filter(|(of, _, _)| *of == subject)
                    .map(|(_, _, entry)| entry.clone()),
            )
            .collect()
    };
    for subject in [&index, &amd64] {
        kept.put_referrers(
            subject,
            &json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": planted(subject)}),
        );
    }
    let their_layers = their_att["layers"].clone();

    let said = setup.push("kept/pause", "ours");
    assert!(
        said.success,
        "our push beside theirs failed:\n{}",
        said.all()
    );
    let att = kept.att(&amd64);
    let layers = att["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 4, "theirs and ours: {att}");
    assert_eq!(layers[..2], their_layers.as_array().expect("layers")[..]);
    assert_eq!(att["org.example.field"], "theirs", "their field, kept");
    // Ours after the planted: the index's signature bundle; amd64's SBOM and three bundles.
    for (subject, ours) in [(&index, 1), (&amd64, 1 + 3)] {
        let planted = planted(subject);
        let listing = kept.referrers(subject);
        let listed_now = entries(&listing);
        assert_eq!(
            listed_now.get(..planted.len()),
            Some(&planted[..]),
            "theirs, first and whole: {listing}"
        );
        assert_eq!(
            listed_now.len(),
            planted.len() + ours,
            "theirs, then ours: {listing}"
        );
    }
    for (subject, bundle, entry) in &keyless_entries {
        let (stored, manifest) = kept.bundle_of(entry);
        assert!(
            stored == *bundle && manifest["subject"]["digest"] == subject.as_str(),
            "a keyless bundle referrer changed: {manifest}"
        );
    }
    let tags = || {
        [att_tag(&amd64), fallback_tag(&amd64), fallback_tag(&index)]
            .map(|tag| kept.http.manifest("kept/pause", &tag))
    };
    let before = tags();
    let said = setup.push("kept/pause", "ours");
    assert!(said.success, "the second push failed:\n{}", said.all());
    assert!(
        before == tags(),
        "the second push changed the .att image or a referrers index"
    );
    let said = setup.verify("kept/pause", &setup.public_key());
    assert!(said.success, "verify failed beside theirs:\n{}", said.all());

    // As the release leaves the index: ours, then the workflow's keyless signature. Pushed
    // again (a release run again), nothing changes, and verify passes.
    let keyless_last: Vec<Value> = entries(&kept.referrers(&index))
        .iter()
        .filter(|entry| !planted(&index).contains(entry))
        .cloned()
        .chain(planted(&index))
        .collect();
    kept.put_referrers(
        &index,
        &json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": keyless_last}),
    );
    let before = tags();
    let said = setup.push("kept/pause", "ours");
    assert!(
        said.success,
        "the push over the release's failed:\n{}",
        said.all()
    );
    assert!(
        before == tags(),
        "the push changed a referrers index that lists ours before the keyless bundle"
    );
    let said = setup.verify("kept/pause", &setup.public_key());
    assert!(
        said.success,
        "verify failed after the keyless bundle:\n{}",
        said.all()
    );

    // The index's signature bundles without ours: the keyless one is all there is, and verify
    // says what it is.
    kept.put_referrers(
        &index,
        &json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": planted(&index)}),
    );
    let said = setup.verify("kept/pause", &setup.public_key());
    let line = said.error_line("verify with keyless signatures of the index only");
    let table = verify_table(&said.stdout);
    assert_eq!(table["index"][BUNDLE], "not by this key", "{}", said.stdout);
    xtask_cli::assert_names(
        &line,
        &[
            &format!("index: bundle {SIGN}: 1 found, none signed by the key sha256:"),
            ": it is signed keyless (a certificate for an OIDC identity, not a key): check it \
             with `cosign verify --certificate-identity",
            "`gh attestation verify`",
        ],
    );
}

/// A tag the signed push extends, holding what it cannot extend, planted before the push.
struct Malformed {
    /// Which tag, as a failure names it.
    what: &'static str,
    repository: &'static str,
    /// Plants it in the repository, copying from another key's push of the same image; returns
    /// the tag.
    plant: fn(refused: &Repository, theirs: &Repository) -> String,
    /// What the refusal says the tag does not hold.
    refusal: &'static str,
    /// Whether the push stops before any blob: the `.sig` and `.att` tags are read first.
    uploads_nothing: bool,
}

const MALFORMED: &[Malformed] = &[
    Malformed {
        what: "an image index where the index's .sig image would be",
        repository: "refused-sig/pause",
        plant: |refused, theirs| {
            let (index, _) = theirs.index();
            let tag = format!("{}.sig", fallback_tag(&index));
            let planted = json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": []});
            refused.put_json(&tag, INDEX_TYPE, &planted);
            tag
        },
        refusal: "does not hold an image manifest",
        uploads_nothing: true,
    },
    Malformed {
        what: "an image index where arm64's .att image would be",
        repository: "refused-att/pause",
        plant: |refused, theirs| {
            let (_, arm64) = theirs.amd64_and_arm64();
            let tag = att_tag(&arm64);
            let planted = json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": []});
            refused.put_json(&tag, INDEX_TYPE, &planted);
            tag
        },
        refusal: "does not hold an image manifest of cosign's",
        uploads_nothing: true,
    },
    Malformed {
        what: "another tool's image manifest where amd64's referrers index would be",
        repository: "refused-referrers/pause",
        plant: |refused, theirs| {
            let (amd64, _) = theirs.amd64_and_arm64();
            let tag = fallback_tag(&amd64);
            let planted = theirs.att(&amd64);
            refused.copy_blobs(
                theirs,
                planted["layers"]
                    .as_array()
                    .expect("layers")
                    .iter()
                    .chain([&planted["config"]]),
            );
            refused.put_json(&tag, MANIFEST_TYPE, &planted);
            tag
        },
        refusal: "does not hold an image index",
        uploads_nothing: false,
    },
];

/// A `.sig` tag, a `.att` tag or a fallback referrers tag holding something else than cosign's
/// manifest or an image index stops the signed push with one line naming that tag and what it
/// does not hold, before anything is written: the tag stays as it was; no other `.sig`, `.att` or
/// referrers tag is written, and the image gets no tag. Every case runs; the failure names each
/// one that was not refused as it should be.
#[test]
fn a_malformed_tag_is_refused_naming_it() {
    const TEST: &str = "attested_push::a_malformed_tag_is_refused_naming_it";
    if !ready(TEST, &needs()) {
        return;
    }
    let setup = Setup::new();
    let said = setup.push("theirs/pause", "theirs");
    assert!(said.success, "their push failed:\n{}", said.all());
    let theirs = setup.repository("theirs/pause");
    let (index, _) = theirs.index();
    let mut digests = vec![index];
    digests.extend(theirs.platforms().into_iter().map(|(_, digest)| digest));

    let failed: Vec<String> = MALFORMED
        .iter()
        .filter_map(|malformed| {
            let checked = panic::catch_unwind(AssertUnwindSafe(|| {
                let name = malformed.repository;
                let refused = setup.repository(name);
                let tag = (malformed.plant)(&refused, &theirs);
                let before = refused.http.manifest(name, &tag);
                let uploads = setup.registry.blob_uploads(name);
                let said = setup.push(name, "ours");
                let line = said.error_line(malformed.what);
                eprintln!("push over {}: {line}", malformed.what);
                let host = setup.registry.host();
                for named in [
                    format!("{host}/{name}:{tag}"),
                    malformed.refusal.to_string(),
                ] {
                    assert!(line.contains(&named), "`{named}` not in: {line}");
                }
                assert_eq!(refused.http.manifest(name, &tag), before, "{tag} changed");
                if malformed.uploads_nothing {
                    assert_eq!(
                        setup.registry.blob_uploads(name),
                        uploads,
                        "blobs were uploaded"
                    );
                }
                for digest in &digests {
                    for written in [
                        format!("{}.sig", fallback_tag(digest)),
                        att_tag(digest),
                        fallback_tag(digest),
                    ] {
                        assert!(
                            written == tag || refused.http.manifest(name, &written).is_none(),
                            "{written} was written before every tag was read"
                        );
                    }
                }
                assert_eq!(refused.http.manifest(name, "t"), None, "tagged");
            }));
            checked
                .err()
                .map(|panicked| format!("{}: {}", malformed.what, panic_message(&*panicked)))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "not refused as it should be:\n{}",
        failed.join("\n")
    );
}
