//! The rules, each a function from what it reads to the lines that say how it is broken (none
//! when it holds), and the reader of shell commands they share.

use super::{Checked, WORKFLOWS, Workflow, identity_jobs, jobs, steps};

/// The issuer of GitHub Actions' OIDC tokens, as Fulcio writes it in the certificate.
pub(super) const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The host part of the repository's address, which an identity and `--signer-workflow` differ by.
const GITHUB: &str = "https://github.com/";
/// A full git commit id (SHA-1).
const COMMIT_HEX_DIGITS: usize = 40;
/// cosign's flag for the certificate's exact identity (its subject alternative name).
pub(super) const IDENTITY_FLAG: &str = "--certificate-identity";
/// gh's flag for the same.
pub(super) const CERT_IDENTITY_FLAG: &str = "--cert-identity";
const ISSUER_FLAG: &str = "--certificate-oidc-issuer";
const SIGNER_FLAG: &str = "--signer-workflow";
/// gh's refusal of attestations made on runners GitHub does not host.
const DENY_SELF_HOSTED: &str = "--deny-self-hosted-runners";
/// The statement `cosign sign` signs: what shows that the signature, and not only the provenance,
/// is among what `cosign verify` verified.
const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The actions a job that can mint the OIDC token may use (OWNER/REPO; GitHub reads them without
/// regard to case).
const IDENTITY_ACTIONS: &[&str] = &[
    "sigstore/cosign-installer",
    "actions/attest-build-provenance",
];
/// The commands its scripts may run, whole: logging in, signing the image it was given, and
/// checking what it was given (those three by their start).
const IDENTITY_COMMANDS: &[&str] = &[
    "printf '%s' \"$GITHUB_TOKEN\"",
    "docker login ghcr.io --username \"$GITHUB_ACTOR\" --password-stdin",
    "cosign sign --yes \"$IMAGE\"",
    "exit 1",
];
const IDENTITY_COMMAND_STARTS: &[&str] = &["test ", "[[ ", "echo \"::error::"];
/// The environment its steps may set, and what the one that names the signed image must be.
const IDENTITY_VARIABLES: &[&str] = &["GITHUB_TOKEN", "REPOSITORY", "DIGEST", "IMAGE"];
const SIGNED_IMAGE: &str = "${{ needs.image.outputs.repository }}@${{ matrix.digest }}";
/// What GitHub's attestation action is given: the push's repository and the matrix's digest.
const ATTESTED: &[(&str, &str)] = &[
    ("subject-name", "${{ needs.image.outputs.repository }}"),
    ("subject-digest", "${{ matrix.digest }}"),
];
/// What such a job may not set: each changes what runs (a reusable workflow, another image,
/// another shell or folder, a step that may fail) where no `uses:` or command shows it.
const IDENTITY_JOB_KEYS: &[&str] = &["uses", "container", "services", "defaults", "env"];
const IDENTITY_STEP_KEYS: &[&str] = &["shell", "working-directory"];
/// Where a script runs what no list sees, or hands the next step more to run: substitutions,
/// ANSI-C quotes and here-documents (which the command reader does not follow), and the files
/// that set the next steps' environment and path.
const HIDDEN: &[&str] = &[
    "$(",
    "`",
    "<(",
    ">(",
    "$'",
    "<<",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_OUTPUT",
];
/// The redirections an identity job's script may make.
const REDIRECTIONS: &[&str] = &[">&2", "> /dev/null", ">/dev/null"];
/// What may follow `||` in the release workflow's scripts: a failure, said and made.
const ON_FAILURE: &str = "{ echo \"::error::";
/// What keeps a failed step or check from failing the release.
const PASSING_KEYS: &[&str] = &["continue-on-error", "if"];

/// Every rule's problems.
pub(super) fn problems(checked: &Checked) -> Vec<String> {
    let mut problems: Vec<String> = checked
        .workflows
        .iter()
        .flat_map(|workflow| [unpinned(workflow), identity_job_problems(workflow)].concat())
        .collect();
    problems.extend(identity_problems(checked));
    problems
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

/// What a job that can mint the OIDC token does beyond its lists: an action not in
/// [`IDENTITY_ACTIONS`] (the checkout, a composite action of this repository, a download of what a
/// build made), a command not in [`IDENTITY_COMMANDS`] (cargo, the xtask, a binary a build wrote,
/// `docker run`, a signature of another digest), a command hidden from the reader, a variable or
/// key that runs more than it shows, or a signed image that is not the push's.
fn identity_job_problems(workflow: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    if !workflow.json["env"].is_null() && workflow.mints_token() {
        problems.push(format!(
            "{}: a workflow-level `env:` reaches the job that can mint the OIDC token",
            workflow.path
        ));
    }
    for (name, job) in identity_jobs(&workflow.json) {
        let at = format!("{}: job `{name}` can mint the OIDC token", workflow.path);
        for key in IDENTITY_JOB_KEYS.iter().filter(|key| !job[**key].is_null()) {
            problems.push(format!(
                "{at} and sets `{key}`: what runs there is not in this job to check"
            ));
        }
        for step in steps(job) {
            for key in IDENTITY_STEP_KEYS
                .iter()
                .filter(|key| !step[**key].is_null())
            {
                problems.push(format!("{at} and a step sets `{key}`"));
            }
            for (variable, value) in step["env"].as_object().into_iter().flatten() {
                if !IDENTITY_VARIABLES.contains(&variable.as_str()) {
                    problems.push(format!(
                        "{at} and sets `{variable}`, which is not among the variables allowed \
                         there ({})",
                        IDENTITY_VARIABLES.join(", ")
                    ));
                }
                if variable == "IMAGE" && value != SIGNED_IMAGE {
                    let shown = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string);
                    problems.push(format!("{at} and signs {shown}, not {SIGNED_IMAGE}"));
                }
            }
            if let Some(used) = step["uses"].as_str() {
                let action = used.split('@').next().unwrap_or_default();
                if !IDENTITY_ACTIONS
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(action))
                {
                    problems.push(format!(
                        "{at} and uses {used}, which is not among the actions allowed there ({})",
                        IDENTITY_ACTIONS.join(", ")
                    ));
                }
                if action.eq_ignore_ascii_case("actions/attest-build-provenance") {
                    for (input, expected) in ATTESTED {
                        if step["with"][*input] != *expected {
                            problems.push(format!(
                                "{at} and attests {input} {}, not {expected}",
                                step["with"][*input]
                            ));
                        }
                    }
                }
            }
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            for hidden in HIDDEN.iter().filter(|hidden| run.contains(**hidden)) {
                problems.push(format!(
                    "{at} and hides a command in `{hidden}`: the script runs, or hands the next \
                     step, what the list of commands does not see"
                ));
            }
            let unredirected = REDIRECTIONS
                .iter()
                .fold(run.to_string(), |text, allowed| text.replace(allowed, ""));
            if unredirected.contains('>') {
                problems.push(format!("{at} and writes a file"));
            }
            for command in commands(run) {
                let allowed = IDENTITY_COMMANDS.contains(&command.as_str())
                    || IDENTITY_COMMAND_STARTS
                        .iter()
                        .any(|start| command.starts_with(start));
                if !allowed {
                    problems.push(format!(
                        "{at} and runs `{command}`, which is not among the commands allowed there"
                    ));
                }
            }
        }
    }
    problems
}

