//! Credentials go only to the registry's own token server. A hostile registry on 127.0.0.1 hands
//! its requests to a "CDN" on 127.0.0.2 (a 307 redirect, an upload `Location`, or a redirect of
//! the `/v2/` probe itself), and the CDN answers `401 Bearer realm="http://127.0.0.3:PORT/steal"`:
//! a thief on 127.0.0.3 that would take a password, a token or an OAuth identity token. `push`
//! (with a password, and with a stored identity token) and `verify` must each fail in one line
//! naming the foreign host, and the thief must hear nothing at all. A CDN that serves blobs
//! without a login still works, and is never sent the registry's credentials.
//!
//! The registry is played by hand ([`HttpServer`]): only its hostile part matters here, and a real
//! one cannot be made to redirect its API to another host.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pause_tests::image;
use pause_tests::registry::loopback_http::{HttpServer, Reply, Request};
use pause_tests::xtask_cli::{self, Said};

/// The CDN and the thief: other hosts than the registry's, on loopback.
const CDN_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const THIEF_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const USER: &str = "bob";
const PASSWORD: &str = "hunter2";
const IDENTITY_TOKEN: &str = "pause-tests-identity-token-for-the-registry-only";
/// The token the registry's own token server hands out.
const REGISTRY_TOKEN: &str = "the-registry's-own-token";
const REPOSITORY: &str = "pause";
const TAG: &str = "hostile";
const TOKEN_PATH: &str = "/token";
/// The path of the upload the registry sends to the CDN.
const UPLOAD_PATH: &str = "/upload/1";

/// Every request a server heard, in order.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<Request>>>);

impl Heard {
    fn keep(&self, request: &Request) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(request.clone());
    }

    /// Every request heard since the last call.
    fn take(&self) -> Vec<Request> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// The thief on 127.0.0.3: answers anything with a token, and keeps what it heard.
fn thief() -> (HttpServer, Heard) {
    let heard = Heard::default();
    let server = {
        let heard = heard.clone();
        HttpServer::start_on(
            THIEF_IP,
            None,
            Arc::new(move |request: &Request| {
                heard.keep(request);
                Reply::json(200, "OK", &serde_json::json!({"token": "stolen"}))
            }),
        )
    };
    (server, heard)
}

/// The CDN on 127.0.0.2: given the thief's realm, answers everything with a challenge naming it;
/// without, answers 200 (a blob is there). Keeps what it heard.
fn cdn(thief_realm: Option<String>) -> (HttpServer, Heard) {
    let heard = Heard::default();
    let server = {
        let heard = heard.clone();
        HttpServer::start_on(
            CDN_IP,
            None,
            Arc::new(move |request: &Request| {
                heard.keep(request);
                match &thief_realm {
                    Some(realm) => Reply::Answer {
                        status: 401,
                        reason: "Unauthorized",
                        headers: vec![(
                            "WWW-Authenticate".into(),
                            format!(r#"Bearer realm="{realm}",service="cdn""#),
                        )],
                        body: Vec::new(),
                    },
                    None => answer(200, "OK", Vec::new()),
                }
            }),
        )
    };
    (server, heard)
}

/// How the registry on 127.0.0.1 hands requests to the CDN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hands {
    /// `/v2/` itself answers 307 to the CDN.
    TheProbe,
    /// Every request of the repository answers 307 to the CDN.
    EveryRequest,
    /// Blob checks (HEAD) answer 307 to the CDN; manifests are taken, referrers not listed.
    BlobChecks,
    /// Blobs are missing, and an upload goes to a `Location` on the CDN.
    Uploads,
}

