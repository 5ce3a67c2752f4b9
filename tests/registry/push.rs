//! `cargo xtask push` against the real reference registry (Debian's `docker-registry`): plain, with
//! htpasswd authentication over TLS from a throwaway CA, and in token mode behind a token server
//! that signs real JWTs. The registry ends up with the layout's exact digests and all six
//! platforms; a second push sends no blob; bad credentials, references and addresses fail with one
//! line naming the fix and leave no tag; dropped connections and 503 answers, from the registry or
//! its token server, are retried to success; expired tokens are renewed. Docker Hub's names reach
//! one registry (in a private network where they resolve to loopback) with the credentials users
//! have for it. Nothing a push prints holds a password, an `auth` or a token.

use std::fmt::{Debug, Display};
use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use pause_tests::deadline::output_within_reading;
use pause_tests::image::layout as project_layout;
use pause_tests::layout::{EditedLayout, Layout};
use pause_tests::process::{output, run};
use pause_tests::registry::docker_registry::{self, NEEDS_AUTH, NEEDS_TLS, REPOSITORY, Registry};
use pause_tests::registry::flaky_proxy::{Fault, FlakyProxy};
use pause_tests::registry::loopback_http::{HttpServer, Reply, Request};
use pause_tests::registry::pki::{Pki, Usage};
use pause_tests::registry::private_network::{self, PrivateNetwork};
use pause_tests::registry::registry_http::{self, RegistryHttp};
use pause_tests::registry::token_server::{self, Fault as TokenFault, TokenServer};
use pause_tests::skopeo;
use pause_tests::{Need, PLATFORMS, ready, xtask_cli};
use serde_json::Value;
use xshell::Shell;
use xtask::oci::blob::sha256;
use xtask::oci::descriptor::OciPlatform;
use xtask::registry::client::{ConnectOptions, Registry as RegistryClient};
use xtask::registry::credentials::Credentials;
use xtask::registry::push::{PushOptions, PushedImage, push};
use xtask::registry::session::{Access, Session};
use xtask::sigstore::attestation::{Attestation, SPDX_PREDICATE_TYPE, attestations};
use xtask::sigstore::bundle::{self, SIGN_PREDICATE_TYPE};
use xtask::sigstore::key::SigningKey;

/// SLSA provenance v1's predicate type.
const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";

/// Connections the probe of a plain loopback registry makes: HTTPS, then plain HTTP.
const PROBE_CONNECTIONS: usize = 2;
/// Faults the flaky proxy injects: fewer than the pusher's attempts per call, so retries win.
const FAULTS: usize = 3;
const USER: &str = "pause-ci";
const PASSWORD: &str = "correct horse battery staple";

fn needs(extra: &[Need]) -> Vec<Need> {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.extend_from_slice(skopeo::NEEDS);
    needs.extend_from_slice(extra);
    needs
}

/// What a push of the project's layout must put in a registry.
struct Local {
    /// The image index's digest: the registry's must be the same.
    index_digest: String,
    /// Configs and layers, and the SBOMs' documents and empty config: the blobs a first push
    /// uploads.
    blobs: usize,
}

fn local_image() -> Local {
    let layout = Layout::open(&project_layout());
    Local {
        index_digest: layout.index_digest(),
        blobs: layout.pushed_blob_count(),
    }
}

fn push_to(
    registry: &Registry,
    options: &PushOptions,
    tag: &str,
) -> Result<PushedImage, impl Display + Debug> {
    push(
        &Shell::new().expect("a shell"),
        options,
        &registry.reference(&format!("{REPOSITORY}:{tag}")),
    )
}

/// The digest of what `tag` points at in the registry, and the platforms its index lists, as
/// skopeo (not our code) reads them.
fn remote_index(registry: &Registry, host: &str, tag: &str) -> (String, Vec<OciPlatform>) {
    let mut args = vec!["inspect".to_string(), "--raw".to_string()];
    args.extend(registry.skopeo_args(""));
    args.push(format!("docker://{host}/{REPOSITORY}:{tag}"));
    let raw = run(&skopeo::argv(&args));
    let index: serde_json::Value = serde_json::from_str(&raw).expect("skopeo prints the index");
    let platforms = index["manifests"]
        .as_array()
        .expect("an image index lists manifests")
        .iter()
        .map(|entry| {
            serde_json::from_value(entry["platform"].clone()).expect("each manifest has a platform")
        })
        .collect();
    (sha256(raw.as_bytes()), platforms)
}

/// Asserts the tag holds the local image: same index digest, all six platforms.
fn assert_holds_local_image(registry: &Registry, host: &str, tag: &str, local: &Local) {
    let (digest, platforms) = remote_index(registry, host, tag);
    assert_eq!(
        digest, local.index_digest,
        "the registry's digest for {tag} differs from the layout's"
    );
    let expected: Vec<OciPlatform> = PLATFORMS.iter().map(OciPlatform::from).collect();
    assert_eq!(platforms, expected, "platforms of {tag}");
}

/// Whether `tag` exists, asked with skopeo; only "manifest unknown" counts as absent.
fn tag_exists(registry: &Registry, tag: &str) -> bool {
    let mut args = vec!["inspect".to_string(), "--raw".to_string()];
    args.extend(registry.skopeo_args(""));
    args.push(format!(
        "docker://{}",
        registry.reference(&format!("{REPOSITORY}:{tag}"))
    ));
    let out = output(&skopeo::argv(&args));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("manifest unknown"),
        "skopeo inspect {tag}: {stderr}"
    );
    out.status.success()
}

/// The error's one line, as `cargo xtask` prints it; asserts it is one line naming `cause` and `fix`.
fn one_line_error(result: Result<PushedImage, impl Display>, cause: &str, fix: &str) -> String {
    let Err(error) = result else {
        panic!("the push should fail")
    };
    let error = format!("{error:#}");
    assert!(!error.contains('\n'), "not one line: {error}");
    assert!(
        error.contains(cause),
        "the error does not name the cause `{cause}`: {error}"
    );
    assert!(
        error.contains(fix),
        "the error does not name the fix `{fix}`: {error}"
    );
    error
}

#[test]
fn plain_push_keeps_digests_and_a_second_push_uploads_no_blob() {
    if !ready(
        "push::plain_push_keeps_digests_and_a_second_push_uploads_no_blob",
        &needs(&[]),
    ) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_plain();
    let options = registry.push_options();

    let first = push_to(&registry, &options, "first").expect("the first push");
    assert_eq!(first.digest, local.index_digest);
    assert_eq!(
        first.reference,
        registry.reference(&format!("{REPOSITORY}:first"))
    );
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "one upload per blob:\n{}",
        registry.log()
    );
    assert_holds_local_image(&registry, registry.host(), "first", &local);

    let second = push_to(&registry, &options, "second").expect("the second push");
    assert_eq!(second.digest, local.index_digest);
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "the second push uploaded blobs:\n{}",
        registry.log()
    );
    assert_holds_local_image(&registry, registry.host(), "second", &local);
}

