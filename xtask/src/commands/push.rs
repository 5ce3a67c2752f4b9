//! `cargo xtask push REGISTRY/REPOSITORY:TAG` (and `image --push`): reads what the registry holds
//! (`registry`), plans the writes (`sigstore::plan`), publishes them (`registry::publish`); and
//! the command line's side of it — the password from standard input, the signing key
//! (`--sign-key`) and its password — and what it prints: the pushed `REF@DIGEST` (or with
//! `--json` what it wrote, `metadata`) on stdout, its progress and the settings that pin the
//! pushed image on the nodes on stderr (nothing there with `--quiet`). Ctrl-C before the tag is
//! written says nothing was tagged (`interrupted`).

mod interrupted;
mod metadata;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;
use zeroize::Zeroizing;

use self::metadata::{Held, Metadata};
use crate::exit_status::{self, ExitStatus};
use crate::named_file;
use crate::oci::layout;
use crate::oci::reference::Reference;
use crate::progress::Progress;
use crate::project;
use crate::registry::credentials::Credentials;
use crate::registry::session::Access;
use crate::registry::{self, Published, referrers};
use crate::sigstore::key::{self, SigningKey};
use crate::sigstore::plan::Plan;
use crate::terminal::password::{self, Purpose};

/// Who logs in, as the command line says it.
pub struct Login {
    pub username: Option<String>,
    /// `--password-stdin`: the password is piped to standard input.
    pub password_stdin: bool,
}

/// What to push, and how to reach the registry. Its `Debug` shows no password (see
/// [`crate::registry::secret::Secret`]).
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The OCI layout to push.
    pub layout: PathBuf,
    pub registry: registry::Options,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            layout: project::layout_dir(&project::image_dir()),
            registry: registry::Options::default(),
        }
    }
}

/// What the command line asks a push to print.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// `--quiet`: the result on stdout, and nothing on stderr but errors (and retries).
    pub quiet: bool,
    /// `--json`: the metadata document on stdout, in place of `REF@DIGEST`.
    pub json: bool,
    /// `--metadata-file FILE`: the metadata document written there once the push succeeded.
    pub metadata_file: Option<PathBuf>,
}

impl Output {
    /// Where the push's progress goes: stderr, or nowhere with `--quiet`.
    pub fn progress(&self) -> Progress {
        Progress::on_stderr(self.quiet)
    }
}

/// What was pushed: `registry/repository:tag` and the digest the tag now points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    pub reference: String,
    /// `registry/repository`, fully qualified (`docker.io/library/pause`).
    pub name: String,
    pub digest: String,
}

impl PushedImage {
    /// `registry/repository@digest`: the image by its fully qualified name and digest, as nodes
    /// pin it (containerd keeps a sandbox image under exactly the name it was configured with).
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.name, self.digest)
    }
}

impl fmt::Display for PushedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.reference, self.digest)
    }
}

/// Pushes `options.layout` to `reference`, signed with `key` if given, and prints what `output`
/// asks: the pushed `REF@DIGEST` (or the metadata) on stdout; the node settings that pin it on
/// stderr, with the progress. The metadata file is written once everything was pushed. Ctrl-C
/// before the tag is one line and status 130.
pub fn run(
    sh: &Shell,
    options: &PushOptions,
    key: Option<&SigningKey>,
    reference: &str,
    output: &Output,
) -> Result<()> {
    let _caught = interrupted::catch()?;
    let progress = output.progress();
    let (pushed, metadata) = push_reporting(sh, options, key, reference, progress)?;
    if let Some(path) = &output.metadata_file {
        metadata.write(path)?;
    }
    progress.say(node_settings(&pushed.pinned()).trim_end());
    if output.json {
        print!("{}", metadata.json());
    } else {
        println!("{pushed}");
    }
    Ok(())
}

/// Pushes the image in `options.layout` to `reference` (`REGISTRY/REPOSITORY:TAG`), with `key`
/// its signatures and attestations, saying on stderr what each write did and what they did in
/// all. The order of the writes is `sigstore::plan`'s.
pub fn push(
    sh: &Shell,
    options: &PushOptions,
    key: Option<&SigningKey>,
    reference: &str,
) -> Result<PushedImage> {
    push_reporting(sh, options, key, reference, Progress::Stderr).map(|(pushed, _)| pushed)
}

