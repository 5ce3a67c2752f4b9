//! The multi-platform image `cargo xtask image` writes (target/image): every document checked
//! against the platform table and image/image.toml, each layer's exact bytes, the size budget, a
//! rebuild from clean target directories, and what skopeo, umoci and podman make of it.
//!
//! The layout is read here with serde_json alone, not with the xtask's reader, so that a mistake in
//! the writer is not repeated by the check.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::read::GzDecoder;
use pause_tests::deadline::run_within;
use pause_tests::layout::{Layout, json};
use pause_tests::process::run;
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::runtime::containerd::{self, Containerd, Release};
use pause_tests::runtime::podman::{self, Podman};
use pause_tests::skopeo;
use pause_tests::xtask_cli::{self, BUILD_TIMEOUT};
use pause_tests::{Need, PLATFORMS, Platform, binary, image, ready};
use serde_json::Value;
use xtask::build::image::{MAX_LAYER_BYTES, MAX_PLATFORM_BYTES, default_tag};
use xtask::oci::blob::sha256;

const UMOCI: Need = Need::program("umoci", "umoci");

const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const CREATED: &str = "org.opencontainers.image.created";

/// The annotations every manifest and the index carry.
const ANNOTATIONS: &[&str] = &[
    "org.opencontainers.image.created",
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.source",
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.licenses",
];

/// The gzip header bytes that must never vary: mtime (4..8) zero, flags (3) zero (no name, no
/// comment, no extra field).
const GZIP_FLAGS: usize = 3;
const GZIP_MTIME: std::ops::Range<usize> = 4..8;

/// The SOURCE_DATE_EPOCH of the reproducibility builds, and its RFC 3339 spelling.
const EPOCH: u64 = 1_700_000_000;
const EPOCH_RFC3339: &str = "2023-11-14T22:13:20Z";

/// `seconds` since the epoch in RFC 3339, as GNU date (not the xtask) spells it.
fn timestamp_of(seconds: u64) -> String {
    run(&[
        "date",
        "-u",
        "-d",
        &format!("@{seconds}"),
        "+%Y-%m-%dT%H:%M:%SZ",
    ])
    .trim()
    .to_string()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut tar = Vec::new();
    GzDecoder::new(data)
        .read_to_end(&mut tar)
        .expect("a gzip stream");
    tar
}

/// (path, mode, uid, gid, mtime, contents) of every entry of a tar.
fn tar_entries(tar: &[u8]) -> Vec<(String, u32, u64, u64, u64, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .expect("a tar")
        .map(|entry| {
            let mut entry = entry.expect("a tar entry");
            let header = entry.header().clone();
            let mut contents = Vec::new();
            entry.read_to_end(&mut contents).expect("entry contents");
            (
                entry.path().expect("a path").display().to_string(),
                header.mode().expect("mode"),
                header.uid().expect("uid"),
                header.gid().expect("gid"),
                header.mtime().expect("mtime"),
                contents,
            )
        })
        .collect()
}

/// `image/image.toml`, read with the toml crate rather than the xtask's parser.
fn definition() -> toml::Table {
    let path = xtask::project::root().join("image/image.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("image/image.toml")).expect("valid TOML")
}

/// The platform `skopeo`, `podman` and `docker-archive` pick on this machine.
fn host() -> &'static Platform {
    Platform::host().expect("the suite runs on one of the image's platforms")
}

#[test]
fn index_lists_each_platform_once_and_matches_its_config() {
    let layout = Layout::open(&image::layout());
    let (_, index) = layout.image();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], INDEX_TYPE);
    assert_eq!(
        index["manifests"].as_array().map(Vec::len),
        Some(PLATFORMS.len())
    );
    let definition = definition();
    for platform in PLATFORMS {
        let (entry, manifest, config, _) = layout.platform(platform);
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(manifest["mediaType"], MANIFEST_TYPE);
        assert_eq!(manifest["config"]["mediaType"], CONFIG_TYPE);
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_TYPE);
        for field in ["architecture", "os", "variant"] {
            assert_eq!(
                config[field], entry["platform"][field],
                "{}: config {field}",
                platform.name
            );
        }
        assert_eq!(
            config["config"]["User"],
            definition["user"].as_str().expect("user")
        );
        assert_eq!(config["config"]["User"], "65535:65535");
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/pause"])
        );
        assert_eq!(config["rootfs"]["type"], "layers");
        let history = config["history"].as_array().expect("a history");
        assert_eq!(history.len(), 1, "{}: one history entry", platform.name);
        assert_eq!(history[0]["created"], config["created"]);
        assert_eq!(config["created"], index["annotations"][CREATED]);
    }
}

