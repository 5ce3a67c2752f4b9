//! Each rule shown refusing: the checkout's workflows, repository and pages, changed the way a
//! plausible mistake or attack would change them, must give a line naming what broke.

use serde_json::{Value, json};

use super::rules::{self, CERT_IDENTITY_FLAG, IDENTITY_FLAG, ISSUER};
use super::{Checked, WORKFLOWS, Workflow, identity_jobs, steps};

/// One way to break a rule: the checkout's files, changed.
struct Breaking {
    what: &'static str,
    change: fn(&mut Checked),
    /// What a problem line says.
    says: &'static str,
}

/// A pinned commit of actions/checkout, as ci.yml uses it.
const CHECKOUT: &str = "actions/checkout@11d5960a326750d5838078e36cf38b85af677262";

fn release(checked: &mut Checked) -> &mut Workflow {
    checked
        .workflows
        .iter_mut()
        .find(|workflow| workflow.mints_token())
        .expect("the workflow that can mint the token")
}

/// Every job of the release workflow.
fn release_jobs(checked: &mut Checked) -> impl Iterator<Item = &mut Value> {
    release(checked).json["jobs"]
        .as_object_mut()
        .expect("jobs")
        .values_mut()
}

/// The first job of the release workflow that can mint the token.
fn identity_job(checked: &mut Checked) -> &mut Value {
    let workflow = release(checked);
    let name = identity_jobs(&workflow.json)[0].0.to_string();
    &mut workflow.json["jobs"][name]
}