#[test]
fn push_with_htpasswd_over_tls_and_the_credential_errors() {
    let test = "push::push_with_htpasswd_over_tls_and_the_credential_errors";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_secure(USER, PASSWORD);
    let options = registry.push_options();

    let wrong = PushOptions {
        login: Some(Credentials::new(USER, "wrong")),
        ..options.clone()
    };
    one_line_error(
        push_to(&registry, &wrong, "wrong"),
        "401",
        "--password-stdin",
    );
    let anonymous = PushOptions {
        login: None,
        ..options.clone()
    };
    one_line_error(
        push_to(&registry, &anonymous, "anonymous"),
        "needs credentials",
        "docker login",
    );
    let untrusted = PushOptions {
        ca_file: None,
        ..options.clone()
    };
    one_line_error(
        push_to(&registry, &untrusted, "untrusted"),
        "not trusted",
        "--ca-file",
    );
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        0,
        "a failed login still uploaded:\n{}",
        registry.log()
    );

    let pushed = push_to(&registry, &options, "secure").expect("pushing with the right password");
    assert_eq!(pushed.digest, local.index_digest);
    assert_holds_local_image(&registry, registry.host(), "secure", &local);
    for tag in ["wrong", "anonymous", "untrusted"] {
        assert!(
            !tag_exists(&registry, tag),
            "the failed push left the tag {tag}"
        );
    }

    // The credentials as `docker login` stores them: base64 of user:password under the host.
    let dir = tempfile::tempdir().expect("a temp dir");
    let pair = dir.path().join("pair");
    std::fs::write(&pair, format!("{USER}:{PASSWORD}")).expect("writing the pair");
    let encoded = run(&["base64", "-w0", &pair.display().to_string()]);
    let config = dir.path().join("config.json");
    let json = format!(
        r#"{{"auths":{{"https://{}":{{"auth":"{encoded}"}}}}}}"#,
        registry.host()
    );
    std::fs::write(&config, json).expect("writing config.json");
    let from_config = PushOptions {
        login: None,
        auth_files: vec![config],
        ..options
    };
    let pushed = push_to(&registry, &from_config, "from-config")
        .expect("pushing with config.json's credentials");
    assert_eq!(pushed.digest, local.index_digest);
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "the push from config.json uploaded blobs again:\n{}",
        registry.log()
    );
}

/// Pushes through a proxy that fails [`FAULTS`] connections with `fault`: once from the first
/// connection on (the pusher's `/v2/` probe), once after the probe's two connections (HTTPS, then
/// plain HTTP for a loopback registry without TLS), when the session's calls start.
fn push_through_faults(fault: Fault) {
    let local = local_image();
    let registry = Registry::start_plain();
    for (tag, pass_first) in [("flaky-probe", 0), ("flaky-push", PROBE_CONNECTIONS)] {
        let proxy = FlakyProxy::start(registry.host(), fault, pass_first, FAULTS);
        let reference = format!("{}/{REPOSITORY}:{tag}", proxy.host());
        let pushed = push(&Shell::new().unwrap(), &registry.push_options(), &reference)
            .unwrap_or_else(|error| panic!("pushing {tag} through {fault:?} faults: {error:#}"));
        assert_eq!(
            proxy.faults_left(),
            0,
            "{tag}: the proxy did not inject every fault"
        );
        assert_eq!(pushed.digest, local.index_digest);
        assert_holds_local_image(&registry, registry.host(), tag, &local);
    }
}

#[test]
fn dropped_connections_are_retried() {
    if !ready("push::dropped_connections_are_retried", &needs(&[])) {
        return;
    }
    push_through_faults(Fault::Drop);
}

#[test]
fn unavailable_answers_are_retried() {
    if !ready("push::unavailable_answers_are_retried", &needs(&[])) {
        return;
    }
    push_through_faults(Fault::Unavailable);
}

/// A registry that answers 429 with `Retry-After` is tried again no sooner than it asked: each
/// connection after a refused one comes at least that long after it (our own backoff would have
/// come after 250 ms, then 500 ms). One that asks for an hour is not retried at all: one line says
/// when to push again, and nothing is tagged. The probe's connections pass (it tries HTTPS, then
/// plain HTTP, in one attempt); the session's calls, one connection a try, meet the 429s.
#[test]
fn retry_after_is_waited_out_or_reported() {
    if !ready("push::retry_after_is_waited_out_or_reported", &needs(&[])) {
        return;
    }
    const ASKED: u64 = 1;
    const AN_HOUR: u64 = 3600;
    let local = local_image();
    let registry = Registry::start_plain();

    let busy = Fault::Busy {
        retry_after_seconds: ASKED,
    };
    let proxy = FlakyProxy::start(registry.host(), busy, PROBE_CONNECTIONS, FAULTS);
    let reference = format!("{}/{REPOSITORY}:busy", proxy.host());
    let pushed = push(&Shell::new().unwrap(), &registry.push_options(), &reference)
        .unwrap_or_else(|error| panic!("pushing through 429 answers: {error:#}"));
    assert_eq!(pushed.digest, local.index_digest);
    assert_eq!(
        proxy.faults_left(),
        0,
        "the proxy did not answer 429 {FAULTS} times"
    );
    let arrivals = proxy.arrivals();
    for pair in arrivals.windows(2).filter(|pair| pair[0].faulted) {
        let waited = pair[1].at - pair[0].at;
        assert!(
            waited >= Duration::from_secs(ASKED),
            "tried again {waited:?} after a 429 that asked for {ASKED} s: {arrivals:?}"
        );
    }

    let busy = Fault::Busy {
        retry_after_seconds: AN_HOUR,
    };
    let proxy = FlakyProxy::start(registry.host(), busy, PROBE_CONNECTIONS, FAULTS);
    let reference = format!("{}/{REPOSITORY}:rate-limited", proxy.host());
    let error = push(&Shell::new().unwrap(), &registry.push_options(), &reference)
        .map(|pushed| pushed.digest)
        .expect_err("a push through a registry that asks for an hour's wait succeeded");
    let line = format!("{error:#}");
    assert_eq!(
        proxy.faults_left(),
        FAULTS - 1,
        "the push tried again: {line}"
    );
    assert!(!line.contains('\n'), "more than one line: {line}");
    for named in ["429 Too Many Requests", "3600 s", "try again after that"] {
        assert!(
            line.contains(named),
            "the error does not say `{named}`: {line}"
        );
    }
    assert_eq!(registry.stored_tag(REPOSITORY, "rate-limited"), None);
    eprintln!("refused: {line}");
}

/// A copy of the project's layout in `dir` whose first platform manifest claims, inside, to be an
/// image index: intact digests, so the pusher sends it, but a document the registry must refuse.
/// Its SBOM, which described the manifest as it was, goes with the edit.
fn layout_with_an_invalid_manifest(dir: &Path) -> PathBuf {
    const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
    let layout = EditedLayout::copy(&project_layout(), &dir.join("oci"));
    layout.edit_manifest(0, |manifest| manifest["mediaType"] = INDEX_TYPE.into());
    layout.dir().to_path_buf()
}

#[test]
fn a_rejected_manifest_fails_with_one_line_and_leaves_no_tag() {
    if !ready(
        "push::a_rejected_manifest_fails_with_one_line_and_leaves_no_tag",
        &needs(&[]),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start_plain();
    let options = PushOptions {
        layout: layout_with_an_invalid_manifest(dir.path()),
        ..registry.push_options()
    };
    let line = one_line_error(
        push_to(&registry, &options, "rejected"),
        "rejected the manifest",
        "cargo xtask image",
    );
    assert!(
        line.contains("400"),
        "the registry's answer is not quoted: {line}"
    );
    assert!(
        !tag_exists(&registry, "rejected"),
        "a rejected manifest left the tag"
    );
}

#[test]
fn unreachable_registry_fails_with_one_line() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let options = PushOptions {
        layout: project_layout(),
        ..PushOptions::default()
    };
    let result = push(
        &Shell::new().unwrap(),
        &options,
        &format!("{host}/{REPOSITORY}:nowhere"),
    );
    one_line_error(
        result,
        &format!("cannot reach the registry {host}"),
        "check the address",
    );
}

