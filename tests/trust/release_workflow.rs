//! The release workflow's promises, checked on the files as GitHub reads them (YAML 1.2, through
//! `tests/verifiers/workflow-json.py`): every `uses:` of every workflow is pinned to a full commit
//! hash; no job that may mint the workflow's OIDC token (`id-token: write`, the identity Fulcio
//! certifies and GitHub's attestations name) checks out the repository or runs cargo, the xtask,
//! rustup or anything a build wrote, so no build holds the signing identity; and the certificate
//! identity the manual tells users to check is this workflow's: Cargo.toml's repository, the path
//! of the one workflow file that can mint the token, at a tag (the only ref it runs on), with
//! GitHub's issuer. Each rule is also shown refusing a workflow or a page that breaks it.
//!
//! What only GitHub can run (the keyless signing, the attestation, `cosign verify` against Fulcio
//! and Rekor, `gh attestation verify`) does not run here; `cargo xtask lint` holds the same files
//! to GitHub's workflow schema and zizmor's audits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pause_tests::layout::Layout;
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::registry::registry_http;
use pause_tests::verifiers::{workflows_as_json, yaml_ready};
use pause_tests::{Need, image, ready, xtask_cli};
use serde_json::{Value, json};

/// Where GitHub reads the workflows, from the repository's root.
const WORKFLOWS: &str = ".github/workflows";
/// The pages that give the commands for the published image.
const PAGES: &[&str] = &["README.md", "docs/verify.md"];
/// The issuer of GitHub Actions' OIDC tokens, as Fulcio writes it in the certificate.
const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The host part of the repository's address, which an identity and `--signer-workflow` differ by.
const GITHUB: &str = "https://github.com/";
/// A full git commit id (SHA-1).
const COMMIT_HEX_DIGITS: usize = 40;
/// What in a `run:` script means code from the checkout or its build runs: cargo (and the
/// toolchain rustup installs for it), the xtask, or what a build wrote.
const BUILDS: &[&str] = &["cargo", "xtask", "rustup", "target/"];
const IDENTITY_FLAG: &str = "--certificate-identity";
const ISSUER_FLAG: &str = "--certificate-oidc-issuer";
const SIGNER_FLAG: &str = "--signer-workflow";

/// One workflow file: its path from the repository's root, its text and what GitHub reads.
#[derive(Clone)]
struct Workflow {
    path: String,
    text: String,
    json: Value,
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
                text: std::fs::read_to_string(path).expect("a workflow's text"),
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

/// Every `uses:` of `workflow` (a step's action, a job's reusable workflow) that is not
/// `OWNER/REPO[/PATH]@<40 hex digits>`: a tag or a branch can be moved to other code after review.
fn unpinned(workflow: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, job) in jobs(&workflow.json) {
        let uses = [&job["uses"]]
            .into_iter()
            .chain(steps(job).iter().map(|step| &step["uses"]))
            .filter(|used| !used.is_null());
        for used in uses {
            let shown = used
                .as_str()
                .map_or_else(|| used.to_string(), str::to_string);
            if !used.as_str().is_some_and(pinned) {
                problems.push(format!(
                    "{}: job `{name}`: `uses: {shown}` is not pinned to a full commit hash \
                     (OWNER/REPO@<40 hex digits>, the version in a comment)",
                    workflow.path
                ));
            }
        }
    }
    problems
}

