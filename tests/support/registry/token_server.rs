//! A token server for the reference registry's token authentication (`auth: token:`), as Docker
//! Hub, GHCR or Harbor run one: `GET /token?service=S&scope=repository:NAME:pull,push` with Basic
//! credentials answers a JWT, signed by a certificate from the test's CA (see [`crate::registry::jwt`]), that
//! grants one user pull and push on the repositories it asks for. Anonymous requests get a token
//! that grants nothing, as on Docker Hub; wrong credentials get 401. Once given an identity token,
//! it also answers the spec's OAuth2 request, a form `POST /token` with
//! `grant_type=refresh_token&refresh_token=...&client_id=...`, as the user's; another refresh token
//! gets OAuth2's `400 {"error":"invalid_grant"}`, a request without `client_id` (which the spec
//! requires) `400 {"error":"invalid_request"}`. It can rotate refresh tokens: hand back a new one
//! with every exchange and take only that one from then on.
//!
//! It can fail on purpose: answer 503 or drop the connection for the next requests, issue short-
//! lived tokens, or tokens the registry already considers expired. It logs every request (never a
//! password) and keeps every token it issued, so that tests can look for them in output.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::registry::jwt::Signer;
use crate::registry::loopback_http::{HttpServer, Reply, Request};
use crate::registry::pki::{Pki, Usage};

/// The registry's name for itself in tokens (`aud`) and challenges (`service`).
pub const SERVICE: &str = "pause-tests-registry";
/// Who issues the tokens (`iss`), as the registry's config names it.
pub const ISSUER: &str = "pause-tests-token-server";
/// Where tokens are asked for.
const TOKEN_PATH: &str = "/token";
/// The clock skew the reference registry tolerates past a token's `exp` (distribution's token
/// `Leeway`): a token meant to die at a given time is backdated by it.
const REGISTRY_LEEWAY: Duration = Duration::from_secs(60);
/// How long tokens live unless told otherwise: Docker Hub's five minutes.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// OAuth2's grant type for trading a refresh (identity) token.
const REFRESH_TOKEN_GRANT: &str = "refresh_token";
/// The actions a token may grant on a repository.
const GRANTABLE: &[&str] = &["pull", "push"];

/// How the next requests fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `503 Service Unavailable`.
    Unavailable,
    /// The connection is closed without an answer.
    Drop,
}

/// One request the token server got, as its log shows it.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The user its Basic credentials named, or None for an anonymous request.
    pub user: Option<String>,
    /// The OAuth2 `grant_type` of a form POST; None for a GET.
    pub grant: Option<String>,
    /// The status it was answered with; None when it was dropped.
    pub status: Option<u16>,
    pub service: Option<String>,
    pub scopes: Vec<String>,
}

impl fmt::Display for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (method, user) = match (&self.grant, &self.user) {
            (Some(grant), _) => ("POST", format!("grant_type={grant}")),
            (None, Some(user)) => ("GET", format!("Basic {user}")),
            (None, None) => ("GET", "anonymous".to_string()),
        };
        let status = self
            .status
            .map_or_else(|| "dropped".to_string(), |status| status.to_string());
        write!(
            f,
            "{method} {TOKEN_PATH} service={} scope={} auth={user} -> {status}",
            self.service.as_deref().unwrap_or("-"),
            self.scopes.join(" ")
        )
    }
}

struct State {
    faults: VecDeque<Fault>,
    lifetime: Duration,
    dead_tokens: usize,
    identity_token: Option<String>,
    rotate_identity_tokens: bool,
    requests: Vec<TokenRequest>,
    tokens: Vec<String>,
}

pub struct TokenServer {
    http: HttpServer,
    state: Arc<Mutex<State>>,
}

