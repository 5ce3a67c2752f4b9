//! Bearer tokens, the distribution spec's token authentication: the registry's challenge names a
//! token server (its realm) and a service; `GET realm?service=S&scope=repository:NAME:pull,push`,
//! with the user's Basic credentials or none, answers a token the registry accepts for a while.
//! An OAuth2 identity token (what `docker login` stores when the token server gives one) is
//! traded instead by the spec's OAuth2 request: a form-encoded `POST realm` with
//! `grant_type=refresh_token`, as docker does it.
//!
//! Where the password may go: the realm is checked before anything is sent to it. A registry
//! reached over HTTPS whose realm is plain HTTP is refused (the password and the token would cross
//! the network readable, a downgrade nobody asked for); a plain-HTTP realm elsewhere than on this
//! machine never gets the password.

use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::blocking::Response;

use super::client::Registry;
use super::client::password_may_travel;
use super::error::{BAD_REQUEST, Failure, UNAUTHORIZED, one_line, retry_after, status_text};
use super::origin::host;
use super::secret::Secret;

/// How long a token lives when its answer does not say (the token spec's default).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The longest a token is used, whatever its answer's `expires_in` says: registries' tokens live
/// minutes (Docker Hub's five), and a server's number must not push a time past what `Instant`
/// can hold (`expires_in: 18446744073709551615` did, and panicked). A token the registry turns
/// down earlier is fetched again anyway.
const MAX_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// A token is renewed this long before it expires: the time a request takes to reach the registry,
/// and some clock difference between the token server and the registry.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5);
/// The most of a token server's answer read: tokens are a few KiB.
const MAX_ANSWER: u64 = 1024 * 1024;
/// Who asks, in an OAuth2 token request (the spec requires a `client_id`; docker sends `docker`).
const CLIENT_ID: &str = "pause-xtask";
/// OAuth2's answer to a refresh token that is no longer good (RFC 6749, 5.2): 400 with this error.
const INVALID_GRANT: &str = "invalid_grant";
/// Every error code OAuth2 defines for a token request (RFC 6749, 5.2): the only text of a token
/// server's answer a message may name.
const OAUTH2_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    INVALID_GRANT,
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

/// A token and until when to use it.
pub(crate) struct Token {
    value: Secret,
    renew_at: Instant,
}

impl Token {
    pub(crate) fn value(&self) -> &Secret {
        &self.value
    }

    /// Whether it is still good for another request. A token that lives shorter than
    /// [`RENEW_BEFORE_EXPIRY`] serves the one request it was fetched for.
    pub(crate) fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

/// Where tokens come from, as a registry's challenge named it, checked.
#[derive(Debug, Clone)]
pub(crate) struct Realm {
    url: Url,
    service: Option<String>,
}

impl Realm {
    /// The realm `realm` of a registry reached at `registry_url`, if the credentials (when there
    /// are any) may go there; the reason otherwise, as [`Failure::Refused`].
    pub(crate) fn check(
        realm: &str,
        service: Option<String>,
        registry_url: &Url,
        registry: &str,
        with_credentials: bool,
    ) -> Result<Realm, Failure> {
        let url = Url::parse(realm).map_err(|_| {
            Failure::Malformed(format!(
                "{registry} names a token realm that is not a URL (`{}`): check the registry's token configuration",
                one_line(realm)
            ))
        })?;
        let shown = shown(&url);
        match url.scheme() {
            "https" => {}
            "http" if registry_url.scheme() == "https" => {
                return Err(Failure::Refused(format!(
                    "{registry} speaks HTTPS but sends clients for tokens to {shown}, plain HTTP, where the password and the token would cross the network readable by anyone: nothing was sent; give the registry an https:// token realm"
                )));
            }
            "http" if with_credentials && !password_may_travel(&url) => {
                return Err(Failure::Refused(format!(
                    "{registry} sends clients for tokens to {shown}, plain HTTP on another machine, where the password would cross the network readable by anyone: nothing was sent; give the registry an https:// token realm"
                )));
            }
            "http" => {}
            _ => {
                return Err(Failure::Malformed(format!(
                    "{registry} names a token realm that is neither https:// nor http:// ({shown}): check the registry's token configuration"
                )));
            }
        }
        Ok(Realm { url, service })
    }