#[test]
fn a_missing_layout_fails_with_one_line() {
    let empty = tempfile::tempdir().unwrap();
    let options = PushOptions {
        layout: empty.path().join("oci"),
        ..PushOptions::default()
    };
    let result = push(&Shell::new().unwrap(), &options, "127.0.0.1:5000/pause:x");
    one_line_error(
        result,
        &format!("no OCI layout at {}", options.layout.display()),
        "cargo xtask image",
    );
}

/// How long one run of the xtask's command line may take against a registry on loopback.
const COMMAND_LINE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the xtask binary `xtask` with `args` and `stdin`; returns (success, stdout, stderr).
fn xtask_says(xtask: &Path, args: &[&str], stdin: Stdio) -> (bool, String, String) {
    let out = output_within_reading(Command::new(xtask).args(args), stdin, COMMAND_LINE_TIMEOUT);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// `cargo xtask push` as a user types it, the password piped in and the registry's CA in a file:
/// a line per blob and manifest, the pushed reference with the layout's digest, the node settings
/// that pin it; and the mistakes a user makes on the command line, each refused with one `error:`
/// line naming the fix.
#[test]
fn the_command_line_pushes_and_refuses_mistakes() {
    let test = "push::the_command_line_pushes_and_refuses_mistakes";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_secure(USER, PASSWORD);
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let password = dir.path().join("password");
    fs::write(&password, format!("{PASSWORD}\n")).expect("writing the password");
    let ca = registry
        .ca_file()
        .expect("a TLS registry has a CA")
        .display()
        .to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:cli"));
    let login = ["--username", USER, "--password-stdin", "--ca-file", &ca];

    let piped = Stdio::from(fs::File::open(&password).expect("opening the password"));
    let (pushed, stdout, stderr) =
        xtask_says(&xtask, &[&["push", &reference][..], &login].concat(), piped);
    assert!(
        pushed,
        "cargo xtask push {reference} failed:\n{stdout}{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let uploaded = lines
        .iter()
        .filter(|line| line.starts_with("blob ") && line.ends_with(": uploaded"));
    assert_eq!(
        uploaded.count(),
        local.blobs,
        "a line per uploaded blob:\n{stdout}"
    );
    let manifests = lines
        .iter()
        .filter(|line| line.starts_with("manifest ") && line.ends_with(": pushed"));
    assert_eq!(
        manifests.count(),
        PLATFORMS.len(),
        "a line per platform manifest:\n{stdout}"
    );
    let pushed_line = format!("pushed {reference}@{}", local.index_digest);
    assert!(
        lines.contains(&pushed_line.as_str()),
        "no `{pushed_line}` line:\n{stdout}"
    );
    // Then what to paste into each runtime's configuration, pinned by digest.
    assert_prints_node_settings(
        "cli",
        &stdout,
        &registry.reference(REPOSITORY),
        &local.index_digest,
    );
    assert_holds_local_image(&registry, registry.host(), "cli", &local);

    let no_tag = registry.reference(REPOSITORY);
    let missing_layout = dir.path().join("no-such-layout").display().to_string();
    let with_password = format!("{USER}:{PASSWORD}@{reference}");
    let password_flag = format!("--password={PASSWORD}");
    let mistakes: [(&[&str], &str); 9] = [
        (&["push", "127.0.0.1:1/Pause:cli"], "lower-case"),
        (&["push", &no_tag, "--ca-file", &ca], "has no tag"),
        (
            &["push", &reference, "--username", USER],
            "--password-stdin",
        ),
        (
            &["push", &reference, "--layout", &missing_layout],
            "cargo xtask image",
        ),
        (&["image", "--platform", "linux/mips64le"], "linux/riscv64"),
        (&["image", "--platform=linux/mips64le"], "linux/riscv64"),
        // Without --push there is nothing to log into: stdin must stay unread (the pipe below is
        // never closed, so reading it would hang until the timeout).
        (&["image", "--username", USER, "--password-stdin"], "--push"),
        // What a user may type with a password in it is refused without repeating it.
        (&["push", &reference, &password_flag], "--password"),
        (&["push", &with_password], "credentials"),
    ];
    for (args, fix) in mistakes {
        let (succeeded, stdout, stderr) = xtask_says(&xtask, args, Stdio::piped());
        let shown = args.join(" ");
        assert!(!succeeded, "cargo xtask {shown} succeeded");
        assert!(
            stderr.lines().count() == 1 && stderr.starts_with("error: ") && stderr.contains(fix),
            "cargo xtask {shown}: not one `error:` line naming `{fix}`:\n{stderr}"
        );
        assert!(
            !format!("{stdout}{stderr}").contains("horse"),
            "cargo xtask {shown} repeated the password:\n{stdout}{stderr}"
        );
    }
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "a refused command uploaded blobs:\n{}",
        registry.log()
    );
}

/// A credential helper `docker-credential-<name>` that speaks docker's protocol (`get`, the
/// server on stdin, JSON out) and holds `user`/`password` under the key `server` alone; it appends
/// each server it is asked about to `dir/asked`. Returns the PATH that finds it first.
fn install_credential_helper(
    dir: &Path,
    name: &str,
    server: &str,
    (user, password): (&str, &str),
) -> String {
    use std::os::unix::fs::PermissionsExt;
    let helper = dir.join(format!("docker-credential-{name}"));
    let script = format!(
        "#!/bin/sh\nread server\necho \"$server\" >> '{asked}'\n\
         [ \"$1\" = get ] && [ \"$server\" = '{server}' ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
         printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"\n",
        asked = dir.join("asked").display()
    );
    fs::write(&helper, script).expect("writing the helper");
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).expect("making it executable");
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", dir.display())
}