/// Whether `used` names an action or a reusable workflow of a repository by a full commit id.
fn pinned(used: &str) -> bool {
    let Some((action, commit)) = used.rsplit_once('@') else {
        return false;
    };
    let mut parts = action.split('/');
    let named = |part: Option<&str>| part.is_some_and(|part| !part.is_empty() && part != ".");
    named(parts.next())
        && named(parts.next())
        && !action.contains(':')
        && commit.len() == COMMIT_HEX_DIGITS
        && commit
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a job with these permissions (its own, else the workflow's) can mint the OIDC token.
fn grants_identity(permissions: &Value) -> bool {
    match permissions {
        Value::String(all) => all == "write-all",
        Value::Object(scopes) => scopes.get("id-token").and_then(Value::as_str) == Some("write"),
        _ => false,
    }
}

/// The jobs of `workflow` that can mint the OIDC token.
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

/// What a job that can mint the OIDC token runs that it must not: the checkout, a build, the
/// xtask, a reusable workflow (whose steps are not in this file to check).
fn code_beside_the_identity(workflow: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, job) in identity_jobs(&workflow.json) {
        let at = format!("{}: job `{name}` has `id-token: write`", workflow.path);
        if !job["uses"].is_null() {
            problems.push(format!(
                "{at} and calls a reusable workflow, whose steps this check cannot see"
            ));
        }
        for step in steps(job) {
            if let Some(used) = step["uses"].as_str()
                && used.starts_with("actions/checkout@")
            {
                problems.push(format!(
                    "{at} and checks out the repository: the signing identity must not sit \
                     beside the repository's code"
                ));
            }
            if let Some(run) = step["run"].as_str() {
                for word in BUILDS.iter().filter(|word| run.contains(**word)) {
                    problems.push(format!(
                        "{at} and runs `{word}`: no build may hold the signing identity; build \
                         in a job without it"
                    ));
                }
            }
        }
    }
    problems
}

/// The value given to `flag` each time it appears in `text` (`FLAG VALUE` or `FLAG=VALUE`,
/// quotes taken off); `FLAG-more` is another flag and is not counted.
fn flag_values<'a>(text: &'a str, flag: &str) -> Vec<&'a str> {
    let mut values = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(flag) {
        rest = &rest[at + flag.len()..];
        let Some(separator) = rest.chars().next() else {
            break;
        };
        if separator != '=' && !separator.is_whitespace() {
            continue;
        }
        let value = rest[separator.len_utf8()..]
            .trim_start_matches([' ', '\t'])
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or_default()
            .trim_matches(['"', '\'']);
        values.push(value);
    }
    values
}

/// Whether the identity's ref, `refs/tags/<tag>`, is the only one the workflow runs on: pushes of
/// tags alone.
fn runs_on_tags_only(workflow: &Value) -> bool {
    let on = &workflow["on"];
    on.as_object().is_some_and(|on| on.len() == 1)
        && on["push"]
            .as_object()
            .is_some_and(|push| push.keys().all(|key| key == "tags") && push["tags"].is_array())
}

