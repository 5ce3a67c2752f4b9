//! A push to a registry that answers the OCI 1.1 referrers API (`GET
//! /v2/<name>/referrers/<digest>`), and `cargo xtask verify` reading it back: crates.io's
//! ferro-oci-server ([`ReferrersRegistry`]), since Debian's docker-registry 2.8, which every other
//! suite pushes to, has no such API and gets the fallback tags `sha256-<hex>` instead. A second
//! push lists nothing twice there either, though ferro-oci-server lists a manifest once for every
//! time it is put: the push writes no artifact the API lists already.
//!
//! The push and verify run as a user runs them (the xtask binary); what the registry holds is read
//! with curl ([`RegistryHttp`]), not with the xtask's client, and held against the layout the
//! push read, with serde_json alone.

use std::collections::BTreeSet;

use pause_tests::layout::{Layout, json};
use pause_tests::registry::referrers_registry::ReferrersRegistry;
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::xtask_cli::{self, ATTESTATIONS, BUNDLE, REBUILT, SBOM, SIG, Said, verify_table};
use pause_tests::{PLATFORMS, image, ready};
use serde_json::Value;

const PASSWORD: &str = "the referrers suite's key password";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const SPDX_TYPE: &str = "application/spdx+json";
const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// The predicate types of the bundles a signed push attaches: to the index, its signature; to
/// each platform manifest, its signature, its SBOM and its provenance.
const SIGNATURE: &str = "https://sigstore.dev/cosign/sign/v1";
const SPDX_DOCUMENT: &str = "https://spdx.dev/Document";
const PROVENANCE: &str = "https://slsa.dev/provenance/v1";
/// The repository the image is pushed to.
const REPOSITORY: &str = "pause";
/// What the push says of a subject whose referrers the API lists.
const BY_THE_API: &str = "listed by the registry's referrers API";

/// The push's `referrers of …: …` lines (on stderr, with its progress), one per subject that has
/// referrers.
fn referrers_lines(said: &Said) -> Vec<&str> {
    said.stderr
        .lines()
        .filter(|line| line.starts_with("referrers of "))
        .collect()
}

/// The subjects a push attaches referrers to, from the layout: `("index", digest)` and each
/// platform's `(name, digest)`.
fn subjects(layout: &Layout) -> Vec<(&'static str, String)> {
    let mut subjects = vec![("index", layout.index_digest())];
    for platform in PLATFORMS {
        let (entry, _, _, _) = layout.platform(platform);
        let digest = entry["digest"].as_str().expect("a digest").to_string();
        subjects.push((platform.name, digest));
    }
    subjects
}

/// `sha256-<hex>`: the distribution spec's fallback tag for `digest`'s referrers.
fn fallback_tag(digest: &str) -> String {
    format!("sha256-{}", &digest["sha256:".len()..])
}

