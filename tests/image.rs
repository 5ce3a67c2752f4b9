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
use pause_tests::containerd::{self, Containerd};
use pause_tests::deadline::run_within;
use pause_tests::podman::{self, Podman};
use pause_tests::process::run;
use pause_tests::registry::{self, Registry};
use pause_tests::xtask_cli::{self, BUILD_TIMEOUT};
use pause_tests::{Need, PLATFORMS, Platform, binary, image, ready};
use serde_json::Value;
use xtask::blob::sha256;
use xtask::image::{MAX_LAYER_BYTES, MAX_PLATFORM_BYTES, default_tag};

const SKOPEO: Need = Need::program("skopeo", "skopeo");
const UMOCI: Need = Need::program("umoci", "umoci");

const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
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

/// An OCI layout on disk.
struct Layout {
    dir: PathBuf,
    top: Value,
    /// The name of the multi-platform image in index.json.
    tag: String,
}

impl Layout {
    /// The layout at `dir` holding the image under the default tag.
    fn open(dir: &Path) -> Layout {
        Layout::named_as(dir, &default_tag())
    }

    fn named_as(dir: &Path, tag: &str) -> Layout {
        let top = json(&std::fs::read(dir.join("index.json")).expect("index.json"));
        let layout = json(&std::fs::read(dir.join("oci-layout")).expect("oci-layout"));
        assert_eq!(layout["imageLayoutVersion"], "1.0.0");
        Layout {
            dir: dir.to_path_buf(),
            top,
            tag: tag.to_string(),
        }
    }