/// Where the identity the pages give for the published image is not the workflow's own: the
/// workflow that can mint the token (exactly one), run on tags only; each `--certificate-identity`
/// of the pages `<repository>/<its path>@refs/tags/v…`, each `--certificate-oidc-issuer`
/// GitHub's, each `--signer-workflow` `<owner>/<repo>/<its path>`; the README among the pages that
/// give one; and every workflow path the signing workflow's own checks name, its own.
fn identity_problems(
    workflows: &[Workflow],
    repository: &str,
    pages: &[(String, String)],
) -> Vec<String> {
    let signing: Vec<&Workflow> = workflows
        .iter()
        .filter(|workflow| !identity_jobs(&workflow.json).is_empty())
        .collect();
    let [workflow] = signing[..] else {
        return vec![format!(
            "{} workflows have a job with `id-token: write`; the manual's identity names one",
            signing.len()
        )];
    };
    let mut problems = Vec::new();
    if !runs_on_tags_only(&workflow.json) {
        problems.push(format!(
            "{} runs on more than pushes of tags: the identity `…@refs/tags/<tag>` the manual \
             gives does not name its other runs",
            workflow.path
        ));
    }
    let identity = format!("{repository}/{}@refs/tags/v", workflow.path);
    let Some(repository_path) = repository.strip_prefix(GITHUB) else {
        return vec![format!(
            "Cargo.toml's repository {repository} is not on GitHub"
        )];
    };
    let signer = format!("{repository_path}/{}", workflow.path);
    for (page, text) in pages {
        for given in flag_values(text, IDENTITY_FLAG) {
            if !given.starts_with(&identity) {
                problems.push(format!(
                    "{page}: {IDENTITY_FLAG} {given} is not the release workflow's identity, \
                     {identity}<version>"
                ));
            }
        }
        for given in flag_values(text, ISSUER_FLAG) {
            if given != ISSUER {
                problems.push(format!("{page}: {ISSUER_FLAG} {given}, not {ISSUER}"));
            }
        }
        for given in flag_values(text, SIGNER_FLAG) {
            if given != signer {
                problems.push(format!("{page}: {SIGNER_FLAG} {given}, not {signer}"));
            }
        }
        if text.contains(&format!("{IDENTITY_FLAG}-regexp")) {
            problems.push(format!(
                "{page}: gives {IDENTITY_FLAG}-regexp; the published image's identity is exact"
            ));
        }
    }
    let readme_gives = pages
        .iter()
        .any(|(page, text)| page == "README.md" && !flag_values(text, IDENTITY_FLAG).is_empty());
    if !readme_gives {
        problems.push(format!(
            "README.md gives no `cosign verify {IDENTITY_FLAG}` for the published image"
        ));
    }
    for (name, job) in jobs(&workflow.json) {
        for run in steps(job).iter().filter_map(|step| step["run"].as_str()) {
            let mut rest = run;
            while let Some(at) = rest.find(WORKFLOWS) {
                rest = &rest[at..];
                let named = rest.split(['@', '"', ' ', '\n']).next().unwrap_or_default();
                if named != workflow.path {
                    problems.push(format!(
                        "{}: job `{name}` checks the identity of {named}, not of {}",
                        workflow.path, workflow.path
                    ));
                }
                rest = &rest[WORKFLOWS.len()..];
            }
        }
    }
    problems
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

    /// Every rule's problems.
    fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .workflows
            .iter()
            .flat_map(|workflow| [unpinned(workflow), code_beside_the_identity(workflow)].concat())
            .collect();
        problems.extend(identity_problems(
            &self.workflows,
            &self.repository,
            &self.pages,
        ));
        problems
    }
}

/// The checkout's workflows and pages keep every rule.
#[test]
fn the_release_workflow_pins_its_actions_keeps_builds_from_the_identity_and_matches_the_manual() {
    const TEST: &str = "release_workflow::the_release_workflow_pins_its_actions_keeps_builds_from_the_identity_and_matches_the_manual";
    let Some(checked) = Checked::checkout(TEST) else {
        return;
    };
    let problems = checked.problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The rules had something to hold: a workflow that mints the token and signs with it.
    let signing: Vec<_> = checked
        .workflows
        .iter()
        .filter(|workflow| !identity_jobs(&workflow.json).is_empty())
        .collect();
    assert_eq!(signing.len(), 1, "one workflow signs keyless");
    assert!(
        signing[0].text.contains("cosign sign")
            && signing[0].text.contains("attest-build-provenance"),
        "{} signs with cosign and attests with GitHub's action",
        signing[0].path
    );
}

/// One way to break a rule: the checkout's files, changed.
struct Breaking {
    what: &'static str,
    change: fn(&mut Checked),
    /// What the problem line says.
    says: &'static str,
}

/// The release workflow: the one that can mint the token.
fn release(checked: &mut Checked) -> &mut Workflow {
    checked
        .workflows
        .iter_mut()
        .find(|workflow| !identity_jobs(&workflow.json).is_empty())
        .expect("the workflow that signs keyless")
}

/// The first job of the release workflow that can mint the token.
fn identity_job(checked: &mut Checked) -> &mut Value {
    let workflow = release(checked);
    let name = identity_jobs(&workflow.json)[0].0.to_string();
    &mut workflow.json["jobs"][name]
}

fn push_step(job: &mut Value, step: Value) {
    job["steps"].as_array_mut().expect("steps").push(step);
}

