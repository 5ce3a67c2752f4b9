//! The release workflow's own scripts, run here on what they read on GitHub: the push job's, which
//! turns the push's metadata file into what the keyless job signs, and the tag job's, which holds
//! the tag to those digests before anything is signed. As the runner runs them (`shell: bash`:
//! `bash --noprofile --norc -eo pipefail`), against a real push to docker-registry.

use std::path::Path;
use std::process::{Command, Output};

use pause_tests::layout::Layout;
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::skopeo::SKOPEO;
use pause_tests::{Need, image, ready, xtask_cli};
use serde_json::{Value, json};

use super::{Checked, identity_jobs, jobs, steps};

/// The push job's step that reads the push's metadata file.
const PUSHED_STEP: &str = "pushed";
/// The keyless check's step that holds the tag to the push.
const TAGGED_STEP: &str = "tagged";
/// Where the push step writes the metadata file, and the next step reads it, under the runner's
/// temp directory.
const METADATA_FILE: &str = "pushed.json";
const REPOSITORY: &str = "pause-rs/pause";
const TAG: &str = "v0.1.0";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const JQ: Need = Need::program("jq", "jq");

/// The step with id `id` and the job it is in.
fn step<'a>(workflow: &'a Value, id: &str) -> (&'a str, &'a Value) {
    jobs(workflow)
        .into_iter()
        .find_map(|(name, job)| {
            steps(job)
                .iter()
                .find(|step| step["id"] == id)
                .map(|step| (name, step))
        })
        .unwrap_or_else(|| panic!("no step has the id {id}"))
}

/// `script` as GitHub's runner runs it with `shell: bash`, with `dir` as `RUNNER_TEMP` and its
/// outputs file in it, and `env`; the outputs as `name=value` lines.
fn run_step(script: &str, dir: &Path, env: &[(&str, &str)]) -> (Output, String) {
    let outputs = dir.join("github_output");
    std::fs::write(&outputs, "").expect("the outputs file");
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .env("RUNNER_TEMP", dir)
        .env("GITHUB_OUTPUT", &outputs)
        .envs(env.iter().copied())
        .output()
        .expect("running bash");
    (out, std::fs::read_to_string(&outputs).expect("the outputs"))
}