/// The commands of a shell script, each as its text: lines continued with `\` joined, comments
/// left out, split at newlines, `;`, `&&`, `||` and `|` outside quotes; a leading `{`, `(` or `!`
/// is taken off, and a lone `}` or `)` is no command.
pub(super) fn commands(script: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    let (mut single, mut double) = (false, false);
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        let quoted = single || double;
        match c {
            '\\' if !single => match chars.next() {
                Some('\n') => current.push(' '),
                Some(next) => {
                    current.push(c);
                    current.push(next);
                }
                None => current.push(c),
            },
            '\'' if !double => {
                single = !single;
                current.push(c);
            }
            '"' if !single => {
                double = !double;
                current.push(c);
            }
            '#' if !quoted && current.chars().last().is_none_or(char::is_whitespace) => {
                while chars.next_if(|next| *next != '\n').is_some() {}
            }
            '\n' | ';' | '|' if !quoted => {
                chars.next_if_eq(&'|');
                end_command(&mut commands, &mut current);
            }
            // `&&`, and `&` that sends a command to the background; not `>&2`, `&>` or `<&0`.
            '&' if !quoted
                && !current.ends_with(['>', '<'])
                && chars.peek().is_none_or(|next| *next != '>') =>
            {
                chars.next_if_eq(&'&');
                end_command(&mut commands, &mut current);
            }
            _ => current.push(c),
        }
    }
    end_command(&mut commands, &mut current);
    commands
}

fn end_command(commands: &mut Vec<String>, current: &mut String) {
    let mut text = current.trim();
    while let Some(rest) = text.strip_prefix(['{', '(', '!']) {
        text = rest.trim_start();
    }
    if !text.is_empty() && text != "}" && text != ")" {
        commands.push(text.to_string());
    }
    current.clear();
}

fn first_word(command: &str) -> &str {
    command.split_whitespace().next().unwrap_or_default()
}

/// The commands of a page's fenced code blocks.
fn code_commands(page: &str) -> Vec<String> {
    let mut code = String::new();
    let mut inside = false;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            code.push('\n');
        } else if inside {
            code.push_str(line);
            code.push('\n');
        }
    }
    commands(&code)
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
fn runs_on_tags_only(workflow: &Workflow) -> bool {
    let on = &workflow.json["on"];
    on.as_object().is_some_and(|on| on.len() == 1)
        && on["push"]
            .as_object()
            .is_some_and(|push| push.keys().all(|key| key == "tags") && push["tags"].is_array())
}