fn replace_in_page(checked: &mut Checked, page: &str, from: &str, to: &str) {
    let (_, text) = checked
        .pages
        .iter_mut()
        .find(|(name, _)| name == page)
        .expect("the page");
    assert!(text.contains(from), "{page} holds {from}");
    *text = text.replace(from, to);
}

const BREAKINGS: &[Breaking] = &[
    Breaking {
        what: "an action by its tag",
        change: |checked| {
            let job = identity_job(checked);
            let step = job["steps"]
                .as_array_mut()
                .expect("steps")
                .iter_mut()
                .find(|step| step["uses"].is_string())
                .expect("a step that uses an action");
            let used = step["uses"].as_str().expect("uses").to_string();
            let (action, _) = used.split_once('@').expect("OWNER/REPO@REF");
            step["uses"] = format!("{action}@v4").into();
        },
        says: "is not pinned to a full commit hash",
    },
    Breaking {
        what: "an action by a short commit",
        change: |checked| {
            let job = &mut checked.workflows[0].json["jobs"];
            let (_, first) = job
                .as_object_mut()
                .expect("jobs")
                .iter_mut()
                .next()
                .expect("a job");
            push_step(first, json!({"uses": "actions/checkout@11d5960"}));
        },
        says: "`uses: actions/checkout@11d5960` is not pinned",
    },
    Breaking {
        what: "cargo in the job that holds the identity",
        change: |checked| {
            push_step(identity_job(checked), json!({"run": "cargo xtask image"}));
        },
        says: "runs `cargo`: no build may hold the signing identity",
    },
    Breaking {
        what: "a binary the build wrote, run where the identity is",
        change: |checked| {
            push_step(
                identity_job(checked),
                json!({"run": "target/debug/tool sign"}),
            );
        },
        says: "runs `target/`",
    },
    Breaking {
        what: "the checkout in the job that holds the identity",
        change: |checked| {
            push_step(
                identity_job(checked),
                json!({"uses": "actions/checkout@11d5960a326750d5838078e36cf38b85af677262"}),
            );
        },
        says: "checks out the repository",
    },
    Breaking {
        what: "the identity granted to every job, the build's too",
        change: |checked| {
            // Job permissions replace the workflow's: the build's job inherits them once it
            // names none of its own.
            let workflow = release(checked);
            workflow.json["permissions"] = "write-all".into();
            for (_, job) in workflow.json["jobs"].as_object_mut().expect("jobs") {
                if steps(job).iter().any(|step| {
                    step["run"]
                        .as_str()
                        .is_some_and(|run| run.contains("cargo"))
                }) {
                    job.as_object_mut().expect("a job").remove("permissions");
                }
            }
        },
        says: "runs `cargo`",
    },
    Breaking {
        what: "a second workflow that can mint the token",
        change: |checked| {
            let mut other = release(checked).clone();
            other.path = format!("{WORKFLOWS}/other.yml");
            checked.workflows.push(other);
        },
        says: "2 workflows have a job with `id-token: write`",
    },
    Breaking {
        what: "the release workflow renamed, the manual not",
        change: |checked| {
            release(checked).path = format!("{WORKFLOWS}/publish.yml");
        },
        says: "is not the release workflow's identity",
    },
    Breaking {
        what: "the manual naming another workflow file",
        change: |checked| {
            replace_in_page(
                checked,
                "README.md",
                "release.yml@refs/tags",
                "build.yml@refs/tags",
            );
        },
        says: "README.md: --certificate-identity https://github.com/pause-rs/pause/.github/workflows/build.yml",
    },
    Breaking {
        what: "the manual naming another repository",
        change: |checked| {
            checked.repository = "https://github.com/someone-else/pause".to_string();
        },
        says: "is not the release workflow's identity, https://github.com/someone-else/pause/",
    },
    Breaking {
        what: "another OIDC issuer in the manual",
        change: |checked| {
            replace_in_page(
                checked,
                "docs/verify.md",
                ISSUER,
                "https://accounts.google.com",
            );
        },
        says: "docs/verify.md: --certificate-oidc-issuer https://accounts.google.com",
    },
    Breaking {
        what: "another signer workflow for gh",
        change: |checked| {
            replace_in_page(
                checked,
                "docs/verify.md",
                "--signer-workflow pause-rs/pause/.github/workflows/release.yml",
                "--signer-workflow pause-rs/pause/.github/workflows/ci.yml",
            );
        },
        says: "docs/verify.md: --signer-workflow pause-rs/pause/.github/workflows/ci.yml",
    },
    Breaking {
        what: "a README without the keyless command",
        change: |checked| {
            replace_in_page(checked, "README.md", IDENTITY_FLAG, "--key");
        },
        says: "README.md gives no `cosign verify --certificate-identity`",
    },
    Breaking {
        what: "a release run on a branch, whose identity is not a tag's",
        change: |checked| {
            release(checked).json["on"]["push"]["branches"] = json!(["main"]);
        },
        says: "runs on more than pushes of tags",
    },
    Breaking {
        what: "the workflow's own check naming another file",
        change: |checked| {
            let job = identity_job(checked);
            push_step(
                job,
                json!({"run": "cosign verify --certificate-identity \"https://github.com/$GITHUB_REPOSITORY/.github/workflows/other.yml@$GITHUB_REF\""}),
            );
        },
        says: "checks the identity of .github/workflows/other.yml, not of .github/workflows/release.yml",
    },
];

