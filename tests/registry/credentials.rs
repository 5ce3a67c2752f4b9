//! The credentials users have, wherever they keep them: credential helpers asked as docker asks
//! them, docker's config.json read entry by entry and never quoted, and Docker Hub's names (in a
//! private network where they resolve to loopback) reaching one registry with the credentials
//! given for any of them.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use pause_tests::registry::docker_registry::{self, NEEDS_AUTH, NEEDS_TLS, REPOSITORY, Registry};
use pause_tests::registry::private_network::{self, PrivateNetwork};
use pause_tests::{ready, xtask_cli};
use xshell::Shell;
use xtask::commands::push::push;

use crate::pushed::{PASSWORD, USER, assert_holds_local_image, local_image, needs};
use crate::xtask_push::{assert_no_secret, assert_prints_node_settings, login_secrets, xtask_push};

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
    let test = "credentials::credential_helpers_are_asked_as_docker_asks_them";
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
        let mut options = registry.push_options();
        options.registry.login = None;
        options.registry.auth_files = vec![config];
        let reference = registry.reference(&format!("{REPOSITORY}:{tag}"));
        let pushed = push(&sh, &options, None, &reference)
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

/// Docker's config.json as users have it: the registry's entry malformed (its `auth` where the
/// entry's object should be) is refused naming the file and the key, never the value; another
/// registry's malformed entry does not stop a push to this one.
#[test]
fn stored_credentials_are_read_entry_by_entry_and_never_quoted() {
    let test = "credentials::stored_credentials_are_read_entry_by_entry_and_never_quoted";
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
    let test = "credentials::docker_hub_names_reach_one_registry_with_the_credentials_users_have";
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
        assert_eq!(
            said.stdout,
            format!("{name}:t-{tag}@{}\n", local.index_digest),
            "{tag}: stdout holds the pushed reference alone"
        );
        assert_prints_node_settings(tag, &said.stderr, &name, &local.index_digest);
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