/// The registry on 127.0.0.1: `/v2/` asks for a token from its own token server (on the same
/// host, which hands one to anyone), then it hands requests to the CDN at `cdn` as `hands` says.
fn registry(cdn: String, hands: Hands) -> HttpServer {
    HttpServer::start(
        None,
        Arc::new(move |request: &Request| {
            let path = request.path();
            let to_cdn = |path: &str| Reply::Answer {
                status: 307,
                reason: "Temporary Redirect",
                headers: vec![("Location".into(), format!("{cdn}{path}"))],
                body: Vec::new(),
            };
            let own_realm = format!(
                "http://{}{TOKEN_PATH}",
                request.header("host").unwrap_or_default()
            );
            let blob = path.contains("/blobs/sha256:");
            match (hands, request.method.as_str()) {
                (Hands::TheProbe, _) if path == "/v2/" => to_cdn(path),
                _ if path == TOKEN_PATH => Reply::json(
                    200,
                    "OK",
                    &serde_json::json!({"token": REGISTRY_TOKEN, "expires_in": 300}),
                ),
                _ if path == "/v2/"
                    && request.header("authorization")
                        != Some(&format!("Bearer {REGISTRY_TOKEN}")) =>
                {
                    Reply::Answer {
                        status: 401,
                        reason: "Unauthorized",
                        headers: vec![(
                            "WWW-Authenticate".into(),
                            format!(r#"Bearer realm="{own_realm}",service="registry""#),
                        )],
                        body: Vec::new(),
                    }
                }
                _ if path == "/v2/" => answer(200, "OK", b"{}".to_vec()),
                (Hands::EveryRequest, _) => to_cdn(path),
                (Hands::BlobChecks, "HEAD") if blob => to_cdn(path),
                (Hands::Uploads, "HEAD") if blob => answer(404, "Not Found", Vec::new()),
                (Hands::Uploads, "POST") => Reply::Answer {
                    status: 202,
                    reason: "Accepted",
                    headers: vec![("Location".into(), format!("{cdn}{UPLOAD_PATH}"))],
                    body: Vec::new(),
                },
                (_, "PUT") => answer(201, "Created", Vec::new()),
                _ => answer(404, "Not Found", Vec::new()),
            }
        }),
    )
}

/// An answer with no header but its length.
fn answer(status: u16, reason: &'static str, body: Vec<u8>) -> Reply {
    Reply::Answer {
        status,
        reason,
        headers: Vec::new(),
        body,
    }
}

/// A docker config dir in `dir` holding `entry` (JSON) for `registry`: the variable that points
/// the xtask at it.
fn docker_config(dir: &Path, registry: &str, entry: &str) -> (&'static str, String) {
    let config = dir.join("docker");
    std::fs::create_dir_all(&config).expect("creating the docker config dir");
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{entry}}}}}"#),
    )
    .expect("writing config.json");
    ("DOCKER_CONFIG", config.display().to_string())
}