/// `step` added to the job that can mint the token.
fn add_identity_step(checked: &mut Checked, step: Value) {
    identity_job(checked)["steps"]
        .as_array_mut()
        .expect("steps")
        .push(step);
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

/// `from` replaced by `to` in the release workflow's script that holds it.
fn replace_in_script(checked: &mut Checked, from: &str, to: &str) {
    let workflow = release(checked);
    let step = workflow.json["jobs"]
        .as_object_mut()
        .expect("jobs")
        .values_mut()
        .flat_map(|job| job["steps"].as_array_mut().expect("steps"))
        .find(|step| step["run"].as_str().is_some_and(|run| run.contains(from)))
        .unwrap_or_else(|| panic!("no script of the release workflow holds {from}"));
    let changed = step["run"]
        .as_str()
        .expect("a script")
        .replacen(from, to, 1);
    step["run"] = changed.into();
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
        what: "an action by a short commit, in any workflow",
        change: |checked| {
            let jobs = &mut checked.workflows[0].json["jobs"];
            let (_, first) = jobs
                .as_object_mut()
                .expect("jobs")
                .iter_mut()
                .next()
                .expect("a job");
            first["steps"]
                .as_array_mut()
                .expect("steps")
                .push(json!({"uses": "actions/checkout@11d5960"}));
        },
        says: "`uses: actions/checkout@11d5960` is not pinned",
    },
    Breaking {
        what: "cargo where the identity is",
        change: |checked| add_identity_step(checked, json!({"run": "cargo xtask image"})),
        says: "runs `cargo xtask image`, which is not among the commands allowed there",
    },
    Breaking {
        what: "a binary the build wrote, run where the identity is",
        change: |checked| add_identity_step(checked, json!({"run": "target/debug/tool sign"})),
        says: "runs `target/debug/tool sign`, which is not among",
    },
    Breaking {
        what: "cargo hidden in a substitution where the identity is",
        change: |checked| {
            add_identity_step(checked, json!({"run": "printf '%s' \"$(cargo build -q)\""}));
        },
        says: "hides a command in `$(`",
    },
    Breaking {
        what: "the checkout where the identity is, its name in capitals",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"uses": CHECKOUT.replace("actions/checkout", "Actions/Checkout")}),
            );
        },
        says: "uses Actions/Checkout@11d5960a326750d5838078e36cf38b85af677262, which is not among the actions allowed",
    },
    Breaking {
        what: "a composite action of this repository where the identity is",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"uses": "pause-rs/pause/.github/actions/sign@0123456789abcdef0123456789abcdef01234567"}),
            );
        },
        says: "uses pause-rs/pause/.github/actions/sign@",
    },
    Breaking {
        what: "a container image around the job that holds the identity",
        change: |checked| identity_job(checked)["container"] = json!("debian:12"),
        says: "and sets `container`",
    },
    Breaking {
        what: "BASH_ENV where the identity is",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "cosign version", "env": {"BASH_ENV": "./setup.sh"}}),
            );
        },
        says: "and sets `BASH_ENV`, which is not among the variables allowed",
    },
    Breaking {
        what: "another shell for a step",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "cosign version", "shell": "python {0}"}),
            );
        },
        says: "a step sets `shell`",
    },
    Breaking {
        what: "no bash -eo pipefail for the scripts",
        change: |checked| {
            release(checked)
                .json
                .as_object_mut()
                .expect("a workflow")
                .remove("defaults");
        },
        says: "does not set `defaults: run: shell: bash`",
    },
    Breaking {
        what: "the identity granted to every job, the build's too",
        change: |checked| {
            // The build's job inherits the workflow's permissions once it names none.
            release(checked).json["permissions"] = "write-all".into();
            for job in release_jobs(checked) {
                let builds = steps(job).iter().any(|step| {
                    step["run"]
                        .as_str()
                        .is_some_and(|run| run.contains("cargo xtask"))
                });
                if builds {
                    job.as_object_mut().expect("a job").remove("permissions");
                }
            }
        },
        says: "runs `cargo xtask image`",
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
        change: |checked| release(checked).path = format!("{WORKFLOWS}/publish.yml"),
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
        change: |checked| checked.repository = "https://github.com/someone-else/pause".to_string(),
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
        what: "gh's identity naming another workflow in the manual",
        change: |checked| {
            replace_in_page(
                checked,
                "docs/verify.md",
                "--cert-identity https://github.com/pause-rs/pause/.github/workflows/release.yml",
                "--cert-identity https://github.com/pause-rs/pause/.github/workflows/ci.yml",
            );
        },
        says: "docs/verify.md: --cert-identity https://github.com/pause-rs/pause/.github/workflows/ci.yml",
    },
    Breaking {
        what: "gh in the README taking any run of the owner's",
        change: |checked| {
            replace_in_page(checked, "README.md", CERT_IDENTITY_FLAG, "--owner");
        },
        says: "README.md: `gh attestation verify` without --cert-identity",
    },
    Breaking {
        what: "a README without the keyless commands",
        change: |checked| replace_in_page(checked, "README.md", IDENTITY_FLAG, "--key"),
        says: "README.md gives no keyless `cosign verify --certificate-identity`",
    },
    Breaking {
        what: "an identity as a regular expression in the manual",
        change: |checked| {
            replace_in_page(
                checked,
                "docs/verify.md",
                &format!("{IDENTITY_FLAG} https"),
                &format!("{IDENTITY_FLAG}-regexp https"),
            );
        },
        says: "docs/verify.md: gives an identity as a regular expression",
    },
    Breaking {
        what: "a release run on a branch, whose identity is not a tag's",
        change: |checked| {
            release(checked).json["on"]["push"]["branches"] = json!(["main"]);
        },
        says: "runs on more than pushes of tags",
    },
    Breaking {
        what: "the workflow's cosign verify taking any identity",
        change: |checked| {
            replace_in_script(
                checked,
                "--certificate-identity \"$identity\"",
                "--certificate-identity-regexp '.*'",
            );
        },
        says: "does not check --certificate-identity \"$identity\"",
    },
    Breaking {
        what: "the workflow's gh taking any run of the owner's",
        change: |checked| {
            replace_in_script(checked, "--cert-identity \"$identity\" ", "");
        },
        says: "does not check --cert-identity \"$identity\"",
    },
    Breaking {
        what: "the workflow's gh made to pass",
        change: |checked| {
            replace_in_script(
                checked,
                "--cert-identity \"$identity\" --deny-self-hosted-runners",
                "--cert-identity \"$identity\" --deny-self-hosted-runners || true",
            );
        },
        says: "`|| true`: after `||` only a failure",
    },
    Breaking {
        what: "the workflow's gh skipped when it fails",
        change: |checked| {
            replace_in_script(
                checked,
                "gh attestation verify",
                "if ! gh attestation verify",
            );
        },
        says: "`if ! gh attestation verify",
    },
    Breaking {
        what: "a check that may fail without failing the release",
        change: |checked| {
            for job in release_jobs(checked) {
                job["continue-on-error"] = true.into();
            }
        },
        says: "sets `continue-on-error`",
    },
    Breaking {
        what: "a check skipped by a condition",
        change: |checked| {
            for job in release_jobs(checked) {
                for step in job["steps"].as_array_mut().expect("steps") {
                    step["if"] = "github.event_name == 'workflow_dispatch'".into();
                }
            }
        },
        says: "sets `if`",
    },
    Breaking {
        what: "the checks run on the tag alone, not on every digest",
        change: |checked| {
            replace_in_script(checked, " \"${digests[@]/#/$REPOSITORY@}\"", "");
        },
        says: "its checks do not run `for image in",
    },
    Breaking {
        what: "the identity no longer held to the runner's record",
        change: |checked| {
            replace_in_script(
                checked,
                "test \"$identity\" = \"https://github.com/${GITHUB_WORKFLOW_REF}\"",
                "echo \"$identity\"",
            );
        },
        says: "its checks do not run `test \"$identity\" = ",
    },
    Breaking {
        what: "a command sent to the background where the identity is",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "echo \"::error::x\" & python3 -c 'print(1)'"}),
            );
        },
        says: "runs `python3 -c 'print(1)'`",
    },
    Breaking {
        what: "an ANSI-C quote that hides the next line from the reader",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "echo \"::error::\" $'\\''\ncurl -o /tmp/x https://example.com"}),
            );
        },
        says: "hides a command in `$'`",
    },
    Breaking {
        what: "a here-document where the identity is",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "cosign sign --yes \"$IMAGE\" <<EOF\nit's\nEOF\npython3 x.py"}),
            );
        },
        says: "hides a command in `<<`",
    },
    Breaking {
        what: "a variable that reaches the next step's shell",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "echo \"BASH_ENV=/tmp/e\" >> \"$GITHUB_ENV\""}),
            );
        },
        says: "hides a command in `GITHUB_ENV`",
    },
    Breaking {
        what: "a function in place of cosign",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "cosign sign --yes \"$IMAGE\"", "env": {"BASH_FUNC_cosign%%": "() { curl x; }", "IMAGE": "${{ needs.image.outputs.repository }}@${{ matrix.digest }}"}}),
            );
        },
        says: "sets `BASH_FUNC_cosign%%`",
    },
    Breaking {
        what: "a workflow-level environment",
        change: |checked| release(checked).json["env"] = json!({"BASH_ENV": "./x"}),
        says: "a workflow-level `env:` reaches the job that can mint the OIDC token",
    },
    Breaking {
        what: "docker running an image where the identity is",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "docker run --rm -e ACTIONS_ID_TOKEN_REQUEST_TOKEN alpine"}),
            );
        },
        says: "runs `docker run",
    },
    Breaking {
        what: "another digest signed with the identity",
        change: |checked| {
            add_identity_step(
                checked,
                json!({"run": "cosign sign --yes \"$IMAGE\"", "env": {"IMAGE": "ghcr.io/pause-rs/pause@sha256:0000000000000000000000000000000000000000000000000000000000000000"}}),
            );
        },
        says: "and signs ghcr.io/pause-rs/pause@sha256:0000",
    },
    Breaking {
        what: "GitHub's provenance about another digest",
        change: |checked| {
            let job = identity_job(checked);
            for step in job["steps"].as_array_mut().expect("steps") {
                if !step["with"]["subject-digest"].is_null() {
                    step["with"]["subject-digest"] = "sha256:0000".into();
                }
            }
        },
        says: "attests subject-digest \"sha256:0000\"",
    },
    Breaking {
        what: "gh's identity as a regular expression in the manual",
        change: |checked| {
            replace_in_page(
                checked,
                "README.md",
                "--cert-identity https",
                "--cert-identity-regex https",
            );
        },
        says: "README.md: gives an identity as a regular expression",
    },
    Breaking {
        what: "gh on self-hosted runners' attestations in the manual",
        change: |checked| {
            replace_in_page(checked, "README.md", " --deny-self-hosted-runners", "");
        },
        says: "README.md: `gh attestation verify` without --deny-self-hosted-runners",
    },
    Breaking {
        what: "the workflow's check of the signature's type dropped",
        change: |checked| {
            replace_in_script(
                checked,
                "https://sigstore.dev/cosign/sign/v1",
                "https://slsa.dev/provenance/v1",
            );
        },
        says: "nothing looks for https://sigstore.dev/cosign/sign/v1",
    },
    Breaking {
        what: "the workflow's identity taken from another file",
        change: |checked| {
            replace_in_script(
                checked,
                "/.github/workflows/release.yml@${GITHUB_REF}",
                "/.github/workflows/other.yml@${GITHUB_REF}",
            );
        },
        says: "a script checks the identity of .github/workflows/other.yml",
    },
];

