//! What went wrong talking to a registry or its token server: whether trying again can help, and
//! the one line that names the cause and the fix. Nothing here quotes a request: the only text
//! from the other side is a registry's error message, and never a token server's answer.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::escape::{Escaped, escaped};

/// HTTP 429: the server asks the client to slow down.
const TOO_MANY_REQUESTS: u16 = 429;
pub(crate) const BAD_REQUEST: u16 = 400;
pub(crate) const UNAUTHORIZED: u16 = 401;
pub(crate) const FORBIDDEN: u16 = 403;
pub(crate) const NOT_FOUND: u16 = 404;
/// The longest `Retry-After` a push waits out: a server that asks for more (Docker Hub's rate
/// limit asks for hours) is not retried, and the line says when to push again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The most of a registry's error body a message quotes.
const QUOTE_LIMIT: usize = 200;
/// The `error` of a Bearer challenge whose token lacks a right it needs.
pub(crate) const INSUFFICIENT_SCOPE: &str = "insufficient_scope";

/// A failed call.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No HTTP answer: the connection failed, broke or timed out, or TLS failed. `token_server` is
    /// the token server's host when it was the one called.
    Transport {
        error: reqwest::Error,
        token_server: Option<String>,
    },
    /// An answer with a status the call cannot use. `body` is a registry's error message (empty
    /// for a token server's answer, which is never quoted); `challenge_error` the `error` of its
    /// Bearer challenge; `retry_after` the wait its `Retry-After` header asks for.
    Status {
        code: u16,
        body: String,
        challenge_error: Option<String>,
        token_server: Option<String>,
        retry_after: Option<Duration>,
    },
    /// Refused here, before anything was sent, or turned down by the other side for a reason
    /// another try cannot change: the text says what and why.
    Refused(String),
    /// An answer that breaks the protocol: the text says how.
    Malformed(String),
}

impl Failure {
    pub(crate) fn transport(error: reqwest::Error) -> Failure {
        Failure::Transport {
            error,
            token_server: None,
        }
    }

    /// The HTTP status behind it, if the server answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Failure::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Connection failures, 429 and 5xx: worth another try after a pause. A certificate the
    /// client does not trust is a connection failure too, but trying again cannot fix it; nor
    /// can it reach a port where nothing listens: the host itself refused the connection, at
    /// once, and will refuse the next one (a wrong port, a registry not started).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Failure::Transport { error, .. } => {
                !error.is_builder() && !certificate_in_chain(error) && !refused_connection(error)
            }
            Failure::Status {
                code, retry_after, ..
            } => {
                is_transient_status(*code) && retry_after.is_none_or(|wait| wait <= MAX_RETRY_AFTER)
            }
            Failure::Refused(_) | Failure::Malformed(_) => false,
        }
    }

    /// How long the server asked to wait before the next try, when it said.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A TLS certificate the client does not trust (or a TLS setup that cannot check it).
    pub(crate) fn is_certificate_problem(&self) -> bool {
        matches!(self, Failure::Transport { error, .. } if certificate_in_chain(error))
    }
}

/// 429 and 5xx: the server is overloaded or failing right now.
pub(crate) fn is_transient_status(code: u16) -> bool {
    code == TOO_MANY_REQUESTS || (500..600).contains(&code)
}

/// The wait a `Retry-After: SECONDS` header asks for. The HTTP-date form, which registries do
/// not send, reads as none: the usual backoff applies then.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// Who a message is about: the registry as the user named it, the repository, and whether any
/// credentials were given (a 401 then means wrong ones, else missing ones).
pub(crate) struct Subject<'a> {
    pub(crate) registry: &'a str,
    pub(crate) repository: &'a str,
    pub(crate) with_credentials: bool,
}