/// The logins a user may have stored for `registry`: a password (docker's `auth`), and an OAuth
/// identity token.
fn logins(dir: &Path, registry: &str) -> [(&'static str, (&'static str, String)); 2] {
    let auth = STANDARD.encode(format!("{USER}:{PASSWORD}"));
    [
        (
            "a password",
            docker_config(
                &dir.join("password"),
                registry,
                &format!(r#"{{"auth":"{auth}"}}"#),
            ),
        ),
        (
            "an identity token",
            docker_config(
                &dir.join("identity"),
                registry,
                &format!(r#"{{"identitytoken":"{IDENTITY_TOKEN}"}}"#),
            ),
        ),
    ]
}

/// A command run against a reference, with variables.
type Command = fn(&str, &[(&str, &str)]) -> Said;

/// `cargo xtask push REFERENCE --layout <the project's layout>` with `env`.
fn push(reference: &str, env: &[(&str, &str)]) -> Said {
    let layout = image::layout().display().to_string();
    xtask_cli::run(&["push", reference, "--layout", &layout], env)
}

/// `cargo xtask verify REFERENCE` with `env`.
fn verify(reference: &str, env: &[(&str, &str)]) -> Said {
    xtask_cli::run(&["verify", reference], env)
}

/// One command run against the hostile servers: what it was, what the thief heard meanwhile,
/// what it printed, and the hosts its error line must name.
struct Run {
    case: String,
    stolen: Vec<Request>,
    said: Said,
    named: Vec<String>,
}

/// Asserts that the thief heard nothing in any of `runs` (all of them listed, when it did), that
/// nothing printed holds a secret, and that each failed in one line naming its hosts.
fn assert_nothing_stolen(runs: &[Run]) {
    let robbed: Vec<String> = runs
        .iter()
        .filter(|run| !run.stolen.is_empty())
        .map(|run| {
            format!(
                "{}: the thief was sent {} request(s) {:?}; it said: {}",
                run.case,
                run.stolen.len(),
                run.stolen,
                run.said.stderr.trim()
            )
        })
        .collect();
    assert!(
        robbed.is_empty(),
        "the thief on {THIEF_IP} heard from {} of {} runs:\n{}",
        robbed.len(),
        runs.len(),
        robbed.join("\n")
    );
    for run in runs {
        let printed = run.said.all();
        for secret in [PASSWORD, IDENTITY_TOKEN, REGISTRY_TOKEN] {
            assert!(
                !printed.contains(secret),
                "{}: a secret was printed:\n{printed}",
                run.case
            );
        }
        let line = run.said.error_line(&run.case);
        xtask_cli::assert_names(&line, &run.named);
        eprintln!("{}: {line}", run.case);
    }
}

/// The registry redirects its requests (blob checks and manifest reads alike), or sends an
/// upload, to a CDN whose challenge names the thief: push and verify, with a password and with
/// an identity token, each fail in one line naming the CDN's host and the registry's, and the
/// thief hears nothing.
#[test]
fn a_challenge_from_another_host_sends_nothing_to_its_realm() {
    let (thief, stolen) = thief();
    let (cdn, _) = cdn(Some(thief.url("/steal")));
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut runs = Vec::new();
    for hands in [Hands::EveryRequest, Hands::Uploads] {
        let registry = registry(cdn.url(""), hands);
        let reference = format!("{}/{REPOSITORY}:{TAG}", registry.host());
        for (login, (name, value)) in logins(&dir.path().join(registry.host()), &registry.host()) {
            let env = [(name, value.as_str())];
            let mut commands: Vec<(&str, Command)> = vec![("push", push)];
            if hands == Hands::EveryRequest {
                commands.push(("verify", verify));
            }
            for (command, run) in commands {
                let said = run(&reference, &env);
                runs.push(Run {
                    case: format!("{command} with {login}, the registry handing {hands:?}"),
                    stolen: stolen.take(),
                    said,
                    named: vec![cdn.host(), registry.host().to_string()],
                });
            }
        }
    }
    assert_nothing_stolen(&runs);
}

/// The `/v2/` probe redirected to the CDN: its challenge would pick the token server for the
/// whole session. push and verify fail in one line naming both hosts; the thief hears nothing.
#[test]
fn the_probe_follows_no_redirect_to_another_host() {
    let (thief, stolen) = thief();
    let (cdn, _) = cdn(Some(thief.url("/steal")));
    let registry = registry(cdn.url(""), Hands::TheProbe);
    let reference = format!("{}/{REPOSITORY}:{TAG}", registry.host());
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut runs = Vec::new();
    for (login, (name, value)) in logins(dir.path(), &registry.host()) {
        let env = [(name, value.as_str())];
        for (command, run) in [("push", push as Command), ("verify", verify)] {
            let said = run(&reference, &env);
            runs.push(Run {
                case: format!("{command} with {login}, /v2/ redirected"),
                stolen: stolen.take(),
                said,
                named: vec![cdn.host(), registry.host(), "/v2/".to_string()],
            });
        }
    }
    assert_nothing_stolen(&runs);
}

/// A CDN that serves the registry's blobs as CDNs do, without a login: a push whose blob checks
/// are redirected there succeeds, and no request the CDN hears carries credentials.
#[test]
fn a_cdn_serving_blobs_is_asked_without_credentials() {
    let (cdn, heard) = cdn(None);
    let registry = registry(cdn.url(""), Hands::BlobChecks);
    let reference = format!("{}/{REPOSITORY}:{TAG}", registry.host());
    let dir = tempfile::tempdir().expect("a temp dir");
    let [(_, (name, value)), _] = logins(dir.path(), &registry.host());
    let said = push(&reference, &[(name, value.as_str())]);
    assert!(said.success, "the push failed:\n{}", said.all());
    assert!(
        said.stderr.contains("skipped, already there"),
        "the CDN's answers were not taken:\n{}",
        said.all()
    );
    let heard = heard.take();
    assert!(!heard.is_empty(), "the CDN was never asked");
    for request in &heard {
        assert!(
            request.header("authorization").is_none() && request.method == "HEAD",
            "the CDN was sent {request:?}"
        );
    }
}
