//! What went wrong talking to a registry: whether trying again can help, and the one line that
//! names the cause and the fix.

use oci_client::errors::OciDistributionError;

/// HTTP 429: the registry asks the client to slow down.
const TOO_MANY_REQUESTS: u16 = 429;
const UNAUTHORIZED: u16 = 401;
const FORBIDDEN: u16 = 403;
/// The most of a registry's error body a message quotes.
const QUOTE_LIMIT: usize = 200;

/// The HTTP status behind an error, if the registry answered at all.
pub(crate) fn status(error: &OciDistributionError) -> Option<u16> {
    match error {
        OciDistributionError::ServerError { code, .. } => Some(*code),
        OciDistributionError::RequestError(error) => error.status().map(|status| status.as_u16()),
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => Some(UNAUTHORIZED),
        _ => None,
    }
}

/// Connection failures, 429 and 5xx: worth another try after a pause. A certificate the client
/// does not trust is a connection failure too, but trying again cannot fix it.
pub(crate) fn is_transient(error: &OciDistributionError) -> bool {
    match status(error) {
        Some(code) => is_transient_status(code),
        None => match error {
            OciDistributionError::RequestError(request) => {
                !request.is_builder() && !certificate_in_chain(request)
            }
            OciDistributionError::IoError(_) => true,
            _ => false,
        },
    }
}

/// 429 and 5xx: the registry is overloaded or failing right now.
pub(crate) fn is_transient_status(code: u16) -> bool {
    code == TOO_MANY_REQUESTS || (500..600).contains(&code)
}

/// 401 and 403: the credentials are missing, wrong, or lack the right.
pub(crate) fn is_auth_status(code: u16) -> bool {
    code == UNAUTHORIZED || code == FORBIDDEN
}

/// One line for a failed registry call: `doing` says what was being done ("uploading blob …").
pub(crate) fn explain(
    error: &OciDistributionError,
    registry: &str,
    repository: &str,
    doing: &str,
) -> String {
    if let OciDistributionError::RequestError(request) = error
        && request.status().is_none()
    {
        if certificate_in_chain(request) {
            return format!(
                "{doing}: the TLS certificate of {registry} is not trusted ({}): pass the CA that signed it with --ca-file CA.pem",
                root_cause(request)
            );
        }
        let over_tls = request.url().is_some_and(|url| url.scheme() == "https");
        return format!(
            "{doing}: cannot reach the registry {registry} ({}): check the address and that the registry runs{}",
            root_cause(request),
            if over_tls {
                "; a registry without TLS needs --insecure"
            } else {
                ""
            }
        );
    }
    match status(error) {
        Some(UNAUTHORIZED) => format!(
            "{doing}: {registry} refused the credentials for {repository} (401 Unauthorized): \
             log in with `docker login {registry}` or pass --username U --password-stdin"
        ),
        Some(FORBIDDEN) => format!(
            "{doing}: {registry} denies pushing to {repository} (403 Forbidden): \
             use an account or token with write access to that repository"
        ),
        Some(code) if is_transient(error) => format!(
            "{doing}: {registry} kept failing ({code}{}) after every retry: try again later",
            body(error)
        ),
        Some(code) => format!("{doing}: {registry} refused it ({code}{})", body(error)),
        None => format!("{doing}: {}", describe(error)),
    }
}

/// `: <the registry's error message>`, on one line: the distribution spec's `CODE: message`
/// pairs when the body is its error JSON, else the body itself, shortened.
fn body(error: &OciDistributionError) -> String {
    let OciDistributionError::ServerError { message, .. } = error else {
        return String::new();
    };
    if message.trim().is_empty() {
        return String::new();
    }
    let spec_errors = serde_json::from_str::<serde_json::Value>(message)
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
        one_line(&spec_errors.unwrap_or_else(|| message.clone()))
    )
}

/// One line for any registry error, with its innermost cause ("connection refused") rather than
/// reqwest's outer "error sending request".
pub(crate) fn describe(error: &OciDistributionError) -> String {
    match error {
        OciDistributionError::RequestError(request) if request.status().is_none() => {
            root_cause(request)
        }
        _ => one_line(&error.to_string()),
    }
}

/// A TLS certificate the client does not trust (or a TLS setup that cannot check it).
pub(crate) fn is_certificate_problem(error: &OciDistributionError) -> bool {
    matches!(error, OciDistributionError::RequestError(request) if certificate_in_chain(request))
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

fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    one_line(&cause.to_string())
}

/// `text` on one line, long registry answers shortened.
pub(crate) fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}
