//! What `cargo xtask verify` prints, as people and scripts read it, through the xtask binary
//! against Debian's docker-registry 2.8: the result on stdout (the table with its legend and a
//! reference per row that verify itself accepts, or with `--json` one JSON document whose rows
//! and digests are what the registry holds), everything else on stderr (the rebuild's progress,
//! a line per problem in the table's order, the verdict last); a key that is not the signer's
//! said in one line, both keys as `sha256:` fingerprints; exit 1 when the image does not
//! verify, 3 when the registry cannot be reached.
//!
//! Each test builds its own image (`cargo xtask image --out`, at the checkout's commit) and its
//! own key pairs, as [`super::verify`] does.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pause_tests::deadline::output_within;
use pause_tests::layout::{EditedLayout, flip_a_byte};
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::xtask_cli::{self, COMMAND_TIMEOUT, verify_table};
use pause_tests::{Need, PLATFORMS, ready};
use serde_json::Value;
use xtask::oci::blob::sha256;

const PASSWORD: &str = "verify output's key password";
const EPOCH_VAR: &str = "SOURCE_DATE_EPOCH";
/// The line verify ends with when every row holds.
const HOLDS: &str = "every row holds";
/// The checks of a row, as `--json` names them.
const CHECKS: [&str; 5] = ["rebuilt", "sig", "bundle", "sbom", "attestations"];

fn needs() -> Vec<Need> {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.push(registry_http::NEEDS);
    needs
}

/// What one run of the xtask printed, and the status it exited with.
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    /// The last line on stderr: the verdict.
    fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or_default()
    }

    /// The stdout, parsed whole as one JSON document.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!("stdout is not one JSON document ({error}):\n{}", self.all())
        })
    }

    /// The lines on stderr that say what a row's check found: each starts with the row's name.
    fn detail_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|line| row_of(line).is_some())
            .collect()
    }
}

/// The row a line is about, by the name it starts with: `index: …`, `linux/amd64: …`.
fn row_of(line: &str) -> Option<usize> {
    if line.starts_with("index: ") {
        return Some(0);
    }
    PLATFORMS
        .iter()
        .position(|platform| line.starts_with(&format!("{}: ", platform.name)))
        .map(|at| at + 1)
}

/// `cargo xtask ARGS` with no variables, as a user runs it; the exit status kept.
fn xtask(args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("a temp dir");
    let out = output_within(
        &mut xtask_cli::command(args, &[], home.path()),
        COMMAND_TIMEOUT,
    );
    let run = Run {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("$ cargo xtask {}\n{}", args.join(" "), run.all());
    run
}

/// `sha256:<hex>` of the SubjectPublicKeyInfo DER a `cosign.pub` holds, computed here from the
/// PEM: how verify must name a key.
fn fingerprint(public: &str) -> String {
    let pem = std::fs::read_to_string(public).expect("reading cosign.pub");
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    sha256(&STANDARD.decode(body).expect("cosign.pub's base64"))
}

/// A registry, two key pairs (ours, theirs) and this checkout's image built at date 0.
struct Setup {
    dir: tempfile::TempDir,
    registry: Registry,
    layout: std::path::PathBuf,
    ours: (String, String),
    theirs: (String, String),
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("a temp dir");
        let ours = xtask_cli::key_pair(&dir.path().join("ours"), PASSWORD);
        let theirs = xtask_cli::key_pair(&dir.path().join("theirs"), PASSWORD);
        let layout = xtask_cli::build_image(&dir.path().join("epoch-0"), &[(EPOCH_VAR, "0")]);
        Setup {
            dir,
            registry: Registry::start_plain(),
            layout,
            ours,
            theirs,
        }
    }

    /// Pushes `layout` to `repository:t`, signed with `key` if any; returns the reference.
    fn push(&self, repository: &str, layout: &Path, key: Option<&str>) -> String {
        let reference = self.registry.reference(&format!("{repository}:t"));
        xtask_cli::push_layout(&reference, layout, key, PASSWORD);
        reference
    }

    /// The digest the registry holds under `repository:t`, and that index.
    fn index(&self, repository: &str) -> (String, Value) {
        let http = RegistryHttp::new(&self.registry);
        let bytes = http
            .manifest(repository, "t")
            .unwrap_or_else(|| panic!("{repository}:t is not in the registry"));
        (
            sha256(&bytes),
            serde_json::from_slice(&bytes).expect("an index"),
        )
    }

    /// `REGISTRY/REPOSITORY@DIGEST`.
    fn by_digest(&self, repository: &str, digest: &str) -> String {
        self.registry.reference(&format!("{repository}@{digest}"))
    }
}