/// Each rule refuses the checkout's files changed to break it, with a line naming what broke.
/// Every case runs; the failure names each one that was let through.
#[test]
fn every_rule_refuses_what_breaks_it() {
    const TEST: &str = "release_workflow::every_rule_refuses_what_breaks_it";
    let Some(checkout) = Checked::checkout(TEST) else {
        return;
    };
    let mut let_through = Vec::new();
    for breaking in BREAKINGS {
        let mut checked = checkout.clone();
        (breaking.change)(&mut checked);
        let problems = checked.problems();
        if !problems.iter().any(|line| line.contains(breaking.says)) {
            let_through.push(format!(
                "{}: no line says `{}`; the lines: {problems:#?}",
                breaking.what, breaking.says
            ));
        }
    }
    assert!(
        let_through.is_empty(),
        "let through:\n{}",
        let_through.join("\n")
    );
}

/// The step of the release's push job that reads the push's metadata file, and the ids its
/// outputs go by.
const PUSHED_STEP: &str = "pushed";
/// Where the push step writes the metadata file, and the next step reads it, under the runner's
/// temp directory.
const METADATA_FILE: &str = "pushed.json";
const JQ: Need = Need::program("jq", "jq");

/// The step with `id: pushed` and the job it is in, from the release workflow.
fn pushed_step(workflow: &Value) -> (&str, &Value) {
    jobs(workflow)
        .into_iter()
        .find_map(|(name, job)| {
            steps(job)
                .iter()
                .find(|step| step["id"] == PUSHED_STEP)
                .map(|step| (name, step))
        })
        .expect("the step that reads the push's metadata file")
}

/// The step's `run:` script as GitHub's runner runs it (`bash --noprofile --norc -eo pipefail`),
/// in `dir` as `RUNNER_TEMP`, its outputs file in it; the outputs as `name=value` lines.
fn run_step(script: &str, dir: &Path, owner: &str) -> (Output, String) {
    let outputs = dir.join("github_output");
    std::fs::write(&outputs, "").expect("the outputs file");
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .env("RUNNER_TEMP", dir)
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_REPOSITORY_OWNER", owner)
        .output()
        .expect("running bash");
    (out, std::fs::read_to_string(&outputs).expect("the outputs"))
}