impl TokenServer {
    /// Serves tokens for `user` with `password`, over TLS with a certificate from `pki` when `tls`
    /// (over plain HTTP otherwise), signed with a signing certificate from `pki`: the registry's
    /// `rootcertbundle` is `pki`'s CA.
    pub fn start(pki: &Pki, tls: bool, user: &str, password: &str) -> TokenServer {
        let signing = pki.issue("token-signer", Usage::Signing, &[]);
        let signer = Signer::load(&signing.cert, &signing.key);
        let server_cert = tls.then(|| pki.issue("token-server", Usage::Server, &[]));
        let state = Arc::new(Mutex::new(State {
            faults: VecDeque::new(),
            lifetime: DEFAULT_LIFETIME,
            dead_tokens: 0,
            identity_token: None,
            rotate_identity_tokens: false,
            requests: Vec::new(),
            tokens: Vec::new(),
        }));
        let handler = {
            let state = state.clone();
            let (user, password) = (user.to_string(), password.to_string());
            Arc::new(move |request: &Request| {
                let mut state = state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                answer(&mut state, request, &signer, &user, &password)
            })
        };
        TokenServer {
            http: HttpServer::start(server_cert.as_ref(), handler),
            state,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.http.host()
    }

    /// The URL the registry's challenges send clients to.
    pub fn realm(&self) -> String {
        self.http.url(TOKEN_PATH)
    }

    /// Fails the next requests, one fault each, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state().faults.extend(faults);
    }

    /// How many planned faults have not happened yet.
    pub fn faults_left(&self) -> usize {
        self.state().faults.len()
    }

    /// Tokens from now on live `lifetime`: `expires_in` says so, and the registry stops accepting
    /// them then (give or take a second).
    pub fn set_lifetime(&self, lifetime: Duration) {
        self.state().lifetime = lifetime;
    }

    /// The next `count` tokens are expired for the registry from the start, though `expires_in`
    /// promises the usual lifetime: as with a token server whose clock runs ahead, or a token
    /// revoked early.
    pub fn issue_dead(&self, count: usize) {
        self.state().dead_tokens += count;
    }

    /// From now on, OAuth2 requests that present `token` as their refresh token get the user's
    /// tokens, as from a token server that handed the user this identity token at `docker login`.
    pub fn accept_identity_token(&self, token: &str) {
        self.state().identity_token = Some(token.to_string());
    }

    /// From now on every OAuth2 exchange hands back a new refresh token, and only the newest is
    /// taken: as OAuth2 servers that rotate refresh tokens do.
    pub fn rotate_identity_tokens(&self) {
        self.state().rotate_identity_tokens = true;
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state().requests.clone()
    }

    /// Every token issued so far.
    pub fn tokens(&self) -> Vec<String> {
        self.state().tokens.clone()
    }