/// `--json`: stdout is one JSON document, nothing else; its rows are the index and each platform
/// the registry's index lists, with the digests and platforms the registry holds and a reference
/// by digest; each check has its verdict. A fresh signed push: every check `ok`, the SBOM's text
/// saying where it was found, `verified` true, exit 0, `every row holds` last on stderr. Pushed
/// with another key, and unsigned: those checks `other key` and `missing`, each with its lines,
/// the rest `ok`; `verified` false; exit 1 with one `error:` line last on stderr.
#[test]
fn json_gives_every_row_and_check_as_the_registry_holds_them() {
    if !ready(
        "verify_output::json_gives_every_row_and_check_as_the_registry_holds_them",
        &needs(),
    ) {
        return;
    }
    let setup = Setup::new();
    let (key, public) = (&setup.ours.0, &setup.ours.1);
    let reference = setup.push("good/pause", &setup.layout, Some(key.as_str()));
    let run = xtask(&["verify", &reference, "--key", public, "--json"]);
    assert_eq!(run.status, Some(0), "{}", run.all());
    assert!(run.last_line().starts_with(HOLDS), "{}", run.all());
    assert!(
        run.stderr.contains("rebuilding ") && !run.stdout.contains("rebuilding "),
        "the rebuild's progress goes to stderr:\n{}",
        run.all()
    );
    let document = run.json();
    assert_eq!(document["verified"], true, "{document:#}");
    assert_eq!(document["reference"], reference.as_str());
    assert_eq!(document["key"], fingerprint(public).as_str());
    assert_rows_are_the_registrys(&setup, "good/pause", &document);
    for row in document["rows"].as_array().expect("rows") {
        let index = row["name"] == "index";
        assert_eq!(row["holds"], true, "{row:#}");
        for check in CHECKS {
            let (verdict, text) = match check {
                "rebuilt" => ("ok", "yes"),
                "sbom" | "attestations" if index => ("not applicable", "-"),
                "sbom" => ("ok", "ok (fallback tag)"),
                _ => ("ok", "ok"),
            };
            let cell = &row["checks"][check];
            assert_eq!(cell["verdict"], verdict, "{check}: {row:#}");
            assert_eq!(cell["text"], text, "{check}: {row:#}");
            assert_eq!(
                cell["details"],
                Value::Array(Vec::new()),
                "{check}: {row:#}"
            );
        }
    }

    let theirs = setup.push("theirs/pause", &setup.layout, Some(setup.theirs.0.as_str()));
    let unsigned = setup.push("unsigned/pause", &setup.layout, None);
    for (repository, reference, verdict) in [
        ("theirs/pause", theirs, "other key"),
        ("unsigned/pause", unsigned, "missing"),
    ] {
        let run = xtask(&["verify", &reference, "--key", public, "--json"]);
        assert_eq!(run.status, Some(1), "{repository}: {}", run.all());
        assert!(
            run.last_line().starts_with("error: ") && run.last_line().contains("does not verify"),
            "{repository}: {}",
            run.all()
        );
        let document = run.json();
        assert_eq!(document["verified"], false, "{document:#}");
        assert_rows_are_the_registrys(&setup, repository, &document);
        for row in document["rows"].as_array().expect("rows") {
            let name = row["name"].as_str().expect("a name");
            assert_eq!(row["holds"], false, "{repository}: {row:#}");
            assert_eq!(row["checks"]["rebuilt"]["verdict"], "ok", "{row:#}");
            let signed: &[&str] = if name == "index" {
                &["sig", "bundle"]
            } else {
                &["sig", "bundle", "attestations"]
            };
            for check in signed {
                let cell = &row["checks"][check];
                assert_eq!(
                    cell["verdict"], verdict,
                    "{repository} {name} {check}: {row:#}"
                );
                let details = cell["details"].as_array().expect("details");
                assert!(
                    !details.is_empty()
                        && details
                            .iter()
                            .all(|line| line.as_str().is_some_and(|line| line.starts_with(name))),
                    "{repository} {name} {check}: a line per problem, naming the row: {row:#}"
                );
            }
        }
    }
}

