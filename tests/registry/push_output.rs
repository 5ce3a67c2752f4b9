//! What `cargo xtask push` prints, run as a user runs it: the result alone on stdout (`REF@DIGEST`,
//! or with `--json` what it wrote), its progress on stderr, nothing else with `--quiet`; the
//! metadata `--json` prints and `--metadata-file` writes, each field held against what the
//! registry holds after a signed push, through both ways a registry lists referrers
//! (docker-registry's fallback tags, ferro-oci-server's referrers API), read with curl; a second
//! push that puts no manifest and says each `exists`; one platform name; and a refused
//! connection that is not retried.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};

use pause_tests::layout::{Layout, json};
use pause_tests::registry::docker_registry::{self, REPOSITORY, Registry};
use pause_tests::registry::referrers_registry::ReferrersRegistry;
use pause_tests::registry::registry_http::{self, Endpoint, RegistryHttp};
use pause_tests::xtask_cli::{self, PASSWORD_VAR, Said};
use pause_tests::{Need, PLATFORMS, image, ready};
use serde_json::Value;
use xtask::oci::blob::sha256;

use crate::xtask_push::assert_prints_node_settings;

const PASSWORD: &str = "the push output suite's key password";
const STRACE: Need = Need::program("strace", "strace");

/// `cargo xtask push ARGS` with the key's password at hand; it must succeed.
fn push(args: &[&str]) -> Said {
    let said = xtask_cli::run(&[&["push"][..], args].concat(), &[(PASSWORD_VAR, PASSWORD)]);
    assert!(
        said.success,
        "cargo xtask push {args:?} failed:\n{}",
        said.all()
    );
    said
}

/// The subjects of a push: the index and each platform manifest, by digest.
fn subjects(layout: &Layout) -> Vec<String> {
    let mut subjects = vec![layout.index_digest()];
    for platform in PLATFORMS {
        let (entry, _, _, _) = layout.platform(platform);
        subjects.push(entry["digest"].as_str().expect("a digest").to_string());
    }
    subjects
}

/// `sha256-<hex>` and its `.sig` and `.att` forms.
fn tag_of(digest: &str, suffix: &str) -> String {
    format!("sha256-{}{suffix}", &digest["sha256:".len()..])
}

/// The digest of what `reference` (a tag or a digest) holds, read with curl.
fn held(http: &RegistryHttp<'_>, reference: &str) -> String {
    let bytes = http
        .manifest(REPOSITORY, reference)
        .unwrap_or_else(|| panic!("{reference} is not in the registry"));
    sha256(&bytes)
}

/// The `(digest, artifactType, subject)` of each referrer the registry lists for `subject`:
/// through the API when `api`, else in the fallback tag's index.
fn listed_referrers(
    http: &RegistryHttp<'_>,
    subject: &str,
    api: bool,
) -> Vec<(String, String, String)> {
    let listing = if api {
        let answer = http.referrers(REPOSITORY, subject);
        assert_eq!(answer.status, 200, "the referrers API for {subject}");
        json(&answer.body)
    } else {
        match http.manifest(REPOSITORY, &tag_of(subject, "")) {
            Some(bytes) => json(&bytes),
            None => return Vec::new(),
        }
    };
    listing["manifests"]
        .as_array()
        .expect("a referrers index lists manifests")
        .iter()
        .map(|entry| {
            let digest = entry["digest"].as_str().expect("a digest").to_string();
            let manifest = http.manifest_json(REPOSITORY, &digest);
            assert_eq!(manifest["subject"]["digest"], subject, "{entry}");
            assert_eq!(manifest["artifactType"], entry["artifactType"], "{entry}");
            let artifact_type = entry["artifactType"].as_str().expect("a type").to_string();
            (digest, artifact_type, subject.to_string())
        })
        .collect()
}