/// One line for a failed call: `doing` says what was being done ("uploading blob …").
pub(crate) fn explain(failure: &Failure, subject: &Subject<'_>, doing: &str) -> String {
    let Subject {
        registry,
        repository,
        with_credentials,
    } = *subject;
    let login =
        format!("log in with `docker login {registry}` or pass --username U --password-stdin");
    match failure {
        Failure::Refused(why) | Failure::Malformed(why) => format!("{doing}: {why}"),
        Failure::Transport {
            error,
            token_server,
        } => {
            let server = match token_server {
                Some(host) => format!("the token server {host} of {registry}"),
                None => format!("the registry {registry}"),
            };
            if certificate_in_chain(error) {
                return format!(
                    "{doing}: the TLS certificate of {server} is not trusted ({}): pass the CA that signed it with --ca-file CA.pem",
                    root_cause(error)
                );
            }
            let over_tls = error.url().is_some_and(|url| url.scheme() == "https");
            format!(
                "{doing}: cannot reach {server} ({}): check the address and that it runs{}",
                root_cause(error),
                if over_tls && token_server.is_none() {
                    "; a registry without TLS needs --insecure"
                } else {
                    ""
                }
            )
        }
        Failure::Status {
            code,
            token_server: Some(host),
            ..
        } => {
            let status = status_text(*code);
            match *code {
                UNAUTHORIZED | FORBIDDEN if with_credentials => format!(
                    "{doing}: {registry} refused the credentials for {repository}: its token server {host} answered {status}; {login}"
                ),
                UNAUTHORIZED | FORBIDDEN => format!(
                    "{doing}: the token server {host} of {registry} refused an anonymous login ({status}); {login}"
                ),
                code if is_transient_status(code) => format!(
                    "{doing}: the token server {host} of {registry} {}",
                    still_failing(&status, failure.retry_after())
                ),
                _ => format!(
                    "{doing}: the token server {host} of {registry} answered {status} instead of a token: check the registry's token realm"
                ),
            }
        }
        Failure::Status {
            code,
            body,
            challenge_error,
            token_server: None,
            ..
        } => {
            let status = format!("{}{}", status_text(*code), quoted(body));
            match *code {
                UNAUTHORIZED
                    if with_credentials
                        && challenge_error.as_deref() == Some(INSUFFICIENT_SCOPE) =>
                {
                    format!(
                        "{doing}: {registry} does not let these credentials push to {repository} ({status}, {INSUFFICIENT_SCOPE}): use an account or token with write access to it; {login}"
                    )
                }
                UNAUTHORIZED if with_credentials => format!(
                    "{doing}: {registry} refused the credentials for {repository} ({status}): {login}"
                ),
                UNAUTHORIZED => format!(
                    "{doing}: {registry} needs credentials for {repository} ({status}) and none were given or stored for it: {login}"
                ),
                FORBIDDEN => format!(
                    "{doing}: {registry} denies access to {repository} ({status}): use an account or token with write access to that repository"
                ),
                code if is_transient_status(code) => format!(
                    "{doing}: {registry} {}",
                    still_failing(&status, failure.retry_after())
                ),
                _ => format!("{doing}: {registry} refused it ({status})"),
            }
        }
    }
}

/// Why a server that answered 429 or 5xx was left: it asked for too long a wait, or it kept
/// failing through every retry.
fn still_failing(status: &str, retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) if wait > MAX_RETRY_AFTER => format!(
            "answered {status} and asks to be tried again in {} s, longer than this command waits ({} s): try again after that",
            wait.as_secs(),
            MAX_RETRY_AFTER.as_secs()
        ),
        _ => format!("kept failing ({status}) after every retry: try again later"),
    }
}

/// One line for a failure about to be retried: the cause alone.
pub(crate) fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Transport { error, .. } => root_cause(error),
        Failure::Status {
            code, token_server, ..
        } => match token_server {
            Some(host) => format!("the token server {host} answered {}", status_text(*code)),
            None => status_text(*code),
        },
        Failure::Refused(why) | Failure::Malformed(why) => why.clone(),
    }
}

/// `503 Service Unavailable`.
pub(crate) fn status_text(code: u16) -> String {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|status| status.canonical_reason());
    match reason {
        Some(reason) => format!("{code} {reason}"),
        None => code.to_string(),
    }
}