/// The referrers API's list for `subject`, read with curl: 200, an image index; each entry's
/// manifest is in the registry with the listed size, artifactType and annotations, and names
/// `subject` as its subject. Returns the entries.
fn api_listing(http: &RegistryHttp<'_>, subject: &str) -> Vec<Value> {
    let answer = http.referrers(REPOSITORY, subject);
    assert_eq!(
        answer.status,
        200,
        "GET /v2/{REPOSITORY}/referrers/{subject}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    let listing = json(&answer.body);
    assert_eq!(listing["mediaType"], INDEX_TYPE, "{listing}");
    assert_eq!(listing["schemaVersion"], 2, "{listing}");
    let entries = listing["manifests"]
        .as_array()
        .expect("the referrers index lists manifests")
        .clone();
    for entry in &entries {
        let digest = entry["digest"].as_str().expect("a listed digest");
        assert_eq!(entry["mediaType"], MANIFEST_TYPE, "{entry}");
        let bytes = http
            .manifest(REPOSITORY, digest)
            .unwrap_or_else(|| panic!("{subject}: the listed {digest} is not in the registry"));
        assert_eq!(Some(bytes.len() as u64), entry["size"].as_u64(), "{entry}");
        let manifest = json(&bytes);
        assert_eq!(manifest["subject"]["digest"], subject, "{entry}");
        assert_eq!(manifest["artifactType"], entry["artifactType"], "{entry}");
        assert_eq!(manifest["annotations"], entry["annotations"], "{entry}");
    }
    entries
}

/// The SBOM artifact manifests of the layout, by the digest of the manifest they are about.
fn layout_sbom(layout: &Layout, subject: &str) -> String {
    let sboms: Vec<String> = layout.top["manifests"]
        .as_array()
        .expect("index.json lists manifests")
        .iter()
        .filter(|entry| entry["artifactType"] == SPDX_TYPE)
        .filter(|entry| json(&layout.fetch(entry))["subject"]["digest"] == subject)
        .map(|entry| entry["digest"].as_str().expect("a digest").to_string())
        .collect();
    assert_eq!(sboms.len(), 1, "{subject}: one SBOM in the layout");
    sboms[0].clone()
}

/// A signed `cargo xtask push` to a registry with the referrers API relies on it: every subject's
/// line says its referrers are listed by the API, no fallback tag `sha256-<hex>` is written, and
/// `GET /v2/pause/referrers/<digest>` lists, for each platform manifest, the layout's SBOM
/// (application/spdx+json) and the Sigstore bundles of its signature, SBOM and provenance, and
/// for the index its signature's bundle. `cargo xtask verify --key` then passes, having found
/// every SBOM through the API.
#[test]
fn a_signed_push_relies_on_the_referrers_api_and_verify_reads_it() {
    let test = "referrers_api::a_signed_push_relies_on_the_referrers_api_and_verify_reads_it";
    if !ready(test, &[registry_http::NEEDS]) {
        return;
    }
    let Some(registry) = ReferrersRegistry::start(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let (key, public) = xtask_cli::key_pair(&dir.path().join("keys"), PASSWORD);
    let layout_dir = xtask_cli::build_image(&dir.path().join("image"), &[]);
    let layout = Layout::open(&layout_dir);
    let reference = registry.reference(&format!("{REPOSITORY}:signed"));
    let said = xtask_cli::push_layout(&reference, &layout_dir, Some(&key), PASSWORD);

    let lines = referrers_lines(&said);
    assert_eq!(
        lines.len(),
        1 + PLATFORMS.len(),
        "a referrers line for the index and each platform:\n{}",
        said.stderr
    );
    for line in lines {
        assert!(line.ends_with(BY_THE_API), "not through the API: {line}");
    }

    let http = RegistryHttp::new(&registry);
    let tags = http.tags(REPOSITORY);
    for (name, digest) in subjects(&layout) {
        let fallback = fallback_tag(digest.as_str());
        assert!(
            !tags.contains(&fallback),
            "{name}: the fallback tag {fallback} was written: {tags:?}"
        );
        let listed = api_listing(&http, &digest);
        let sboms: Vec<&str> = listed
            .iter()
            .filter(|entry| entry["artifactType"] == SPDX_TYPE)
            .map(|entry| entry["digest"].as_str().expect("a digest"))
            .collect();
        let bundles: BTreeSet<&str> = listed
            .iter()
            .filter(|entry| entry["artifactType"] == BUNDLE_TYPE)
            .map(|entry| {
                entry["annotations"][PREDICATE_TYPE]
                    .as_str()
                    .expect("a bundle names its predicate type")
            })
            .collect();
        let count = |artifact_type: &str| {
            listed
                .iter()
                .filter(|entry| entry["artifactType"] == artifact_type)
                .count()
        };
        if name == "index" {
            assert!(sboms.is_empty(), "the index has no SBOM: {listed:?}");
            assert_eq!(bundles, BTreeSet::from([SIGNATURE]), "{name}");
        } else {
            assert_eq!(
                sboms,
                [layout_sbom(&layout, &digest)],
                "{name}: the API lists the layout's SBOM, once"
            );
            assert_eq!(
                bundles,
                BTreeSet::from([SIGNATURE, SPDX_DOCUMENT, PROVENANCE]),
                "{name}"
            );
        }
        assert_eq!(
            count(BUNDLE_TYPE),
            bundles.len(),
            "{name}: each bundle listed once"
        );
        assert_eq!(
            listed.len(),
            sboms.len() + bundles.len(),
            "{name}: nothing else listed: {listed:?}"
        );
    }

    let said = xtask_cli::run(&["verify", &reference, "--key", &public], &[]);
    eprintln!("$ cargo xtask verify {reference} --key …\n{}", said.all());
    assert!(said.success, "verify failed:\n{}", said.all());
    for (name, cells) in verify_table(&said.stdout) {
        assert_eq!(cells[REBUILT], "yes", "{name}");
        assert_eq!(cells[SIG], "ok", "{name}");
        assert_eq!(cells[BUNDLE], "ok", "{name}");
        let (sbom, attestations) = if name == "index" {
            ("-", "-")
        } else {
            ("ok (referrers API)", "ok")
        };
        assert_eq!(cells[SBOM], sbom, "{name}");
        assert_eq!(cells[ATTESTATIONS], attestations, "{name}");
    }
    assert!(said.stderr.contains("every row holds"), "{}", said.all());

    // And for scripts: `--json`'s rows are the layout's subjects, each SBOM found by the API.
    let said = xtask_cli::run(&["verify", &reference, "--key", &public, "--json"], &[]);
    assert!(said.success, "verify --json failed:\n{}", said.all());
    let document: Value = serde_json::from_str(&said.stdout).expect("stdout is one JSON document");
    assert_eq!(document["verified"], true, "{document:#}");
    let rows = document["rows"].as_array().expect("rows");
    let subjects = subjects(&layout);
    assert_eq!(rows.len(), subjects.len(), "{document:#}");
    for (row, (name, digest)) in rows.iter().zip(subjects) {
        assert_eq!(row["name"], name, "{row:#}");
        assert_eq!(row["digest"], digest.as_str(), "{row:#}");
        let sbom = if name == "index" {
            "-"
        } else {
            "ok (referrers API)"
        };
        assert_eq!(row["checks"]["sbom"]["text"], sbom, "{row:#}");
    }
}

/// A second push of the same image, under another tag, to a registry with the referrers API
/// lists nothing twice: every listing the API gives is what it gave after the first push, and the
/// push says each subject's referrers were already listed. It still repairs what it lists: an
/// SBOM whose document blob was deleted in between has it again.
#[test]
fn a_second_push_lists_nothing_twice_through_the_referrers_api() {
    let test = "referrers_api::a_second_push_lists_nothing_twice_through_the_referrers_api";
    if !ready(test, &[registry_http::NEEDS]) {
        return;
    }
    let Some(registry) = ReferrersRegistry::start(test) else {
        return;
    };
    let layout_dir = image::layout();
    let layout = Layout::open(&layout_dir);
    let http = RegistryHttp::new(&registry);
    // What the API lists for each platform manifest, in its order (the index has no referrers
    // unsigned).
    let listings = || -> Vec<Vec<String>> {
        subjects(&layout)
            .iter()
            .skip(1)
            .map(|(_, digest)| {
                api_listing(&http, digest)
                    .iter()
                    .map(|entry| entry["digest"].as_str().expect("a digest").to_string())
                    .collect()
            })
            .collect()
    };
    xtask_cli::push_layout(
        &registry.reference(&format!("{REPOSITORY}:first")),
        &layout_dir,
        None,
        PASSWORD,
    );
    let first = listings();
    for listing in &first {
        assert_eq!(listing.len(), 1, "the SBOM alone: {listing:?}");
    }
    // The first platform's SBOM document: its artifact manifest's one layer.
    let sbom = http.manifest_json(REPOSITORY, &first[0][0]);
    let document = sbom["layers"][0]["digest"]
        .as_str()
        .expect("the SBOM manifest's layer digest")
        .to_string();
    let deleted = http.request(
        "DELETE",
        &format!("{REPOSITORY}/blobs/{document}"),
        &[],
        None,
    );
    assert_eq!(deleted.status, 202, "deleting the SBOM's blob {document}");
    let gone = http.request("GET", &format!("{REPOSITORY}/blobs/{document}"), &[], None);
    assert_eq!(
        gone.status, 404,
        "the SBOM's blob {document} is still there"
    );
    let said = xtask_cli::push_layout(
        &registry.reference(&format!("{REPOSITORY}:second")),
        &layout_dir,
        None,
        PASSWORD,
    );
    assert_eq!(
        listings(),
        first,
        "a second push changed a referrers listing"
    );
    http.blob(REPOSITORY, &document);
    let lines = referrers_lines(&said);
    assert_eq!(lines.len(), PLATFORMS.len(), "{}", said.stderr);
    for line in lines {
        assert!(
            line.ends_with(&format!("already {BY_THE_API}")),
            "the second push listed again: {line}"
        );
    }
}