/// docker's config.json naming a credential helper, per registry (`credHelpers`) and for all
/// (`credsStore`): the pusher asks the helper for exactly this registry and logs in with its answer.
#[test]
fn credential_helpers_are_asked_as_docker_asks_them() {
    let test = "push::credential_helpers_are_asked_as_docker_asks_them";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_secure(USER, PASSWORD);
    let dir = tempfile::tempdir().expect("a temp dir");
    let sh = Shell::new().expect("a shell");
    sh.set_var(
        "PATH",
        install_credential_helper(dir.path(), "pausetest", registry.host(), (USER, PASSWORD)),
    );
    let configs = [
        (
            "cred-helpers",
            format!(r#"{{"credHelpers":{{"{}":"pausetest"}}}}"#, registry.host()),
        ),
        ("creds-store", r#"{"credsStore":"pausetest"}"#.to_string()),
    ];
    for (tag, json) in configs {
        let config = dir.path().join(format!("{tag}.json"));
        fs::write(&config, json).expect("writing config.json");
        let options = PushOptions {
            login: None,
            auth_files: vec![config],
            ..registry.push_options()
        };
        let reference = registry.reference(&format!("{REPOSITORY}:{tag}"));
        let pushed = push(&sh, &options, &reference)
            .unwrap_or_else(|error| panic!("pushing with the {tag} helper: {error:#}"));
        assert_eq!(pushed.digest, local.index_digest, "{tag}");
    }
    let asked = fs::read_to_string(dir.path().join("asked")).expect("the helper was asked");
    assert_eq!(
        asked.lines().collect::<Vec<_>>(),
        [registry.host(), registry.host()],
        "the servers the helper was asked about"
    );
    assert_holds_local_image(&registry, registry.host(), "creds-store", &local);
}

// ---------------------------------------------------------------------------------------------
// The registries people use: token authentication, Docker Hub's names, stored credentials, and
// never a secret in what a push prints. Each runs the xtask binary as a user does.
// ---------------------------------------------------------------------------------------------

/// What one run of the xtask binary printed.
struct Said {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Said {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the run failed with exactly one `error:` line, which it returns.
    fn one_error_line(&self, case: &str) -> String {
        assert!(!self.success, "{case}: the push succeeded:\n{}", self.all());
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("error: "),
            "{case}: not one `error:` line:\n{}",
            self.stderr
        );
        lines[0].to_string()
    }
}

/// A docker config dir in `dir` whose config.json holds `entry` (JSON) for `registry` alone; the
/// variable that points the xtask at it.
fn docker_config(dir: &Path, registry: &str, entry: &str) -> (&'static str, String) {
    let docker = dir.join("docker");
    fs::create_dir_all(&docker).expect("creating the docker config dir");
    let json = format!(r#"{{"auths":{{"{registry}":{entry}}}}}"#);
    fs::write(docker.join("config.json"), json).expect("writing config.json");
    ("DOCKER_CONFIG", docker.display().to_string())
}

/// `xtask push REFERENCE`, trusting the CA in `ca`, with what `env` points at as the only stored
/// login and nothing on stdin.
fn push_with_stored_login(
    xtask: &Path,
    dir: &Path,
    reference: &str,
    ca: &str,
    env: &[(&str, String)],
) -> Said {
    xtask_push(xtask, dir, None, &[reference, "--ca-file", ca], None, env)
}

/// `xtask push REFERENCE` as `USER` with `password` on stdin, trusting the CA in `ca`.
fn push_logged_in(xtask: &Path, dir: &Path, reference: &str, ca: &str, password: &str) -> Said {
    let args = [
        reference,
        "--username",
        USER,
        "--password-stdin",
        "--ca-file",
        ca,
    ];
    xtask_push(xtask, dir, None, &args, Some(password), &[])
}

/// Runs `xtask push ARGS` (inside `network` if given) with `password` piped to stdin and the
/// machine's stored credentials out of reach: HOME and DOCKER_CONFIG point into `dir` unless
/// `env` sets them, and REGISTRY_AUTH_FILE and XDG_RUNTIME_DIR are unset.
fn xtask_push(
    xtask: &Path,
    dir: &Path,
    network: Option<&PrivateNetwork>,
    args: &[&str],
    password: Option<&str>,
    env: &[(&str, String)],
) -> Said {
    let mut command = match network {
        Some(network) => network.command(&xtask.display().to_string()),
        None => Command::new(xtask),
    };
    command
        .arg("push")
        .args(args)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"));
    for (name, value) in env {
        command.env(name, value);
    }
    let stdin = match password {
        Some(password) => {
            let file = dir.join("password-stdin");
            fs::write(&file, format!("{password}\n")).expect("writing the password");
            Stdio::from(fs::File::open(&file).expect("opening the password"))
        }
        None => Stdio::null(),
    };
    let out = output_within_reading(&mut command, stdin, COMMAND_LINE_TIMEOUT);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Said {
        success: out.status.success(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// The secrets of a login: the password and the base64 `user:password` of a Basic header or a
/// docker config's `auth`.
fn login_secrets(user: &str, password: &str) -> Vec<String> {
    use base64::Engine;
    vec![
        password.to_string(),
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")),
    ]
}

/// Asserts that nothing `case` printed holds any of `secrets`, nor any of `tokens` (whole, or
/// their signature: what makes a JWT usable).
fn assert_no_secret(case: &str, said: &Said, secrets: &[String], tokens: &[String]) {
    let printed = said.all();
    let signatures = tokens
        .iter()
        .filter_map(|token| token.rsplit('.').next().map(str::to_string));
    for secret in secrets
        .iter()
        .cloned()
        .chain(tokens.iter().cloned())
        .chain(signatures)
    {
        assert!(
            !printed.contains(&secret),
            "{case}: the push printed a secret:\n{printed}"
        );
    }
}

/// The pinned lines a push prints for the nodes' runtimes, each naming `name@digest`.
fn assert_prints_node_settings(case: &str, stdout: &str, name: &str, digest: &str) {
    let pinned = format!("\"{name}@{digest}\"");
    for (section, key) in [
        ("[plugins.\"io.containerd.grpc.v1.cri\"]", "sandbox_image"),
        (
            "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
            "sandbox",
        ),
        ("[crio.image]", "pause_image"),
        ("[engine]", "infra_image"),
    ] {
        assert!(
            stdout.lines().any(|line| line.trim() == section),
            "{case}: no `{section}` line:\n{stdout}"
        );
        let setting = format!("{key} = {pinned}");
        assert!(
            stdout.lines().any(|line| line.trim() == setting),
            "{case}: no `{setting}` line:\n{stdout}"
        );
    }
}

/// The registry's log lines about requests it refused for want of any token, but for the `/v2/`
/// probe, which is how a client learns where tokens come from.
fn requests_without_token(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("authorization token required"))
        .filter(|line| !line.contains("http.request.uri=/v2/ "))
        .collect()
}

/// A registry in token mode over TLS, its token server (TLS, same CA) granting USER.
struct TokenRegistry {
    registry: Registry,
    tokens: TokenServer,
    pki: Arc<Pki>,
}

fn token_registry() -> TokenRegistry {
    let pki = Arc::new(Pki::create());
    let tokens = TokenServer::start(&pki, true, USER, PASSWORD);
    let registry = Registry::start(docker_registry::Options {
        tls: true,
        pki: Some(pki.clone()),
        token_realm: Some(tokens.realm()),
        ..docker_registry::Options::default()
    });
    TokenRegistry {
        registry,
        tokens,
        pki,
    }
}

/// The reference registry in token mode: the push logs in at the token server with Basic
/// credentials and sends every request after the `/v2/` probe with a Bearer token; a token server
/// that answers 503 once, drops a connection once, issues 1-second tokens, or a token the registry
/// already takes for expired, still ends in a complete push.
#[test]
fn token_auth_pushes_with_a_bearer_token_through_token_server_trouble() {
    let test = "push::token_auth_pushes_with_a_bearer_token_through_token_server_trouble";
    if !ready(test, &needs(&[NEEDS_TLS])) {
        return;
    }
    let local = local_image();
    let setup = token_registry();
    let (registry, tokens) = (&setup.registry, &setup.tokens);
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let ca = setup.pki.ca_file().display().to_string();

    type Trouble<'a> = (&'a str, &'a dyn Fn(&TokenServer));
    let cases: [Trouble; 5] = [
        ("token", &|_| {}),
        ("token-503", &|tokens| {
            tokens.fail_next(&[TokenFault::Unavailable])
        }),
        ("token-dropped", &|tokens| {
            tokens.fail_next(&[TokenFault::Drop])
        }),
        ("token-1s", &|tokens| {
            tokens.set_lifetime(Duration::from_secs(1))
        }),
        ("token-dead", &|tokens| {
            tokens.set_lifetime(Duration::from_secs(300));
            tokens.issue_dead(1);
        }),
    ];
    for (tag, trouble) in cases {
        trouble(tokens);
        let issued_before = tokens.tokens().len();
        let reference = registry.reference(&format!("{REPOSITORY}:{tag}"));
        let said = push_logged_in(&xtask, dir.path(), &reference, &ca, PASSWORD);
        assert!(
            said.success,
            "{tag}: the push failed:\n{}\ntoken server:\n{}",
            said.all(),
            tokens.log()
        );
        assert_eq!(
            tokens.faults_left(),
            0,
            "{tag}: a planned fault did not happen"
        );
        eprintln!("{tag}: the push said on stderr:\n{}", said.stderr);
        assert_eq!(
            registry.stored_tag(REPOSITORY, tag).as_deref(),
            Some(local.index_digest.as_str()),
            "{tag}: the registry's tag"
        );
        let issued = tokens.tokens().len() - issued_before;
        match tag {
            "token-1s" => assert!(
                issued > 2,
                "{tag}: 1-second tokens, yet only {issued} were fetched:\n{}",
                tokens.log()
            ),
            "token-dead" => assert!(
                registry.log().contains("invalid_token")
                    || registry.log().contains("invalid token"),
                "{tag}: the registry never refused the dead token:\n{}",
                registry.log()
            ),
            _ => {}
        }
        assert_no_secret(tag, &said, &login_secrets(USER, PASSWORD), &tokens.tokens());
    }

    let log = registry.log();
    let refused = requests_without_token(&log);
    assert!(
        refused.is_empty(),
        "requests other than the /v2/ probe came without a token:\n{}",
        refused.join("\n")
    );
    let authorized = log
        .lines()
        .filter(|line| line.contains("msg=\"authorized request\""))
        .filter(|line| line.contains(&format!("vars.name={REPOSITORY}")));
    assert!(
        authorized.count() >= local.blobs,
        "the registry authorized fewer requests than there are blobs:\n{log}"
    );
    for request in tokens
        .requests()
        .iter()
        .filter(|request| request.status == Some(200))
    {
        assert_eq!(
            request.user.as_deref(),
            Some(USER),
            "a token was fetched without the user's credentials: {request}"
        );
        assert_eq!(
            request.service.as_deref(),
            Some(token_server::SERVICE),
            "{request}"
        );
        assert_eq!(
            request.scopes,
            [format!("repository:{REPOSITORY}:pull,push")],
            "{request}"
        );
    }
    eprintln!("token server log:\n{}", tokens.log());
    let lines = |marker: &str, most: usize| {
        log.lines()
            .filter(|line| line.contains(marker))
            .take(most)
            .collect::<Vec<_>>()
            .join("\n")
    };
    eprintln!(
        "registry log, every refused request (the probes, the dead token) and the first authorized:\n{}\n{}",
        lines("error authorizing context", usize::MAX),
        lines("msg=\"authorized request\"", 4)
    );
}

/// A wrong password is refused by the token server: one line naming the registry, the token
/// server that refused, and `docker login`; no tag, and no secret (the password, its base64, a
/// token) in anything printed.
#[test]
fn a_wrong_password_at_the_token_server_is_one_line_and_no_tag() {
    let test = "push::a_wrong_password_at_the_token_server_is_one_line_and_no_tag";
    if !ready(test, &needs(&[NEEDS_TLS])) {
        return;
    }
    const WRONG: &str = "wrong horse battery staple";
    let setup = token_registry();
    let (registry, tokens) = (&setup.registry, &setup.tokens);
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let ca = setup.pki.ca_file().display().to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:wrong"));
    let said = push_logged_in(&xtask, dir.path(), &reference, &ca, WRONG);
    let line = said.one_error_line("wrong password");
    // The registry, and the token server as the one that refused.
    let token_server = format!("token server {}", tokens.host());
    xtask_cli::assert_names(
        &line,
        &[registry.host(), &token_server, "docker login", "401"],
    );
    assert_eq!(
        registry.stored_tag(REPOSITORY, "wrong"),
        None,
        "a tag was left"
    );
    assert_eq!(registry.blob_uploads(REPOSITORY), 0, "blobs were uploaded");
    let secrets = [login_secrets(USER, WRONG), login_secrets(USER, PASSWORD)].concat();
    assert_no_secret("wrong password", &said, &secrets, &tokens.tokens());
    eprintln!("refused: {line}\ntoken server log:\n{}", tokens.log());
}

/// What `docker login` stores when the token server hands out an OAuth2 identity token (and `az
/// acr login` writes alike): the user name in `auth` with no password, the token in
/// `identitytoken`. The push trades the token by OAuth2's refresh-token POST, as docker does (the
/// token server's log shows only such requests: no Basic login), and prints no secret. A token
/// the server no longer takes is one line saying to log in again; no tag, no blob. A registry
/// that asks for Basic credentials is never sent the identity token as a password.
#[test]
fn an_identity_token_from_docker_login_is_traded_by_oauth2() {
    let test = "push::an_identity_token_from_docker_login_is_traded_by_oauth2";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    use base64::Engine;
    const IDENTITY: &str = "pause-tests-identity-token-7f3a";
    let local = local_image();
    let setup = token_registry();
    let (registry, tokens) = (&setup.registry, &setup.tokens);
    tokens.accept_identity_token(IDENTITY);
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let user_only = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:"));
    let entry = format!(r#"{{"auth":"{user_only}","identitytoken":"{IDENTITY}"}}"#);
    let env = [docker_config(dir.path(), registry.host(), &entry)];
    let ca = setup.pki.ca_file().display().to_string();
    let secrets = [IDENTITY.to_string(), user_only];

    let reference = registry.reference(&format!("{REPOSITORY}:identity"));
    let said = push_with_stored_login(&xtask, dir.path(), &reference, &ca, &env);
    assert!(
        said.success,
        "the push with an identity token failed:\n{}\ntoken server:\n{}",
        said.all(),
        tokens.log()
    );
    assert_eq!(
        registry.stored_tag(REPOSITORY, "identity").as_deref(),
        Some(local.index_digest.as_str())
    );
    let requests = tokens.requests();
    assert!(!requests.is_empty(), "no token was asked for");
    for request in &requests {
        assert_eq!(
            (
                request.grant.as_deref(),
                request.user.as_deref(),
                request.status
            ),
            (Some("refresh_token"), None, Some(200)),
            "a token request that was not OAuth2's refresh grant:\n{}",
            tokens.log()
        );
    }
    assert_no_secret("identity token", &said, &secrets, &tokens.tokens());
    eprintln!("token server log:\n{}", tokens.log());

    // A server that rotates refresh tokens takes only the newest: with 1-second access tokens the
    // push exchanges again and again, each time with the token the last exchange handed back.
    tokens.rotate_identity_tokens();
    tokens.set_lifetime(Duration::from_secs(1));
    let exchanges_before = tokens.requests().len();
    let reference = registry.reference(&format!("{REPOSITORY}:rotated"));
    let said = push_with_stored_login(&xtask, dir.path(), &reference, &ca, &env);
    assert!(
        said.success,
        "the push with rotating identity tokens failed:\n{}\ntoken server:\n{}",
        said.all(),
        tokens.log()
    );
    let exchanges = &tokens.requests()[exchanges_before..];
    assert!(
        exchanges.len() > 1 && exchanges.iter().all(|request| request.status == Some(200)),
        "not every exchange of a rotated identity token was granted:\n{}",
        tokens.log()
    );
    assert_no_secret("rotated identity token", &said, &secrets, &tokens.tokens());
    tokens.set_lifetime(Duration::from_secs(300));

    tokens.accept_identity_token("another identity token: the stored one was revoked");
    let uploads = registry.blob_uploads(REPOSITORY);
    let reference = registry.reference(&format!("{REPOSITORY}:revoked"));
    let said = push_with_stored_login(&xtask, dir.path(), &reference, &ca, &env);
    let line = said.one_error_line("revoked identity token");
    xtask_cli::assert_names(
        &line,
        &[
            tokens.host().as_str(),
            "identity token",
            "invalid_grant",
            "log in again",
        ],
    );
    assert_eq!(
        registry.stored_tag(REPOSITORY, "revoked"),
        None,
        "a tag was left"
    );
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        uploads,
        "blobs were uploaded"
    );
    assert_no_secret("revoked identity token", &said, &secrets, &tokens.tokens());
    eprintln!("refused: {line}");

    let basic = Registry::start_secure(USER, PASSWORD);
    let entry = format!(r#"{{"identitytoken":"{IDENTITY}"}}"#);
    let env = [docker_config(dir.path(), basic.host(), &entry)];
    let ca = basic
        .ca_file()
        .expect("a TLS registry")
        .display()
        .to_string();
    let reference = basic.reference(&format!("{REPOSITORY}:basic"));
    let said = push_with_stored_login(&xtask, dir.path(), &reference, &ca, &env);
    let line = said.one_error_line("identity token at a Basic registry");
    xtask_cli::assert_names(&line, &["Basic", "identity token", "nothing was sent"]);
    assert_eq!(
        basic.stored_tag(REPOSITORY, "basic"),
        None,
        "a tag was left"
    );
    assert_no_secret("identity token at a Basic registry", &said, &secrets, &[]);
    eprintln!("refused: {line}");
}

/// A token realm that redirects (307) elsewhere: the OAuth2 request carries the identity token in
/// its body, which an HTTP client following the redirect would send on to wherever it points. The
/// push stops at the 307 in one line; the redirect's target never hears from it.
#[test]
fn an_identity_token_never_follows_a_redirect() {
    let test = "push::an_identity_token_never_follows_a_redirect";
    if !ready(test, &needs(&[NEEDS_TLS])) {
        return;
    }
    const IDENTITY: &str = "pause-tests-identity-token-redirected";
    let pki = Arc::new(Pki::create());
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let elsewhere = {
        let heard = heard.clone();
        HttpServer::start(
            None,
            Arc::new(move |request: &Request| {
                if let Ok(mut heard) = heard.lock() {
                    heard.push(String::from_utf8_lossy(&request.body).into_owned());
                }
                Reply::json(200, "OK", &serde_json::json!({"token": "stolen"}))
            }),
        )
    };
    let target = elsewhere.url("/token");
    let redirector = HttpServer::start(
        Some(&pki.issue("redirecting-realm", Usage::Server, &[])),
        Arc::new(move |_: &Request| Reply::Answer {
            status: 307,
            reason: "Temporary Redirect",
            headers: vec![("Location".into(), target.clone())],
            body: Vec::new(),
        }),
    );
    let registry = Registry::start(docker_registry::Options {
        tls: true,
        pki: Some(pki.clone()),
        token_realm: Some(redirector.url("/token")),
        ..docker_registry::Options::default()
    });
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let entry = format!(r#"{{"identitytoken":"{IDENTITY}"}}"#);
    let env = [docker_config(dir.path(), registry.host(), &entry)];
    let ca = pki.ca_file().display().to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:redirected"));
    let said = push_with_stored_login(&xtask, dir.path(), &reference, &ca, &env);
    let line = said.one_error_line("a redirecting realm");
    xtask_cli::assert_names(&line, &["307"]);
    let heard = heard.lock().map(|heard| heard.clone()).unwrap_or_default();
    assert!(
        heard.is_empty(),
        "the redirect's target was sent {} request(s)",
        heard.len()
    );
    assert_eq!(registry.stored_tag(REPOSITORY, "redirected"), None);
    assert_no_secret("a redirecting realm", &said, &[IDENTITY.to_string()], &[]);
    eprintln!("refused: {line}");
}

/// A registry that speaks HTTPS but names a plain-HTTP token realm: the password would cross the
/// network readable, so the push refuses before it sends anything there; the fake realm's log
/// shows no request at all.
#[test]
fn a_plain_http_realm_for_an_https_registry_is_refused_before_any_password() {
    let test = "push::a_plain_http_realm_for_an_https_registry_is_refused_before_any_password";
    if !ready(test, &needs(&[NEEDS_TLS])) {
        return;
    }
    let pki = Arc::new(Pki::create());
    let realm = TokenServer::start(&pki, false, USER, PASSWORD);
    let registry = Registry::start(docker_registry::Options {
        tls: true,
        pki: Some(pki.clone()),
        token_realm: Some(realm.realm()),
        ..docker_registry::Options::default()
    });
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let ca = pki.ca_file().display().to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:http-realm"));
    let said = push_logged_in(&xtask, dir.path(), &reference, &ca, PASSWORD);
    let line = said.one_error_line("plain-HTTP realm");
    xtask_cli::assert_names(&line, &[realm.realm().as_str(), "plain HTTP", "https://"]);
    assert!(
        realm.requests().is_empty(),
        "the plain-HTTP realm was asked:\n{}",
        realm.log()
    );
    assert_eq!(registry.stored_tag(REPOSITORY, "http-realm"), None);
    assert_no_secret(
        "plain-HTTP realm",
        &said,
        &login_secrets(USER, PASSWORD),
        &[],
    );
    eprintln!("refused: {line}");
}

/// Docker's config.json as users have it: the registry's entry malformed (its `auth` where the
/// entry's object should be) is refused naming the file and the key, never the value; another
/// registry's malformed entry does not stop a push to this one.
#[test]
fn stored_credentials_are_read_entry_by_entry_and_never_quoted() {
    let test = "push::stored_credentials_are_read_entry_by_entry_and_never_quoted";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_secure(USER, PASSWORD);
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let ca = registry
        .ca_file()
        .expect("a TLS registry")
        .display()
        .to_string();
    let secrets = login_secrets(USER, PASSWORD);
    let auth = &secrets[1];
    let host = registry.host();
    let cases = [
        (
            "own-malformed",
            format!(r#"{{"auths":{{"{host}":"{auth}"}}}}"#),
            false,
        ),
        (
            "own-bad-base64",
            format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}!!"}}}}}}"#),
            false,
        ),
        (
            "other-malformed",
            format!(
                r#"{{"auths":{{"ghcr.io":"{auth}","https://{host}":{{"auth":"{auth}"}},"quay.io":{{"auth":42}}}}}}"#
            ),
            true,
        ),
    ];
    for (tag, json, pushes) in cases {
        let config_dir = dir.path().join(tag);
        fs::create_dir_all(&config_dir).expect("creating the config dir");
        fs::write(config_dir.join("config.json"), json).expect("writing config.json");
        let reference = registry.reference(&format!("{REPOSITORY}:{tag}"));
        let said = xtask_push(
            &xtask,
            dir.path(),
            None,
            &[&reference, "--ca-file", &ca],
            None,
            &[("DOCKER_CONFIG", config_dir.display().to_string())],
        );
        if pushes {
            assert!(said.success, "{tag}: the push failed:\n{}", said.all());
            assert_eq!(
                registry.stored_tag(REPOSITORY, tag).as_deref(),
                Some(local.index_digest.as_str())
            );
        } else {
            let line = said.one_error_line(tag);
            let file = config_dir.join("config.json").display().to_string();
            assert!(
                line.contains(&file),
                "{tag}: the error does not name the file: {line}"
            );
            assert!(
                line.contains(host),
                "{tag}: the error does not name the entry: {line}"
            );
            assert_eq!(
                registry.stored_tag(REPOSITORY, tag),
                None,
                "{tag}: a tag was left"
            );
            eprintln!("refused ({tag}): {line}");
        }
        assert_no_secret(tag, &said, &secrets, &[]);
    }
}

/// Docker Hub's user.
const HUB_USER: &str = "bob";
const HUB_PASSWORD: &str = "hub password 1234";
/// The names users and tools give Docker Hub, resolved to a registry on loopback.
const HUB_NAMES: &[&str] = &["docker.io", "index.docker.io", "registry-1.docker.io"];
/// The key `docker login` writes Docker Hub's credentials under, and asks helpers about.
const HUB_KEY: &str = "https://index.docker.io/v1/";

/// Pushes to `docker.io/...` land at Docker Hub's API host with the credentials users have for
/// it, however they gave them: `--username` with the password on stdin, docker's config.json as
/// `docker login` writes it, a credential helper asked with docker's key; `docker.io/pause` is
/// `library/pause`. Docker Hub is a registry with htpasswd over TLS (a throwaway CA for its names)
/// on port 443 of a private network where its names resolve to 127.0.0.1; the xtask binary runs
/// inside that network.
#[test]
fn docker_hub_names_reach_one_registry_with_the_credentials_users_have() {
    let test = "push::docker_hub_names_reach_one_registry_with_the_credentials_users_have";
    let extra = [&[NEEDS_AUTH, NEEDS_TLS][..], private_network::NEEDS].concat();
    if !ready(test, &needs(&extra)) {
        return;
    }
    let local = local_image();
    let network = Arc::new(PrivateNetwork::start(HUB_NAMES));
    let registry = Registry::start(docker_registry::Options {
        credentials: Some((HUB_USER.to_string(), HUB_PASSWORD.to_string())),
        tls: true,
        tls_names: HUB_NAMES.iter().map(|name| name.to_string()).collect(),
        network: Some(network.clone()),
        ..docker_registry::Options::default()
    });
    let xtask = xtask_cli::project();
    let dir = tempfile::tempdir().expect("a temp dir");
    let ca = registry
        .ca_file()
        .expect("a TLS registry")
        .display()
        .to_string();
    let secrets = login_secrets(HUB_USER, HUB_PASSWORD);

    // (b) docker login's config.json; (c) a credential helper that knows docker's key alone.
    let config_dir = dir.path().join("docker-login");
    fs::create_dir_all(&config_dir).expect("creating the config dir");
    fs::write(
        config_dir.join("config.json"),
        format!(r#"{{"auths":{{"{HUB_KEY}":{{"auth":"{}"}}}}}}"#, secrets[1]),
    )
    .expect("writing config.json");
    let helper_dir = dir.path().join("helper");
    fs::create_dir_all(&helper_dir).expect("creating the helper dir");
    let path =
        install_credential_helper(&helper_dir, "pausehub", HUB_KEY, (HUB_USER, HUB_PASSWORD));
    fs::write(
        helper_dir.join("config.json"),
        r#"{"credsStore":"pausehub"}"#,
    )
    .expect("writing config.json");

    let by_flag = ["--username", HUB_USER, "--password-stdin"];
    let cases = [
        HubLogin {
            tag: "flag",
            repository: "bob/pause",
            args: &by_flag,
            password: Some(HUB_PASSWORD),
            env: vec![],
        },
        HubLogin {
            tag: "config",
            repository: "bob/pause",
            args: &[],
            password: None,
            env: vec![("DOCKER_CONFIG", config_dir.display().to_string())],
        },
        HubLogin {
            tag: "helper",
            repository: "bob/pause",
            args: &[],
            password: None,
            env: vec![
                ("DOCKER_CONFIG", helper_dir.display().to_string()),
                ("PATH", path.clone()),
            ],
        },
        HubLogin {
            tag: "library",
            repository: "library/pause",
            args: &by_flag,
            password: Some(HUB_PASSWORD),
            env: vec![],
        },
    ];
    let mut outputs = Vec::new();
    for HubLogin {
        tag,
        repository,
        args,
        password,
        env,
    } in cases
    {
        // What the user types: `docker.io/pause` for the official image's name.
        let typed = match tag {
            "library" => format!("docker.io/pause:t-{tag}"),
            _ => format!("docker.io/bob/pause:t-{tag}"),
        };
        let argv = [&[typed.as_str()][..], args, &["--ca-file", &ca]].concat();
        let said = xtask_push(&xtask, dir.path(), Some(&network), &argv, password, &env);
        assert!(
            said.success,
            "{typed} ({tag}): the push failed:\n{}",
            said.all()
        );
        assert_eq!(
            registry
                .stored_tag(repository, &format!("t-{tag}"))
                .as_deref(),
            Some(local.index_digest.as_str()),
            "{typed} did not land as {repository}:t-{tag}"
        );
        // htpasswd knows one user: a request it authorized carried bob's password.
        let manifest_put = format!("http.request.uri=/v2/{repository}/manifests/t-{tag} ");
        assert!(
            registry
                .log()
                .lines()
                .any(|line| line.contains(&manifest_put)
                    && line.contains("msg=\"authorized request\"")
                    && line.contains("http.request.method=PUT")),
            "{typed}: the registry authorized no manifest PUT:\n{}",
            registry.log()
        );
        assert_no_secret(tag, &said, &secrets, &[]);
        outputs.push((tag, repository, said));
    }
    let asked = fs::read_to_string(helper_dir.join("asked")).expect("the helper was asked");
    assert_eq!(
        asked.lines().collect::<Vec<_>>(),
        [HUB_KEY],
        "what the helper was asked"
    );
    for (tag, repository, said) in &outputs {
        let name = format!("docker.io/{repository}");
        assert!(
            said.stdout
                .lines()
                .any(|line| line == format!("pushed {name}:t-{tag}@{}", local.index_digest)),
            "{tag}: no `pushed {name}:t-{tag}@...` line:\n{}",
            said.stdout
        );
        assert_prints_node_settings(tag, &said.stdout, &name, &local.index_digest);
    }
    // Everything started inside dies with the network.
    let witness = network.witness();
    drop(registry);
    drop(network);
    assert_eq!(
        witness.processes(),
        Vec::<u32>::new(),
        "processes left in the private network"
    );
}

/// One way a user gives Docker Hub credentials, and where the push must land.
struct HubLogin<'a> {
    tag: &'a str,
    repository: &'a str,
    args: &'a [&'a str],
    password: Option<&'a str>,
    env: Vec<(&'a str, String)>,
}

/// The session calls that signing and verification build on, against the registry in token mode
/// with a pull-only token: a tag's index and each manifest by digest come back byte for byte with
/// their media types, a config blob checked against its digest, absent things as absent, and the
/// referrers API as unsupported (docker-registry 2.8 answers 404).
#[test]
fn a_pull_session_reads_back_what_the_push_wrote() {
    let test = "push::a_pull_session_reads_back_what_the_push_wrote";
    if !ready(test, &needs(&[NEEDS_TLS])) {
        return;
    }
    const MISSING: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let layout = Layout::open(&project_layout());
    let setup = token_registry();
    let registry = &setup.registry;
    let options = PushOptions {
        layout: project_layout(),
        login: Some(Credentials::new(USER, PASSWORD)),
        auth_files: Vec::new(),
        insecure: false,
        ca_file: Some(setup.pki.ca_file()),
        sign_key: None,
    };
    push_to(registry, &options, "read-back").expect("pushing the image");

    let connect = ConnectOptions {
        insecure: false,
        ca_file: Some(setup.pki.ca_file()),
    };
    let client = RegistryClient::connect(
        registry.host(),
        &connect,
        Some(Credentials::new(USER, PASSWORD)),
    )
    .expect("connecting");
    let mut session = Session::open(&client, REPOSITORY, Access::Pull).expect("a pull session");
    let (descriptor, index) = layout.image();
    let tagged = session
        .get_manifest("read-back")
        .expect("reading the tag")
        .expect("the tag exists");
    assert_eq!(tagged.digest, layout.index_digest());
    assert_eq!(tagged.media_type, descriptor["mediaType"].as_str().unwrap());
    assert_eq!(tagged.data, layout.fetch(descriptor));
    for entry in index["manifests"]
        .as_array()
        .expect("an index lists manifests")
    {
        let digest = entry["digest"].as_str().expect("a digest");
        let manifest = session
            .get_manifest(digest)
            .expect("reading a manifest")
            .expect("the manifest exists");
        assert_eq!(manifest.data, layout.fetch(entry), "{digest}");
        assert_eq!(manifest.media_type, entry["mediaType"].as_str().unwrap());
        let config: serde_json::Value = serde_json::from_slice(&manifest.data).unwrap();
        let config_digest = config["config"]["digest"]
            .as_str()
            .expect("a config digest");
        assert!(session.blob_exists(config_digest).expect("checking a blob"));
        let config_size = config["config"]["size"].as_u64().expect("a config size");
        assert_eq!(
            session
                .get_blob(config_digest, config_size)
                .expect("reading a blob"),
            layout.blob(config_digest)
        );
    }
    assert_eq!(session.get_manifest("no-such-tag").expect("asking"), None);
    assert_eq!(session.get_manifest(MISSING).expect("asking"), None);
    assert!(!session.blob_exists(MISSING).expect("asking"));
    assert_eq!(
        session.referrers(&layout.index_digest()).expect("asking"),
        None,
        "docker-registry 2.8 has no referrers API"
    );
    let scopes: Vec<String> = setup
        .tokens
        .requests()
        .iter()
        .flat_map(|request| request.scopes.clone())
        .collect();
    assert_eq!(
        scopes.last().map(String::as_str),
        Some(format!("repository:{REPOSITORY}:pull").as_str()),
        "the reading session asked for more than pull"
    );
}

/// The referrers index (the fallback tag `sha256-<hex>`) of `digest`, and its `.att` manifest,
/// as the registry holds them (curl).
fn attachments(http: &RegistryHttp<'_>, digest: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let hex = &digest["sha256:".len()..];
    (
        http.manifest(REPOSITORY, &format!("sha256-{hex}")),
        http.manifest(REPOSITORY, &format!("sha256-{hex}.att")),
    )
}

/// A signed push attaches every attestation where cosign finds them, next to the SBOMs: each
/// platform manifest's `.att` image holds its SBOM and provenance envelopes (annotated with their
/// predicate types), and its referrers (the fallback tag) list the SBOM and the Sigstore bundles
/// of its signature, SBOM and provenance statements; the index's list its signature's bundle.
/// Every envelope and bundle is byte for byte what the library signs for that repository (which
/// the attestation suite verifies with sigstore-js, OpenSSL and in-toto). A second signed push
/// changes no `.att` image and no referrers index.
#[test]
fn a_signed_push_attaches_every_attestation_beside_the_sbom() {
    const SPDX_TYPE: &str = "application/spdx+json";
    const ENVELOPE_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
    if !ready(
        "push::a_signed_push_attaches_every_attestation_beside_the_sbom",
        &needs(&[registry_http::NEEDS]),
    ) {
        return;
    }
    let registry = Registry::start_plain();
    let http = RegistryHttp::new(&registry);
    let key = Arc::new(SigningKey::generate().expect("a key"));
    let options = PushOptions {
        sign_key: Some(key.clone()),
        ..registry.push_options()
    };
    push_to(&registry, &options, "signed").expect("the signed push");
    let contents = xtask::oci::layout::read(&project_layout()).expect("the layout");
    let signed = attestations(
        &contents,
        &registry.reference(&format!("{REPOSITORY}:signed")),
        &key,
    )
    .expect("the library's attestations");
    let expected = |digest: &str, predicate_type: &str| {
        let found: Vec<&Attestation> = signed
            .iter()
            .filter(|a| a.subject_digest() == digest && a.predicate_type() == predicate_type)
            .collect();
        assert_eq!(found.len(), 1, "{predicate_type} of {digest}");
        found[0]
    };

    let layout = Layout::open(&project_layout());
    let index_digest = layout.index_digest();
    let mut digests = vec![index_digest.clone()];
    for platform in PLATFORMS {
        let (entry, _, _, _) = layout.platform(platform);
        digests.push(entry["digest"].as_str().expect("a digest").to_string());
    }
    let mut before = Vec::new();
    for digest in &digests {
        let (listing, att) = attachments(&http, digest);
        let listing: Value =
            serde_json::from_slice(&listing.expect("a referrers index")).expect("JSON");
        let listed = listing["manifests"].as_array().expect("manifests");
        let bundles: Vec<&Value> = listed
            .iter()
            .filter(|entry| entry["artifactType"] == bundle::MEDIA_TYPE)
            .collect();
        let predicates: Vec<&str> = bundles
            .iter()
            .map(|entry| {
                entry["annotations"]["dev.sigstore.bundle.predicateType"]
                    .as_str()
                    .expect("a predicate type")
            })
            .collect();
        for entry in &bundles {
            let predicate = entry["annotations"]["dev.sigstore.bundle.predicateType"]
                .as_str()
                .expect("a predicate type");
            let manifest =
                http.manifest_json(REPOSITORY, entry["digest"].as_str().expect("a digest"));
            assert_eq!(manifest["subject"]["digest"], digest.as_str());
            let stored = http.blob(
                REPOSITORY,
                manifest["layers"][0]["digest"].as_str().expect("a digest"),
            );
            assert_eq!(
                stored,
                expected(digest, predicate).bundle().data,
                "{digest}: the {predicate} bundle"
            );
        }
        if *digest == index_digest {
            assert_eq!(
                predicates,
                [SIGN_PREDICATE_TYPE],
                "the index: its signature"
            );
            assert!(att.is_none(), "the index has no .att image");
        } else {
            assert_eq!(
                listed
                    .iter()
                    .filter(|entry| entry["artifactType"] == SPDX_TYPE)
                    .count(),
                1,
                "{digest}: its SBOM stays listed"
            );
            assert_eq!(
                predicates,
                [SIGN_PREDICATE_TYPE, SPDX_PREDICATE_TYPE, SLSA_PROVENANCE],
                "{digest}: a bundle per statement"
            );
            let att: Value =
                serde_json::from_slice(att.as_ref().expect("an .att image")).expect("JSON");
            let layers = att["layers"].as_array().expect("layers");
            assert_eq!(layers.len(), 2, "{digest}: the SBOM and the provenance");
            for layer in layers {
                assert_eq!(layer["mediaType"], ENVELOPE_TYPE);
                let predicate = layer["annotations"]["predicateType"]
                    .as_str()
                    .expect("a type");
                let stored = http.blob(REPOSITORY, layer["digest"].as_str().expect("a digest"));
                assert_eq!(
                    stored,
                    expected(digest, predicate).att_layer().data,
                    "{digest}: the {predicate} envelope"
                );
            }
        }
        before.push(attachments(&http, digest));
    }

    push_to(&registry, &options, "again").expect("the second signed push");
    for (digest, before) in digests.iter().zip(before) {
        assert!(
            attachments(&http, digest) == before,
            "{digest}: the second push changed its referrers index or .att image"
        );
    }
}