/// `: <the registry's error message>`, on one line: the distribution spec's `CODE: message`
/// pairs when the body is its error JSON, else the body itself, shortened.
fn quoted(body: &str) -> String {
    if body.trim().is_empty() {
        return String::new();
    }
    let spec_errors = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|body| {
            let errors = body.get("errors")?.as_array()?.iter().map(|entry| {
                let text = |key: &str| {
                    entry
                        .get(key)
                        .and_then(|value| value.as_str())
                        .unwrap_or_default()
                        .to_string()
                };
                format!("{}: {}", text("code"), text("message"))
            });
            Some(errors.collect::<Vec<_>>().join("; "))
        });
    format!(
        ": {}",
        one_line(&spec_errors.unwrap_or_else(|| body.to_string()))
    )
}

/// Whether the connection was refused (`ECONNREFUSED`): nothing listens at that address.
fn refused_connection(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn certificate_in_chain(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if cause.to_string().to_lowercase().contains("certificate") {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The innermost cause ("connection refused") rather than reqwest's outer "error sending
/// request", which also repeats the URL.
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    one_line(&cause.to_string())
}

/// `text` on one line, long answers shortened, every control character left in it escaped: the
/// text came from the other side, and a terminal would act on an escape in it.
pub(crate) fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}…", Escaped(&flat[..cut])),
        None => escaped(&flat),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Failure, Subject, explain};

    fn status(code: u16, token_server: Option<&str>, challenge_error: Option<&str>) -> Failure {
        Failure::Status {
            retry_after: None,
            code,
            body: r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                .into(),
            challenge_error: challenge_error.map(str::to_string),
            token_server: token_server.map(str::to_string),
        }
    }

    #[test]
    fn every_refusal_is_one_line_naming_the_fix() {
        let subject = |with_credentials| Subject {
            registry: "docker.io",
            repository: "bob/pause",
            with_credentials,
        };
        for (failure, with_credentials, expected) in [
            (status(401, None, None), true, "refused the credentials"),
            (status(401, None, None), false, "needs credentials"),
            (
                status(401, None, Some("insufficient_scope")),
                true,
                "does not let these credentials push",
            ),
            (
                status(401, Some("auth.docker.io"), None),
                true,
                "its token server auth.docker.io answered 401 Unauthorized",
            ),
            (
                status(503, Some("auth.docker.io"), None),
                true,
                "kept failing (503 Service Unavailable)",
            ),
            (status(403, None, None), true, "denies access"),
            (
                Failure::Status {
                    code: 429,
                    body: String::new(),
                    challenge_error: None,
                    token_server: None,
                    retry_after: Some(Duration::from_secs(3600)),
                },
                true,
                "asks to be tried again in 3600 s",
            ),
        ] {
            let line = explain(&failure, &subject(with_credentials), "logging in");
            assert!(line.contains(expected), "{line}");
            assert!(!line.contains('\n'), "{line}");
            assert!(line.starts_with("logging in: "), "{line}");
            if failure.status() == Some(401) {
                assert!(line.contains("docker login docker.io"), "{line}");
            }
        }
    }

    #[test]
    fn a_registrys_error_text_is_quoted_escaped() {
        for body in [
            r#"{"errors":[{"code":"DENIED\u001b]0;pwned\u0007","message":"\u009b2J\u007f"}]}"#,
            "DENIED\x1b]0;pwned\x07 \u{9b}2J\x7f",
        ] {
            let line = explain(
                &Failure::Status {
                    code: 400,
                    body: body.to_string(),
                    challenge_error: None,
                    token_server: None,
                    retry_after: None,
                },
                &Subject {
                    registry: "r.example",
                    repository: "pause",
                    with_credentials: false,
                },
                "pushing",
            );
            assert!(
                line.contains("DENIED\\u{1b}]0;pwned\\u{7}") && line.contains("\\u{9b}2J\\u{7f}"),
                "{line}"
            );
        }
    }

    #[test]
    fn a_token_servers_answer_is_never_quoted() {
        let line = explain(
            &status(401, Some("auth.docker.io"), None),
            &Subject {
                registry: "docker.io",
                repository: "bob/pause",
                with_credentials: true,
            },
            "logging in",
        );
        assert!(!line.contains("authentication required"), "{line}");
    }
}