/// The rows of `document` are the index `repository:t` and each platform it lists, in its
/// order, with the registry's digests and platforms, and a reference by digest.
fn assert_rows_are_the_registrys(setup: &Setup, repository: &str, document: &Value) {
    let (digest, index) = setup.index(repository);
    let rows = document["rows"].as_array().expect("rows");
    let manifests = index["manifests"].as_array().expect("manifests");
    assert_eq!(rows.len(), 1 + manifests.len(), "{document:#}");
    assert_eq!(rows[0]["name"], "index");
    assert_eq!(rows[0]["digest"], digest.as_str());
    assert_eq!(rows[0]["platform"], Value::Null);
    assert_eq!(
        rows[0]["reference"],
        setup.by_digest(repository, &digest).as_str()
    );
    for ((row, manifest), platform) in rows[1..].iter().zip(manifests).zip(PLATFORMS) {
        assert_eq!(row["name"], platform.name, "{row:#}");
        assert_eq!(row["digest"], manifest["digest"], "{row:#}");
        assert_eq!(row["platform"], manifest["platform"], "{row:#}");
        let digest = manifest["digest"].as_str().expect("a digest");
        assert_eq!(
            row["reference"],
            setup.by_digest(repository, digest).as_str()
        );
    }
}

/// The table on stdout, nothing else there but its legend and a reference by digest per row,
/// each the digest the registry holds; the index's reference, copied from the output, verifies;
/// the legend says what each column proves and who reads it. With `--wide` the digest column
/// holds the full digests.
#[test]
fn the_table_gives_references_verify_accepts_and_a_legend() {
    if !ready(
        "verify_output::the_table_gives_references_verify_accepts_and_a_legend",
        &needs(),
    ) {
        return;
    }
    let setup = Setup::new();
    let (key, public) = (&setup.ours.0, &setup.ours.1);
    let reference = setup.push("good/pause", &setup.layout, Some(key.as_str()));
    let run = xtask(&["verify", &reference, "--key", public]);
    assert_eq!(run.status, Some(0), "{}", run.all());
    assert!(run.last_line().starts_with(HOLDS), "{}", run.all());
    for progress in ["rebuilding ", "$ cargo", HOLDS] {
        assert!(
            !run.stdout.contains(progress),
            "`{progress}` on stdout:\n{}",
            run.all()
        );
    }
    verify_table(&run.stdout);

    let (digest, index) = setup.index("good/pause");
    let mut expected = vec![("index".to_string(), digest.clone())];
    for (manifest, platform) in index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .zip(PLATFORMS)
    {
        let digest = manifest["digest"].as_str().expect("a digest");
        expected.push((platform.name.to_string(), digest.to_string()));
    }
    for (name, digest) in &expected {
        let by_digest = setup.by_digest("good/pause", digest);
        assert!(
            run.stdout
                .lines()
                .any(|line| line.starts_with(name.as_str())
                    && line.split_whitespace().last() == Some(by_digest.as_str())),
            "no line `{name}  {by_digest}`:\n{}",
            run.stdout
        );
    }
    let copied = run
        .stdout
        .lines()
        .filter(|line| line.starts_with("index "))
        .filter_map(|line| line.split_whitespace().last())
        .find(|word| word.contains('@'))
        .unwrap_or_else(|| panic!("no reference of the index:\n{}", run.stdout))
        .to_string();
    let again = xtask(&["verify", &copied, "--key", public]);
    assert_eq!(again.status, Some(0), "{copied}: {}", again.all());

    let legend = |start: &str, named: &[&str]| {
        let line = run
            .stdout
            .lines()
            .map(str::trim_start)
            .find(|line| line.starts_with(start))
            .unwrap_or_else(|| panic!("no legend line for `{start}`:\n{}", run.stdout));
        for named in named {
            assert!(line.contains(named), "`{named}` not in: {line}");
        }
    };
    legend(
        ".sig ",
        &["cosign 2", "policy-controller", "Kyverno ClusterPolicy"],
    );
    legend(
        "bundle ",
        &[
            "cosign 3",
            "Kyverno ImageValidatingPolicy",
            "SigstoreBundle",
        ],
    );
    legend("SBOM ", &["/pause"]);
    legend("attestations ", &["provenance", ".att", "bundle"]);
    legend("ok (fallback tag) ", &["sha256-<hex>", "referrers API"]);

    let wide = xtask(&["verify", &reference, "--key", public, "--wide"]);
    assert_eq!(wide.status, Some(0), "{}", wide.all());
    let table = verify_table(&wide.stdout);
    for (name, digest) in &expected {
        assert_eq!(&table[name]["digest"], digest, "{name}:\n{}", wide.stdout);
    }
}