    /// `host[:port]` of the token server, for messages.
    pub(crate) fn host(&self) -> String {
        host(&self.url)
    }

    /// A token for `scope` (`repository:NAME:pull,push`), as the registry's login says or
    /// anonymously. An identity token goes by OAuth2's refresh-token POST, on the client that
    /// follows no redirect; one the token server hands back replaces it for later requests. One
    /// try: the caller retries.
    pub(crate) fn fetch(&self, registry: &Registry, scope: &str) -> Result<Token, Failure> {
        let login = registry.login();
        let with_identity_token = login.as_ref().is_some_and(|login| login.is_identity_token);
        let request = match &login {
            Some(login) if login.is_identity_token => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", CLIENT_ID),
                    ("scope", scope),
                    ("refresh_token", login.password.expose()),
                ];
                if let Some(service) = &self.service {
                    form.push(("service", service));
                }
                registry.oauth_http.post(self.url.clone()).form(&form)
            }
            _ => {
                let mut url = self.url.clone();
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(service) = &self.service {
                        query.append_pair("service", service);
                    }
                    query.append_pair("scope", scope);
                    if let Some(login) = &login {
                        // Docker sends the account too; token servers that log it show who asked.
                        query.append_pair("account", &login.username);
                    }
                }
                let request = registry.http.get(url);
                match &login {
                    Some(login) => {
                        request.basic_auth(&login.username, Some(login.password.expose()))
                    }
                    None => request,
                }
            }
        };
        let at_token_server = |failure: Failure| match failure {
            Failure::Transport { error, .. } => Failure::Transport {
                error,
                token_server: Some(self.host()),
            },
            other => other,
        };
        let fetched_at = Instant::now();
        let response = request
            .send()
            .map_err(|error| at_token_server(Failure::transport(error)))?;
        let code = response.status().as_u16();
        if with_identity_token && (code == UNAUTHORIZED || code == BAD_REQUEST) {
            return Err(self.refused_identity_token(registry, code, response));
        }
        if !response.status().is_success() {
            return Err(Failure::Status {
                code,
                body: String::new(),
                challenge_error: None,
                token_server: Some(self.host()),
                retry_after: retry_after(response.headers()),
            });
        }
        let mut answer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_ANSWER), &mut answer)
            .map_err(|_| {
                Failure::Malformed(format!(
                    "the token server {} broke off its answer",
                    self.host()
                ))
            })?;
        let (token, refresh_token) = parse_answer(&answer, fetched_at).ok_or_else(|| {
            Failure::Malformed(format!(
                "the token server {} answered without a token: check the registry's token realm",
                self.host()
            ))
        })?;
        if let Some(rotated) = refresh_token.filter(|_| with_identity_token) {
            registry.rotate_identity_token(rotated);
        }
        Ok(token)
    }

    /// Why the token server turned the identity token down, from its status and OAuth2's error
    /// code (RFC 6749, 5.2): only a code of that fixed list is named, nothing else of the answer.
    fn refused_identity_token(
        &self,
        registry: &Registry,
        code: u16,
        response: Response,
    ) -> Failure {
        let error = serde_json::from_reader::<_, serde_json::Value>(std::io::Read::take(
            response, MAX_ANSWER,
        ))
        .ok()
        .and_then(|answer| answer.get("error")?.as_str().map(str::to_string))
        .filter(|error| OAUTH2_ERRORS.contains(&error.as_str()));
        let status = match &error {
            Some(error) => format!("{}, {error}", status_text(code)),
            None => status_text(code),
        };
        let login = format!(
            "log in again (`docker login {}`), or pass --username U --password-stdin",
            registry.name
        );
        let host = self.host();
        // invalid_grant is OAuth2's word for a refresh token that is no longer good; a bare 401
        // says the same. Any other code is about the request, which logging in again cannot fix.
        let expired = match error.as_deref() {
            Some(error) => error == INVALID_GRANT,
            None => code == UNAUTHORIZED,
        };
        Failure::Refused(if expired {
            format!(
                "the token server {host} did not take the stored OAuth identity token ({status}): it has expired or been revoked; {login}"
            )
        } else {
            format!(
                "the token server {host} refused the OAuth2 refresh-token request for the stored identity token ({status}): it does not take identity tokens this way; log in with a password (`docker login {}`), or pass --username U --password-stdin",
                registry.name
            )
        })
    }
}

