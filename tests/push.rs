//! `cargo xtask push` against the real reference registry (Debian's `docker-registry`): plain, and
//! with htpasswd authentication over TLS from a throwaway CA. The registry ends up with the
//! layout's exact digests and all six platforms; a second push sends no blob; bad credentials,
//! references and addresses fail with one line naming the fix and leave no tag; dropped
//! connections and 503 answers are retried to success.

use std::fmt::{Debug, Display};
use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pause_tests::deadline::output_within_reading;
use pause_tests::flaky_proxy::{Fault, FlakyProxy};
use pause_tests::image::layout as project_layout;
use pause_tests::layout::Layout;
use pause_tests::process::{output, run};
use pause_tests::registry::{self, NEEDS_AUTH, NEEDS_SKOPEO, NEEDS_TLS, REPOSITORY, Registry};
use pause_tests::{Need, PLATFORMS, ready, xtask_cli};
use serde_json::Value;
use xshell::Shell;
use xtask::oci::blob::sha256;
use xtask::oci::descriptor::OciPlatform;
use xtask::registry::credentials::Credentials;
use xtask::registry::push::{PushOptions, PushedImage, push};

/// Faults the flaky proxy injects: fewer than the pusher's attempts per call, so retries win.
const FAULTS: usize = 3;
const USER: &str = "pause-ci";
const PASSWORD: &str = "correct horse battery staple";

fn needs(extra: &[Need]) -> Vec<Need> {
    let mut needs = registry::NEEDS.to_vec();
    needs.push(NEEDS_SKOPEO);
    needs.extend_from_slice(extra);
    needs
}

/// What a push of the project's layout must put in a registry.
struct Local {
    /// The image index's digest: the registry's must be the same.
    index_digest: String,
    /// Configs and layers: the blobs a first push uploads.
    blobs: usize,
}

fn local_image() -> Local {
    let layout = Layout::open(&project_layout());
    Local {
        index_digest: layout.index_digest(),
        blobs: layout.config_and_layer_count(),
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
    let mut argv = vec![
        "skopeo".to_string(),
        "inspect".to_string(),
        "--raw".to_string(),
    ];
    argv.extend(registry.skopeo_args(""));
    argv.push(format!("docker://{host}/{REPOSITORY}:{tag}"));
    let raw = run(&argv);
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
    let mut argv = vec![
        "skopeo".to_string(),
        "inspect".to_string(),
        "--raw".to_string(),
    ];
    argv.extend(registry.skopeo_args(""));
    argv.push(format!(
        "docker://{}",
        registry.reference(&format!("{REPOSITORY}:{tag}"))
    ));
    let out = output(&argv);
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
/// plain HTTP for a loopback registry without TLS), when oci-client's calls start.
fn push_through_faults(fault: Fault) {
    /// Connections the probe of a plain loopback registry makes.
    const PROBE_CONNECTIONS: usize = 2;
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

/// A copy of the project's layout in `dir` whose first platform manifest claims, inside, to be an
/// image index: intact digests, so the pusher sends it, but a document the registry must refuse.
fn layout_with_an_invalid_manifest(dir: &Path) -> PathBuf {
    const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
    let layout = dir.join("oci");
    run(&[
        "cp",
        "-r",
        &project_layout().display().to_string(),
        &layout.display().to_string(),
    ]);
    let blob = |digest: &Value| {
        layout
            .join("blobs/sha256")
            .join(digest.as_str().unwrap().trim_start_matches("sha256:"))
    };
    let read = |digest: &Value| -> Value {
        serde_json::from_slice(&fs::read(blob(digest)).unwrap()).unwrap()
    };
    // Writes `document` as a blob and points `descriptor` at it.
    let store = |document: &Value, descriptor: &mut Value| {
        let bytes = serde_json::to_vec(document).unwrap();
        descriptor["digest"] = sha256(&bytes).into();
        descriptor["size"] = bytes.len().into();
        fs::write(blob(&descriptor["digest"]), bytes).unwrap();
    };
    let mut top: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let index_entry = top["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|entry| entry["mediaType"] == INDEX_TYPE)
        .expect("the layout names its image index");
    let mut index = read(&index_entry["digest"]);
    let mut manifest = read(&index["manifests"][0]["digest"]);
    manifest["mediaType"] = INDEX_TYPE.into();
    store(&manifest, &mut index["manifests"][0]);
    store(&index, index_entry);
    fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    layout
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

/// A credential helper that speaks docker's protocol (`get`, the server on stdin, JSON out) and
/// holds `USER`/`PASSWORD` for `registry` alone; it appends each server it is asked about to
/// `dir/asked`. Returns the PATH that finds it first.
fn install_credential_helper(dir: &Path, name: &str, registry: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let helper = dir.join(format!("docker-credential-{name}"));
    let script = format!(
        "#!/bin/sh\nread server\necho \"$server\" >> '{asked}'\n\
         [ \"$1\" = get ] && [ \"$server\" = '{registry}' ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
         printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n",
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
        install_credential_helper(dir.path(), "pausetest", registry.host()),
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