    /// The log, a line per request.
    pub fn log(&self) -> String {
        self.requests()
            .iter()
            .map(|request| format!("{request}\n"))
            .collect()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn answer(
    state: &mut State,
    request: &Request,
    signer: &Signer,
    user: &str,
    password: &str,
) -> Reply {
    let presented = basic_credentials(request);
    // An OAuth2 request carries its parameters in the form body, a GET in the query.
    let oauth = request.method == "POST";
    let parameter = |key: &str| {
        if oauth {
            request.form(key)
        } else {
            request.query(key)
        }
    };
    let mut logged = TokenRequest {
        user: presented.as_ref().map(|(name, _)| name.clone()),
        grant: oauth.then(|| parameter("grant_type").concat()),
        status: None,
        service: parameter("service").into_iter().next(),
        scopes: parameter("scope")
            .iter()
            .flat_map(|scope| scope.split_whitespace().map(str::to_string))
            .collect(),
    };
    let reply = if let Some(fault) = state.faults.pop_front() {
        match fault {
            Fault::Unavailable => Reply::json(
                503,
                "Service Unavailable",
                &json!({"errors": [{"code": "UNAVAILABLE", "message": "try again"}]}),
            ),
            Fault::Drop => Reply::Drop,
        }
    } else if request.path() != TOKEN_PATH {
        Reply::json(
            404,
            "Not Found",
            &json!({"errors": [{"code": "NOT_FOUND"}]}),
        )
    } else if oauth {
        let refresh_token = parameter("refresh_token").concat();
        let granted = logged.grant.as_deref() == Some(REFRESH_TOKEN_GRANT)
            && state.identity_token.as_deref() == Some(refresh_token.as_str());
        if parameter("client_id").concat().is_empty() {
            Reply::json(
                400,
                "Bad Request",
                &json!({"error": "invalid_request", "error_description": "client_id is required"}),
            )
        } else if granted {
            let rotated = state.rotate_identity_tokens.then(|| {
                let next = format!("pause-tests-refresh-token-{}", state.tokens.len());
                state.identity_token = Some(next.clone());
                state.tokens.push(next.clone());
                next
            });
            issue(state, signer, &logged, Some(user), rotated.as_deref())
        } else {
            Reply::json(
                400,
                "Bad Request",
                &json!({"error": "invalid_grant", "error_description": "unknown refresh token"}),
            )
        }
    } else {
        match presented {
            Some((name, secret)) if name == user && secret == password => {
                issue(state, signer, &logged, Some(user), None)
            }
            Some(_) => Reply::Answer {
                status: 401,
                reason: "Unauthorized",
                headers: vec![(
                    "WWW-Authenticate".into(),
                    format!("Basic realm=\"{ISSUER}\""),
                )],
                body: json!({"errors": [{"code": "UNAUTHORIZED", "message": "wrong user name or password"}]})
                    .to_string()
                    .into_bytes(),
            },
            None => issue(state, signer, &logged, None, None),
        }
    };
    logged.status = match &reply {
        Reply::Answer { status, .. } | Reply::Endless { status, .. } => Some(*status),
        Reply::Drop => None,
    };
    state.requests.push(logged);
    reply
}

/// A signed token for `user` (None: anonymous, granted nothing) and its JSON answer, with a new
/// OAuth2 `refresh_token` when one is given.
fn issue(
    state: &mut State,
    signer: &Signer,
    request: &TokenRequest,
    user: Option<&str>,
    refresh_token: Option<&str>,
) -> Reply {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_secs();
    let leeway = REGISTRY_LEEWAY.as_secs();
    let lifetime = state.lifetime;
    // The registry accepts a token until `exp` + its leeway: backdate `exp` by the leeway, and round
    // up to the next second so that a token never dies before its `expires_in`.
    let expires = if state.dead_tokens > 0 {
        state.dead_tokens -= 1;
        now - leeway - 1
    } else {
        now + lifetime.as_secs() + 1 - leeway
    };
    let access: Vec<serde_json::Value> = match user {
        Some(_) => request
            .scopes
            .iter()
            .filter_map(|scope| {
                let mut parts = scope.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                let granted: Vec<&str> = actions
                    .split(',')
                    .filter(|action| GRANTABLE.contains(action))
                    .collect();
                (kind == "repository")
                    .then(|| json!({"type": kind, "name": name, "actions": granted}))
            })
            .collect(),
        None => Vec::new(),
    };
    let claims = json!({
        "iss": ISSUER,
        "sub": user.unwrap_or_default(),
        "aud": request.service.as_deref().unwrap_or_default(),
        "exp": expires,
        "nbf": now,
        "iat": now,
        "jti": format!("pause-tests-{}", state.tokens.len()),
        "access": access,
    });
    let token = signer.sign(&claims);
    state.tokens.push(token.clone());
    let mut answer =
        json!({"token": token, "access_token": token, "expires_in": lifetime.as_secs()});
    if let Some(refresh_token) = refresh_token {
        answer["refresh_token"] = json!(refresh_token);
    }
    Reply::json(200, "OK", &answer)
}

/// The user name and password of a request's `Authorization: Basic`, if it has one.
fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let encoded = request.header("authorization")?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