/// Asserts that a run of a step failed saying `says`, and put out nothing.
fn assert_stopped(what: &str, (out, outputs): (Output, String), says: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && stdout.contains(says) && outputs.is_empty(),
        "{what}: the step did not stop saying `{says}` before any output:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The release signs and attests what a real push wrote, and checks that the tag holds it. The
/// push job's script, run on the metadata file `cargo xtask push --metadata-file` wrote for a push
/// to docker-registry (its address written as ghcr.io's, as on GitHub), puts out the repository
/// and the digests of the index and of every platform manifest, in the index's order, and nothing
/// else; the keyless job's matrix is that output. Fed a file that names a digest that is not a
/// sha256 one, another repository or no manifest, it fails, so nothing is signed. The keyless
/// check's script, which the keyless job waits for, given those outputs, passes on the registry's
/// tag (read by skopeo), and fails once the tag holds another index or the digests come in
/// another order.
#[test]
fn the_release_signs_every_digest_of_the_push_and_holds_the_tag_to_them() {
    const TEST: &str = "release_workflow::scripts::the_release_signs_every_digest_of_the_push_and_holds_the_tag_to_them";
    let needs = [docker_registry::NEEDS, &[registry_http::NEEDS, JQ, SKOPEO]].concat();
    if !ready(TEST, &needs) {
        return;
    }
    let Some(checked) = Checked::checkout(TEST) else {
        return;
    };
    let workflow = &checked.release().json;
    let (job, pushed) = step(workflow, PUSHED_STEP);
    let pushed = pushed["run"].as_str().expect("the step's script");
    let pushes_the_file = steps(&workflow["jobs"][job]).iter().any(|step| {
        step["run"].as_str().is_some_and(|run| {
            run.contains(&format!("--metadata-file \"$RUNNER_TEMP/{METADATA_FILE}\""))
        })
    });
    assert!(
        pushes_the_file && pushed.contains(&format!("$RUNNER_TEMP/{METADATA_FILE}")),
        "job `{job}` pushes with --metadata-file \"$RUNNER_TEMP/{METADATA_FILE}\" and reads it"
    );
    assert_eq!(
        workflow["jobs"][job]["outputs"]["digests"],
        format!("${{{{ steps.{PUSHED_STEP}.outputs.digests }}}}"),
        "job `{job}` gives the step's digests as its output"
    );
    for (name, keyless) in identity_jobs(workflow) {
        assert_eq!(
            keyless["strategy"]["matrix"]["digest"],
            format!("${{{{ fromJSON(needs.{job}.outputs.digests) }}}}"),
            "job `{name}` runs once for each digest of the metadata file"
        );
    }
    let (tag_job, tagged) = step(workflow, TAGGED_STEP);
    for (name, keyless) in identity_jobs(workflow) {
        // `needs:` is a job's name or a list of them.
        let needs = &keyless["needs"];
        let waits = needs == tag_job
            || needs
                .as_array()
                .is_some_and(|needs| needs.iter().any(|need| need == tag_job));
        assert!(
            waits && tag_job != name,
            "job `{name}` signs only after job `{tag_job}` held the tag to the push"
        );
    }
    let tagged = tagged["run"].as_str().expect("the step's script");

    // A real push over TLS, as to ghcr.io, and its metadata file as it would be on GitHub.
    let registry = Registry::start(docker_registry::Options {
        tls: true,
        ..docker_registry::Options::default()
    });
    let ca = registry
        .ca_file()
        .expect("a TLS registry's CA")
        .display()
        .to_string();
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join(METADATA_FILE);
    let layout = image::layout();
    let said = xtask_cli::run(
        &[
            "push",
            &registry.reference(&format!("{REPOSITORY}:{TAG}")),
            "--layout",
            &layout.display().to_string(),
            "--ca-file",
            &ca,
            "--metadata-file",
            &file.display().to_string(),
        ],
        &[],
    );
    assert!(said.success, "the push failed:\n{}", said.all());
    let written = std::fs::read_to_string(&file).expect("the metadata file");
    let as_on_github = written.replace(registry.host(), "ghcr.io");
    std::fs::write(&file, &as_on_github).expect("the metadata file, as on GitHub");

    let (out, outputs) = run_step(
        pushed,
        dir.path(),
        &[("GITHUB_REPOSITORY_OWNER", "Pause-RS")],
    );
    assert!(
        out.status.success(),
        "the push job's script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opened = Layout::open(&layout);
    let (index_descriptor, index) = opened.image();
    let mut expected = vec![index_descriptor["digest"].clone()];
    expected.extend(
        index["manifests"]
            .as_array()
            .expect("the index's manifests")
            .iter()
            .map(|entry| entry["digest"].clone()),
    );
    let digests = json!(expected).to_string();
    assert_eq!(
        outputs,
        format!("repository=ghcr.io/{REPOSITORY}\ndigests={digests}\n"),
        "the push job's outputs"
    );

    let metadata: Value = serde_json::from_str(&as_on_github).expect("the metadata is JSON");
    let mut short = metadata.clone();
    short["manifests"][0]["digest"] = "sha256:1234".into();
    let mut elsewhere = metadata.clone();
    elsewhere["pinned"] = format!("ghcr.io/someone-else/pause@{}", expected[0]).into();
    let mut empty = metadata;
    empty["manifests"] = json!([]);
    empty["digest"] = json!(null);
    for (what, bad, says) in [
        (
            "a digest that is not sha256's",
            short,
            "not only sha256 digests",
        ),
        ("another repository", elsewhere, "another repository"),
        ("no digests", empty, "names no digests"),
    ] {
        std::fs::write(&file, bad.to_string()).expect("the changed metadata file");
        let run = run_step(
            pushed,
            dir.path(),
            &[("GITHUB_REPOSITORY_OWNER", "pause-rs")],
        );
        assert_stopped(what, run, says);
    }

    // The keyless check's first step, on the registry's tag; skopeo trusts the registry's CA as
    // Go's TLS does, by SSL_CERT_FILE.
    let repository = format!("{}/{REPOSITORY}", registry.host());
    let check = |digests: &str| {
        run_step(
            tagged,
            dir.path(),
            &[
                ("REPOSITORY", &repository),
                ("DIGESTS", digests),
                ("TAG", TAG),
                ("SSL_CERT_FILE", &ca),
            ],
        )
    };
    let (out, _) = check(&digests);
    assert!(
        out.status.success(),
        "the tag check failed on the tag the push wrote:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reordered = expected.clone();
    reordered[1..].reverse();
    let says = "the tag does not hold the index the push wrote";
    assert_stopped(
        "the manifests in another order",
        check(&json!(reordered).to_string()),
        says,
    );
    let http = RegistryHttp::new(&registry);
    let mut other = opened.fetch(index_descriptor);
    other.push(b'\n');
    http.put_manifest(REPOSITORY, TAG, INDEX_TYPE, &other);
    assert_stopped("another index under the tag", check(&digests), says);
}
