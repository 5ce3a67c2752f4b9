//! A signed push's attestations beside the SBOMs, in a registry without the referrers API: every
//! platform's `.att` image and fallback referrers tag hold exactly what the library signs, and a
//! second signed push changes neither.

use std::sync::Arc;

use pause_tests::image::layout as project_layout;
use pause_tests::layout::Layout;
use pause_tests::registry::docker_registry::{REPOSITORY, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::{PLATFORMS, ready};
use serde_json::Value;
use xshell::Shell;
use xtask::commands::push::push;
use xtask::sigstore::attestation::{Attestation, SPDX_PREDICATE_TYPE, sign_attestations};
use xtask::sigstore::bundle::{self, SIGN_PREDICATE_TYPE};
use xtask::sigstore::key::SigningKey;

use crate::pushed::needs;

/// SLSA provenance v1's predicate type.
const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";

/// The referrers index (the fallback tag `sha256-<hex>`) of `digest`, and its `.att` manifest,
/// as the registry holds them (curl).
fn attachments(http: &RegistryHttp<'_>, digest: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let hex = &digest["sha256:".len()..];
    (
        http.manifest(REPOSITORY, &format!("sha256-{hex}")),
        http.manifest(REPOSITORY, &format!("sha256-{hex}.att")),
    )
}

/// A signed push attaches every attestation where cosign finds them, next to the SBOMs: each
/// platform manifest's `.att` image holds its SBOM and provenance envelopes (annotated with their
/// predicate types), and its referrers (the fallback tag) list the SBOM and the Sigstore bundles
/// of its signature, SBOM and provenance statements; the index's list its signature's bundle.
/// Every envelope and bundle is byte for byte what the library signs for that repository (which
/// the attestation suite verifies with sigstore-js, OpenSSL and in-toto). A second signed push
/// changes no `.att` image and no referrers index.
#[test]
fn a_signed_push_attaches_every_attestation_beside_the_sbom() {
    const SPDX_TYPE: &str = "application/spdx+json";
    const ENVELOPE_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
    if !ready(
        "referrers::a_signed_push_attaches_every_attestation_beside_the_sbom",
        &needs(&[registry_http::NEEDS]),
    ) {
        return;
    }
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    let key = Arc::new(SigningKey::generate().expect("a key"));
    let signed_push = |tag: &str| {
        push(
            &Shell::new().expect("a shell"),
            &registry.push_options(),
            Some(&key),
            &registry.reference(&format!("{REPOSITORY}:{tag}")),
        )
    };
    signed_push("signed").expect("the signed push");
    let contents = xtask::oci::layout::read(&project_layout()).expect("the layout");
    let signed = sign_attestations(
        &contents,
        &registry.reference(&format!("{REPOSITORY}:signed")),
        &key,
    )
    .expect("the library's attestations");
    let expected = |digest: &str, predicate_type: &str| {
        let found: Vec<&Attestation> = signed
            .iter()
            .filter(|a| a.subject_digest() == digest && a.predicate_type() == predicate_type)
            .collect();
        assert_eq!(found.len(), 1, "{predicate_type} of {digest}");
        found[0]
    };

    let layout = Layout::open(&project_layout());
    let index_digest = layout.index_digest();
    let mut digests = vec![index_digest.clone()];
    for platform in PLATFORMS {
        let (entry, _, _, _) = layout.platform(platform);
        digests.push(entry["digest"].as_str().expect("a digest").to_string());
    }
    let mut before = Vec::new();
    for digest in &digests {
        let (listing, att) = attachments(&http, digest);
        let listing: Value =
            serde_json::from_slice(&listing.expect("a referrers index")).expect("JSON");
        let listed = listing["manifests"].as_array().expect("manifests");
        let bundles: Vec<&Value> = listed
            .iter()
            .filter(|entry| entry["artifactType"] == bundle::MEDIA_TYPE)
            .collect();
        let predicates: Vec<&str> = bundles
            .iter()
            .map(|entry| {
                entry["annotations"]["dev.sigstore.bundle.predicateType"]
                    .as_str()
                    .expect("a predicate type")
            })
            .collect();
        for entry in &bundles {
            let predicate = entry["annotations"]["dev.sigstore.bundle.predicateType"]
                .as_str()
                .expect("a predicate type");
            let manifest =
                http.manifest_json(REPOSITORY, entry["digest"].as_str().expect("a digest"));
            assert_eq!(manifest["subject"]["digest"], digest.as_str());
            let stored = http.blob(
                REPOSITORY,
                manifest["layers"][0]["digest"].as_str().expect("a digest"),
            );
            assert_eq!(
                stored,
                expected(digest, predicate).bundle().data,
                "{digest}: the {predicate} bundle"
            );
        }
        if *digest == index_digest {
            assert_eq!(
                predicates,
                [SIGN_PREDICATE_TYPE],
                "the index: its signature"
            );
            assert!(att.is_none(), "the index has no .att image");
        } else {
            assert_eq!(
                listed
                    .iter()
                    .filter(|entry| entry["artifactType"] == SPDX_TYPE)
                    .count(),
                1,
                "{digest}: its SBOM stays listed"
            );
            assert_eq!(
                predicates,
                [SIGN_PREDICATE_TYPE, SPDX_PREDICATE_TYPE, SLSA_PROVENANCE],
                "{digest}: a bundle per statement"
            );
            let att: Value =
                serde_json::from_slice(att.as_ref().expect("an .att image")).expect("JSON");
            let layers = att["layers"].as_array().expect("layers");
            assert_eq!(layers.len(), 2, "{digest}: the SBOM and the provenance");
            for layer in layers {
                assert_eq!(layer["mediaType"], ENVELOPE_TYPE);
                let predicate = layer["annotations"]["predicateType"]
                    .as_str()
                    .expect("a type");
                let stored = http.blob(REPOSITORY, layer["digest"].as_str().expect("a digest"));
                assert_eq!(
                    stored,
                    expected(digest, predicate).att_layer().data,
                    "{digest}: the {predicate} envelope"
                );
            }
        }
        before.push(attachments(&http, digest));
    }

    signed_push("again").expect("the second signed push");
    for (digest, before) in digests.iter().zip(before) {
        assert!(
            attachments(&http, digest) == before,
            "{digest}: the second push changed its referrers index or .att image"
        );
    }
}