/// The release's keyless job signs and attests the index and every platform manifest a real push's
/// metadata file names: the push job's own script, run here on the file `cargo xtask push
/// --metadata-file` wrote for a push to docker-registry (its address then written as ghcr.io's, as
/// on GitHub), puts out the index's digest and every platform manifest's, the repository, and
/// nothing else; the keyless job's matrix is that output. Fed a file that names a digest that is
/// not a sha256 one, another repository or no manifest, the script fails, so nothing is signed.
#[test]
fn the_keyless_job_signs_every_digest_of_the_push_metadata() {
    const TEST: &str = "release_workflow::the_keyless_job_signs_every_digest_of_the_push_metadata";
    let needs = [docker_registry::NEEDS, &[registry_http::NEEDS, JQ]].concat();
    if !ready(TEST, &needs) {
        return;
    }
    let Some(checked) = Checked::checkout(TEST) else {
        return;
    };
    let workflow = checked
        .workflows
        .iter()
        .find(|workflow| !identity_jobs(&workflow.json).is_empty())
        .expect("the release workflow");
    let (job, step) = pushed_step(&workflow.json);
    let script = step["run"].as_str().expect("the step's script");
    let pushes_the_file = steps(&workflow.json["jobs"][job]).iter().any(|step| {
        step["run"].as_str().is_some_and(|run| {
            run.contains(&format!("--metadata-file \"$RUNNER_TEMP/{METADATA_FILE}\""))
        })
    });
    assert!(
        pushes_the_file,
        "job `{job}` pushes with --metadata-file \"$RUNNER_TEMP/{METADATA_FILE}\""
    );
    assert!(
        script.contains(&format!("$RUNNER_TEMP/{METADATA_FILE}")),
        "{script}"
    );
    assert_eq!(
        workflow.json["jobs"][job]["outputs"]["digests"],
        format!("${{{{ steps.{PUSHED_STEP}.outputs.digests }}}}"),
        "job `{job}` gives the step's digests as its output"
    );
    for (name, keyless) in identity_jobs(&workflow.json) {
        assert_eq!(
            keyless["strategy"]["matrix"]["digest"],
            format!("${{{{ fromJSON(needs.{job}.outputs.digests) }}}}"),
            "job `{name}` runs once for each digest of the metadata file"
        );
    }

    // A real push, its metadata file, the registry's address made ghcr.io's.
    let registry = Registry::start_plain();
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join(METADATA_FILE);
    let layout = image::layout();
    let reference = registry.reference("pause-rs/pause:v0.1.0");
    let said = xtask_cli::run(
        &[
            "push",
            &reference,
            "--layout",
            &layout.display().to_string(),
            "--metadata-file",
            &file.display().to_string(),
        ],
        &[],
    );
    assert!(said.success, "the push failed:\n{}", said.all());
    let written = std::fs::read_to_string(&file).expect("the metadata file");
    let as_on_github = written.replace(registry.host(), "ghcr.io");
    std::fs::write(&file, &as_on_github).expect("the metadata file, as on GitHub");

    let (out, outputs) = run_step(script, dir.path(), "Pause-RS");
    assert!(
        out.status.success(),
        "the step failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opened = Layout::open(&layout);
    let (index_descriptor, index) = opened.image();
    let mut expected = vec![
        index_descriptor["digest"]
            .as_str()
            .expect("a digest")
            .to_string(),
    ];
    expected.extend(
        index["manifests"]
            .as_array()
            .expect("the index's manifests")
            .iter()
            .map(|entry| entry["digest"].as_str().expect("a digest").to_string()),
    );
    assert_eq!(
        outputs,
        format!(
            "repository=ghcr.io/pause-rs/pause\ndigests={}\n",
            serde_json::to_string(&expected).expect("JSON")
        ),
        "the step's outputs"
    );

    // What must stop the signing.
    let metadata: Value = serde_json::from_str(&as_on_github).expect("the metadata is JSON");
    let mut short = metadata.clone();
    short["manifests"][0]["digest"] = "sha256:1234".into();
    let mut elsewhere = metadata.clone();
    elsewhere["pinned"] = format!("ghcr.io/someone-else/pause@{}", expected[0]).into();
    let mut empty = metadata.clone();
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
        let (out, outputs) = run_step(script, dir.path(), "pause-rs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && stdout.contains(says) && outputs.is_empty(),
            "{what}: the step did not stop saying `{says}` before any output:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