/// The token in a token server's JSON answer (`token`, or OAuth's `access_token`) and when to
/// renew it, from `expires_in` counted from `fetched_at`; and OAuth2's `refresh_token`, when the
/// server hands back a new one. Parsed as a plain JSON value, so that no parse error can quote
/// the answer.
pub(crate) fn parse_answer(answer: &[u8], fetched_at: Instant) -> Option<(Token, Option<Secret>)> {
    let answer: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let token = ["token", "access_token"]
        .iter()
        .find_map(|key| answer.get(key)?.as_str().filter(|token| !token.is_empty()))?;
    let lifetime = answer
        .get("expires_in")
        .and_then(serde_json::Value::as_u64)
        .filter(|seconds| *seconds > 0)
        .map_or(DEFAULT_LIFETIME, Duration::from_secs)
        .min(MAX_LIFETIME);
    let refresh_token = answer
        .get("refresh_token")
        .and_then(serde_json::Value::as_str)
        .filter(|token| !token.is_empty())
        .map(Secret::new);
    let token = Token {
        value: Secret::new(token),
        renew_at: fetched_at + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
    };
    Some((token, refresh_token))
}

/// A URL as messages show it: scheme, host and path, without a query.
fn shown(url: &Url) -> String {
    format!("{}://{}{}", url.scheme(), host(url), url.path())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use reqwest::Url;

    use super::{Realm, parse_answer};
    use crate::registry::error::Failure;

    fn check(realm: &str, registry: &str, with_credentials: bool) -> Result<Realm, Failure> {
        Realm::check(
            realm,
            None,
            &Url::parse(registry).unwrap(),
            "registry.example",
            with_credentials,
        )
    }

    #[test]
    fn credentials_never_go_to_a_plain_http_realm_but_a_local_one() {
        assert!(check("https://auth.example/token", "https://r.example/", true).is_ok());
        let refused = |result: Result<Realm, Failure>| match result {
            Err(Failure::Refused(why)) => why,
            _ => panic!("not refused"),
        };
        let why = refused(check(
            "http://auth.example/token?x=1",
            "https://r.example/",
            false,
        ));
        assert!(why.contains("http://auth.example/token,"), "{why}");
        assert!(why.contains("https://"), "{why}");
        refused(check(
            "http://127.0.0.1:5001/token",
            "https://127.0.0.1:5000/",
            true,
        ));
        refused(check(
            "http://auth.example/token",
            "http://127.0.0.1:5000/",
            true,
        ));
        assert!(
            check(
                "http://127.0.0.1:5001/token",
                "http://127.0.0.1:5000/",
                true
            )
            .is_ok()
        );
        assert!(check("http://auth.example/token", "http://127.0.0.1:5000/", false).is_ok());
        assert!(matches!(
            check("ftp://auth.example/token", "https://r.example/", true),
            Err(Failure::Malformed(_))
        ));
    }

    #[test]
    fn token_answers_and_their_lifetimes() {
        let now = Instant::now();
        let (token, refresh) = parse_answer(br#"{"token":"t1","expires_in":300}"#, now).unwrap();
        assert_eq!(token.value().expose(), "t1");
        assert_eq!(token.renew_at, now + Duration::from_secs(295));
        assert!(refresh.is_none());
        let (oauth, refresh) =
            parse_answer(br#"{"access_token":"t2","refresh_token":"r2"}"#, now).unwrap();
        assert_eq!(oauth.value().expose(), "t2");
        assert_eq!(oauth.renew_at, now + Duration::from_secs(55));
        assert_eq!(refresh.as_ref().map(|token| token.expose()), Some("r2"));
        // A 1-second token is not used again.
        let (short, _) = parse_answer(br#"{"token":"t3","expires_in":1}"#, now).unwrap();
        assert!(!short.is_fresh());
        // A server's number cannot overflow the clock: a lifetime is at most an hour.
        let (long, _) =
            parse_answer(br#"{"token":"t4","expires_in":18446744073709551615}"#, now).unwrap();
        assert_eq!(long.renew_at, now + Duration::from_secs(3595));
        assert!(parse_answer(br#"{"token":""}"#, now).is_none());
        assert!(parse_answer(b"<html>", now).is_none());
    }
}