/// [`push`], its lines where `progress` says, and what it wrote as data.
fn push_reporting(
    sh: &Shell,
    options: &PushOptions,
    key: Option<&SigningKey>,
    reference: &str,
    progress: Progress,
) -> Result<(PushedImage, Metadata)> {
    let target = Reference::to_push(reference)?;
    let contents = layout::read(&options.layout)?;
    let mut session = registry::open(sh, &target, Access::Push, &options.registry)?;
    let plan = Plan::new(&contents, &target, key)?;
    let mut held = BTreeMap::new();
    for tag in plan.held_tags() {
        let manifest = session.get_manifest(&tag)?;
        held.insert(tag, manifest);
    }
    let signatures = plan.signatures(&held)?;
    let mut published = Published::default();
    registry::publish(&mut session, &plan.image(), progress, &mut published)?;
    // Read now that the repository and the subjects exist, so that a registry with the referrers
    // API says so.
    let listed = plan
        .subject_digests()
        .iter()
        .map(|subject| referrers::read(&mut session, subject))
        .collect::<Result<Vec<_>>>()?;
    let attachments = plan.attachments(&listed, signatures)?;
    registry::publish(&mut session, &attachments, progress, &mut published)?;
    interrupted::tagging();
    registry::publish(&mut session, &plan.tag(), progress, &mut published)?;
    let pushed = PushedImage {
        reference: format!(
            "{}:{}",
            target.name(),
            target.tag.as_deref().unwrap_or_default()
        ),
        name: target.name(),
        digest: contents.index.digest.clone(),
    };
    progress.say(&format!("pushed {pushed}: {}", published.tally()));
    let held = Held {
        stored: &published.stored,
        held: &held,
        listed: &listed,
    };
    let metadata = Metadata {
        reference: pushed.reference.clone(),
        digest: pushed.digest.clone(),
        pinned: pushed.pinned(),
        manifests: metadata::manifests(plan.manifests()),
        referrers: metadata::referrers(&plan.referrers()),
        signatures: held.signatures(plan.held_tags()),
        fallback_tags: held.fallback_tags(),
    };
    Ok((pushed, metadata))
}

/// Checks `reference` as [`push`] will, before anything is built to push there.
pub fn check_target(reference: &str) -> Result<()> {
    Reference::to_push(reference).map(drop)
}

impl Login {
    /// The credentials the flags give: `--username` with the password read from standard input.
    pub fn credentials(&self) -> Result<Option<Credentials>> {
        Ok(match (&self.username, self.password_stdin) {
            (Some(username), true) => {
                Some(Credentials::new(username, password_from_stdin()?.as_str()))
            }
            (None, false) => None,
            (Some(_), false) => {
                return Err(exit_status::error(
                    ExitStatus::Usage,
                    "--username needs --password-stdin, with the password piped to standard input",
                ));
            }
            (None, true) => {
                return Err(exit_status::error(
                    ExitStatus::Usage,
                    "--password-stdin needs --username U",
                ));
            }
        })
    }
}

/// The key of `--sign-key FILE` (cosign's `cosign.key`), opened with its password from
/// `password_variable` (the value COSIGN_PASSWORD had) or the terminal: run before anything is
/// built or pushed, so that a wrong password or a wrong file is one line and nothing else
/// happened. The error never shows the password or the key; the key's fingerprint is said where
/// `progress` goes.
pub fn signing_key(
    path: &Path,
    password_variable: Option<&[u8]>,
    progress: Progress,
) -> Result<SigningKey> {
    let shown = path.display();
    let text = named_file::read(path, key::MAX_KEY_FILE_BYTES)
        .map(Zeroizing::new)
        .with_context(|| format!("cannot read --sign-key {shown}"))?;
    let text = std::str::from_utf8(&text).map_err(|_| {
        anyhow::anyhow!(
            "--sign-key {shown} is not a cosign key file (it is not text): give cosign.key"
        )
    })?;
    let password = password::read(Purpose::ExistingKey, "cargo xtask push", password_variable)?;
    let key = SigningKey::from_key_file(text, password.as_bytes()).map_err(|error| {
        let error = format!("{error:#}");
        let fix = if error.contains("password") {
            format!(
                ": give the password the key was made with, in {} or on the terminal",
                password::PASSWORD_VAR
            )
        } else {
            String::new()
        };
        anyhow::anyhow!("--sign-key {shown}: {error}{fix}; nothing was pushed")
    })?;
    progress.say(&format!(
        "signing with {shown}: public key {}",
        key.public_key().fingerprint()
    ));
    Ok(key)
}