/// Holds the metadata document of a signed push of `layout` to `reference` against what
/// `registry` holds; `api` says whether it lists referrers through the referrers API.
fn assert_metadata_is_the_registry(
    metadata: &Value,
    registry: &dyn Endpoint,
    reference: &str,
    layout: &Layout,
    api: bool,
) {
    let http = RegistryHttp::new(registry);
    let digest = layout.index_digest();
    let tag = reference.rsplit_once(':').expect("a tag").1;
    assert_eq!(metadata["reference"], reference, "{metadata:#}");
    assert_eq!(metadata["digest"], digest.as_str(), "{metadata:#}");
    assert_eq!(
        held(&http, tag),
        digest,
        "the tag holds the metadata's digest"
    );
    assert_eq!(
        metadata["pinned"],
        format!("{}/{REPOSITORY}@{digest}", registry.host()),
        "{metadata:#}"
    );

    // Each platform's manifest, as the registry's index lists it, in its order.
    let index = http.manifest_json(REPOSITORY, &digest);
    let entries = index["manifests"]
        .as_array()
        .expect("an index lists manifests");
    let manifests = metadata["manifests"].as_array().expect("manifests");
    assert_eq!(manifests.len(), entries.len(), "{metadata:#}");
    for (manifest, entry) in manifests.iter().zip(entries) {
        let platform = &entry["platform"];
        assert_eq!(manifest["digest"], entry["digest"], "{manifest}");
        assert_eq!(manifest["os"], platform["os"], "{manifest}");
        assert_eq!(
            manifest["architecture"], platform["architecture"],
            "{manifest}"
        );
        assert_eq!(
            manifest.get("variant").unwrap_or(&Value::Null),
            platform.get("variant").unwrap_or(&Value::Null),
            "{manifest}"
        );
        let named = PLATFORMS
            .iter()
            .find(|p| {
                p.arch == platform["architecture"] && p.variant == platform["variant"].as_str()
            })
            .expect("a platform of the table");
        assert_eq!(
            manifest["platform"], named.name,
            "one platform name: {manifest}"
        );
        let digest = manifest["digest"].as_str().expect("a digest");
        assert_eq!(
            held(&http, digest),
            digest,
            "the manifest is in the registry"
        );
    }

    // Each referrer, as the registry lists it for each subject.
    let mut listed = BTreeSet::new();
    for subject in subjects(layout) {
        listed.extend(listed_referrers(&http, &subject, api));
    }
    let described: BTreeSet<(String, String, String)> = metadata["referrers"]
        .as_array()
        .expect("referrers")
        .iter()
        .map(|referrer| {
            let text = |key: &str| referrer[key].as_str().expect("a string").to_string();
            (text("digest"), text("artifactType"), text("subject"))
        })
        .collect();
    assert!(!described.is_empty(), "no referrer: {metadata:#}");
    assert_eq!(described, listed, "the referrers the registry lists");

    // Each .sig and .att tag: every subject's .sig, each platform's .att.
    let mut expected: BTreeSet<String> = subjects(layout)
        .iter()
        .map(|subject| tag_of(subject, ".sig"))
        .collect();
    expected.extend(
        subjects(layout)
            .iter()
            .skip(1)
            .map(|subject| tag_of(subject, ".att")),
    );
    assert_eq!(
        tags_held(&http, &metadata["signatures"]),
        expected,
        "the .sig and .att tags"
    );

    // Each fallback tag, where the registry has no referrers API.
    let expected: BTreeSet<String> = if api {
        BTreeSet::new()
    } else {
        subjects(layout)
            .iter()
            .map(|subject| tag_of(subject, ""))
            .collect()
    };
    assert_eq!(
        tags_held(&http, &metadata["fallbackTags"]),
        expected,
        "the fallback tags"
    );
}

/// The tags of `tagged`, a metadata list of `{"tag", "digest"}`, each checked to hold its digest.
fn tags_held(http: &RegistryHttp<'_>, tagged: &Value) -> BTreeSet<String> {
    tagged
        .as_array()
        .expect("a list of tags")
        .iter()
        .map(|tagged| {
            let tag = tagged["tag"].as_str().expect("a tag").to_string();
            assert_eq!(held(http, &tag), tagged["digest"], "{tag}");
            tag
        })
        .collect()
}