/// Each rule refuses the checkout's files changed to break it, with a line naming what broke.
/// Every case runs; the failure names each one that was let through.
#[test]
fn every_rule_refuses_what_breaks_it() {
    const TEST: &str = "release_workflow::breakings::every_rule_refuses_what_breaks_it";
    let Some(checkout) = Checked::checkout(TEST) else {
        return;
    };
    let mut let_through = Vec::new();
    for breaking in BREAKINGS {
        let mut checked = checkout.clone();
        (breaking.change)(&mut checked);
        let problems = rules::problems(&checked);
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

/// The shell reader splits where the shell does (`&` too), and not inside quotes or at a
/// redirection.
#[test]
fn the_shell_reader_finds_each_command() {
    let script = "printf '%s' \"$T\" | docker login ghcr.io \\\n  --password-stdin\n\
                  # a comment; cargo\n[[ \"$D\" =~ ^a{2}$ ]] || { echo \"::error::a; b | c\"; exit 1; }\n\
                  test -n \"${#X}\" && echo done >&2 &> /dev/null & sleep 1";
    assert_eq!(
        rules::commands(script),
        [
            "printf '%s' \"$T\"",
            "docker login ghcr.io    --password-stdin",
            "[[ \"$D\" =~ ^a{2}$ ]]",
            "echo \"::error::a; b | c\"",
            "exit 1",
            "test -n \"${#X}\"",
            "echo done >&2 &> /dev/null",
            "sleep 1",
        ]
    );
}