/// The longest password or token read from standard input (registry tokens run to a few KiB).
/// Room for it is reserved at once, so the text never moves and leaves an unwiped copy behind.
const MAX_STDIN_PASSWORD: usize = 64 * 1024;

/// The password given on standard input for `--username`, without its line ending.
fn password_from_stdin() -> Result<Zeroizing<String>> {
    let mut password = Zeroizing::new(String::with_capacity(MAX_STDIN_PASSWORD + 1));
    std::io::stdin()
        .take(MAX_STDIN_PASSWORD as u64 + 1)
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    if password.len() > MAX_STDIN_PASSWORD {
        bail!(
            "--password-stdin read more than {MAX_STDIN_PASSWORD} bytes: pipe in the password alone"
        );
    }
    let password = Zeroizing::new(password.trim_end_matches(['\r', '\n']).to_string());
    if password.is_empty() {
        bail!(
            "--password-stdin read an empty password: pipe it in, e.g. `echo \"$TOKEN\" | cargo xtask push REF --username U --password-stdin`"
        );
    }
    Ok(password)
}

/// Where each runtime takes its pod sandbox ("pause") image from: the file, the TOML table, the
/// key, and the command line the table also wants, if any.
const RUNTIMES: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "containerd 1.x: /etc/containerd/config.toml (version = 2)",
        "[plugins.\"io.containerd.grpc.v1.cri\"]",
        "sandbox_image",
        None,
    ),
    (
        "containerd 2.x: /etc/containerd/config.toml (version = 3)",
        "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
        "sandbox",
        None,
    ),
    (
        "CRI-O: /etc/crio/crio.conf.d/10-pause.conf",
        "[crio.image]",
        "pause_image",
        Some("pause_command = \"/pause\""),
    ),
    (
        "podman: /etc/containers/containers.conf",
        "[engine]",
        "infra_image",
        Some("infra_command = \"/pause\""),
    ),
];

/// The lines a user pastes into each runtime's configuration to run `pinned`
/// (`registry/repository@digest`) as the pod sandbox: by digest, since a tag can move, and by the
/// fully qualified name, since containerd keeps the sandbox image under exactly that name.
fn node_settings(pinned: &str) -> String {
    let mut text = String::from(
        "pin it on the nodes (by digest, fully qualified, as the runtimes compare names):\n",
    );
    for (runtime, table, key, command) in RUNTIMES {
        text += &format!("# {runtime}\n{table}\n  {key} = \"{pinned}\"\n");
        if let Some(command) = command {
            text += &format!("  {command}\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{PushOptions, node_settings};
    use crate::registry::Options;
    use crate::registry::credentials::Credentials;

    #[test]
    fn the_options_debug_shows_no_password() {
        let options = PushOptions {
            registry: Options {
                login: Some(Credentials::new("bob", "hunter2")),
                ..Options::default()
            },
            ..PushOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("bob"),
            "{shown}"
        );
    }

    /// The keys under which `table` (or a table in it) holds `value`.
    fn keys_holding(table: &toml::Table, value: &str) -> Vec<String> {
        table
            .iter()
            .flat_map(|(key, held)| match held {
                toml::Value::Table(inner) => keys_holding(inner, value),
                toml::Value::String(text) if text == value => vec![key.clone()],
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn node_settings_are_valid_toml_naming_the_pinned_image() {
        let pinned = "docker.io/library/pause@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let text = node_settings(pinned);
        let keys: Vec<String> = text
            .split("\n# ")
            .skip(1)
            .flat_map(|block| {
                let table: toml::Table = toml::from_str(&format!("# {block}"))
                    .unwrap_or_else(|error| panic!("not TOML: {error}\n{block}"));
                keys_holding(&table, pinned)
            })
            .collect();
        assert_eq!(
            keys,
            ["sandbox_image", "sandbox", "pause_image", "infra_image"]
        );
    }
}
