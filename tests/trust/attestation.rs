//! The image's attestations as the xtask's library makes them for the layout `cargo xtask image`
//! wrote, signed with a key from `cargo xtask keygen`, checked by verifiers this project did not
//! write:
//!
//! - every Sigstore bundle by sigstore-js (`@sigstore/verify`, run by
//!   `tests/verifiers/verify-bundle.cjs`) against the key alone, no tlog, CT log or timestamp;
//! - every `.att` layer by OpenSSL (`openssl dgst -verify`) over the DSSE pre-authentication
//!   encoding, which this file builds itself from the envelope's JSON;
//! - every provenance and SBOM statement by the in-toto Attestation Framework's Python bindings
//!   (PyPI `in-toto-attestation`, run by `tests/verifiers/check-statement.py`): the Statement
//!   and SLSA provenance v1 schemas, strictly;
//! - what the provenance claims against the checkout (git, rustc, coreutils' sha256sum), and
//!   the signed SBOM against the SBOM referrer, byte for byte.
//!
//! Each check is also shown failing: a wrong key, a statement about another platform's manifest,
//! a changed payload, a schema violation. The registry side (what is pushed where) is
//! `tests/registry/referrers.rs`'s, and what verifiers make of it in the registry
//! [`super::attested_push`]'s.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pause_tests::layout::{Layout, json};
use pause_tests::verifiers::{
    Dsse, OPENSSL, check_policies, in_toto_check, in_toto_ready, jsonschema_ready,
    openssl_verifies, pae, said, sigstore_js, sigstore_js_ready, subject_digest, write,
};
use pause_tests::{PLATFORMS, Platform, image, ready, xtask_cli};
use serde_json::Value;
use xtask::attest::intoto::{self, Statement};
use xtask::sigstore::attestation::{Attestation, SPDX_PREDICATE_TYPE, sign_attestations};
use xtask::sigstore::bundle::{self, SIGN_PREDICATE_TYPE};
use xtask::sigstore::dsse::Envelope;
use xtask::sigstore::key::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, SigningKey};

const PASSWORD: &str = "an attestation test password";
/// Where the attestations say the image is pushed: a statement names its repository.
const IMAGE: &str = "127.0.0.1:5000/pause:0.1.0";
const REPOSITORY: &str = "127.0.0.1:5000/pause";
const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";
const SPDX_TYPE: &str = "application/spdx+json";
const IN_TOTO_TYPE: &str = "application/vnd.in-toto+json";

/// A key pair from `cargo xtask keygen`, and the layout's attestations signed with it.
struct Signed {
    dir: tempfile::TempDir,
    key: SigningKey,
    attestations: Vec<Attestation>,
}

impl Signed {
    fn public_key(&self) -> PathBuf {
        self.dir.path().join(PUBLIC_KEY_FILE)
    }

    /// The attestations about `digest`, in the order made: signature, SBOM, provenance.
    fn of(&self, digest: &str) -> Vec<&Attestation> {
        self.attestations
            .iter()
            .filter(|attestation| attestation.subject_digest() == digest)
            .collect()
    }

    /// The one attestation of `predicate_type` about `digest`.
    fn find(&self, digest: &str, predicate_type: &str) -> &Attestation {
        let found: Vec<&Attestation> = self
            .of(digest)
            .into_iter()
            .filter(|attestation| attestation.predicate_type() == predicate_type)
            .collect();
        assert_eq!(found.len(), 1, "{predicate_type} of {digest}");
        found[0]
    }
}