/// Signed with one key, verified with another: one line says so, naming both keys by the
/// SHA-256 of their SubjectPublicKeyInfo (`sha256:<hex>`), and no line per cell; no key is
/// named in base64, as a bundle's hint names it.
#[test]
fn a_wrong_key_is_one_line() {
    if !ready("verify_output::a_wrong_key_is_one_line", &needs()) {
        return;
    }
    let setup = Setup::new();
    let reference = setup.push("theirs/pause", &setup.layout, Some(setup.theirs.0.as_str()));
    let public = &setup.ours.1;
    let run = xtask(&["verify", &reference, "--key", public]);
    assert_eq!(run.status, Some(1), "{}", run.all());
    let (theirs, ours) = (fingerprint(&setup.theirs.1), fingerprint(public));
    let line = format!("signed by key {theirs}; cosign.pub is {ours}: check --key");
    assert!(
        run.last_line().starts_with("error: ") && run.last_line().ends_with(&line),
        "not the last line: `{line}`\n{}",
        run.all()
    );
    assert_eq!(run.detail_lines(), Vec::<&str>::new(), "{}", run.all());
    let hint = STANDARD.encode(
        (0..theirs.len() - "sha256:".len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&theirs["sha256:".len() + at..][..2], 16).expect("hex"))
            .collect::<Vec<u8>>(),
    );
    assert!(
        !run.all().contains(&hint),
        "a key named in base64:\n{}",
        run.all()
    );
    let json = xtask(&["verify", &reference, "--key", public, "--json"]);
    assert!(
        json.stdout.contains(&theirs) && !json.stdout.contains(&hint),
        "the bundle's key named by its fingerprint in the details:\n{}",
        json.stdout
    );
}

/// The lines under the table follow its order: the index's first, then each platform's, and in
/// a row its columns left to right; only a blob that differs is a `first difference`, in the
/// verdict; a missing signature is not one. Exit 1 when the image does not verify.
#[test]
fn details_follow_the_table_and_the_exit_status_says_why() {
    if !ready(
        "verify_output::details_follow_the_table_and_the_exit_status_says_why",
        &needs(),
    ) {
        return;
    }
    const FLIPPED_BYTE: usize = 100;
    let setup = Setup::new();
    let public = &setup.ours.1;
    let altered = EditedLayout::copy(&setup.layout, &setup.dir.path().join("altered"));
    altered.replace_layer(0, &flip_a_byte(&altered.layer(0), FLIPPED_BYTE));
    let reference = setup.push("altered/pause", altered.dir(), None);
    let run = xtask(&["verify", &reference, "--key", public]);
    assert_eq!(run.status, Some(1), "{}", run.all());
    let lines = run.detail_lines();
    let rows: Vec<usize> = lines.iter().filter_map(|line| row_of(line)).collect();
    assert!(
        !rows.is_empty() && rows[0] == 0 && rows.windows(2).all(|pair| pair[0] <= pair[1]),
        "not in the table's order:\n{}",
        run.all()
    );
    let amd64: Vec<&&str> = lines
        .iter()
        .filter(|line| line.starts_with("linux/amd64: "))
        .collect();
    assert!(
        amd64.len() > 1 && amd64[0].starts_with("linux/amd64: layer "),
        "amd64's layer, its first column, first:\n{}",
        run.all()
    );
    let verdict = run.last_line();
    assert!(
        verdict.starts_with("error: ")
            && verdict.contains("first difference: linux/amd64: layer ")
            && verdict.contains(&format!("differs from byte {FLIPPED_BYTE} ")),
        "{}",
        run.all()
    );
    assert_eq!(
        run.stderr.matches("first difference").count(),
        1,
        "only the verdict names the first difference:\n{}",
        run.all()
    );

    let unsigned = setup.push("unsigned/pause", &setup.layout, None);
    let run = xtask(&["verify", &unsigned, "--key", public]);
    assert_eq!(run.status, Some(1), "{}", run.all());
    assert!(
        !run.all().contains("first difference"),
        "a missing signature is no difference:\n{}",
        run.all()
    );
}

/// A registry nobody answers at is not a verification that failed: exit 3 (1 is for an image
/// that does not verify, as [`details_follow_the_table_and_the_exit_status_says_why`] shows),
/// nothing on stdout.
#[test]
fn an_unreachable_registry_is_exit_3_not_a_failed_verification() {
    if !ready(
        "verify_output::an_unreachable_registry_is_exit_3_not_a_failed_verification",
        &needs(),
    ) {
        return;
    }
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("its address").port()
    };
    let run = xtask(&["verify", &format!("127.0.0.1:{nowhere}/pause:t"), "--json"]);
    assert_eq!(
        run.status,
        Some(3),
        "an unreachable registry: {}",
        run.all()
    );
    assert!(run.stdout.is_empty(), "{}", run.all());
}