    /// A blob's bytes, checked against its digest.
    fn blob(&self, digest: &str) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digests");
        let data = std::fs::read(self.dir.join("blobs/sha256").join(hex))
            .unwrap_or_else(|error| panic!("blob {digest}: {error}"));
        assert_eq!(
            sha256(&data),
            digest,
            "blob content does not match its name"
        );
        data
    }

    /// The blob a descriptor points at, checked against the descriptor's size.
    fn fetch(&self, descriptor: &Value) -> Vec<u8> {
        let data = self.blob(
            descriptor["digest"]
                .as_str()
                .expect("descriptors have a digest"),
        );
        assert_eq!(
            Some(data.len() as u64),
            descriptor["size"].as_u64(),
            "{descriptor}"
        );
        data
    }

    /// The entry of index.json named `name`.
    fn named(&self, name: &str) -> &Value {
        let entries = self.top["manifests"]
            .as_array()
            .expect("index.json lists manifests");
        let named: Vec<&Value> = entries
            .iter()
            .filter(|entry| entry["annotations"][REF_NAME] == name)
            .collect();
        assert_eq!(
            named.len(),
            1,
            "index.json must name `{name}` exactly once: {}",
            self.top
        );
        named[0]
    }

    /// The multi-platform image: (descriptor, image index).
    fn image(&self) -> (&Value, Value) {
        let descriptor = self.named(&self.tag);
        assert_eq!(descriptor["mediaType"], INDEX_TYPE);
        (descriptor, json(&self.fetch(descriptor)))
    }

    fn index_digest(&self) -> String {
        self.image().0["digest"]
            .as_str()
            .expect("a digest")
            .to_string()
    }

    /// One platform's (index entry, manifest, config, compressed layer).
    fn platform(&self, platform: &Platform) -> (Value, Value, Value, Vec<u8>) {
        let (_, index) = self.image();
        let wanted = oci_platform(platform);
        let entries: Vec<&Value> = index["manifests"]
            .as_array()
            .expect("an index lists manifests")
            .iter()
            .filter(|entry| entry["platform"] == wanted)
            .collect();
        assert_eq!(
            entries.len(),
            1,
            "{}: the index must list it once: {index}",
            platform.name
        );
        let entry = entries[0].clone();
        assert_eq!(entry["mediaType"], MANIFEST_TYPE);
        let manifest = json(&self.fetch(&entry));
        let config = json(&self.fetch(&manifest["config"]));
        let layers = manifest["layers"]
            .as_array()
            .expect("a manifest lists layers");
        assert_eq!(layers.len(), 1, "{}: one layer", platform.name);
        let layer = self.fetch(&layers[0]);
        (entry, manifest, config, layer)
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// The OCI platform object the platform table implies.
fn oci_platform(platform: &Platform) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("architecture".into(), platform.arch.into());
    object.insert("os".into(), "linux".into());
    if let Some(variant) = platform.variant {
        object.insert("variant".into(), variant.into());
    }
    Value::Object(object)
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
    let definition = xtask::definition::load().expect("image/image.toml");
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
        assert_eq!(config["config"]["User"], definition.user.as_str());
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
    let definition = xtask::definition::load().expect("image/image.toml");
    let mut expected: BTreeMap<String, String> = definition.annotations.clone();
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
            xtask::epoch::rfc3339(*mtime),
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

/// A binary that does not compress (xorshift noise) must make the size check fail, naming the
/// platform and the budget.
#[test]
fn an_oversized_layer_is_refused() {
    const NOISE_BYTES: usize = 4096;
    let mut state: u32 = 0x9e37_79b9;
    let noise: Vec<u8> = (0..NOISE_BYTES)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let definition = xtask::definition::load().expect("image/image.toml");
    let platform = &PLATFORMS[0];
    let image = xtask::image::assemble(&definition, &[(platform, noise)], &default_tag(), 0, None)
        .expect("assembles");
    let error = xtask::image::check_sizes(&image)
        .expect_err("4 KiB of noise is over budget")
        .to_string();
    assert!(
        error.contains(platform.name) && error.contains(&MAX_LAYER_BYTES.to_string()),
        "{error}"
    );
}

/// Without SOURCE_DATE_EPOCH the image is dated at the Unix epoch: config, history and layer.
#[test]
fn epoch_zero_dates_everything_1970() {
    let definition = xtask::definition::load().expect("image/image.toml");
    let platform = host();
    let contents = std::fs::read(binary(platform)).expect("the built binary");
    let image = xtask::image::assemble(
        &definition,
        &[(platform, contents)],
        &default_tag(),
        0,
        None,
    )
    .expect("assembles");
    let built = &image.platforms[0];
    let config = json(&built.config.data);
    assert_eq!(config["created"], "1970-01-01T00:00:00Z");
    assert_eq!(config["history"][0]["created"], "1970-01-01T00:00:00Z");
    assert_eq!(tar_entries(&gunzip(&built.layer.data))[0].4, 0);
}

/// A definition that sets what the build computes, or misspells a field, is refused with the
/// file's name and the problem.
#[test]
fn a_bad_image_definition_is_refused() {
    let good = std::fs::read_to_string(xtask::definition::path()).expect("image/image.toml");
    let scratch = tempfile::tempdir().expect("a temp dir");
    let path = scratch.path().join("image.toml");
    for (edit, expected) in [
        (
            format!("{good}\"{CREATED}\" = \"2000-01-01T00:00:00Z\"\n"),
            "computed at build time",
        ),
        (
            good.replace("entrypoint =", "entry_point ="),
            "unknown field",
        ),
        (good.replace("mode = 0o755", "mode = \"rwx\""), "mode"),
    ] {
        std::fs::write(&path, edit).expect("writing a definition");
        let error = format!("{:#}", xtask::definition::read(&path).expect_err(expected));
        assert!(
            error.contains(&path.display().to_string()) && error.contains(expected),
            "{error}"
        );
    }
}

#[test]
fn malformed_tags_are_refused() {
    for good in [
        "localhost/pause:0.1.0",
        "127.0.0.1:5000/pause:dev",
        "ghcr.io/o/pause:v1.2.3",
        "pause:x",
    ] {
        xtask::image::check_tag(good).unwrap_or_else(|error| panic!("{good}: {error}"));
    }
    for bad in [
        "",
        "pause",
        "Pause:1",
        "localhost/pause:",
        "localhost/pause:a/b",
        ":1",
        "pause:-x",
        "a//b:1",
    ] {
        let error = xtask::image::check_tag(bad).expect_err(bad).to_string();
        assert!(
            error.contains("--tag") && error.contains("REPOSITORY:TAG"),
            "{bad}: {error}"
        );
    }
}

/// Writing over an existing layout swaps in the new one whole: none of the old blobs stay, and no
/// scratch directory is left beside it.
#[test]
fn rewriting_the_layout_replaces_it_whole() {
    let definition = xtask::definition::load().expect("image/image.toml");
    let contents = std::fs::read(binary(host())).expect("the built binary");
    let scratch = tempfile::tempdir().expect("a temp dir");
    let dir = scratch.path().join("oci");
    for epoch in [0, EPOCH] {
        let image = xtask::image::assemble(
            &definition,
            &[(host(), contents.clone())],
            &default_tag(),
            epoch,
            None,
        )
        .expect("assembles");
        xtask::layout::write(&image, &dir).expect("writes the layout");
        assert_eq!(Layout::open(&dir).index_digest(), image.index.digest);
        let blobs = std::fs::read_dir(dir.join("blobs/sha256"))
            .expect("blobs")
            .count();
        assert_eq!(
            blobs, 4,
            "index, manifest, config and layer of the last image only"
        );
    }
    let beside = entry_names(scratch.path());
    assert_eq!(beside, ["oci"]);
}

/// The reader that pushing uses gives back the layout's exact bytes.
#[test]
fn the_layout_reads_back_byte_for_byte() {
    let dir = image::layout();
    let layout = Layout::open(&dir);
    let contents = xtask::layout::read(&dir).expect("the layout reads back");
    assert_eq!(contents.ref_name, default_tag());
    assert_eq!(contents.index.digest, layout.index_digest());
    assert_eq!(contents.manifests.len(), PLATFORMS.len());
    assert_eq!(
        contents.blobs.len(),
        2 * PLATFORMS.len(),
        "a config and a layer per platform"
    );
    for blob in contents
        .manifests
        .iter()
        .chain(&contents.blobs)
        .chain([&contents.index])
    {
        assert_eq!(layout.blob(&blob.digest), blob.data);
    }
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
                    .env(xtask::epoch::VAR, EPOCH.to_string()),
                BUILD_TIMEOUT,
            );
            out
        })
        .collect();

    let first = Layout::open(&xtask::image::layout_dir(&builds[0]));
    let second = Layout::open(&xtask::image::layout_dir(&builds[1]));
    assert_eq!(first.index_digest(), second.index_digest());
    assert_eq!(first.top, second.top, "index.json");
    let archives: Vec<Vec<u8>> = builds
        .iter()
        .map(|out| std::fs::read(xtask::image::archive_path(out)).expect("pause.tar"))
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
    if !ready("image::skopeo_inspects_the_layout", &[SKOPEO]) {
        return;
    }
    let dir = image::layout();
    let layout = Layout::open(&dir);
    let reference = format!("oci:{}:{}", dir.display(), default_tag());

    let raw = run(&["skopeo", "inspect", "--raw", &reference]);
    assert_eq!(
        sha256(raw.as_bytes()),
        layout.index_digest(),
        "--raw gives the index's exact bytes"
    );

    let inspected = json(run(&["skopeo", "inspect", &reference]).as_bytes());
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
            xtask::layout::platform_ref(&default_tag(), platform)
        );
        let config = json(run(&["skopeo", "inspect", "--config", &reference]).as_bytes());
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
            xtask::layout::platform_ref(&default_tag(), platform)
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
        &[SKOPEO],
    ) {
        return;
    }
    let archive = image::archive().display().to_string();
    let layout = Layout::open(&image::layout());
    let scratch = tempfile::tempdir().expect("a temp dir");
    let copy = scratch.path().join("copy");
    run(&[
        "skopeo",
        "copy",
        "--all",
        &format!("oci-archive:{archive}"),
        &format!("oci:{}:copied", copy.display()),
    ]);
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
    let docker = json(run(&["skopeo", "inspect", &format!("docker-archive:{archive}")]).as_bytes());
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
    let needs = [&[Need::Root], containerd::NEEDS, registry::NEEDS].concat();
    if !ready(
        "image::containerd_imports_the_archive_under_the_tag",
        &needs,
    ) {
        return;
    }
    let archive = image::archive().display().to_string();
    let layout = Layout::open(&image::layout());
    // The fixture wants a sandbox image; an import never starts a pod, so none is pushed.
    let registry = Registry::start_plain();
    let containerd = Containerd::start(&registry, &registry.reference(&default_tag()));
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