#[test]
fn index_and_manifests_carry_every_annotation() {
    let layout = Layout::open(&image::layout());
    let (_, index) = layout.image();
    let mut expected: BTreeMap<String, String> = definition()["annotations"]
        .as_table()
        .expect("[annotations]")
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().expect("a string").to_string()))
        .collect();
    expected.insert(
        "org.opencontainers.image.version".into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    expected.insert(
        CREATED.into(),
        index["annotations"][CREATED]
            .as_str()
            .expect("created")
            .into(),
    );
    let root = xtask::project::root().display().to_string();
    let revision = run(&["git", "-C", &root, "rev-parse", "--short=12", "HEAD"]);
    expected.insert(
        "org.opencontainers.image.revision".into(),
        revision.trim().into(),
    );
    let mut keys = ANNOTATIONS.to_vec();
    keys.sort_unstable();
    assert_eq!(
        expected.keys().map(String::as_str).collect::<Vec<_>>(),
        keys
    );

    let as_map = |value: &Value| -> BTreeMap<String, String> {
        serde_json::from_value(value.clone()).expect("annotations are a string map")
    };
    assert_eq!(as_map(&index["annotations"]), expected, "index annotations");
    for platform in PLATFORMS {
        let (_, manifest, _, _) = layout.platform(platform);
        assert_eq!(
            as_map(&manifest["annotations"]),
            expected,
            "{} manifest annotations",
            platform.name
        );
    }
}

#[test]
fn each_layer_is_exactly_the_binary_with_fixed_metadata() {
    let layout = Layout::open(&image::layout());
    for platform in PLATFORMS {
        let (_, _, config, layer) = layout.platform(platform);
        assert_eq!(&layer[..2], &[0x1f, 0x8b], "{}: gzip magic", platform.name);
        assert_eq!(
            layer[GZIP_FLAGS], 0,
            "{}: gzip header names nothing",
            platform.name
        );
        assert_eq!(
            &layer[GZIP_MTIME],
            &[0, 0, 0, 0],
            "{}: gzip mtime",
            platform.name
        );

        let tar = gunzip(&layer);
        assert_eq!(
            config["rootfs"]["diff_ids"],
            serde_json::json!([sha256(&tar)]),
            "{}: diff_id",
            platform.name
        );
        let entries = tar_entries(&tar);
        assert_eq!(
            entries.len(),
            1,
            "{}: the layer holds exactly /pause",
            platform.name
        );
        let (path, mode, uid, gid, mtime, contents) = &entries[0];
        assert_eq!(path, "pause", "{}", platform.name);
        assert_eq!(
            (*mode, *uid, *gid),
            (0o755, 0, 0),
            "{}: mode and owner",
            platform.name
        );
        assert_eq!(
            timestamp_of(*mtime),
            config["created"],
            "{}: mtime is the image's date",
            platform.name
        );
        let built = std::fs::read(binary(platform)).expect("the built binary");
        assert!(
            contents == &built,
            "{}: /pause differs from {}",
            platform.name,
            binary(platform).display()
        );
    }
}

#[test]
fn every_platform_fits_the_size_budget() {
    let layout = Layout::open(&image::layout());
    for platform in PLATFORMS {
        let (entry, manifest, _, layer) = layout.platform(platform);
        let config = manifest["config"]["size"].as_u64().expect("config size");
        let manifest = entry["size"].as_u64().expect("manifest size");
        let layer = layer.len() as u64;
        assert!(
            layer <= MAX_LAYER_BYTES,
            "{}: layer {layer} > {MAX_LAYER_BYTES}",
            platform.name
        );
        let total = layer + config + manifest;
        assert!(
            total <= MAX_PLATFORM_BYTES,
            "{}: total {total} > {MAX_PLATFORM_BYTES}",
            platform.name
        );
    }
}

/// A SOURCE_DATE_EPOCH past 9999-12-31T23:59:59Z is refused at once with one line (the date code
/// used to walk toward u64::MAX year by year and never finish), and the layout stays as it was.
#[test]
fn an_epoch_past_the_year_9999_is_refused_at_once() {
    /// Far more than a refusal needs, far less than the old endless walk.
    const REFUSAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
    let xtask = xtask_cli::project();
    let before = Layout::open(&image::layout()).index_digest();
    for epoch in ["18446744073709551615", "1000000000000000", "253402300800"] {
        let out = pause_tests::deadline::output_within(
            Command::new(&xtask)
                .args(["image"])
                .env(xtask::oci::timestamp::VAR, epoch),
            REFUSAL_TIMEOUT,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "SOURCE_DATE_EPOCH={epoch} was accepted"
        );
        assert!(
            stderr.lines().count() == 1 && stderr.contains("9999-12-31T23:59:59Z"),
            "SOURCE_DATE_EPOCH={epoch}: not one line naming the limit:\n{stderr}"
        );
    }
    assert_eq!(Layout::open(&image::layout()).index_digest(), before);
}

