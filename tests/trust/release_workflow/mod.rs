//! The release workflow's promises, checked on the files as GitHub reads them (YAML 1.2, through
//! `tests/verifiers/workflow-json.py`), the workflow's own scripts run here where they can be:
//!
//! - `rules.rs`: every `uses:` of every workflow pinned to a full commit hash; the one job that
//!   may mint the workflow's OIDC token (`id-token: write`: the identity Fulcio certifies and
//!   GitHub's attestations name) uses only the actions and runs only the commands of two short
//!   lists, so no checkout, build or downloaded code holds the signing identity; every script runs
//!   under `bash -eo pipefail`; every check the workflow and the manual make names the exact
//!   identity: Cargo.toml's repository, the path of that workflow file, at a tag (the only ref it
//!   runs on), GitHub's issuer.
//! - `breakings.rs`: each rule refusing the checkout's files changed to break it.
//! - `scripts.rs`: the push job's script on a real push's metadata file (what the keyless job
//!   signs), and the check that the tag holds what was signed, against a real registry.
//!
//! What only GitHub can run (the keyless signing, the attestation, `cosign verify` against Fulcio
//! and Rekor, `gh attestation verify`) does not run here; `cargo xtask lint` holds the same files
//! to GitHub's workflow schema and zizmor's audits.

mod breakings;
mod rules;
mod scripts;

use std::path::PathBuf;

use pause_tests::verifiers::{workflows_as_json, yaml_ready};
use serde_json::Value;

/// Where GitHub reads the workflows, from the repository's root.
const WORKFLOWS: &str = ".github/workflows";
/// The pages that give the commands for the published image.
const PAGES: &[&str] = &["README.md", "docs/verify.md"];

/// One workflow file: its path from the repository's root and what GitHub reads.
#[derive(Clone)]
struct Workflow {
    path: String,
    json: Value,
}

impl Workflow {
    /// Whether a job of it may mint the OIDC token: the release workflow, the one the manual's
    /// identity names.
    fn mints_token(&self) -> bool {
        !identity_jobs(&self.json).is_empty()
    }
}

/// What the rules read: the workflows, Cargo.toml's repository, the pages of [`PAGES`].
#[derive(Clone)]
struct Checked {
    workflows: Vec<Workflow>,
    repository: String,
    pages: Vec<(String, String)>,
}

impl Checked {
    /// The checkout's; None (a loud skip) without the venv.
    fn checkout(test: &str) -> Option<Checked> {
        Some(Checked {
            workflows: checkout_workflows(test)?,
            repository: checkout_repository(),
            pages: checkout_pages(),
        })
    }

    /// The release workflow: the one whose jobs may mint the token.
    fn release(&self) -> &Workflow {
        self.workflows
            .iter()
            .find(|workflow| workflow.mints_token())
            .expect("a workflow that can mint the OIDC token")
    }
}

/// Every workflow of the checkout, read as GitHub reads it; None (a loud skip) without the venv.
fn checkout_workflows(test: &str) -> Option<Vec<Workflow>> {
    let python = yaml_ready(test)?;
    let root = xtask::project::root();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(WORKFLOWS))
        .expect("the workflows folder")
        .map(|entry| entry.expect("a workflow file").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no workflow in {WORKFLOWS}");
    let read = workflows_as_json(&python, &paths);
    Some(
        paths
            .iter()
            .zip(read)
            .map(|(path, json)| Workflow {
                path: format!(
                    "{WORKFLOWS}/{}",
                    path.file_name().expect("a file").to_string_lossy()
                ),
                json,
            })
            .collect(),
    )
}

/// The pages of [`PAGES`], with their text.
fn checkout_pages() -> Vec<(String, String)> {
    let root = xtask::project::root();
    PAGES
        .iter()
        .map(|page| {
            let text = std::fs::read_to_string(root.join(page)).expect("a page of the manual");
            (page.to_string(), text)
        })
        .collect()
}

/// Cargo.toml's `repository`: the one place the repository's address is written.
fn checkout_repository() -> String {
    let manifest = std::fs::read_to_string(xtask::project::root().join("Cargo.toml"))
        .expect("the workspace's Cargo.toml");
    let manifest: toml::Table = toml::from_str(&manifest).expect("Cargo.toml is TOML");
    manifest["workspace"]["package"]["repository"]
        .as_str()
        .expect("workspace.package.repository")
        .to_string()
}

fn jobs(workflow: &Value) -> Vec<(&str, &Value)> {
    workflow["jobs"]
        .as_object()
        .map(|jobs| {
            jobs.iter()
                .map(|(name, job)| (name.as_str(), job))
                .collect()
        })
        .unwrap_or_default()
}

fn steps(job: &Value) -> &[Value] {
    job["steps"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Whether a job with these permissions (its own, else the workflow's) can mint the OIDC token.
fn grants_identity(permissions: &Value) -> bool {
    match permissions {
        Value::String(all) => all == "write-all",
        Value::Object(scopes) => scopes.get("id-token").and_then(Value::as_str) == Some("write"),
        _ => false,
    }
}

/// The jobs of `workflow` that can mint the OIDC token: job permissions replace the workflow's,
/// so a job that names none has the workflow's.
fn identity_jobs(workflow: &Value) -> Vec<(&str, &Value)> {
    jobs(workflow)
        .into_iter()
        .filter(|(_, job)| {
            let own = &job["permissions"];
            grants_identity(if own.is_null() {
                &workflow["permissions"]
            } else {
                own
            })
        })
        .collect()
}

/// The checkout's workflows and pages keep every rule, and the rules had something to hold: one
/// workflow that mints the token, signs with cosign and attests with GitHub's action.
#[test]
fn the_release_workflow_pins_its_actions_keeps_builds_from_the_identity_and_matches_the_manual() {
    const TEST: &str = "release_workflow::the_release_workflow_pins_its_actions_keeps_builds_from_the_identity_and_matches_the_manual";
    let Some(checked) = Checked::checkout(TEST) else {
        return;
    };
    let problems = rules::problems(&checked);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let release = checked.release();
    let (_, job) = identity_jobs(&release.json)[0];
    let runs_cosign_sign = steps(job).iter().any(|step| {
        step["run"]
            .as_str()
            .is_some_and(|run| run.contains("cosign sign "))
    });
    let attests = steps(job).iter().any(|step| {
        step["uses"]
            .as_str()
            .is_some_and(|used| used.starts_with("actions/attest-build-provenance@"))
    });
    assert!(
        runs_cosign_sign && attests,
        "{} signs with cosign and attests with GitHub's action where the identity is",
        release.path
    );
}
