//! A connection to one registry: HTTPS through rustls with the ring provider and an extra CA from
//! `--ca-file`; plain HTTP only for loopback registries (or with `--insecure`), and only when the
//! registry does not speak TLS, as docker decides for its insecure registries. Connecting asks
//! `/v2/` how to log in; a `session::Session` then works on one repository.
//!
//! Our own small client on reqwest rather than a registry client crate: a push needs a handful of
//! calls, and owning them is what lets every call be retried, every token fetch checked and
//! retried, and no error quote a secret.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use reqwest::Url;
use reqwest::blocking::Client;
use reqwest::header::CONNECTION;
use reqwest::redirect::Policy;

use super::challenge::{self, Challenge};
use super::credentials::Credentials;
use super::error::{
    Failure, Subject, UNAUTHORIZED, explain, is_transient_status, retry_after, status_text,
};
use super::origin::{self, redirect_target, same_registry};
use super::retry::retry;
use super::secret::Secret;
use crate::exit_status::{self, ExitStatus};
use crate::named_file;
use crate::oci::reference;

/// How long connecting may take before it counts as a failed (and retried) attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take before the attempt counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The line that starts a certificate in a PEM file.
const PEM_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";
/// The most of a `--ca-file` read: a whole system bundle of ~150 CAs is about 200 KiB.
const MAX_CA_FILE: u64 = 4 << 20;
const USER_AGENT: &str = concat!("pause-xtask/", env!("CARGO_PKG_VERSION"));
/// HTTP 200, the answer of a `/v2/` that lets everyone in.
const OK: u16 = 200;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Plain HTTP even for a registry that is not on loopback.
    pub insecure: bool,
    /// A CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// A registry that answered `/v2/`.
pub struct Registry {
    /// Follows redirects within the registry only (`origin::within_the_registry`).
    pub(crate) http: Client,
    /// `https://host[:port]/` or `http://...`: where its API answers.
    pub(crate) base: Url,
    /// As the user named it (`docker.io`, not its API host): for messages.
    pub(crate) name: String,
    pub(crate) credentials: Option<Credentials>,
    /// The identity token a token server handed back in place of the stored one (OAuth2 servers
    /// may rotate refresh tokens): later exchanges, in any session, use it.
    rotated_identity_token: Mutex<Option<Secret>>,
    /// The same client following no redirect, for OAuth2 token requests: their refresh token
    /// travels in the body, which a 307 or 308 would make reqwest send on to wherever it points.
    pub(crate) oauth_http: Client,
    /// A client for what the registry sends elsewhere (a CDN serving its blobs): no request on it
    /// ever carries credentials, so it may follow redirects anywhere.
    pub(crate) cdn_http: Client,
    /// How `/v2/` said to log in; None when it let us in as we were.
    pub(crate) challenge: Option<Challenge>,
}

impl Registry {
    /// Finds out how the registry `name` (`host[:port]`, Docker Hub by any of its names) is
    /// reached and how it wants clients to log in, retrying connection failures, 429 and 5xx.
    /// `credentials` are used when it asks for them.
    pub fn connect(
        name: &str,
        options: &ConnectOptions,
        credentials: Option<Credentials>,
    ) -> Result<Registry> {
        let name = reference::canonical_registry(name).to_string();
        let api_host = reference::api_host(&name).to_string();
        // reqwest is built without a crypto provider (ring keeps the build free of cmake and
        // aws-lc); installing it a second time changes nothing.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let extra_ca = match &options.ca_file {
            Some(path) => read_ca(path)?,
            None => Vec::new(),
        };
        let client = |redirects: Policy| {
            let mut builder = Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .user_agent(USER_AGENT)
                .redirect(redirects);
            if !extra_ca.is_empty() {
                builder = builder.tls_certs_merge(extra_ca.clone());
            }
            builder.build().context("setting up the HTTP client")
        };
        let http = client(origin::within_the_registry())?;
        let oauth_http = client(Policy::none())?;
        let cdn_http = client(origin::anywhere())?;
        let may_be_plain = options.insecure || is_loopback(&api_host);
        let doing = format!("contacting {name}");
        let (base, challenge) =
            retry(&doing, || probe(&http, &api_host, may_be_plain)).map_err(|failure| {
                let subject = Subject {
                    registry: &name,
                    repository: "",
                    with_credentials: credentials.is_some(),
                };
                exit_status::error(ExitStatus::Registry, explain(&failure, &subject, &doing))
            })?;
        Ok(Registry {
            http,
            base,
            name,
            credentials,
            rotated_identity_token: Mutex::new(None),
            oauth_http,
            cdn_http,
            challenge,
        })
    }

    /// The credentials to log in with now: the stored ones, with the identity token a token
    /// server last handed back in place of theirs.
    pub(crate) fn login(&self) -> Option<Credentials> {
        let rotated = self
            .rotated_identity_token
            .lock()
            .map(|rotated| rotated.clone())
            .unwrap_or_default();
        let credentials = self.credentials.clone()?;
        Some(match rotated {
            Some(token) if credentials.is_identity_token => Credentials {
                password: token,
                ..credentials
            },
            _ => credentials,
        })
    }

    /// Keeps `token`, handed back by a token server, as the identity token from now on.
    pub(crate) fn rotate_identity_token(&self, token: Secret) {
        if let Ok(mut rotated) = self.rotated_identity_token.lock() {
            *rotated = Some(token);
        }
    }

    /// `/v2/<path>` at the registry.
    pub(crate) fn url(&self, path: &str) -> Url {
        self.base
            .join(&format!("v2/{path}"))
            .expect("registry paths are relative URLs")
    }

    /// Whether `url` is on the registry itself (same scheme, host and port, or Docker Hub's hosts
    /// for Docker Hub): only there do its credentials go, and only from there is a challenge
    /// answered.
    pub(crate) fn owns(&self, url: &Url) -> bool {
        same_registry(&self.base, url)
    }
}

