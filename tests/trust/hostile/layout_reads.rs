//! A hostile layout or layer: an OCI layout whose index names `/dev/zero` through `../`, a FIFO, a
//! blob longer than its descriptor says, pushed with `cargo xtask push --layout`; a gzip bomb as a
//! registry's layer, checked with `cargo xtask verify`. Each run is under an address-space limit
//! (RLIMIT_AS, as `prlimit --as` sets it) and must refuse in one line with a small peak RSS (as
//! GNU time counts it for the xtask and every child it waited for), and never hang.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pause_tests::bounded_run::{self, Bounded, NEEDS_TIME};
use pause_tests::layout::Layout;
use pause_tests::registry::docker_registry::{self, REPOSITORY, Registry};
use pause_tests::xtask_cli;
use pause_tests::{image, ready};
use serde_json::{Value, json};
use xtask::oci::blob::sha256;

/// How long a push of a hostile layout may take before it counts as hung: it reads the layout
/// and stops, before connecting anywhere.
const PUSH_HANG: Duration = Duration::from_secs(60);
/// How long a verify may take before it counts as hung: it rebuilds the image (compiled).
const VERIFY_HANG: Duration = Duration::from_secs(300);
/// A registry no push here reaches: each layout is refused while it is read, before connecting.
const NOWHERE: &str = "127.0.0.1:9/pause:hostile";
const IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// How much a gzip bomb inflates to: past the address-space limit, so that an unbounded read
/// cannot hold it.
const BOMB_INFLATED_BYTES: u64 = bounded_run::ADDRESS_SPACE * 3 / 2;

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).expect("creating a test dir");
    fs::write(path, data).expect("writing a test file");
}

/// A layout whose index.json names one image index: `digest`, of `size` bytes.
fn layout_naming(dir: &Path, digest: &str, size: u64) {
    write(
        &dir.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    );
    let top = json!({
        "schemaVersion": 2,
        "mediaType": IMAGE_INDEX,
        "manifests": [{"mediaType": IMAGE_INDEX, "digest": digest, "size": size}],
    });
    write(&dir.join("index.json"), top.to_string().as_bytes());
}

/// `cargo xtask push NOWHERE --layout DIR`.
fn push(layout: &Path) -> Bounded {
    bounded_run::run(
        &["push", NOWHERE, "--layout", &layout.display().to_string()],
        PUSH_HANG,
    )
}

/// `sha256:../../dev/zero`, with as many `../` as lead from the layout's blob directory to /.
fn dev_zero_digest(layout: &Path) -> String {
    let depth = layout.join("blobs/sha256").components().count() - 1;
    format!("sha256:{}dev/zero", "../".repeat(depth))
}

#[test]
fn a_digest_that_climbs_out_of_the_layout_is_refused() {
    if !ready(
        "hostile::layout_reads::a_digest_that_climbs_out_of_the_layout_is_refused",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temp dir");
    let layout = scratch.path().join("layout");
    let digest = dev_zero_digest(&layout);
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).expect("creating blobs/sha256");
    assert_eq!(
        fs::canonicalize(blobs.join(&digest["sha256:".len()..])).ok(),
        Some(PathBuf::from("/dev/zero")),
        "{digest} leads to /dev/zero"
    );
    layout_naming(&layout, &digest, 1024);
    bounded_run::assert_refused(
        "../dev/zero",
        &push(&layout),
        &[&layout.display().to_string(), "64 lower-case hex digits"],
    );
}

#[test]
fn a_fifo_blob_is_refused_without_hanging() {
    if !ready(
        "hostile::layout_reads::a_fifo_blob_is_refused_without_hanging",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temp dir");
    let layout = scratch.path().join("layout");
    let digest = sha256(b"a blob that is a FIFO");
    layout_naming(&layout, &digest, 21);
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).expect("creating blobs/sha256");
    let fifo = blobs.join(&digest["sha256:".len()..]);
    let path = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0, "mkfifo");
    bounded_run::assert_refused(
        "a FIFO",
        &push(&layout),
        &[&fifo.display().to_string(), "regular file"],
    );
}

