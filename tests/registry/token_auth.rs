//! The reference registry in token mode behind a token server that signs real JWTs: the push
//! logs in with Basic credentials and sends Bearer tokens, through a token server's 503s, dropped
//! connections and expired tokens; a wrong password is one line and no tag; `docker login`'s
//! identity tokens are traded by OAuth2 and never follow a redirect; a plain-HTTP realm never
//! gets a password; a pull-only session reads back what the push wrote. Nothing a push prints
//! holds a password, an `auth` or a token.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pause_tests::image::layout as project_layout;
use pause_tests::layout::Layout;
use pause_tests::registry::docker_registry::{self, NEEDS_AUTH, NEEDS_TLS, REPOSITORY, Registry};
use pause_tests::registry::loopback_http::{HttpServer, Reply, Request};
use pause_tests::registry::pki::{Pki, Usage};
use pause_tests::registry::token_server::{self, Fault as TokenFault, TokenServer};
use pause_tests::{ready, xtask_cli};
use xtask::commands::push::PushOptions;
use xtask::registry::client::{ConnectOptions, Registry as RegistryClient};
use xtask::registry::credentials::Credentials;
use xtask::registry::session::{Access, Session};

use crate::pushed::{PASSWORD, USER, local_image, needs, push_to};
use crate::xtask_push::{Said, assert_no_secret, login_secrets, xtask_push};

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
    let test = "token_auth::token_auth_pushes_with_a_bearer_token_through_token_server_trouble";
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
    let test = "token_auth::a_wrong_password_at_the_token_server_is_one_line_and_no_tag";
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
    let test = "token_auth::an_identity_token_from_docker_login_is_traded_by_oauth2";
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
    let test = "token_auth::an_identity_token_never_follows_a_redirect";
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
    let test =
        "token_auth::a_plain_http_realm_for_an_https_registry_is_refused_before_any_password";
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

/// The session calls that signing and verification build on, against the registry in token mode
/// with a pull-only token: a tag's index and each manifest by digest come back byte for byte with
/// their media types, a config blob checked against its digest, absent things as absent, and the
/// referrers API as unsupported (docker-registry 2.8 answers 404).
#[test]
fn a_pull_session_reads_back_what_the_push_wrote() {
    let test = "token_auth::a_pull_session_reads_back_what_the_push_wrote";
    if !ready(test, &needs(&[NEEDS_TLS])) {
        return;
    }
    const MISSING: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let layout = Layout::open(&project_layout());
    let setup = token_registry();
    let registry = &setup.registry;
    let options = PushOptions {
        layout: project_layout(),
        registry: xtask::registry::Options {
            login: Some(Credentials::new(USER, PASSWORD)),
            auth_files: Vec::new(),
            insecure: false,
            ca_file: Some(setup.pki.ca_file()),
        },
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
    let mut session = Session::open(client, REPOSITORY, Access::Pull).expect("a pull session");
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