/// The registry's base URL and its challenge: HTTPS if it answers that; plain HTTP when allowed and
/// TLS failed for another reason than an untrusted certificate (that is the user's to fix, with
/// --ca-file).
fn probe(
    http: &Client,
    api_host: &str,
    may_be_plain: bool,
) -> Result<(Url, Option<Challenge>), Failure> {
    let base = |scheme: &str| {
        Url::parse(&format!("{scheme}://{api_host}/"))
            .map_err(|_| Failure::Malformed(format!("`{api_host}` is not a host name")))
    };
    let https = base("https")?;
    match ask_v2(http, &https) {
        Err(failure @ Failure::Transport { .. })
            if may_be_plain && !failure.is_certificate_problem() =>
        {
            let http_base = base("http")?;
            ask_v2(http, &http_base).map(|challenge| (http_base, challenge))
        }
        result => result.map(|challenge| (https, challenge)),
    }
}

/// `GET /v2/`: 200 lets everyone in, 401 says how to log in. A redirect to another host is
/// refused: the challenge found there would pick where the credentials go.
fn ask_v2(http: &Client, base: &Url) -> Result<Option<Challenge>, Failure> {
    let url = base.join("v2/").expect("a relative path");
    // Its own connection: the probe is over before the session's first call.
    let response = http
        .get(url)
        .header(CONNECTION, "close")
        .send()
        .map_err(Failure::transport)?;
    if let Some(target) = redirect_target(&response) {
        return Err(Failure::Refused(format!(
            "{} redirects /v2/ to {}, another host: credentials go only to the registry the reference names, so nothing was sent there; if {} is the registry, name it in the reference",
            origin::host(base),
            origin::host(&target),
            origin::host(&target)
        )));
    }
    let code = response.status().as_u16();
    match code {
        OK => Ok(None),
        UNAUTHORIZED => challenge::from_headers(response.headers())
            .map(Some)
            .ok_or_else(|| {
                Failure::Malformed(format!(
                    "{} answered 401 to /v2/ without saying how to log in (no Basic or Bearer WWW-Authenticate challenge)",
                    base.host_str().unwrap_or_default()
                ))
            }),
        code if is_transient_status(code) => Err(Failure::Status {
            code,
            body: String::new(),
            challenge_error: None,
            token_server: None,
            retry_after: retry_after(response.headers()),
        }),
        code => Err(Failure::Malformed(format!(
            "{} answered {} to /v2/, where a registry answers 200 or 401: check the address",
            base.host_str().unwrap_or_default(),
            status_text(code)
        ))),
    }
}

fn read_ca(path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let pem = named_file::read(path, MAX_CA_FILE)
        .with_context(|| format!("cannot read --ca-file {}", path.display()))?;
    let not_pem = || {
        anyhow!(
            "--ca-file {} holds no PEM certificate: pass the CA's certificate in PEM",
            path.display()
        )
    };
    if !String::from_utf8_lossy(&pem).contains(PEM_CERTIFICATE) {
        return Err(not_pem());
    }
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| not_pem())
}

/// Whether a password may be sent to `url`: over HTTPS, or over plain HTTP to this machine alone
/// (nothing crosses a network there).
pub(crate) fn password_may_travel(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        // host_str() spells IPv6 addresses in brackets, as is_loopback reads them.
        "http" => url.host_str().is_some_and(is_loopback),
        _ => false,
    }
}

/// `localhost[:port]`, `127.x.y.z[:port]` or `[::1][:port]`: registries on this machine, which
/// docker and containerd also let speak plain HTTP.
pub(crate) fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use reqwest::Url;

    use super::{is_loopback, password_may_travel};

    #[test]
    fn passwords_travel_over_https_or_stay_on_this_machine() {
        for (url, may) in [
            ("https://ghcr.io/v2/", true),
            ("https://10.0.0.1:5000/v2/", true),
            ("http://127.0.0.1:5000/v2/", true),
            ("http://localhost:5000/v2/", true),
            ("http://[::1]:5000/v2/", true),
            ("http://10.0.0.1:5000/v2/", false),
            ("http://registry.example/v2/", false),
            ("ftp://127.0.0.1/", false),
        ] {
            assert_eq!(password_may_travel(&Url::parse(url).unwrap()), may, "{url}");
        }
        assert!(is_loopback("127.0.0.1:5000") && is_loopback("[::1]:5000"));
        assert!(!is_loopback("127.example:5000") && !is_loopback("10.0.0.1"));
    }
}