#[test]
fn a_blob_longer_than_its_size_is_refused_unread() {
    /// The blob on disk: a sparse file, so the test takes no disk space.
    const ON_DISK: u64 = 4 << 30;
    if !ready(
        "hostile::layout_reads::a_blob_longer_than_its_size_is_refused_unread",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temp dir");
    let layout = scratch.path().join("layout");
    let digest = sha256(b"what the index says");
    layout_naming(&layout, &digest, 19);
    let blob = layout.join("blobs/sha256").join(&digest["sha256:".len()..]);
    write(&blob, b"");
    fs::File::options()
        .write(true)
        .open(&blob)
        .and_then(|file| file.set_len(ON_DISK))
        .expect("a sparse blob");
    bounded_run::assert_refused(
        "a blob longer than its size",
        &push(&layout),
        &[&blob.display().to_string(), "19"],
    );
}

/// Gzip of `bytes` zero bytes, by the system's gzip (fast, where the tests' unoptimised deflate is
/// not): a bomb, as small as deflate makes it.
fn gzip_bomb(bytes: u64) -> Vec<u8> {
    const CHUNK: usize = 1 << 20;
    let mut gzip = Command::new("gzip")
        .args(["-9", "-c", "-n"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting gzip");
    let mut stdin = gzip.stdin.take().expect("gzip's stdin");
    let feeder = std::thread::spawn(move || {
        let zeros = vec![0; CHUNK];
        for _ in 0..bytes / CHUNK as u64 {
            stdin.write_all(&zeros).expect("feeding gzip");
        }
    });
    let out = gzip.wait_with_output().expect("gzip");
    feeder.join().expect("feeding gzip");
    assert!(out.status.success(), "gzip failed");
    out.stdout
}

/// Puts a blob into the layout at `dir`, returning its descriptor.
fn add_blob(dir: &Path, media_type: &str, data: &[u8]) -> Value {
    let digest = sha256(data);
    write(
        &dir.join("blobs/sha256").join(&digest["sha256:".len()..]),
        data,
    );
    json!({"mediaType": media_type, "digest": digest, "size": data.len()})
}

/// The project's image with its first platform's layer swapped for a gzip bomb, in a layout at
/// `dir`: pushed, the registry holds it as any other image.
fn bombed_layout(dir: &Path) -> String {
    let project = image::layout();
    let status = Command::new("cp")
        .args([
            "-r",
            &project.display().to_string(),
            &dir.display().to_string(),
        ])
        .status()
        .expect("cp");
    assert!(status.success(), "copying the project's layout");
    let layout = Layout::open(&project);
    let mut index: Value =
        serde_json::from_slice(&layout.fetch(layout.named(&xtask::commands::image::default_tag())))
            .expect("the image index");
    let mut manifest: Value =
        serde_json::from_slice(&layout.fetch(&index["manifests"][0])).expect("a manifest");
    let layer_type = manifest["layers"][0]["mediaType"].clone();
    let bomb = add_blob(
        dir,
        layer_type.as_str().unwrap(),
        &gzip_bomb(BOMB_INFLATED_BYTES),
    );
    let bomb_digest = bomb["digest"].as_str().unwrap().to_string();
    manifest["layers"][0] = bomb;
    let platform = index["manifests"][0]["platform"].clone();
    let manifest_type = index["manifests"][0]["mediaType"].clone();
    index["manifests"][0] = add_blob(
        dir,
        manifest_type.as_str().unwrap(),
        manifest.to_string().as_bytes(),
    );
    index["manifests"][0]["platform"] = platform;
    let mut named = add_blob(dir, IMAGE_INDEX, index.to_string().as_bytes());
    named["annotations"] =
        layout.named(&xtask::commands::image::default_tag())["annotations"].clone();
    let top = json!({"schemaVersion": 2, "mediaType": IMAGE_INDEX, "manifests": [named]});
    write(&dir.join("index.json"), top.to_string().as_bytes());
    bomb_digest
}

/// A registry's layer that is a gzip bomb (a few MB inflating to GBs) is refused by `verify` in a
/// line naming the limit, without inflating it.
#[test]
fn a_gzip_bomb_layer_is_refused_by_verify() {
    if !ready(
        "hostile::layout_reads::a_gzip_bomb_layer_is_refused_by_verify",
        docker_registry::NEEDS,
    ) || !ready(
        "hostile::layout_reads::a_gzip_bomb_layer_is_refused_by_verify",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temp dir");
    let dir = scratch.path().join("bombed");
    let bomb = bombed_layout(&dir);
    let registry = Registry::start_plain();
    let reference = registry.reference(&format!("{REPOSITORY}:bomb"));
    xtask_cli::push_layout(&reference, &dir, None, "");
    let run = bounded_run::run(&["verify", &reference], VERIFY_HANG);
    assert!(
        !run.said.success,
        "verify passed a bomb:\n{}",
        run.said.all()
    );
    let limit = format!("{}-byte", xtask::build::image::MAX_LAYER_BYTES);
    let line = run.said.stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("error: ") && line.contains(&bomb) && line.contains(&limit),
        "the last line does not refuse the layer {bomb} by the {limit} limit:\n{}",
        run.said.all()
    );
    bounded_run::assert_bounded("a gzip bomb", &run);
    eprintln!("{line} (peak RSS {} KiB)", run.peak_rss >> 10);
}

/// A file the user names (a key, a CA bundle, a docker config) may lead anywhere, `/dev/zero`
/// included: each is read up to a bound, refused past it in one line naming the flag and the
/// path, under the memory limit.
#[test]
fn a_named_file_that_never_ends_is_read_bounded() {
    if !ready(
        "hostile::layout_reads::a_named_file_that_never_ends_is_read_bounded",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let zero = "/dev/zero";
    for (case, args) in [
        ("verify --key", vec!["verify", NOWHERE, "--key", zero]),
        (
            "verify --ca-file",
            vec!["verify", NOWHERE, "--ca-file", zero],
        ),
        ("push --sign-key", vec!["push", NOWHERE, "--sign-key", zero]),
    ] {
        let flag = case.split(' ').nth(1).unwrap_or_default();
        bounded_run::assert_refused(
            case,
            &bounded_run::run(&args, PUSH_HANG),
            &[flag, zero, "more than"],
        );
    }
}