/// Where the identity is not the release workflow's exact one, in the manual or in the
/// workflow's own checks: exactly one workflow can mint the token, and it runs on tags only;
/// the pages and the workflow check the identity whole.
fn identity_problems(checked: &Checked) -> Vec<String> {
    let signing: Vec<&Workflow> = checked
        .workflows
        .iter()
        .filter(|workflow| workflow.mints_token())
        .collect();
    let [workflow] = signing[..] else {
        return vec![format!(
            "{} workflows have a job with `id-token: write`; the manual's identity names one",
            signing.len()
        )];
    };
    let Some(repository) = checked.repository.strip_prefix(GITHUB) else {
        return vec![format!(
            "Cargo.toml's repository {} is not on GitHub",
            checked.repository
        )];
    };
    let mut problems = Vec::new();
    if !runs_on_tags_only(workflow) {
        problems.push(format!(
            "{} runs on more than pushes of tags: the identity `…@refs/tags/<tag>` the manual \
             gives does not name its other runs",
            workflow.path
        ));
    }
    let identity = format!("{}/{}@refs/tags/v", checked.repository, workflow.path);
    let signer = format!("{repository}/{}", workflow.path);
    for (page, text) in &checked.pages {
        problems.extend(page_problems(page, text, &identity, &signer));
    }
    problems.extend(shell_problems(workflow));
    problems.extend(own_check_problems(workflow));
    problems
}

