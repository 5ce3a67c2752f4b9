//! The SBOM of every platform image, as `cargo xtask image` writes it into the layout and as a
//! push leaves it in a real registry: valid SPDX 2.3 for the SPDX project's own validator,
//! attached to its platform's manifest the OCI 1.1 way, naming the exact bytes of the layer's
//! `/pause` (hashed here by coreutils, read out of the layer with flate2 and tar), the crates of
//! `pause/Cargo.lock` with their checksums, and the pinned compiler.
//!
//! The layout is read with serde_json alone, as in the image suite, not with the xtask's reader;
//! the registry (Debian's docker-registry 2.8, which has no referrers API) with curl, not with the
//! xtask's client: its SBOMs are found through the distribution spec's fallback tags
//! `sha256-<hex of the platform manifest>`. The same checks run on both.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use flate2::read::GzDecoder;
use pause_tests::layout::{Layout, json};
use pause_tests::registry::docker_registry::{self, REPOSITORY, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::{PLATFORMS, Platform, image, ready, skip};
use serde_json::Value;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const SPDX_TYPE: &str = "application/spdx+json";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The image spec's empty blob, `{}`, and its digest.
const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const CREATED: &str = "org.opencontainers.image.created";
/// What docker-registry 2.8 answers for the referrers API it does not have.
const NOT_FOUND: u16 = 404;

/// One platform's SBOM as it was found, in a layout or in a registry.
struct Found {
    platform: &'static Platform,
    /// The platform's entry in the image index.
    entry: Value,
    /// The image index's annotations.
    index_annotations: Value,
    /// The SBOM's artifact manifest.
    artifact: Value,
    /// The artifact's config and layer, as stored.
    config: Vec<u8>,
    document_bytes: Vec<u8>,
    document: Value,
    /// The platform image's (compressed) layer.
    layer: Vec<u8>,
}

/// Each platform's SBOM in the layout, found as a referrers API finds them: the `index.json`
/// entries whose manifest's `subject` is the platform's manifest.
fn in_layout(layout: &Layout) -> Vec<Found> {
    let artifacts: Vec<Value> = layout.top["manifests"]
        .as_array()
        .expect("index.json lists manifests")
        .iter()
        .filter(|entry| entry["artifactType"] == SPDX_TYPE)
        .map(|entry| {
            assert_eq!(entry["mediaType"], MANIFEST_TYPE, "{entry}");
            assert!(
                entry["annotations"]["org.opencontainers.image.ref.name"].is_null(),
                "an SBOM has no name a loader could pick up: {entry}"
            );
            json(&layout.fetch(entry))
        })
        .collect();
    assert_eq!(artifacts.len(), PLATFORMS.len(), "one SBOM per platform");
    let (_, index) = layout.image();
    PLATFORMS
        .iter()
        .map(|platform| {
            let (entry, _, _, layer) = layout.platform(platform);
            let attached: Vec<&Value> = artifacts
                .iter()
                .filter(|artifact| artifact["subject"]["digest"] == entry["digest"])
                .collect();
            assert_eq!(attached.len(), 1, "{}: one SBOM", platform.name);
            let artifact = attached[0].clone();
            let document_bytes = layout.fetch(&artifact["layers"][0]);
            Found {
                platform,
                entry,
                index_annotations: index["annotations"].clone(),
                config: layout.fetch(&artifact["config"]),
                document: json(&document_bytes),
                document_bytes,
                artifact,
                layer,
            }
        })
        .collect()
}

/// Each platform's SBOM in `repository:tag` of a registry without the referrers API, found as
/// the distribution spec's fallback says: the referrers API answers 404, so the index under the
/// tag `sha256-<hex>` lists the platform manifest's referrers. Each is listed once, with its
/// artifactType and its manifest's annotations.
fn in_registry(http: &RegistryHttp<'_>, repository: &str, tag: &str) -> Vec<Found> {
    let index = http.manifest_json(repository, tag);
    assert_eq!(index["mediaType"], INDEX_TYPE);
    let entries = index["manifests"]
        .as_array()
        .expect("an index lists manifests");
    assert_eq!(entries.len(), PLATFORMS.len());
    entries
        .iter()
        .map(|entry| {
            let digest = entry["digest"].as_str().expect("a digest");
            let platform = PLATFORMS
                .iter()
                .find(|platform| {
                    entry["platform"]["architecture"] == platform.arch
                        && entry["platform"]["variant"].as_str() == platform.variant
                })
                .unwrap_or_else(|| panic!("a platform of the table: {entry}"));
            assert_eq!(
                http.referrers_status(repository, digest),
                NOT_FOUND,
                "docker-registry 2.8 has no referrers API"
            );
            let fallback = format!("sha256-{}", &digest["sha256:".len()..]);
            let listing = http.manifest_json(repository, &fallback);
            assert_eq!(listing["mediaType"], INDEX_TYPE, "{fallback}");
            let sboms: Vec<&Value> = listing["manifests"]
                .as_array()
                .expect("the referrers index lists manifests")
                .iter()
                .filter(|listed| listed["artifactType"] == SPDX_TYPE)
                .collect();
            assert_eq!(sboms.len(), 1, "{}: one SBOM in {fallback}", platform.name);
            let listed = sboms[0];
            let artifact_bytes = http
                .manifest(repository, listed["digest"].as_str().expect("a digest"))
                .expect("the listed SBOM manifest is in the registry");
            assert_eq!(
                Some(artifact_bytes.len() as u64),
                listed["size"].as_u64(),
                "{fallback}: the listed size"
            );
            let artifact = json(&artifact_bytes);
            assert_eq!(
                listed["annotations"], artifact["annotations"],
                "{fallback}: the referrers list carries the manifest's annotations"
            );
            let blob = |descriptor: &Value| {
                http.blob(repository, descriptor["digest"].as_str().expect("a digest"))
            };
            let manifest = http.manifest_json(repository, digest);
            let document_bytes = blob(&artifact["layers"][0]);
            Found {
                platform,
                entry: entry.clone(),
                index_annotations: index["annotations"].clone(),
                config: blob(&artifact["config"]),
                document: json(&document_bytes),
                document_bytes,
                layer: blob(&manifest["layers"][0]),
                artifact,
            }
        })
        .collect()
}
/// The hex digest coreutils' `program` (`sha1sum`, `sha256sum`) gives `data`.
fn coreutils_digest(program: &str, data: &[u8]) -> String {
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("running {program}: {error}"));
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(data)
        .expect("feeding it");
    let out = child.wait_with_output().expect("its output");
    assert!(out.status.success(), "{program} failed");
    String::from_utf8(out.stdout).expect("text")[..]
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}

