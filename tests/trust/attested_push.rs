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
//! naming the platform, the format, the predicate type and what differs): another key; a
//! statement about another platform's manifest; a payload changed after signing; an attestation
//! moved to another manifest's referrers or `.att` image; an attestation missing; one the key
//! signed that names another commit, or another SBOM. And the push beside what others put there:
//! their `.att` layers and referrers kept, whole and first, ours added once over two pushes; a
//! malformed `.att` or referrers tag refused, naming it, nothing of others' changed.
//!
//! Each test builds its own image (`cargo xtask image --out`, at the checkout's commit) and its
//! own key pair (`cargo xtask keygen`), as [`super::verify`] does.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::verifiers::{
    Dsse, OPENSSL, in_toto_check, in_toto_ready, said, sigstore_js, sigstore_js_ready,
    subject_digest,
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

    /// verify fails on `repository`, its one error line naming each of `named`, the row of
    /// linux/amd64's `column` reading `cell`; returns the error line.
    fn verify_fails(&self, repository: &str, column: &str, cell: &str, named: &[&str]) -> String {
        let said = self.verify(repository, &self.public_key());
        let line = said.error_line(repository);
        for named in named {
            assert!(line.contains(named), "`{named}` not in: {line}");
        }
        let rows = verify_table(&said.stdout);
        assert_eq!(rows["linux/amd64"][column], cell, "{}", said.stdout);
        for platform in &PLATFORMS[1..] {
            assert_eq!(
                rows[platform.name][column], "ok",
                "{}: only amd64 was tampered with",
                platform.name
            );
        }
        line
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

    /// The descriptor of the manifest `digest`, as a `subject` names it.
    fn subject_descriptor(&self, digest: &str) -> Value {
        let bytes = self
            .http
            .manifest(&self.name, digest)
            .expect("the manifest");
        json!({"mediaType": MANIFEST_TYPE, "digest": digest, "size": bytes.len()})
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

/// What a test that runs sigstore-js needs, ready: the setup and sigstore-js's modules; None
/// after a loud skip.
fn with_sigstore_js(test: &str) -> Option<(Setup, PathBuf)> {
    if !ready(test, &needs()) {
        return None;
    }
    let modules = sigstore_js_ready(test)?;
    Some((Setup::new(), modules))
}

/// sigstore-js on `bundle` with the key file `key` as `digest`'s provenance: it must refuse it
/// (`why`), saying `named`.
fn sigstore_js_refuses(
    modules: &Path,
    scratch: &Path,
    (bundle, key, digest): (&[u8], &Path, &str),
    why: &str,
    named: &str,
) {
    let out = sigstore_js(modules, scratch, bundle, key, digest, PROVENANCE);
    let text = said(&out);
    assert!(!out.status.success(), "sigstore-js accepted {why}: {text}");
    eprint!("sigstore-js refuses {why}: {text}");
    assert!(text.contains(named), "`{named}` not in: {text}");
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

/// Checked with another key than the one that signed, every verifier refuses: sigstore-js (the
/// bundle's hint is not the key's), OpenSSL (the envelope's signature), and verify, whose every
/// `.sig`, bundle and attestations cell is `not by this key`.
#[test]
fn another_key_is_refused_by_every_verifier() {
    const TEST: &str = "attested_push::another_key_is_refused_by_every_verifier";
    let Some((setup, modules)) = with_sigstore_js(TEST) else {
        return;
    };
    let repository = setup.pushed("keyed/pause");
    let (amd64, _) = repository.amd64_and_arm64();
    let theirs = PathBuf::from(setup.key_file("theirs", PUBLIC_KEY_FILE));
    let scratch = setup.dir.path();

    let (bundle, _) = repository.bundle_of(&repository.bundle_entry(&amd64, PROVENANCE));
    sigstore_js_refuses(
        &modules,
        scratch,
        (&bundle, &theirs, &amd64),
        "another key",
        "key not found",
    );
    let (_, envelope) = repository.att_layer(&amd64, PROVENANCE);
    assert!(
        !Dsse::read(&envelope).openssl_verifies(scratch, &theirs),
        "OpenSSL verified with another key"
    );

    let said = setup.verify("keyed/pause", &theirs);
    let line = said.error_line("another key");
    for named in ["does not verify", "none by the key"] {
        assert!(line.contains(named), "`{named}` not in: {line}");
    }
    for (name, cells) in verify_table(&said.stdout) {
        for column in [SIG, BUNDLE] {
            assert_eq!(cells[column], "not by this key", "{name}: {column}");
        }
        if name != "index" {
            assert_eq!(cells[ATTESTATIONS], "not by this key", "{name}");
        }
    }
    for line in [
        "linux/amd64: .att https://slsa.dev/provenance/v1: 1 found, none signed by the key",
        "linux/amd64: bundle https://spdx.dev/Document: 1 found, none signed by the key",
    ] {
        assert!(
            said.stdout.contains(line),
            "`{line}` not in:\n{}",
            said.stdout
        );
    }
}

/// A statement the key signed about arm64's manifest, offered as amd64's: a new bundle referrer
/// of amd64 carrying arm64's provenance bundle, and arm64's provenance layer in amd64's `.att`
/// image. sigstore-js refuses the bundle for amd64's digest; OpenSSL verifies the layer's
/// signature, and its statement names arm64's digest, not amd64's; verify fails, naming the
/// platform, the format, the predicate type and the manifest it is about.
#[test]
fn a_statement_about_another_platform_is_refused() {
    const TEST: &str = "attested_push::a_statement_about_another_platform_is_refused";
    let Some((setup, modules)) = with_sigstore_js(TEST) else {
        return;
    };
    let scratch = setup.dir.path();
    let key = setup.public_key();

    // A bundle: arm64's provenance in a referrer of amd64, beside amd64's own.
    let repository = setup.pushed("subject-bundle/pause");
    let (amd64, arm64) = repository.amd64_and_arm64();
    let (theirs, _) = repository.bundle_of(&repository.bundle_entry(&arm64, PROVENANCE));
    let ours = repository.bundle_entry(&amd64, PROVENANCE);
    repository.list_bundle(&amd64, &theirs, &ours, None);
    sigstore_js_refuses(
        &modules,
        scratch,
        (&theirs, &key, &amd64),
        "arm64's provenance as amd64's",
        &format!("not {amd64}"),
    );
    setup.verify_fails(
        "subject-bundle/pause",
        ATTESTATIONS,
        "moved",
        &[
            "linux/amd64: bundle https://slsa.dev/provenance/v1",
            &format!("the key's statement about linux/arm64's manifest {arm64}"),
        ],
    );

    // An .att layer: arm64's provenance in amd64's .att image.
    let repository = setup.pushed("subject-att/pause");
    let (amd64, arm64) = repository.amd64_and_arm64();
    let (layer, envelope) = repository.att_layer(&arm64, PROVENANCE);
    repository.put_att_layer(&amd64, None, &envelope, &layer["annotations"]);
    let read = Dsse::read(&envelope);
    assert!(read.openssl_verifies(scratch, &key), "the signature holds");
    assert_eq!(
        subject_digest(&read.statement()),
        arm64,
        "and names arm64's manifest, not amd64's"
    );
    setup.verify_fails(
        "subject-att/pause",
        ATTESTATIONS,
        "moved",
        &[
            "linux/amd64: .att https://slsa.dev/provenance/v1",
            "linux/arm64's manifest",
        ],
    );
}

/// A payload changed after signing (amd64's provenance made to say linux/arm64), in place of
/// the signed one: sigstore-js refuses the bundle and OpenSSL the `.att` layer; verify fails,
/// `changed` for the bundle (it names the key, and its signature fails), `not by this key` for
/// the `.att` layer (an envelope names no key: a changed one and another signer's look alike).
#[test]
fn a_changed_payload_is_refused() {
    const TEST: &str = "attested_push::a_changed_payload_is_refused";
    let Some((setup, modules)) = with_sigstore_js(TEST) else {
        return;
    };
    let scratch = setup.dir.path();
    let key = setup.public_key();
    let (from, to) = ("\"linux/amd64\"", "\"linux/arm64\"");

    let repository = setup.pushed("changed-bundle/pause");
    let (amd64, _) = repository.amd64_and_arm64();
    let entry = repository.bundle_entry(&amd64, PROVENANCE);
    let (bundle, _) = repository.bundle_of(&entry);
    let changed = bundle_with_payload(&bundle, &replaced(&bundle_payload(&bundle), from, to));
    repository.list_bundle(&amd64, &changed, &entry, Some(&entry));
    sigstore_js_refuses(
        &modules,
        scratch,
        (&changed, &key, &amd64),
        "a changed payload",
        "signature verification failed",
    );
    setup.verify_fails(
        "changed-bundle/pause",
        ATTESTATIONS,
        "changed",
        &[
            "linux/amd64: bundle https://slsa.dev/provenance/v1",
            "changed after signing",
        ],
    );

    let repository = setup.pushed("changed-att/pause");
    let (amd64, _) = repository.amd64_and_arm64();
    let (layer, envelope) = repository.att_layer(&amd64, PROVENANCE);
    let payload = Dsse::read(&envelope).payload;
    let changed = envelope_with_payload(&envelope, &replaced(&payload, from, to));
    assert!(
        !Dsse::read(&changed).openssl_verifies(scratch, &key),
        "OpenSSL verified a changed payload"
    );
    repository.put_att_layer(&amd64, Some(&layer), &changed, &layer["annotations"]);
    setup.verify_fails(
        "changed-att/pause",
        ATTESTATIONS,
        "not by this key",
        &[
            "linux/amd64: .att https://slsa.dev/provenance/v1",
            "another signer's, or changed after signing",
        ],
    );
}

/// An attestation moved to another manifest's referrers: arm64's provenance referrer listed in
/// amd64's referrers index (its manifest still naming arm64), arm64's SBOM layer copied into
/// amd64's `.att` image. sigstore-js refuses the bundle as amd64's; the layer's statement is
/// arm64's; verify fails naming each.
#[test]
fn an_attestation_moved_to_another_manifest_is_refused() {
    const TEST: &str = "attested_push::an_attestation_moved_to_another_manifest_is_refused";
    let Some((setup, modules)) = with_sigstore_js(TEST) else {
        return;
    };
    let scratch = setup.dir.path();
    let key = setup.public_key();

    let repository = setup.pushed("moved-bundle/pause");
    let (amd64, arm64) = repository.amd64_and_arm64();
    let entry = repository.bundle_entry(&arm64, PROVENANCE);
    repository.list_entry(&amd64, entry.clone(), None);
    let (bundle, manifest) = repository.bundle_of(&entry);
    assert_eq!(manifest["subject"]["digest"], arm64.as_str());
    sigstore_js_refuses(
        &modules,
        scratch,
        (&bundle, &key, &amd64),
        "arm64's bundle listed for amd64",
        &format!("not {amd64}"),
    );
    let line = setup.verify_fails(
        "moved-bundle/pause",
        ATTESTATIONS,
        "moved",
        &[
            "linux/amd64: bundle https://slsa.dev/provenance/v1",
            &format!("({})", &entry["digest"].as_str().expect("a digest")[..19]),
            "linux/arm64's manifest",
            "moved here from another manifest",
        ],
    );
    eprintln!("verify, a moved bundle: {line}");

    let repository = setup.pushed("moved-att/pause");
    let (amd64, arm64) = repository.amd64_and_arm64();
    let (layer, envelope) = repository.att_layer(&arm64, SPDX);
    repository.put_att_layer(&amd64, None, &envelope, &layer["annotations"]);
    assert_eq!(
        subject_digest(&Dsse::read(&envelope).statement()),
        arm64,
        "the moved layer's statement is arm64's"
    );
    let line = setup.verify_fails(
        "moved-att/pause",
        ATTESTATIONS,
        "moved",
        &[
            "linux/amd64: .att https://spdx.dev/Document",
            "linux/arm64's manifest",
        ],
    );
    eprintln!("verify, a moved .att layer: {line}");
}

/// An attestation missing: amd64's provenance left out of its `.att` image, its signature's
/// bundle out of its referrers index. verify fails `missing`, naming both.
#[test]
fn a_missing_attestation_is_named() {
    const TEST: &str = "attested_push::a_missing_attestation_is_named";
    if !ready(TEST, &needs()) {
        return;
    }
    let setup = Setup::new();
    let repository = setup.pushed("missing/pause");
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

    let said = setup.verify("missing/pause", &setup.public_key());
    said.error_line("missing attestations");
    let rows = verify_table(&said.stdout);
    assert_eq!(rows["linux/amd64"][BUNDLE], "missing");
    assert_eq!(rows["linux/amd64"][ATTESTATIONS], "missing");
    assert_eq!(rows["linux/amd64"][SIG], "ok");
    for line in [
        "linux/amd64: bundle https://sigstore.dev/cosign/sign/v1: no bundle among its referrers (the tag sha256-",
        "linux/amd64: .att https://slsa.dev/provenance/v1: none in its .att image",
    ] {
        assert!(
            said.stdout.contains(line),
            "`{line}` not in:\n{}",
            said.stdout
        );
    }
}

/// Statements the key did sign that do not say what the checkout says: amd64's provenance
/// naming another commit (in its `.att` image), its SBOM statement holding another document
/// than the SBOM referrer (as a bundle). The verifiers of signatures accept both, rightly;
/// verify fails, naming the commit to check out, and the SBOM that differs.
#[test]
fn signed_claims_the_checkout_does_not_make_are_named() {
    const TEST: &str = "attested_push::signed_claims_the_checkout_does_not_make_are_named";
    if !ready(TEST, &needs()) {
        return;
    }
    let setup = Setup::new();
    let key = setup.signing_key();
    let repository = setup.pushed("claims/pause");
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

    let line = setup.verify_fails(
        "claims/pause",
        ATTESTATIONS,
        "other commit",
        &[
            "linux/amd64: .att https://slsa.dev/provenance/v1",
            &format!("built from commit {OTHER_COMMIT}, this checkout is {commit}"),
            &format!("`git checkout {OTHER_COMMIT}`"),
        ],
    );
    eprintln!("verify, a provenance of another commit: {line}");
    let said = setup.verify("claims/pause", &setup.public_key());
    let sbom = "linux/amd64: bundle https://spdx.dev/Document";
    let differs = said
        .stdout
        .lines()
        .find(|line| line.starts_with(sbom))
        .unwrap_or_else(|| panic!("no `{sbom}` line:\n{}", said.stdout));
    assert!(
        differs.contains("the signed SBOM is not the SBOM referrer's document"),
        "{differs}"
    );
    eprintln!("verify, a signed SBOM that is not the referrer's: {differs}");
}

/// What others put beside the image stays: another signer's `.att` image (their SBOM and
/// provenance envelopes) and their bundle referrer in the fallback index are kept, whole and
/// first, and ours are added once; a second push changes neither; verify passes, others'
/// attestations aside. A `.att` tag or a fallback tag holding something else than cosign's
/// manifest or an image index stops the signed push with one line naming that tag: the tag
/// stays as it was, and no tag, `.sig` or `.att` is written.
#[test]
fn a_signed_push_keeps_others_attestations_and_refuses_a_malformed_tag() {
    const TEST: &str =
        "attested_push::a_signed_push_keeps_others_attestations_and_refuses_a_malformed_tag";
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
    kept.put_referrers(
        &amd64,
        &json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [listed]}),
    );
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
    let listing = kept.referrers(&amd64);
    let listed_now = entries(&listing);
    assert_eq!(listed_now[0], listed, "their referrer, first and whole");
    assert_eq!(
        listed_now.len(),
        1 + 1 + 3,
        "theirs, the SBOM, our three bundles: {listing}"
    );
    let before = (
        kept.http.manifest("kept/pause", &att_tag(&amd64)),
        kept.http.manifest("kept/pause", &fallback_tag(&amd64)),
    );
    let said = setup.push("kept/pause", "ours");
    assert!(said.success, "the second push failed:\n{}", said.all());
    assert!(
        before
            == (
                kept.http.manifest("kept/pause", &att_tag(&amd64)),
                kept.http.manifest("kept/pause", &fallback_tag(&amd64)),
            ),
        "the second push changed the .att image or the referrers index"
    );
    let said = setup.verify("kept/pause", &setup.public_key());
    assert!(said.success, "verify failed beside theirs:\n{}", said.all());

    // Refused: an image index where arm64's .att image would be.
    let refused = setup.repository("refused-att/pause");
    let (_, arm64) = scratch.amd64_and_arm64();
    let planted = json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": []});
    refused.put_json(&att_tag(&arm64), INDEX_TYPE, &planted);
    let before = refused.http.manifest("refused-att/pause", &att_tag(&arm64));
    let said = setup.push("refused-att/pause", "ours");
    let line = said.error_line("a malformed .att tag");
    eprintln!("push over a malformed .att tag: {line}");
    for named in [
        format!(
            "{}/refused-att/pause:{}",
            setup.registry.host(),
            att_tag(&arm64)
        ),
        "does not hold an image manifest of cosign's".to_string(),
    ] {
        assert!(line.contains(&named), "`{named}` not in: {line}");
    }
    assert_eq!(
        refused.http.manifest("refused-att/pause", &att_tag(&arm64)),
        before
    );
    assert_eq!(
        setup.registry.blob_uploads("refused-att/pause"),
        0,
        "blobs were uploaded"
    );
    assert_eq!(
        refused.http.manifest("refused-att/pause", "t"),
        None,
        "tagged"
    );

    // Refused: an image manifest where amd64's referrers index would be.
    let refused = setup.repository("refused-referrers/pause");
    // Another tool's image manifest (theirs, from the scratch repository) under the tag.
    let planted = scratch.att(&amd64);
    refused.copy_blobs(
        &scratch,
        planted["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .chain([&planted["config"]]),
    );
    refused.put_json(&fallback_tag(&amd64), MANIFEST_TYPE, &planted);
    let before = refused
        .http
        .manifest("refused-referrers/pause", &fallback_tag(&amd64));
    let said = setup.push("refused-referrers/pause", "ours");
    let line = said.error_line("a malformed referrers tag");
    eprintln!("push over a malformed referrers tag: {line}");
    for named in [
        format!(
            "{}/refused-referrers/pause:{}",
            setup.registry.host(),
            fallback_tag(&amd64)
        ),
        "does not hold an image index".to_string(),
    ] {
        assert!(line.contains(&named), "`{named}` not in: {line}");
    }
    assert_eq!(
        refused
            .http
            .manifest("refused-referrers/pause", &fallback_tag(&amd64)),
        before
    );
    let (index, _) = kept.index();
    let mut digests: Vec<String> = vec![index];
    digests.extend(kept.platforms().into_iter().map(|(_, digest)| digest));
    for digest in &digests {
        for tag in [format!("{}.sig", fallback_tag(digest)), att_tag(digest)] {
            assert_eq!(
                refused.http.manifest("refused-referrers/pause", &tag),
                None,
                "{tag} was written before every referrers index was read"
            );
        }
    }
    assert_eq!(
        refused.http.manifest("refused-referrers/pause", "t"),
        None,
        "tagged"
    );
}