/// `cargo xtask keygen` into a temp dir, then the attestations of the built layout.
fn signed() -> Signed {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = Command::new(xtask_cli::project())
        .args(["keygen", "--out"])
        .arg(dir.path())
        .env("COSIGN_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("running cargo xtask keygen");
    assert!(
        out.status.success(),
        "keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_file = std::fs::read_to_string(dir.path().join(PRIVATE_KEY_FILE)).expect("cosign.key");
    let key = SigningKey::from_key_file(&key_file, PASSWORD.as_bytes()).expect("the key");
    let contents = xtask::oci::layout::read(&image::layout()).expect("the layout reads");
    let attestations = sign_attestations(&contents, IMAGE, &key).expect("the attestations");
    Signed {
        dir,
        key,
        attestations,
    }
}

/// Each platform's manifest digest, as the suite's own reader of the layout finds it.
fn manifest_digests() -> Vec<(&'static Platform, String)> {
    let layout = Layout::open(&image::layout());
    PLATFORMS
        .iter()
        .map(|platform| {
            let (entry, _, _, _) = layout.platform(platform);
            (
                platform,
                entry["digest"].as_str().expect("a digest").to_string(),
            )
        })
        .collect()
}

#[test]
fn sigstore_js_verifies_every_bundle() {
    const TEST: &str = "attestation::sigstore_js_verifies_every_bundle";
    let Some(modules) = sigstore_js_ready(TEST) else {
        return;
    };
    let signed = signed();
    let index = Layout::open(&image::layout()).index_digest();
    let mut subjects = vec![index.clone()];
    subjects.extend(manifest_digests().into_iter().map(|(_, digest)| digest));
    assert_eq!(
        signed.attestations.len(),
        1 + 3 * PLATFORMS.len(),
        "a signature of the index, and a signature, SBOM and provenance of every platform"
    );
    for digest in &subjects {
        let expected: &[&str] = if *digest == index {
            &[SIGN_PREDICATE_TYPE]
        } else {
            &[SIGN_PREDICATE_TYPE, SPDX_PREDICATE_TYPE, SLSA_PROVENANCE]
        };
        let found: Vec<&str> = signed
            .of(digest)
            .iter()
            .map(|attestation| attestation.predicate_type())
            .collect();
        assert_eq!(found, expected, "{digest}");
        for attestation in signed.of(digest) {
            let out = sigstore_js(
                &modules,
                signed.dir.path(),
                &attestation.bundle().data,
                &signed.public_key(),
                digest,
                attestation.predicate_type(),
            );
            assert!(
                out.status.success(),
                "sigstore-js refuses the {} bundle of {digest}: {}",
                attestation.predicate_type(),
                said(&out)
            );
        }
    }
}

#[test]
fn sigstore_js_refuses_what_does_not_hold() {
    const TEST: &str = "attestation::sigstore_js_refuses_what_does_not_hold";
    let Some(modules) = sigstore_js_ready(TEST) else {
        return;
    };
    let signed = signed();
    let digests = manifest_digests();
    let (amd64, arm64) = (&digests[0].1, &digests[1].1);
    let provenance = signed.find(amd64, SLSA_PROVENANCE);
    let scratch = signed.dir.path();
    let refused = |bundle: &[u8], key: &Path, digest: &str, predicate_type: &str, why: &str| {
        let out = sigstore_js(&modules, scratch, bundle, key, digest, predicate_type);
        let text = said(&out);
        assert!(!out.status.success(), "sigstore-js accepted {why}: {text}");
        eprint!("refused, as it must be ({why}): {text}");
        text
    };
    // The control: this bundle does verify as it is.
    let out = sigstore_js(
        &modules,
        scratch,
        &provenance.bundle().data,
        &signed.public_key(),
        amd64,
        SLSA_PROVENANCE,
    );
    assert!(out.status.success(), "{}", said(&out));

    // Another key: its hint is not the bundle's.
    let other = SigningKey::generate().expect("a key");
    let other_pub = scratch.join("other.pub");
    std::fs::write(&other_pub, other.public_key().to_pem().expect("PEM")).expect("writing it");
    let text = refused(
        &provenance.bundle().data,
        &other_pub,
        amd64,
        SLSA_PROVENANCE,
        "another key",
    );
    assert!(text.contains("key not found"), "{text}");

    // The other key's hint on our signature: found, and its signature check fails.
    let mut forged: Value = serde_json::from_slice(&provenance.bundle().data).expect("JSON");
    forged["verificationMaterial"]["publicKey"]["hint"] = bundle::key_hint(&other.public_key())
        .expect("a hint")
        .into();
    let text = refused(
        forged.to_string().as_bytes(),
        &other_pub,
        amd64,
        SLSA_PROVENANCE,
        "a signature of another key",
    );
    assert!(text.contains("signature verification failed"), "{text}");

    // A statement about arm64's manifest, well signed, offered as amd64's.
    let arm64_provenance = signed.find(arm64, SLSA_PROVENANCE);
    let text = refused(
        &arm64_provenance.bundle().data,
        &signed.public_key(),
        amd64,
        SLSA_PROVENANCE,
        "arm64's provenance as amd64's",
    );
    assert!(text.contains(&format!("not {amd64}")), "{text}");

    // A changed payload under the original signature: the provenance of another platform.
    let mut changed: Value = serde_json::from_slice(&provenance.bundle().data).expect("JSON");
    let payload = String::from_utf8(provenance.envelope().payload.clone())
        .expect("UTF-8")
        .replace("\"linux/amd64\"", "\"linux/arm64\"");
    changed["dsseEnvelope"]["payload"] = STANDARD.encode(&payload).into();
    let text = refused(
        changed.to_string().as_bytes(),
        &signed.public_key(),
        amd64,
        SLSA_PROVENANCE,
        "a changed payload",
    );
    assert!(text.contains("signature verification failed"), "{text}");

    // The SBOM's bundle is not a provenance.
    let sbom = signed.find(amd64, SPDX_PREDICATE_TYPE);
    let text = refused(
        &sbom.bundle().data,
        &signed.public_key(),
        amd64,
        SLSA_PROVENANCE,
        "an SBOM as a provenance",
    );
    assert!(
        text.contains("not a https://slsa.dev/provenance/v1"),
        "{text}"
    );

    // The library's own statement of another manifest, signed into a bundle by the pub API.
    let statement =
        Statement::new(Some(REPOSITORY), arm64, SIGN_PREDICATE_TYPE, b"{}").expect("a statement");
    let envelope = Envelope::sign(&signed.key, intoto::MEDIA_TYPE, &statement.to_json());
    let bundle = bundle::bundle(&envelope, &signed.key.public_key()).expect("a bundle");
    refused(
        &bundle.data,
        &signed.public_key(),
        amd64,
        SIGN_PREDICATE_TYPE,
        "a signature statement about arm64 as amd64's",
    );
}

/// Every `.att` layer is a DSSE envelope whose one signature OpenSSL verifies with cosign.pub
/// over the PAE of its payload, an in-toto statement about that platform's manifest; a changed
/// payload, a changed type or another key does not verify.
#[test]
fn openssl_verifies_every_att_layer() {
    const TEST: &str = "attestation::openssl_verifies_every_att_layer";
    if !ready(TEST, &[OPENSSL]) {
        return;
    }
    let signed = signed();
    let scratch = signed.dir.path();
    let other = SigningKey::generate().expect("a key");
    let other_pub = write(
        &scratch.join("other.pub"),
        other.public_key().to_pem().expect("PEM").as_bytes(),
    );
    for (platform, digest) in manifest_digests() {
        let in_att: Vec<&Attestation> = signed
            .of(&digest)
            .into_iter()
            .filter(|attestation| attestation.in_att())
            .collect();
        let types: Vec<&str> = in_att.iter().map(|a| a.predicate_type()).collect();
        assert_eq!(
            types,
            [SPDX_PREDICATE_TYPE, SLSA_PROVENANCE],
            "{}",
            platform.name
        );
        for attestation in in_att {
            let layer = attestation.att_layer();
            assert_eq!(layer.media_type, "application/vnd.dsse.envelope.v1+json");
            let envelope = Dsse::read(&layer.data);
            assert_eq!(envelope.payload_type, IN_TOTO_TYPE);
            assert_eq!(envelope.keyid, "", "cosign 2 writes an empty keyid");
            let what = format!("{} {}", platform.name, attestation.predicate_type());
            assert!(
                envelope.openssl_verifies(scratch, &signed.public_key()),
                "{what}: OpenSSL refuses the signature over the PAE"
            );
            let statement = envelope.statement();
            assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
            assert_eq!(statement["predicateType"], attestation.predicate_type());
            assert_eq!(statement["subject"][0]["name"], REPOSITORY, "{what}");
            assert_eq!(
                subject_digest(&statement),
                digest,
                "{what}: about this platform's manifest"
            );
            let Dsse {
                payload_type,
                payload,
                signature,
                ..
            } = envelope;
            let payload_type = payload_type.as_str();

            let mut changed = payload.clone();
            changed.extend_from_slice(b" ");
            assert!(
                !openssl_verifies(
                    scratch,
                    &signed.public_key(),
                    &pae(payload_type, &changed),
                    &signature
                ),
                "{what}: a changed payload verified"
            );
            assert!(
                !openssl_verifies(
                    scratch,
                    &signed.public_key(),
                    &pae("text/plain", &payload),
                    &signature
                ),
                "{what}: another payload type verified"
            );
            assert!(
                !openssl_verifies(scratch, &signed.public_key(), &payload, &signature),
                "{what}: the bare payload verified: the signature must be over the PAE"
            );
            assert!(
                !openssl_verifies(
                    scratch,
                    &other_pub,
                    &pae(payload_type, &payload),
                    &signature
                ),
                "{what}: another key verified"
            );
        }
    }
}

/// The layout's provenance statements, as `cargo xtask image` wrote them: (platform, bytes).
fn layout_provenance() -> Vec<(&'static Platform, Vec<u8>)> {
    let layout = Layout::open(&image::layout());
    let artifacts: Vec<Value> = layout.top["manifests"]
        .as_array()
        .expect("index.json lists manifests")
        .iter()
        .filter(|entry| entry["artifactType"] == IN_TOTO_TYPE)
        .map(|entry| json(&layout.fetch(entry)))
        .collect();
    assert_eq!(
        artifacts.len(),
        PLATFORMS.len(),
        "one provenance per platform"
    );
    manifest_digests()
        .into_iter()
        .map(|(platform, digest)| {
            let attached: Vec<&Value> = artifacts
                .iter()
                .filter(|artifact| artifact["subject"]["digest"] == digest.as_str())
                .collect();
            assert_eq!(attached.len(), 1, "{}: one provenance", platform.name);
            assert_eq!(
                attached[0]["annotations"]["in-toto.io/predicate-type"],
                SLSA_PROVENANCE
            );
            (platform, layout.fetch(&attached[0]["layers"][0]))
        })
        .collect()
}

/// in-toto's own bindings accept every statement: the layout's unsigned provenance, and the
/// signed SBOM and provenance of every platform; a statement off the schema is refused.
#[test]
fn in_toto_attestation_validates_every_statement() {
    const TEST: &str = "attestation::in_toto_attestation_validates_every_statement";
    let Some(python) = in_toto_ready(TEST) else {
        return;
    };
    let signed = signed();
    let mut statements: Vec<(String, Vec<u8>)> = layout_provenance()
        .into_iter()
        .map(|(platform, bytes)| (format!("layout-{}", platform.dir_name()), bytes))
        .collect();
    for (platform, digest) in manifest_digests() {
        for (kind, predicate_type) in [
            ("sbom", SPDX_PREDICATE_TYPE),
            ("provenance", SLSA_PROVENANCE),
        ] {
            statements.push((
                format!("signed-{kind}-{}", platform.dir_name()),
                signed.find(&digest, predicate_type).statement().to_json(),
            ));
        }
    }
    let out = in_toto_check(&python, signed.dir.path(), &statements);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        3 * PLATFORMS.len()
    );

    let original = json(&statements[0].1);
    let broken = |edit: &dyn Fn(&mut Value), why: &str| -> String {
        let mut statement = original.clone();
        edit(&mut statement);
        let out = in_toto_check(
            &python,
            signed.dir.path(),
            &[("broken".to_string(), statement.to_string().into_bytes())],
        );
        assert!(!out.status.success(), "in-toto-attestation accepted {why}");
        let text = said(&out);
        eprint!("refused, as it must be ({why}): {text}");
        text
    };
    let text = broken(
        &|s| s["predicate"]["buildDefinition"]["buildType"] = "".into(),
        "no buildType",
    );
    assert!(text.contains("buildType required"), "{text}");
    let text = broken(
        &|s| s["predicate"]["runDetails"]["startedAt"] = "1970-01-01T00:00:00Z".into(),
        "a field SLSA v1 does not have",
    );
    assert!(text.contains("startedAt"), "{text}");
    let text = broken(
        &|s| {
            s["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"] =
                1.into()
        },
        "a digest that is not a string",
    );
    assert!(text.contains("digest"), "{text}");
    let text = broken(&|s| s["subject"] = serde_json::json!([]), "no subject");
    assert!(text.contains("subject"), "{text}");
}

/// coreutils' SHA-256 of a file of the checkout.
fn sha256sum(path: &str) -> String {
    let out = Command::new("sha256sum")
        .arg(xtask::project::root().join(path))
        .output()
        .expect("running sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}

fn command_line(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(xtask::project::root())
        .output()
        .unwrap_or_else(|error| panic!("running {program}: {error}"));
    assert!(out.status.success(), "{program} {args:?}: {}", said(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What every provenance claims is what this checkout says: its commit (git), its toolchain
/// (rustc), its image definition and lock files (coreutils' sha256sum), the platform.
#[test]
fn the_provenance_claims_what_the_checkout_says() {
    let commit = command_line("git", &["rev-parse", "HEAD"]);
    let dirty = !command_line("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let rustc = command_line("rustc", &["-vV"]);
    let rustc_version = rustc.lines().next().expect("rustc's first line");
    for (platform, bytes) in layout_provenance() {
        let statement = json(&bytes);
        let name = platform.name;
        assert_eq!(statement["predicateType"], SLSA_PROVENANCE);
        assert_eq!(
            statement["subject"][0]["name"], "localhost/pause",
            "the tag's repository"
        );
        let definition = &statement["predicate"]["buildDefinition"];
        let external = &definition["externalParameters"];
        assert_eq!(external["platform"], name);
        assert_eq!(external["source"]["commit"], commit.as_str(), "{name}");
        assert_eq!(
            external["source"]["uncommittedChanges"]
                .as_bool()
                .unwrap_or(false),
            dirty,
            "{name}: whether tracked files differ from the commit"
        );
        assert_eq!(
            external["imageDefinition"]["digest"]["sha256"],
            sha256sum("image/image.toml")
        );
        let dependencies = definition["resolvedDependencies"]
            .as_array()
            .expect("resolvedDependencies");
        assert_eq!(dependencies[0]["digest"]["gitCommit"], commit.as_str());
        for lockfile in ["pause/Cargo.lock", "Cargo.lock"] {
            let listed = dependencies
                .iter()
                .find(|dependency| dependency["name"] == lockfile)
                .unwrap_or_else(|| panic!("{name}: {lockfile} is not listed"));
            assert_eq!(
                listed["digest"]["sha256"],
                sha256sum(lockfile),
                "{name}: {lockfile}"
            );
        }
        let compiler = dependencies
            .iter()
            .find(|dependency| dependency["name"] == "rustc")
            .expect("the compiler");
        assert_eq!(compiler["annotations"]["version"], rustc_version);
        assert!(
            rustc.contains(&format!(
                "commit-hash: {}",
                compiler["digest"]["gitCommit"].as_str().expect("a commit")
            )),
            "{name}: the compiler's commit"
        );
        assert!(
            dependencies.iter().any(|d| d["uri"]
                .as_str()
                .is_some_and(|uri| uri.starts_with("pkg:cargo/rustix@"))),
            "{name}: rustix is linked"
        );
        assert!(
            statement["predicate"]["runDetails"]["builder"]["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("https://")),
            "{name}: a builder id"
        );
        assert!(
            statement["predicate"]["runDetails"]["metadata"]["startedOn"].is_null(),
            "{name}: no wall-clock time"
        );
    }
}

/// Each signed SBOM is the SBOM referrer's document, byte for byte, about the same manifest;
/// each signed provenance is the layout's, restated for the repository pushed to.
#[test]
fn the_signed_documents_are_the_layouts() {
    let signed = signed();
    let layout = Layout::open(&image::layout());
    let provenance = layout_provenance();
    for ((platform, digest), (_, unsigned)) in manifest_digests().into_iter().zip(provenance) {
        let sbom_artifact: Vec<Value> = layout.top["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .filter(|entry| entry["artifactType"] == SPDX_TYPE)
            .map(|entry| json(&layout.fetch(entry)))
            .filter(|artifact| artifact["subject"]["digest"] == digest.as_str())
            .collect();
        let document = layout.fetch(&sbom_artifact[0]["layers"][0]);
        let sbom = signed.find(&digest, SPDX_PREDICATE_TYPE).statement();
        assert_eq!(
            sbom.predicate(),
            &document[..],
            "{}: the SBOM referrer's bytes",
            platform.name
        );
        assert_eq!(sbom.subject_digest(), digest);
        assert_eq!(sbom.subject_name(), Some(REPOSITORY));

        let signed_provenance = signed.find(&digest, SLSA_PROVENANCE).statement();
        let unsigned = Statement::parse(&unsigned).expect("the layout's statement");
        assert_eq!(
            signed_provenance.predicate(),
            unsigned.predicate(),
            "{}",
            platform.name
        );
        assert_eq!(signed_provenance, &unsigned.named(REPOSITORY));
    }
}

/// The same layout and key give byte-identical statements, envelopes and bundles (RFC 6979).
#[test]
fn the_same_build_and_key_give_the_same_bytes() {
    let signed = signed();
    let contents = xtask::oci::layout::read(&image::layout()).expect("the layout");
    let again = sign_attestations(&contents, IMAGE, &signed.key).expect("the attestations");
    assert_eq!(again, signed.attestations);
    for (first, second) in signed.attestations.iter().zip(&again) {
        assert_eq!(first.bundle(), second.bundle());
        assert_eq!(first.att_layer(), second.att_layer());
    }
}

/// The admission page's policies, one block each: policy-controller's, Kyverno's ClusterPolicy
/// with `type: Cosign` and with `type: SigstoreBundle`, and Kyverno's ImageValidatingPolicy.
const POLICY_KINDS: [&str; 4] = [
    "kind: ClusterImagePolicy",
    "kind: ClusterPolicy",
    "kind: ClusterPolicy",
    "kind: ImageValidatingPolicy",
];

/// Where the admission policies are written.
const POLICY_PAGE: &str = "docs/admission-policies.md";

/// The admission page's ```yaml blocks that are admission policies, in order.
fn page_policies() -> Vec<String> {
    let page = std::fs::read_to_string(xtask::project::root().join(POLICY_PAGE))
        .unwrap_or_else(|error| panic!("reading {POLICY_PAGE}: {error}"));
    page.split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter(|block| POLICY_KINDS.iter().any(|kind| block.contains(kind)))
        .map(str::to_string)
        .collect()
}

/// The admission page's policies, checked strictly by PyPI's `jsonschema` against structural
/// schemas of policy-controller's ClusterImagePolicy v1beta1, Kyverno's ClusterPolicy v1 and
/// ImageValidatingPolicy v1 written for this project from their documented fields and CRDs
/// (`tests/verifiers/policy-schemas/`): a misspelt field or a value outside an enum is refused,
/// naming where.
#[test]
fn the_admission_policies_fit_their_resources_schemas() {
    const TEST: &str = "attestation::the_admission_policies_fit_their_resources_schemas";
    let Some(python) = jsonschema_ready(TEST) else {
        return;
    };
    let policies = page_policies();
    assert_eq!(
        policies.len(),
        POLICY_KINDS.len(),
        "{POLICY_PAGE}'s policies"
    );
    for (policy, kind) in policies.iter().zip(POLICY_KINDS) {
        assert!(policy.contains(kind), "{kind}:\n{policy}");
    }
    assert!(policies[1].contains("type: Cosign") && policies[2].contains("type: SigstoreBundle"));
    let scratch = tempfile::tempdir().expect("a temp dir");
    let files: Vec<PathBuf> = policies
        .iter()
        .enumerate()
        .map(|(at, policy)| {
            write(
                &scratch.path().join(format!("policy-{at}.yaml")),
                policy.as_bytes(),
            )
        })
        .collect();
    let out = check_policies(&python, &files);
    assert!(out.status.success(), "{}", said(&out));
    eprint!("{}", said(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        POLICY_KINDS.len()
    );

    for (at, from, to, named) in [
        (1, "ignoreTlog", "ignoreTLog", "'ignoreTLog' was unexpected"),
        (
            2,
            "type: SigstoreBundle",
            "type: Sigstore",
            "'Sigstore' is not one of",
        ),
        (0, "- glob:", "- globs:", "'globs' was unexpected"),
        (
            1,
            "operator: AnyIn",
            "operator: Contains",
            "'Contains' is not one of",
        ),
        (
            3,
            "insecureIgnoreTlog",
            "insecureIgnoreTLog",
            "'insecureIgnoreTLog' was unexpected",
        ),
        (
            3,
            "validationActions: [Deny]",
            "validationActions: [Enforce]",
            "'Enforce' is not one of",
        ),
    ] {
        assert!(policies[at].contains(from), "{from}");
        let broken = write(
            &scratch.path().join("broken.yaml"),
            policies[at].replacen(from, to, 1).as_bytes(),
        );
        let out = check_policies(&python, &[broken]);
        assert!(!out.status.success(), "jsonschema accepted `{to}`");
        let text = said(&out);
        eprint!("refused, as it must be ({to}): {text}");
        assert!(text.contains(named), "{text}");
    }
}