/// The one file of a gzipped layer: (path, contents).
fn layer_file(layer: &[u8]) -> (String, Vec<u8>) {
    let mut tar = Vec::new();
    GzDecoder::new(layer)
        .read_to_end(&mut tar)
        .expect("a gzip stream");
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut entries = archive.entries().expect("a tar");
    let mut entry = entries.next().expect("one entry").expect("an entry");
    let path = entry.path().expect("a path").display().to_string();
    let mut contents = Vec::new();
    entry.read_to_end(&mut contents).expect("its contents");
    assert!(entries.next().is_none(), "the layer holds one file");
    (path, contents)
}

fn package<'a>(document: &'a Value, id: &str) -> &'a Value {
    document["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|package| package["SPDXID"] == id)
        .unwrap_or_else(|| panic!("no package {id}"))
}

fn related(document: &Value, from: &str, kind: &str) -> BTreeSet<String> {
    document["relationships"]
        .as_array()
        .expect("relationships")
        .iter()
        .filter(|r| r["spdxElementId"] == from && r["relationshipType"] == kind)
        .map(|r| r["relatedSpdxElement"].as_str().expect("an id").to_string())
        .collect()
}

/// Each SBOM is an OCI 1.1 artifact of its platform's manifest: the SPDX type, the empty
/// config, one layer, the platform manifest as its subject, dated as the image.
fn check_attachment(found: &[Found]) {
    for Found {
        platform,
        entry,
        index_annotations,
        artifact,
        config,
        ..
    } in found
    {
        assert_eq!(artifact["artifactType"], SPDX_TYPE, "{}", platform.name);
        assert_eq!(artifact["config"]["mediaType"], EMPTY_TYPE);
        assert_eq!(artifact["config"]["digest"], EMPTY_DIGEST);
        assert_eq!(config, b"{}");
        let layers = artifact["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 1, "{}", platform.name);
        assert_eq!(layers[0]["mediaType"], SPDX_TYPE);
        for field in ["mediaType", "digest", "size"] {
            assert_eq!(
                artifact["subject"][field], entry[field],
                "{}",
                platform.name
            );
        }
        assert_eq!(
            artifact["annotations"][CREATED], index_annotations[CREATED],
            "{}: dated as the image",
            platform.name
        );
    }
}

/// The file the SBOM names is byte for byte the layer's `/pause`: its SHA1 and SHA256 are
/// coreutils' digests of the file read out of the layer, and the image package's purl names this
/// platform's manifest.
fn check_file_digests(found: &[Found]) {
    for Found {
        platform,
        entry,
        index_annotations,
        document,
        layer,
        ..
    } in found
    {
        let (path, contents) = layer_file(layer);
        let files = document["files"].as_array().expect("files");
        assert_eq!(files.len(), 1, "{}", platform.name);
        assert_eq!(files[0]["fileName"], format!("./{path}"));
        let checksums: BTreeMap<&str, &str> = files[0]["checksums"]
            .as_array()
            .expect("checksums")
            .iter()
            .map(|c| {
                (
                    c["algorithm"].as_str().unwrap(),
                    c["checksumValue"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            checksums,
            BTreeMap::from([
                ("SHA1", coreutils_digest("sha1sum", &contents).as_str()),
                ("SHA256", coreutils_digest("sha256sum", &contents).as_str()),
            ]),
            "{}: the SBOM's file is the layer's",
            platform.name
        );
        let hex = entry["digest"]
            .as_str()
            .and_then(|digest| digest.strip_prefix("sha256:"))
            .expect("a sha256 digest");
        let image = package(document, "SPDXRef-Image");
        assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
        assert_eq!(
            image["externalRefs"][0]["referenceLocator"],
            format!("pkg:oci/pause@sha256%3A{hex}?arch={}", platform.arch)
        );
        assert!(
            document["documentNamespace"]
                .as_str()
                .is_some_and(|namespace| namespace.ends_with(&format!("sha256-{hex}"))),
            "{}: the namespace comes from the manifest digest",
            platform.name
        );
        assert_eq!(
            document["creationInfo"]["created"],
            index_annotations[CREATED]
        );
    }
}

/// Every crate the SBOMs list is in `pause/Cargo.lock` at that version with that checksum, with
/// a `pkg:cargo` purl; pause's own dependencies are there; nothing of a libc backend or another
/// OS is (pause is libc-free: on every platform rustix takes its raw-syscall backend).
fn check_crates(found: &[Found]) {
    let root = xtask::project::root();
    let lock: toml::Table = toml::from_str(
        &std::fs::read_to_string(root.join("pause/Cargo.lock")).expect("pause/Cargo.lock"),
    )
    .expect("valid TOML");
    let locked: BTreeMap<(String, String), Value> = lock["package"]
        .as_array()
        .expect("[[package]]")
        .iter()
        .map(|package| {
            let field = |key: &str| package[key].as_str().expect(key).to_string();
            (
                (field("name"), field("version")),
                serde_json::to_value(package).expect("as JSON"),
            )
        })
        .collect();
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(root.join("pause/Cargo.toml")).expect("pause/Cargo.toml"),
    )
    .expect("valid TOML");
    let direct: BTreeSet<&String> = manifest["dependencies"]
        .as_table()
        .expect("[dependencies]")
        .keys()
        .collect();

    for Found {
        platform, document, ..
    } in found
    {
        let crates: Vec<&Value> = document["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter(|package| package["primaryPackagePurpose"] == "LIBRARY")
            .collect();
        let names: BTreeSet<&str> = crates.iter().filter_map(|c| c["name"].as_str()).collect();
        for name in &direct {
            assert!(
                names.contains(name.as_str()),
                "{}: {name} missing",
                platform.name
            );
        }
        for name in &names {
            assert!(
                *name != "libc" && *name != "errno" && !name.starts_with("windows"),
                "{}: {name} is not linked into a libc-free Linux binary",
                platform.name
            );
        }
        let linked = related(document, "SPDXRef-File-pause", "STATIC_LINK");
        for package in crates {
            let name = package["name"].as_str().expect("a name");
            let version = package["versionInfo"].as_str().expect("a version");
            let entry = locked
                .get(&(name.to_string(), version.to_string()))
                .unwrap_or_else(|| {
                    panic!("{}: {name} {version} is not in Cargo.lock", platform.name)
                });
            assert_eq!(
                package["checksums"][0]["checksumValue"], entry["checksum"],
                "{}: {name}'s checksum",
                platform.name
            );
            assert_eq!(
                package["externalRefs"][0]["referenceLocator"],
                format!("pkg:cargo/{name}@{version}")
            );
            assert!(
                package["licenseDeclared"]
                    .as_str()
                    .is_some_and(|license| license != "NOASSERTION"),
                "{}: {name} declares a license",
                platform.name
            );
            assert!(
                linked.contains(package["SPDXID"].as_str().expect("an id")),
                "{}: /pause links {name}",
                platform.name
            );
        }
    }
}

/// The compiler the SBOM names is the one rust-toolchain.toml pins.
fn check_compiler(found: &[Found]) {
    let toolchain: toml::Table = toml::from_str(
        &std::fs::read_to_string(xtask::project::root().join("rust-toolchain.toml"))
            .expect("rust-toolchain.toml"),
    )
    .expect("valid TOML");
    let channel = toolchain["toolchain"]["channel"]
        .as_str()
        .expect("a pinned channel");
    for Found {
        platform, document, ..
    } in found
    {
        let rustc = document["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|package| package["name"] == "rustc")
            .unwrap_or_else(|| panic!("{}: no rustc package", platform.name));
        assert_eq!(rustc["versionInfo"], channel, "{}", platform.name);
        let id = rustc["SPDXID"].as_str().expect("an id");
        assert_eq!(
            related(document, id, "BUILD_TOOL_OF"),
            BTreeSet::from(["SPDXRef-File-pause".to_string()])
        );
    }
}

#[test]
fn each_sbom_is_an_oci_artifact_of_its_platform_manifest() {
    check_attachment(&in_layout(&Layout::open(&image::layout())));
}

#[test]
fn each_sbom_names_its_layers_file_by_digest() {
    check_file_digests(&in_layout(&Layout::open(&image::layout())));
}

#[test]
fn each_sbom_lists_the_crates_of_pause_cargo_lock() {
    check_crates(&in_layout(&Layout::open(&image::layout())));
}

#[test]
fn each_sbom_names_the_pinned_compiler() {
    check_compiler(&in_layout(&Layout::open(&image::layout())));
}

/// The SPDX project's validator, pyspdxtools (PyPI `spdx-tools`, in the venv `cargo xtask test`
/// makes), accepts every document.
#[test]
fn pyspdxtools_validates_every_sbom() {
    const TEST: &str = "sbom::pyspdxtools_validates_every_sbom";
    let validator = xtask::project::tools_venv().join("bin/pyspdxtools");
    if !validator.is_file() {
        skip(
            TEST,
            &format!("needs {} (PyPI spdx-tools)", validator.display()),
            "apt-get install python3-venv, then cargo xtask test (it makes the venv)",
        );
        return;
    }
    let scratch = tempfile::tempdir().expect("a temp dir");
    for Found {
        platform,
        document_bytes,
        ..
    } in in_layout(&Layout::open(&image::layout()))
    {
        // pyspdxtools picks the format by the file's extension.
        let path = scratch
            .path()
            .join(format!("{}.spdx.json", platform.dir_name()));
        std::fs::write(&path, document_bytes).expect("writing the SBOM");
        let out = Command::new(&validator)
            .arg("--infile")
            .arg(&path)
            .output()
            .expect("running pyspdxtools");
        assert!(
            out.status.success(),
            "{}: pyspdxtools refuses the SBOM:\n{}{}",
            platform.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn registry_needs() -> Vec<pause_tests::Need> {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.push(registry_http::NEEDS);
    needs
}

/// A push to Debian's docker-registry 2.8, which has no referrers API, leaves every platform's
/// SBOM where the distribution spec's fallback finds it: in the index under the tag
/// `sha256-<hex>` of the platform manifest, listed once with its artifactType and annotations;
/// the SBOM and the layer there pass every check the layout's pass. A second push of the same
/// image, under another tag, lists nothing twice and leaves each referrers index byte for byte.
#[test]
fn a_push_lists_every_sbom_under_its_fallback_tag() {
    if !ready(
        "sbom::a_push_lists_every_sbom_under_its_fallback_tag",
        &registry_needs(),
    ) {
        return;
    }
    let registry = Registry::start_plain();
    registry.push_project_image("first");
    let http = RegistryHttp::new(&registry);
    let found = in_registry(&http, REPOSITORY, "first");
    check_attachment(&found);
    check_file_digests(&found);
    check_crates(&found);
    check_compiler(&found);
    let local = Layout::open(&image::layout());
    for (remote, local) in found.iter().zip(in_layout(&local)) {
        assert_eq!(
            remote.document_bytes, local.document_bytes,
            "{}: the registry's SBOM is the layout's",
            remote.platform.name
        );
    }

    let fallback_tags = |found: &[Found]| -> Vec<Vec<u8>> {
        found
            .iter()
            .map(|found| {
                let digest = found.entry["digest"].as_str().expect("a digest");
                http.manifest(REPOSITORY, &format!("sha256-{}", &digest[7..]))
                    .expect("the fallback tag")
            })
            .collect()
    };
    let before = fallback_tags(&found);
    registry.push_project_image("second");
    let again = in_registry(&http, REPOSITORY, "second");
    assert_eq!(
        fallback_tags(&again),
        before,
        "a second push changed a referrers index"
    );
}

/// A small artifact of another tool, attached to `subject` in `repository`: its blobs and its
/// manifest stored, the manifest's bytes returned.
fn plant_foreign_artifact(http: &RegistryHttp<'_>, repository: &str, subject: &Value) -> Vec<u8> {
    let config = http.put_blob(repository, b"{}");
    let content = b"another tool's attestation";
    let layer = http.put_blob(repository, content);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": "application/vnd.example.foreign",
        "config": {"mediaType": EMPTY_TYPE, "digest": config, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer, "size": content.len()}],
        "subject": {
            "mediaType": subject["mediaType"],
            "digest": subject["digest"],
            "size": subject["size"],
        },
    });
    let bytes = serde_json::to_vec(&manifest).expect("JSON");
    let digest = xtask::oci::blob::sha256(&bytes);
    http.put_manifest(repository, &digest, MANIFEST_TYPE, &bytes);
    bytes
}

/// What others put under a fallback tag stays: an index listing another tool's artifact (with a
/// field this xtask does not model) keeps that entry first and whole, and gets the SBOM appended.
/// (A fallback tag holding no image index is refused: `trust`'s
/// `attested_push::a_malformed_tag_is_refused_naming_it`.)
#[test]
fn others_referrers_are_kept() {
    if !ready("sbom::others_referrers_are_kept", &registry_needs()) {
        return;
    }
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    let layout = Layout::open(&image::layout());
    let (amd64, _, _, _) = layout.platform(&PLATFORMS[0]);
    let fallback = |entry: &Value| {
        let digest = entry["digest"].as_str().expect("a digest");
        format!("sha256-{}", &digest["sha256:".len()..])
    };
    let sh = xshell::Shell::new().expect("a shell");
    let push = |repository: &str, tag: &str| {
        xtask::commands::push::push(
            &sh,
            &registry.push_options(),
            None,
            &registry.reference(&format!("{repository}:{tag}")),
        )
    };

    // Kept: another tool's referrer listed first, with a field of its own.
    let kept = "kept/pause";
    let foreign = plant_foreign_artifact(&http, kept, &amd64);
    let theirs = serde_json::json!({
        "mediaType": MANIFEST_TYPE,
        "digest": xtask::oci::blob::sha256(&foreign),
        "size": foreign.len(),
        "artifactType": "application/vnd.example.foreign",
        "annotations": {"org.example.note": "theirs"},
        "data": "e30=",
    });
    let listing = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [theirs],
    });
    http.put_manifest(
        kept,
        &fallback(&amd64),
        INDEX_TYPE,
        &serde_json::to_vec(&listing).expect("JSON"),
    );
    push(kept, "t").unwrap_or_else(|error| panic!("pushing beside another tool: {error:#}"));
    let after = http.manifest_json(kept, &fallback(&amd64));
    let entries = after["manifests"].as_array().expect("a referrers index");
    assert_eq!(entries.len(), 2, "theirs and the SBOM: {after}");
    assert_eq!(entries[0], theirs, "their entry, first and whole");
    assert_eq!(entries[1]["artifactType"], SPDX_TYPE);
}
