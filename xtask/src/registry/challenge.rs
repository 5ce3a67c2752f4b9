//! `WWW-Authenticate` challenges (RFC 7235), how a registry's 401 says to log in: `Basic
//! realm="..."`, or `Bearer realm="https://auth.example/token",service="...",scope="..."` for
//! token authentication (the distribution spec's, what Docker Hub, GHCR, Quay and Harbor use).

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// The user name and password on every request.
    Basic,
    /// A token from the token server at `realm`, for `service`; `error` says why a token was
    /// refused (`invalid_token`, `insufficient_scope`).
    Bearer {
        realm: String,
        service: Option<String>,
        error: Option<String>,
    },
}

/// The challenge to answer among a response's `WWW-Authenticate` headers: Bearer before Basic (a
/// token keeps the password off the registry's requests), None when there is none we know.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Challenge> {
    let offered: Vec<Challenge> = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(parse)
        .collect();
    offered
        .iter()
        .find(|challenge| matches!(challenge, Challenge::Bearer { .. }))
        .or_else(|| offered.first())
        .cloned()
}

/// The challenges in one header value that this client can answer.
pub(crate) fn parse(value: &str) -> Vec<Challenge> {
    raw_challenges(value)
        .into_iter()
        .filter_map(|(scheme, params)| {
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.clone())
            };
            if scheme.eq_ignore_ascii_case("basic") {
                Some(Challenge::Basic)
            } else if scheme.eq_ignore_ascii_case("bearer") {
                Some(Challenge::Bearer {
                    realm: param("realm")?,
                    service: param("service"),
                    error: param("error"),
                })
            } else {
                None
            }
        })
        .collect()
}

type Params = Vec<(String, String)>;

/// `scheme param=value, param="quoted", Scheme2 param=...` as (scheme, params) pairs. A comma
/// separates both parameters and challenges: a token followed by `=` is a parameter, else it
/// starts the next challenge.
fn raw_challenges(value: &str) -> Vec<(String, Params)> {
    let mut rest = value;
    let mut challenges: Vec<(String, Params)> = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let (scheme, after) = take_token(rest);
        if scheme.is_empty() {
            break;
        }
        rest = after;
        let mut params = Vec::new();
        loop {
            let before = rest;
            rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            let (name, after_name) = take_token(rest);
            let after_name = after_name.trim_start();
            let Some(after_equals) = after_name.strip_prefix('=').filter(|_| !name.is_empty())
            else {
                // Not `name=`: the next challenge (or the end).
                rest = before;
                break;
            };
            let (value, after_value) = take_value(after_equals.trim_start());
            params.push((name.to_string(), value));
            rest = after_value;
        }
        challenges.push((scheme.to_string(), params));
    }
    challenges
}

/// An RFC 7230 token at the start of `text`, and what follows it.
fn take_token(text: &str) -> (&str, &str) {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let end = text.find(|c: char| !is_token_char(c)).unwrap_or(text.len());
    text.split_at(end)
}

/// A quoted string (backslash escapes undone) or a token, and what follows it.
fn take_value(text: &str) -> (String, &str) {
    let Some(quoted) = text.strip_prefix('"') else {
        let (token, rest) = take_token(text);
        return (token.to_string(), rest);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[at + 1..]),
            '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
            c => value.push(c),
        }
    }
    // No closing quote: the rest is the value.
    (value, "")
}

#[cfg(test)]
mod tests {
    use super::{Challenge, parse};

    fn bearer(realm: &str, service: Option<&str>, error: Option<&str>) -> Challenge {
        Challenge::Bearer {
            realm: realm.into(),
            service: service.map(str::to_string),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn challenges_as_registries_send_them() {
        assert_eq!(
            parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/pause:pull,push""#
            ),
            [bearer(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                None
            )]
        );
        assert_eq!(
            parse(
                r#"Bearer realm="https://127.0.0.1:5001/token",service="s",scope="repository:pause:pull",error="invalid_token""#
            ),
            [bearer(
                "https://127.0.0.1:5001/token",
                Some("s"),
                Some("invalid_token")
            )]
        );
        assert_eq!(parse(r#"Basic realm="pause-tests""#), [Challenge::Basic]);
        assert_eq!(
            parse(r#"bearer  realm = "https://a/t" , service=plain"#),
            [bearer("https://a/t", Some("plain"), None)]
        );
    }

    #[test]
    fn several_challenges_in_one_header_and_odd_ones() {
        assert_eq!(
            parse(r#"Basic realm="x, y", Bearer realm="https://a/t",service="s""#),
            [Challenge::Basic, bearer("https://a/t", Some("s"), None)]
        );
        assert_eq!(
            parse(r#"Bearer realm="https://a/\"q\"""#),
            [bearer("https://a/\"q\"", None, None)]
        );
        // A Bearer challenge without a realm cannot be answered; unknown schemes are left out.
        assert!(parse(r#"Bearer service="s""#).is_empty());
        assert!(parse(r#"Negotiate abc=="#).is_empty());
        assert!(parse("").is_empty());
        assert_eq!(
            parse(r#"Bearer realm="https://a/t"#),
            [bearer("https://a/t", None, None)]
        );
    }
}
