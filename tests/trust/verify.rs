//! `cargo xtask verify` against Debian's docker-registry 2.8, through the xtask binary as a user
//! runs it: it passes on a fresh signed push (and on one built at another date, which it reads
//! from the image), and fails, naming the first blob that differs and what differs in it, when
//! the registry holds another image under the tag (a binary altered by one byte, a layer built at
//! another date), when signatures and attestations are missing or made with another key, when an
//! SBOM is missing, and first names the commit to check out when the image was built from another
//! one. Bad input is one line. What verify says of attestations tampered with in the registry is
//! [`super::attested_push`]'s.
//!
//! Each test builds its own image (`cargo xtask image --out`, at the checkout's commit), so a stale
//! `target/image` cannot make verify's rebuild differ.

use pause_tests::layout::{EditedLayout, flip_a_byte};
use pause_tests::registry::docker_registry::{self, REPOSITORY, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::xtask_cli::{
    self, ATTESTATIONS, BUNDLE, REBUILT, SBOM, SIG, Said, verify_table as table,
};
use pause_tests::{Need, PLATFORMS, ready};

const PASSWORD: &str = "verify's key password";
const EPOCH_VAR: &str = "SOURCE_DATE_EPOCH";
/// Another date an image may be built at: 2023-11-14T22:13:20Z.
const LATER: &str = "1700000000";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const REVISION: &str = "org.opencontainers.image.revision";
/// The revision annotation of an image built from another commit.
const OTHER_COMMIT: &str = "0123456789ab";
fn needs() -> Vec<Need> {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.push(registry_http::NEEDS);
    needs
}

/// `cargo xtask verify REFERENCE [--key PUBLIC]`.
fn verify(reference: &str, key: Option<&str>) -> Said {
    let mut args = vec!["verify", reference];
    if let Some(key) = key {
        args.extend(["--key", key]);
    }
    let said = xtask_cli::run(&args, &[]);
    eprintln!("$ cargo xtask {}\n{}", args.join(" "), said.all());
    said
}

/// Asserts every row holds: rebuilt = registry, the `.sig` and bundle signatures and the
/// platforms' attestations as `signed` says (`ok`, `not checked`), an SBOM.
fn assert_every_row_holds(said: &Said, signed: &str) {
    assert!(said.success, "verify failed:\n{}", said.all());
    for (name, cells) in table(&said.stdout) {
        let platform = name != "index";
        assert_eq!(cells[REBUILT], "yes", "{name}");
        assert_eq!(cells[SIG], signed, "{name}");
        assert_eq!(cells[BUNDLE], signed, "{name}");
        let (sbom, attestations) = if platform {
            ("ok (fallback tag)", signed)
        } else {
            ("-", "-")
        };
        assert_eq!(cells[SBOM], sbom, "{name}");
        assert_eq!(cells[ATTESTATIONS], attestations, "{name}");
    }
    assert!(
        said.stderr.contains("every row holds"),
        "no verdict:\n{}",
        said.all()
    );
}

/// The line verify printed on stderr that starts with `start`.
fn line_starting<'a>(said: &'a Said, start: &str) -> &'a str {
    said.stderr
        .lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting `{start}`:\n{}", said.all()))
}

/// The first blob that differs, as verify's `error:` line names it.
fn first_difference(said: &Said, case: &str) -> String {
    let error = said.error_line(case);
    match error.split_once("first difference: ") {
        Some((_, first)) => first.to_string(),
        None => panic!("no first difference in: {error}"),
    }
}