/// A page's identities, issuers and signer workflows, wherever it gives them, and its commands:
/// cosign's keyless ones name the identity and the issuer, gh's the identity, each exactly.
fn page_problems(page: &str, text: &str, identity: &str, signer: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for flag in [IDENTITY_FLAG, CERT_IDENTITY_FLAG] {
        for given in flag_values(text, flag) {
            if !given.starts_with(identity) {
                problems.push(format!(
                    "{page}: {flag} {given} is not the release workflow's identity, \
                     {identity}<version>"
                ));
            }
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
    // cosign's `--certificate-identity-regexp`, gh's `--cert-identity-regex`.
    if text.contains("-regex") {
        problems.push(format!(
            "{page}: gives an identity as a regular expression; the published image's is exact"
        ));
    }
    let (mut keyless, mut attestations) = (0, 0);
    for command in code_commands(text) {
        if command.starts_with("cosign verify") && !command.contains("--key") {
            keyless += 1;
            if !command.contains(IDENTITY_FLAG) || !command.contains(ISSUER_FLAG) {
                problems.push(format!(
                    "{page}: `{command}` checks no exact identity and issuer"
                ));
            }
        }
        if command.starts_with("gh attestation verify") {
            attestations += 1;
            // `-i` is gh's short `--cert-identity-regex`.
            let exact =
                flag_values(&command, CERT_IDENTITY_FLAG).len() == 1 && !command.contains(" -i ");
            if !exact {
                problems.push(format!(
                    "{page}: `gh attestation verify` without {CERT_IDENTITY_FLAG}: --owner and \
                     --signer-workflow alone take any ref's run of the workflow"
                ));
            }
            if !command.contains(DENY_SELF_HOSTED) {
                problems.push(format!(
                    "{page}: `gh attestation verify` without {DENY_SELF_HOSTED}"
                ));
            }
        }
    }
    if page == "README.md" && (keyless == 0 || attestations == 0) {
        problems.push(format!(
            "README.md gives no keyless `cosign verify {IDENTITY_FLAG}` or no `gh attestation \
             verify` for the published image"
        ));
    }
    problems
}

/// The release workflow's scripts run under `bash -eo pipefail` (GitHub's `shell: bash`): a
/// failing command in a pipeline fails the step, as the scripts and this suite's runs of them
/// assume.
fn shell_problems(workflow: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    if workflow.json["defaults"]["run"]["shell"] != "bash" {
        problems.push(format!(
            "{} does not set `defaults: run: shell: bash` (bash -eo pipefail): a failing command \
             in a pipeline would pass",
            workflow.path
        ));
    }
    for (name, job) in jobs(&workflow.json) {
        let sets_own =
            !job["defaults"].is_null() || steps(job).iter().any(|step| !step["shell"].is_null());
        if sets_own {
            problems.push(format!(
                "{}: job `{name}` sets a shell of its own",
                workflow.path
            ));
        }
    }
    problems
}

/// The release workflow's own checks: every `cosign verify` names the exact identity and the
/// issuer, every `gh attestation verify` the exact identity and refuses self-hosted runners; all
/// three kinds are there, in a loop over the tag and every digest; the identity is assigned from
/// the workflow's own path and compared with the runner's record of it; the signature's type is
/// looked for among what cosign verified; nothing is made to pass (`continue-on-error`, `if:`,
/// `|| …` other than a failure, `if`, `true`, `:`, `set`, `exit 0`); and every workflow path the
/// scripts name is its own.
fn own_check_problems(workflow: &Workflow) -> Vec<String> {
    let at = &workflow.path;
    let mut problems = Vec::new();
    for (name, job) in jobs(&workflow.json) {
        let parts = [job].into_iter().chain(steps(job));
        for key in PASSING_KEYS {
            if parts.clone().any(|part| !part[*key].is_null()) {
                problems.push(format!(
                    "{at}: job `{name}` sets `{key}`: a failed step or check would not fail the \
                     release"
                ));
            }
        }
    }
    let scripts: Vec<&str> = jobs(&workflow.json)
        .into_iter()
        .flat_map(|(_, job)| steps(job).iter().filter_map(|step| step["run"].as_str()))
        .collect();
    for script in &scripts {
        let mut rest = *script;
        while let Some(found) = rest.find("||") {
            rest = rest[found + 2..].trim_start();
            if !rest.starts_with(ON_FAILURE) {
                let shown = rest.lines().next().unwrap_or_default();
                problems.push(format!(
                    "{at}: `|| {shown}`: after `||` only a failure, `{ON_FAILURE}…\"; exit 1; }}`"
                ));
            }
        }
    }
    let commands: Vec<String> = scripts.iter().flat_map(|run| commands(run)).collect();
    let own_identity = format!(
        "identity=\"https://github.com/${{GITHUB_REPOSITORY}}/{}@${{GITHUB_REF}}\"",
        workflow.path
    );
    let (mut cosign, mut provenance, mut gh) = (0, 0, 0);
    for command in &commands {
        if command.starts_with("cosign verify") {
            if command.starts_with("cosign verify-attestation") {
                provenance += 1;
            } else {
                cosign += 1;
            }
            let exact = command.contains(&format!("{IDENTITY_FLAG} \"$identity\""))
                && command.contains(&format!("{ISSUER_FLAG} \"$issuer\""))
                && !command.contains("-regex");
            if !exact {
                problems.push(format!(
                    "{at}: `{command}` does not check {IDENTITY_FLAG} \"$identity\" and \
                     {ISSUER_FLAG} \"$issuer\""
                ));
            }
        }
        if command.starts_with("gh attestation verify") {
            gh += 1;
            let exact = command.contains(&format!("{CERT_IDENTITY_FLAG} \"$identity\""))
                && command.contains(DENY_SELF_HOSTED)
                && !command.contains("-regex")
                && !command.contains(" -i ");
            if !exact {
                problems.push(format!(
                    "{at}: `{command}` does not check {CERT_IDENTITY_FLAG} \"$identity\" and \
                     {DENY_SELF_HOSTED}"
                ));
            }
        }
        if matches!(first_word(command), "if" | "true" | ":" | "set") || command == "exit 0" {
            problems.push(format!(
                "{at}: `{command}`: a check made to pass, or the shell's options changed"
            ));
        }
    }
    if cosign == 0 || provenance == 0 || gh == 0 {
        problems.push(format!(
            "{at} does not check the published image with cosign verify, cosign \
             verify-attestation and gh attestation verify"
        ));
    }
    let required = [
        own_identity,
        format!("issuer={ISSUER}"),
        "test \"$identity\" = \"https://github.com/${GITHUB_WORKFLOW_REF}\"".to_string(),
        "for image in \"$REPOSITORY:$TAG\" \"${digests[@]/#/$REPOSITORY@}\"".to_string(),
    ];
    for line in required {
        if !commands.iter().any(|command| command.starts_with(&line)) {
            problems.push(format!(
                "{at}: its checks do not run `{line}`: the identity from its own path, checked \
                 against the runner's record, on the tag and every digest"
            ));
        }
    }
    let looks_for_the_signature = commands
        .iter()
        .any(|command| command.starts_with("jq -e") && command.contains(SIGN_PREDICATE_TYPE));
    if !looks_for_the_signature {
        problems.push(format!(
            "{at}: nothing looks for {SIGN_PREDICATE_TYPE} among what cosign verified: the \
             provenance alone would pass cosign verify"
        ));
    }
    for script in scripts {
        let mut rest = script;
        while let Some(found) = rest.find(WORKFLOWS) {
            rest = &rest[found..];
            let named = rest.split(['@', '"', ' ', '\n']).next().unwrap_or_default();
            if named != workflow.path {
                problems.push(format!(
                    "{at}: a script checks the identity of {named}, not of {}",
                    workflow.path
                ));
            }
            rest = &rest[WORKFLOWS.len()..];
        }
    }
    problems
}