/// Two builds of this commit with the same SOURCE_DATE_EPOCH, each building pause in its own empty
/// target directory, give the same bytes: index digest, layout and archive.
#[test]
fn two_clean_builds_are_bit_for_bit_identical() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let xtask = xtask_cli::build(&scratch.path().join("xtask-target"));
    let builds: Vec<PathBuf> = ["first", "second"]
        .iter()
        .map(|name| {
            let out = scratch.path().join(name);
            run_within(
                Command::new(&xtask)
                    .args(["image", "--out"])
                    .arg(&out)
                    .env(
                        "CARGO_TARGET_DIR",
                        scratch.path().join(format!("{name}-target")),
                    )
                    .env(xtask::oci::timestamp::VAR, EPOCH.to_string()),
                BUILD_TIMEOUT,
            );
            out
        })
        .collect();

    let first = Layout::open(&xtask::project::layout_dir(&builds[0]));
    let second = Layout::open(&xtask::project::layout_dir(&builds[1]));
    assert_eq!(first.index_digest(), second.index_digest());
    assert_eq!(first.top, second.top, "index.json");
    // index.json lists each platform's provenance by digest: equal index.json, equal statements.
    let provenance = |layout: &Layout| -> Vec<Vec<u8>> {
        layout.top["manifests"]
            .as_array()
            .expect("index.json lists manifests")
            .iter()
            .filter(|entry| entry["artifactType"] == "application/vnd.in-toto+json")
            .map(|entry| layout.fetch(&json(&layout.fetch(entry))["layers"][0]))
            .collect()
    };
    assert_eq!(provenance(&first).len(), PLATFORMS.len());
    assert!(
        provenance(&first) == provenance(&second),
        "the provenance statements differ between the builds"
    );
    let archives: Vec<Vec<u8>> = builds
        .iter()
        .map(|out| std::fs::read(xtask::project::archive_path(out)).expect("pause.tar"))
        .collect();
    assert!(
        archives[0] == archives[1],
        "pause.tar differs between the builds"
    );

    let (_, index) = first.image();
    assert_eq!(index["annotations"][CREATED], EPOCH_RFC3339);
    let (_, _, config, layer) = first.platform(host());
    assert_eq!(config["created"], EPOCH_RFC3339);
    assert_eq!(tar_entries(&gunzip(&layer))[0].4, EPOCH);
}

#[test]
fn skopeo_inspects_the_layout() {
    if !ready("image::skopeo_inspects_the_layout", skopeo::NEEDS) {
        return;
    }
    let dir = image::layout();
    let layout = Layout::open(&dir);
    let reference = format!("oci:{}:{}", dir.display(), default_tag());

    let raw = run(&skopeo::argv(&["inspect", "--raw", &reference]));
    assert_eq!(
        sha256(raw.as_bytes()),
        layout.index_digest(),
        "--raw gives the index's exact bytes"
    );

    let inspected = json(run(&skopeo::argv(&["inspect", &reference])).as_bytes());
    assert_eq!(inspected["Digest"], layout.index_digest().as_str());
    assert_eq!(inspected["Architecture"], host().arch);
    assert_eq!(inspected["Os"], "linux");
    let (_, manifest, _, _) = layout.platform(host());
    assert_eq!(
        inspected["Layers"],
        serde_json::json!([manifest["layers"][0]["digest"]])
    );

    for platform in PLATFORMS {
        let reference = format!(
            "oci:{}:{}",
            dir.display(),
            xtask::oci::layout::platform_ref(&default_tag(), platform)
        );
        let config = json(run(&skopeo::argv(&["inspect", "--config", &reference])).as_bytes());
        assert_eq!(config["architecture"], platform.arch, "{}", platform.name);
    }
}