/// A fresh signed push of the image this checkout builds (`image --push --sign-key`) verifies:
/// every row rebuilt = registry,
/// signed with the key, with its SBOM found through the fallback tag; exit 0. Without --key it
/// passes too and says the signatures were not checked. An image built at another date verifies
/// as well: verify reads the date from the image.
#[test]
fn verify_passes_on_a_fresh_signed_push_and_reads_the_date_from_the_image() {
    if !ready(
        "verify::verify_passes_on_a_fresh_signed_push_and_reads_the_date_from_the_image",
        &needs(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let (key, public) = xtask_cli::key_pair(&dir.path().join("keys"), PASSWORD);
    let registry = Registry::start_plain();
    let reference = registry.reference(&format!("{REPOSITORY}:signed"));
    // Built, signed and pushed in one command, as the release workflow does.
    let out = dir.path().join("epoch-0").display().to_string();
    let said = xtask_cli::run(
        &[
            "image",
            "--out",
            &out,
            "--push",
            &reference,
            "--sign-key",
            &key,
        ],
        &[(xtask_cli::PASSWORD_VAR, PASSWORD), (EPOCH_VAR, "0")],
    );
    assert!(
        said.success,
        "image --push --sign-key failed:\n{}",
        said.all()
    );

    let said = verify(&reference, Some(&public));
    assert_every_row_holds(&said, "ok");
    assert!(
        said.stderr
            .contains("dated 1970-01-01T00:00:00Z (SOURCE_DATE_EPOCH=0"),
        "{}",
        said.all()
    );
    let unkeyed = verify(&reference, None);
    assert_every_row_holds(&unkeyed, "not checked");
    assert!(unkeyed.stdout.contains("give --key cosign.pub"));

    let later = xtask_cli::build_image(&dir.path().join("later"), &[(EPOCH_VAR, LATER)]);
    let dated = registry.reference("dated/pause:later");
    xtask_cli::push_layout(&dated, &later, Some(&key), PASSWORD);
    let said = verify(&dated, Some(&public));
    assert_every_row_holds(&said, "ok");
    assert!(
        said.stderr
            .contains("dated 2023-11-14T22:13:20Z (SOURCE_DATE_EPOCH=1700000000"),
        "{}",
        said.all()
    );
}

/// The registry holds another image under the tag: verify fails, naming the first blob that
/// differs and what differs. The amd64 binary altered by one byte: amd64's layer, the binary's
/// bytes from that byte on (and amd64 has no SBOM: the edit dropped the one of the old manifest).
/// The amd64 layer of a build at another date, spliced in: that layer, the same bytes with
/// another mtime in its tar header. The other platforms' rows hold.
#[test]
fn verify_names_the_first_differing_blob() {
    if !ready("verify::verify_names_the_first_differing_blob", &needs()) {
        return;
    }
    const FLIPPED_BYTE: usize = 100;
    let dir = tempfile::tempdir().expect("a temp dir");
    let layout = xtask_cli::build_image(&dir.path().join("epoch-0"), &[(EPOCH_VAR, "0")]);
    let registry = Registry::start_plain();

    let altered = EditedLayout::copy(&layout, &dir.path().join("altered"));
    altered.replace_layer(0, &flip_a_byte(&altered.layer(0), FLIPPED_BYTE));
    let reference = registry.reference("altered/pause:t");
    xtask_cli::push_layout(&reference, altered.dir(), None, PASSWORD);
    let said = verify(&reference, None);
    let error = said.error_line("a binary altered by one byte");
    assert!(error.contains("does not verify"), "{error}");
    let rows = table(&said.stdout);
    assert_eq!(rows["linux/amd64"][REBUILT], "no: layer");
    assert_eq!(
        rows["linux/amd64"][SBOM], "missing",
        "the altered manifest has no SBOM"
    );
    assert_eq!(rows["index"][REBUILT], "no: index");
    for platform in &PLATFORMS[1..] {
        assert_eq!(rows[platform.name][REBUILT], "yes", "{}", platform.name);
    }
    let first = first_difference(&said, "a binary altered by one byte");
    for named in [
        "linux/amd64: layer",
        "the binary's bytes differ",
        &format!("/pause differs from byte {FLIPPED_BYTE} "),
    ] {
        assert!(first.contains(named), "`{named}` not in: {first}");
    }

    let later = xtask_cli::build_image(&dir.path().join("later"), &[(EPOCH_VAR, LATER)]);
    let later = EditedLayout::copy(&later, &dir.path().join("later-copy"));
    let spliced = EditedLayout::copy(&layout, &dir.path().join("spliced"));
    spliced.replace_layer(0, &later.layer(0));
    let reference = registry.reference("spliced/pause:t");
    xtask_cli::push_layout(&reference, spliced.dir(), None, PASSWORD);
    let said = verify(&reference, None);
    said.error_line("a layer built at another date");
    assert_eq!(table(&said.stdout)["linux/amd64"][REBUILT], "no: layer");
    let first = first_difference(&said, "a layer built at another date");
    for named in [
        "linux/amd64: layer",
        "/pause is the same bytes",
        "mtime 1700000000 in the registry, 0 rebuilt",
    ] {
        assert!(first.contains(named), "`{named}` not in: {first}");
    }
}

/// With --key, signatures and attestations that are not there, or not the key's, fail their
/// rows: an unsigned push has every `.sig`, bundle and attestations cell `missing`; a push signed
/// with another key has every one `not by this key`.
#[test]
fn verify_fails_when_a_signature_is_missing_or_by_another_key() {
    if !ready(
        "verify::verify_fails_when_a_signature_is_missing_or_by_another_key",
        &needs(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_, public) = xtask_cli::key_pair(&dir.path().join("ours"), PASSWORD);
    let (other_key, _) = xtask_cli::key_pair(&dir.path().join("theirs"), PASSWORD);
    let layout = xtask_cli::build_image(&dir.path().join("epoch-0"), &[(EPOCH_VAR, "0")]);
    let registry = Registry::start_plain();
    for (repository, key, expected) in [
        ("unsigned/pause", None, "missing"),
        (
            "other-key/pause",
            Some(other_key.as_str()),
            "not by this key",
        ),
    ] {
        let reference = registry.reference(&format!("{repository}:t"));
        xtask_cli::push_layout(&reference, &layout, key, PASSWORD);
        let said = verify(&reference, Some(&public));
        said.error_line(expected);
        for (name, cells) in table(&said.stdout) {
            assert_eq!(
                cells[REBUILT], "yes",
                "{repository} {name}: the image is this checkout's"
            );
            assert_eq!(cells[SIG], expected, "{repository} {name}");
            assert_eq!(cells[BUNDLE], expected, "{repository} {name}");
            let attestations = if name == "index" { "-" } else { expected };
            assert_eq!(cells[ATTESTATIONS], attestations, "{repository} {name}");
        }
    }
}

/// An image pushed without its SBOMs (the layout's artifacts dropped) fails every platform's SBOM
/// cell, `missing`, with the fallback tag it looked in.
#[test]
fn verify_fails_when_an_sbom_is_missing() {
    if !ready("verify::verify_fails_when_an_sbom_is_missing", &needs()) {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let layout = xtask_cli::build_image(&dir.path().join("epoch-0"), &[(EPOCH_VAR, "0")]);
    let bare = EditedLayout::copy(&layout, &dir.path().join("bare"));
    bare.drop_referrers();
    let registry = Registry::start_plain();
    let reference = registry.reference("bare/pause:t");
    xtask_cli::push_layout(&reference, bare.dir(), None, PASSWORD);
    let said = verify(&reference, None);
    said.error_line("no SBOM");
    for platform in PLATFORMS {
        let cells = &table(&said.stdout)[platform.name];
        assert_eq!(cells[REBUILT], "yes", "{}", platform.name);
        assert_eq!(cells[SBOM], "missing", "{}: SBOM", platform.name);
    }
    let first = line_starting(&said, "linux/amd64: ");
    assert!(
        first.contains("no SBOM") && first.contains("the tag sha256-"),
        "{first}"
    );
}

/// An image whose revision annotation names another commit: verify says so first, with the
/// command to check that commit out, still prints the table (each manifest differs in that
/// annotation), and fails, naming the commit again.
#[test]
fn verify_names_the_commit_to_check_out_when_the_revision_differs() {
    if !ready(
        "verify::verify_names_the_commit_to_check_out_when_the_revision_differs",
        &needs(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let layout = xtask_cli::build_image(&dir.path().join("epoch-0"), &[(EPOCH_VAR, "0")]);
    let other = EditedLayout::copy(&layout, &dir.path().join("other-commit"));
    for at in 0..PLATFORMS.len() {
        other.edit_manifest(at, |manifest| {
            manifest["annotations"][REVISION] = OTHER_COMMIT.into()
        });
    }
    other.edit_index(|index| index["annotations"][REVISION] = OTHER_COMMIT.into());
    let registry = Registry::start_plain();
    let reference = registry.reference("other/pause:t");
    xtask_cli::push_layout(&reference, other.dir(), None, PASSWORD);
    let said = verify(&reference, None);
    let first_line = said.stderr.lines().next().unwrap_or_default();
    for named in [
        format!("built from commit {OTHER_COMMIT}"),
        format!("`git checkout {OTHER_COMMIT}`"),
    ] {
        assert!(
            first_line.contains(&named),
            "not first: `{named}`:\n{}",
            said.all()
        );
    }
    let error = said.error_line("another commit");
    assert!(
        error.contains(&format!("git checkout {OTHER_COMMIT}")),
        "{error}"
    );
    let rows = table(&said.stdout);
    for platform in PLATFORMS {
        assert_eq!(
            rows[platform.name][REBUILT], "no: manifest",
            "{}",
            platform.name
        );
    }
    let first = first_difference(&said, "another commit");
    assert!(
        first.contains(&format!(
            "`annotations.{REVISION}`: \"{OTHER_COMMIT}\" in the registry"
        )),
        "{first}"
    );
}

/// Bad input is one `error:` line: no such tag, a tag holding a single manifest rather than the
/// multi-platform index, a registry nobody answers at, a reference without a registry.
#[test]
fn verify_refuses_bad_input_in_one_line() {
    if !ready("verify::verify_refuses_bad_input_in_one_line", &needs()) {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let layout = xtask_cli::build_image(&dir.path().join("epoch-0"), &[(EPOCH_VAR, "0")]);
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    xtask_cli::push_layout(
        &registry.reference(&format!("{REPOSITORY}:t")),
        &layout,
        None,
        PASSWORD,
    );
    // A tag on the amd64 manifest alone.
    let index = http.manifest_json(REPOSITORY, "t");
    let amd64 = index["manifests"][0]["digest"].as_str().expect("a digest");
    let manifest = http
        .manifest(REPOSITORY, amd64)
        .expect("the amd64 manifest");
    http.put_manifest(REPOSITORY, "single", MANIFEST_TYPE, &manifest);
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("its address").port()
    };
    let cases = [
        (
            registry.reference(&format!("{REPOSITORY}:no-such-tag")),
            "has no such image",
        ),
        (
            registry.reference(&format!("{REPOSITORY}:single")),
            "not the multi-platform image index",
        ),
        (format!("127.0.0.1:{nowhere}/pause:t"), "cannot reach"),
        ("pause:t".to_string(), "names no registry"),
    ];
    for (reference, named) in cases {
        let said = verify(&reference, None);
        let line = said.error_line(&reference);
        assert!(
            line.contains(named),
            "{reference}: `{named}` not in: {line}"
        );
        assert!(
            said.stdout.is_empty() && !said.stderr.contains("rebuilding"),
            "{reference}: it rebuilt before refusing:\n{}",
            said.all()
        );
    }
}