/// A signed `push --json --metadata-file FILE`: stdout is the JSON document alone, the file holds
/// the same, and every field is what the registry holds, on docker-registry (fallback tags) and
/// on ferro-oci-server (the referrers API).
#[test]
fn the_metadata_is_what_the_registry_holds_through_both_referrer_paths() {
    let test = "push_output::the_metadata_is_what_the_registry_holds_through_both_referrer_paths";
    if !ready(
        test,
        &[docker_registry::NEEDS, &[registry_http::NEEDS][..]].concat(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let (key, _) = xtask_cli::key_pair(&dir.path().join("keys"), PASSWORD);
    let layout_dir = image::layout();
    let layout = Layout::open(&layout_dir);
    let layout_arg = layout_dir.display().to_string();
    let docker = Registry::start_plain();
    let Some(ferro) = ReferrersRegistry::start(test) else {
        return;
    };
    let registries: [(&dyn Endpoint, String, bool); 2] = [
        (
            &docker,
            docker.reference(&format!("{REPOSITORY}:meta")),
            false,
        ),
        (&ferro, ferro.reference(&format!("{REPOSITORY}:meta")), true),
    ];
    for (at, (registry, reference, api)) in registries.into_iter().enumerate() {
        let file = dir.path().join(format!("metadata-{at}.json"));
        let file_arg = file.display().to_string();
        let said = push(&[
            reference.as_str(),
            "--layout",
            &layout_arg,
            "--sign-key",
            &key,
            "--json",
            "--metadata-file",
            &file_arg,
        ]);
        let printed: Value = serde_json::from_str(&said.stdout).unwrap_or_else(|error| {
            panic!("stdout is not the JSON alone ({error}):\n{}", said.stdout)
        });
        let written: Value =
            serde_json::from_slice(&std::fs::read(&file).expect("the metadata file was written"))
                .expect("the metadata file is JSON");
        assert_eq!(printed, written, "--json and --metadata-file differ");
        assert!(
            said.stderr
                .lines()
                .any(|line| line.starts_with("signature of ")),
            "the progress is not on stderr:\n{}",
            said.stderr
        );
        assert_metadata_is_the_registry(&printed, registry, &reference, &layout, api);
    }
}

/// A push prints `REF@DIGEST` alone on stdout and its progress on stderr (a line per manifest,
/// its platform as the table names it, and the node settings); `--quiet` prints the same stdout
/// and nothing on stderr.
#[test]
fn the_result_is_alone_on_stdout_and_quiet_prints_nothing_else() {
    let test = "push_output::the_result_is_alone_on_stdout_and_quiet_prints_nothing_else";
    if !ready(test, docker_registry::NEEDS) {
        return;
    }
    let layout_dir = image::layout();
    let digest = Layout::open(&layout_dir).index_digest();
    let layout_arg = layout_dir.display().to_string();
    let registry = Registry::start_plain();
    let reference = registry.reference(&format!("{REPOSITORY}:split"));
    let said = push(&[reference.as_str(), "--layout", &layout_arg]);
    assert_eq!(said.stdout, format!("{reference}@{digest}\n"), "stdout");
    for platform in PLATFORMS {
        assert!(
            said.stderr.lines().any(|line| line.starts_with("manifest ")
                && line.contains(&format!(" {} ", platform.name))
                && line.ends_with(": pushed")),
            "no manifest line naming {}:\n{}",
            platform.name,
            said.stderr
        );
    }
    assert!(!said.all().contains("arm64/v8"), "{}", said.all());
    assert_prints_node_settings(
        "push",
        &said.stderr,
        &registry.reference(REPOSITORY),
        &digest,
    );

    let quiet = registry.reference(&format!("{REPOSITORY}:quiet"));
    for flag in ["--quiet", "-q"] {
        let said = push(&[quiet.as_str(), "--layout", &layout_arg, flag]);
        assert_eq!(said.stdout, format!("{quiet}@{digest}\n"), "{flag}: stdout");
        assert_eq!(said.stderr, "", "{flag}: stderr");
    }
}

/// `image --push --metadata-file FILE` prints as `push` does: the pushed reference alone on
/// stdout (the build's sizes and what it wrote go to stderr with the push's progress), and FILE
/// holds what it pushed.
#[test]
fn image_push_prints_the_reference_alone_and_writes_the_metadata_file() {
    let test = "push_output::image_push_prints_the_reference_alone_and_writes_the_metadata_file";
    if !ready(
        test,
        &[docker_registry::NEEDS, &[registry_http::NEEDS][..]].concat(),
    ) {
        return;
    }
    let registry = Registry::start_plain();
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("image");
    let file = dir.path().join("metadata.json");
    let reference = registry.reference(&format!("{REPOSITORY}:built"));
    let native = PLATFORMS
        .iter()
        .find(|platform| platform.is_native())
        .expect("the host is one of the platforms");
    let said = xtask_cli::run(
        &[
            "image",
            "--platform",
            native.name,
            "--out",
            &out.display().to_string(),
            "--push",
            &reference,
            "--metadata-file",
            &file.display().to_string(),
        ],
        &[],
    );
    assert!(said.success, "image --push failed:\n{}", said.all());
    let digest = Layout::open(&out.join("oci")).index_digest();
    assert_eq!(said.stdout, format!("{reference}@{digest}\n"), "stdout");
    assert!(
        said.stderr.lines().any(|line| line.starts_with("wrote ")),
        "the build's lines are not on stderr:\n{}",
        said.stderr
    );
    let metadata: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("the metadata file was written"))
            .expect("the metadata file is JSON");
    assert_eq!(metadata["reference"], reference.as_str(), "{metadata:#}");
    assert_eq!(metadata["digest"], digest.as_str(), "{metadata:#}");
    assert_eq!(
        held(&RegistryHttp::new(&registry), "built"),
        digest,
        "the tag holds the metadata's digest"
    );
    let manifests = metadata["manifests"].as_array().expect("manifests");
    assert_eq!(manifests.len(), 1, "{metadata:#}");
    assert_eq!(manifests[0]["platform"], native.name, "{metadata:#}");

    // --quiet: the reference alone, and nothing on stderr, the build's cargo line included.
    let quietly = registry.reference(&format!("{REPOSITORY}:built-quietly"));
    let said = xtask_cli::run(
        &[
            "image",
            "--platform",
            native.name,
            "--out",
            &out.display().to_string(),
            "--push",
            &quietly,
            "--quiet",
        ],
        &[],
    );
    assert!(said.success, "image --push --quiet failed:\n{}", said.all());
    assert_eq!(
        said.stdout,
        format!("{quietly}@{digest}\n"),
        "--quiet: stdout"
    );
    assert_eq!(said.stderr, "", "--quiet: stderr");
}

/// How many manifests the registry was asked to store so far: each is a `PUT
/// /v2/<repository>/manifests/<reference>` in its access log.
fn manifest_puts(registry: &Registry) -> usize {
    let request = format!("\"PUT /v2/{REPOSITORY}/manifests/");
    registry
        .log()
        .lines()
        .filter(|line| line.contains(&request))
        .count()
}

/// A second identical push asks before it writes: it puts no manifest (the registry's log shows no
/// PUT), says `exists` for each, and counts both in its last line.
#[test]
fn a_second_identical_push_puts_no_manifest_and_says_exists() {
    let test = "push_output::a_second_identical_push_puts_no_manifest_and_says_exists";
    if !ready(test, docker_registry::NEEDS) {
        return;
    }
    let layout_dir = image::layout();
    let layout_arg = layout_dir.display().to_string();
    let registry = Registry::start_plain();
    let reference = registry.reference(&format!("{REPOSITORY}:again"));
    let first = push(&[reference.as_str(), "--layout", &layout_arg]);
    let puts = manifest_puts(&registry);
    assert!(
        puts > PLATFORMS.len(),
        "the first push put {puts} manifests"
    );
    let tally = |said: &Said| {
        said.stderr
            .lines()
            .find(|line| line.starts_with(&format!("pushed {reference}@")))
            .unwrap_or_else(|| panic!("no last line:\n{}", said.stderr))
            .to_string()
    };
    assert!(
        tally(&first).ends_with(&format!("; {puts} manifests pushed, 0 already there")),
        "{}",
        tally(&first)
    );

    let second = push(&[reference.as_str(), "--layout", &layout_arg]);
    assert_eq!(
        manifest_puts(&registry),
        puts,
        "the second push put manifests:\n{}",
        second.stderr
    );
    let manifests: Vec<&str> = second
        .stderr
        .lines()
        .filter(|line| line.starts_with("manifest ") || line.starts_with("index "))
        .collect();
    assert_eq!(manifests.len(), PLATFORMS.len() + 1, "{}", second.stderr);
    for line in manifests {
        assert!(line.ends_with(": exists"), "{line}");
    }
    let second_tally = tally(&second);
    assert!(
        second_tally.contains(": 0 blobs uploaded, ")
            && second_tally.contains("; 0 manifests pushed, ")
            && !second_tally.ends_with(" 0 already there"),
        "{second_tally}"
    );
}

/// A push to a port where nothing listens fails at once: the host refused the connection, and
/// will refuse the next one. `strace` counts the xtask's connections there: the probe's HTTPS and
/// plain-HTTP tries, not six rounds of them; one `error:` line names the address.
#[test]
fn a_refused_connection_is_not_retried() {
    let test = "push_output::a_refused_connection_is_not_retried";
    if !ready(test, &[STRACE]) {
        return;
    }
    // A port that was free a moment ago: the listener is closed, nothing listens there.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port();
    let dir = tempfile::tempdir().expect("a temp dir");
    let trace = dir.path().join("connect.trace");
    let trace_arg = trace.display().to_string();
    let layout_arg = image::layout().display().to_string();
    let host = format!("127.0.0.1:{port}");
    let said = xtask_cli::run_under(
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=connect",
            "-o",
            &trace_arg,
        ],
        &[
            "push",
            &format!("{host}/{REPOSITORY}:refused"),
            "--layout",
            &layout_arg,
        ],
        &[],
    );
    let line = said.error_line("a refused connection");
    xtask_cli::assert_names(
        &line,
        &[
            format!("cannot reach the registry {host}").as_str(),
            "refused",
        ],
    );
    assert!(!said.stderr.contains("retrying"), "{}", said.stderr);
    let trace = std::fs::read_to_string(&trace).expect("reading strace's log");
    let attempts = trace
        .lines()
        .filter(|line| line.contains("connect(") && line.contains(&format!("htons({port})")))
        .count();
    assert!(
        (1..=2).contains(&attempts),
        "{attempts} connections to {host}:\n{trace}"
    );
}
