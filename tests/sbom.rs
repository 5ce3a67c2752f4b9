//! The SBOM of every platform image in the layout `cargo xtask image` writes: valid SPDX 2.3 for
//! the SPDX project's own validator, attached to its platform's manifest the OCI 1.1 way, naming
//! the exact bytes of the layer's `/pause` (hashed here by coreutils, read out of the layer with
//! flate2 and tar), the crates of `pause/Cargo.lock` with their checksums, and the pinned
//! compiler.
//!
//! The layout is read with serde_json alone, as in the image suite, not with the xtask's reader.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use flate2::read::GzDecoder;
use pause_tests::layout::{Layout, json};
use pause_tests::{PLATFORMS, Platform, image, skip};
use serde_json::Value;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const SPDX_TYPE: &str = "application/spdx+json";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The image spec's empty blob, `{}`, and its digest.
const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const CREATED: &str = "org.opencontainers.image.created";

/// Each platform with (its index entry, the SBOM artifact manifest, the SPDX document), found as a
/// referrers API finds them: the `index.json` entries whose manifest's `subject` is the
/// platform's manifest.
fn sboms(layout: &Layout) -> Vec<(&'static Platform, Value, Value, Value)> {
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
    PLATFORMS
        .iter()
        .map(|platform| {
            let (entry, _, _, _) = layout.platform(platform);
            let attached: Vec<&Value> = artifacts
                .iter()
                .filter(|artifact| artifact["subject"]["digest"] == entry["digest"])
                .collect();
            assert_eq!(attached.len(), 1, "{}: one SBOM", platform.name);
            let artifact = attached[0].clone();
            let document = json(&layout.fetch(&artifact["layers"][0]));
            (platform, entry, artifact, document)
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

#[test]
fn each_sbom_is_an_oci_artifact_of_its_platform_manifest() {
    let layout = Layout::open(&image::layout());
    let (_, index) = layout.image();
    for (platform, entry, artifact, _) in sboms(&layout) {
        assert_eq!(artifact["artifactType"], SPDX_TYPE, "{}", platform.name);
        assert_eq!(artifact["config"]["mediaType"], EMPTY_TYPE);
        assert_eq!(artifact["config"]["digest"], EMPTY_DIGEST);
        assert_eq!(layout.fetch(&artifact["config"]), b"{}");
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
            artifact["annotations"][CREATED], index["annotations"][CREATED],
            "{}: dated as the image",
            platform.name
        );
    }
}

/// The file the SBOM names is byte for byte the layer's `/pause`: its SHA1 and SHA256 are
/// coreutils' digests of the file read out of the layer, and the image package's purl names this
/// platform's manifest.
#[test]
fn each_sbom_names_its_layers_file_by_digest() {
    let layout = Layout::open(&image::layout());
    let (_, index) = layout.image();
    for (platform, entry, _, document) in sboms(&layout) {
        let (_, _, _, layer) = layout.platform(platform);
        let (path, contents) = layer_file(&layer);
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
        let image = package(&document, "SPDXRef-Image");
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
            index["annotations"][CREATED]
        );
    }
}

/// Every crate the SBOMs list is in `pause/Cargo.lock` at that version with that checksum, with
/// a `pkg:cargo` purl; pause's own dependencies are there; nothing of a libc backend or another
/// OS is (pause is libc-free: on every platform rustix takes its raw-syscall backend).
#[test]
fn each_sbom_lists_the_crates_of_pause_cargo_lock() {
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

    let layout = Layout::open(&image::layout());
    for (platform, _, _, document) in sboms(&layout) {
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
        let linked = related(&document, "SPDXRef-File-pause", "STATIC_LINK");
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
#[test]
fn each_sbom_names_the_pinned_compiler() {
    let toolchain: toml::Table = toml::from_str(
        &std::fs::read_to_string(xtask::project::root().join("rust-toolchain.toml"))
            .expect("rust-toolchain.toml"),
    )
    .expect("valid TOML");
    let channel = toolchain["toolchain"]["channel"]
        .as_str()
        .expect("a pinned channel");
    let layout = Layout::open(&image::layout());
    for (platform, _, _, document) in sboms(&layout) {
        let rustc = document["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|package| package["name"] == "rustc")
            .unwrap_or_else(|| panic!("{}: no rustc package", platform.name));
        assert_eq!(rustc["versionInfo"], channel, "{}", platform.name);
        let id = rustc["SPDXID"].as_str().expect("an id");
        assert_eq!(
            related(&document, id, "BUILD_TOOL_OF"),
            BTreeSet::from(["SPDXRef-File-pause".to_string()])
        );
    }
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
    let layout = Layout::open(&image::layout());
    let scratch = tempfile::tempdir().expect("a temp dir");
    for (platform, _, artifact, _) in sboms(&layout) {
        // pyspdxtools picks the format by the file's extension.
        let path = scratch
            .path()
            .join(format!("{}.spdx.json", platform.dir_name()));
        std::fs::write(&path, layout.fetch(&artifact["layers"][0])).expect("writing the SBOM");
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