#[test]
fn umoci_unpacks_a_rootfs_of_exactly_pause() {
    if !ready(
        "image::umoci_unpacks_a_rootfs_of_exactly_pause",
        &[Need::Root, UMOCI],
    ) {
        return;
    }
    let dir = image::layout();
    for platform in PLATFORMS {
        let scratch = tempfile::tempdir().expect("a temp dir");
        let bundle = scratch.path().join("bundle");
        let image = format!(
            "{}:{}",
            dir.display(),
            xtask::oci::layout::platform_ref(&default_tag(), platform)
        );
        run(&[
            "umoci",
            "unpack",
            "--image",
            &image,
            &bundle.display().to_string(),
        ]);

        let rootfs = bundle.join("rootfs");
        let names = entry_names(&rootfs);
        assert_eq!(
            names,
            ["pause"],
            "{}: the rootfs holds exactly /pause",
            platform.name
        );
        let pause = rootfs.join("pause");
        let meta = std::fs::metadata(&pause).expect("/pause");
        assert_eq!(
            (meta.mode() & 0o7777, meta.uid(), meta.gid()),
            (0o755, 0, 0),
            "{}",
            platform.name
        );
        assert!(
            std::fs::read(&pause).expect("/pause")
                == std::fs::read(binary(platform)).expect("binary")
        );

        let runtime = json(&std::fs::read(bundle.join("config.json")).expect("config.json"));
        assert_eq!(
            runtime["process"]["args"],
            serde_json::json!(["/pause"]),
            "{}",
            platform.name
        );
        assert_eq!(runtime["process"]["user"]["uid"], 65535);
        assert_eq!(runtime["process"]["user"]["gid"], 65535);
    }
}

#[test]
fn skopeo_copies_the_archive_as_oci_and_reads_it_as_docker() {
    if !ready(
        "image::skopeo_copies_the_archive_as_oci_and_reads_it_as_docker",
        skopeo::NEEDS,
    ) {
        return;
    }
    let archive = image::archive().display().to_string();
    let layout = Layout::open(&image::layout());
    let scratch = tempfile::tempdir().expect("a temp dir");
    let copy = scratch.path().join("copy");
    run(&skopeo::argv(&[
        "copy",
        "--all",
        &format!("oci-archive:{archive}"),
        &format!("oci:{}:copied", copy.display()),
    ]));
    let copied = Layout::named_as(&copy, "copied");
    assert_eq!(
        copied.index_digest(),
        layout.index_digest(),
        "the copy keeps the index digest"
    );
    for platform in PLATFORMS {
        assert_eq!(
            copied.platform(platform).3,
            layout.platform(platform).3,
            "{}: same layer",
            platform.name
        );
    }

    // A docker-archive names its layers by their uncompressed digests.
    let docker = json(
        run(&skopeo::argv(&[
            "inspect",
            &format!("docker-archive:{archive}"),
        ]))
        .as_bytes(),
    );
    let (_, _, config, _) = layout.platform(host());
    assert_eq!(docker["Architecture"], host().arch);
    assert_eq!(docker["Layers"], config["rootfs"]["diff_ids"]);
}

#[test]
fn podman_loads_the_archive_under_the_tag() {
    let needs = [&[Need::Root], podman::NEEDS].concat();
    if !ready("image::podman_loads_the_archive_under_the_tag", &needs) {
        return;
    }
    let archive = image::archive().display().to_string();
    let layout = Layout::open(&image::layout());
    let podman = Podman::offline();
    let loaded = podman.run(&["load", "--input", &archive]);
    assert!(
        loaded.contains(&format!("Loaded image: {}", default_tag())),
        "{loaded}"
    );

    let inspected = json(podman.run(&["image", "inspect", &default_tag()]).as_bytes());
    let image = &inspected[0];
    assert_eq!(image["Architecture"], host().arch);
    assert_eq!(image["Config"]["User"], "65535:65535");
    assert_eq!(image["Config"]["Entrypoint"], serde_json::json!(["/pause"]));
    assert_eq!(
        image["Digest"],
        layout.index_digest().as_str(),
        "podman keeps the index digest"
    );
}

/// `ctr images import` of every platform, as a node preloads its sandbox image.
#[test]
fn containerd_imports_the_archive_under_the_tag() {
    let needs = [&[Need::Root], containerd::NEEDS, docker_registry::NEEDS].concat();
    if !ready(
        "image::containerd_imports_the_archive_under_the_tag",
        &needs,
    ) {
        return;
    }
    let archive = image::archive().display().to_string();
    let layout = Layout::open(&image::layout());
    // An import never starts a pod, so no sandbox image is pushed or set.
    let registry = Registry::start_plain();
    let containerd = Containerd::start(Release::V1_6, &registry, None);
    containerd.ctr(&["images", "import", "--all-platforms", &archive]);

    let listed = containerd.ctr(&["images", "list"]);
    let tag = default_tag();
    let line = listed
        .lines()
        .find(|line| line.split_whitespace().next() == Some(tag.as_str()))
        .unwrap_or_else(|| panic!("ctr lists no {tag}:\n{listed}"));
    assert!(
        line.contains(&layout.index_digest()),
        "containerd keeps the index digest: {line}"
    );
    for platform in PLATFORMS {
        assert!(
            line.contains(platform.name),
            "{} is missing: {line}",
            platform.name
        );
    }
}

/// The names of the entries in `dir`.
fn entry_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}
