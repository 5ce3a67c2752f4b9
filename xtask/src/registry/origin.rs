//! Where a registry's credentials may go: its own origin (the scheme, host and port it was reached
//! at; for Docker Hub, any of its hosts over HTTPS) and the token server its own challenge names.
//! Never another host, whether a redirect or an upload `Location` led there: a server there may
//! not ask for a login (its 401 is refused, nothing is sent to the token server it names), and no
//! request that carries credentials, or may win them, follows a redirect to it. Only blob reads
//! follow a registry's redirect off its origin, as CDNs serve blobs, on a client that carries no
//! credentials at all.

use reqwest::Url;
use reqwest::blocking::Response;
use reqwest::header::LOCATION;
use reqwest::redirect::Policy;

use crate::escape::escaped;
use crate::oci::reference::{DOCKER_HUB, canonical_registry};

/// The most redirects one request follows, as browsers and reqwest's default allow.
const MAX_REDIRECTS: usize = 10;

/// Whether `a` and `b` belong to one registry: the same origin, or both Docker Hub's over HTTPS
/// (`registry-1.docker.io`, `index.docker.io`, `docker.io`).
pub(crate) fn same_registry(a: &Url, b: &Url) -> bool {
    let docker_hub = |url: &Url| {
        url.scheme() == "https"
            && url.port().is_none()
            && url
                .host_str()
                .is_some_and(|host| canonical_registry(host) == DOCKER_HUB)
    };
    a.origin() == b.origin() || (docker_hub(a) && docker_hub(b))
}

/// The redirect policy of every request that carries credentials or may be answered with a
/// challenge: a redirect within the registry the request went to is followed (its credentials
/// with it), up to [`MAX_REDIRECTS`]; one to another host is not, and its 3xx answer comes back
/// to the caller, who refuses it or, for a blob read, follows it without credentials.
pub(crate) fn within_the_registry() -> Policy {
    Policy::custom(|attempt| {
        let stays = attempt
            .previous()
            .first()
            .is_some_and(|first| same_registry(first, attempt.url()));
        if !stays {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(TOO_MANY_REDIRECTS)
        } else {
            attempt.follow()
        }
    })
}

/// The redirect policy of the client that carries no credentials (blob reads off the registry):
/// any host, up to [`MAX_REDIRECTS`].
pub(crate) fn anywhere() -> Policy {
    Policy::limited(MAX_REDIRECTS)
}

const TOO_MANY_REDIRECTS: &str = "too many redirects";

/// Where a redirect answer (3xx with a `Location`) points, resolved against the answer's URL;
/// None for any other answer.
pub(crate) fn redirect_target(response: &Response) -> Option<Url> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    response.url().join(location).ok()
}

/// `host[:port]` of a URL, escaped for a terminal: for messages.
pub(crate) fn host(url: &Url) -> String {
    let name = url.host_str().unwrap_or_default();
    escaped(&match url.port() {
        Some(port) => format!("{name}:{port}"),
        None => name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use reqwest::Url;

    use super::{host, same_registry};

    #[test]
    fn one_registry_is_one_origin_or_docker_hubs_hosts() {
        let url = |text: &str| Url::parse(text).unwrap();
        for (a, b, same) in [
            (
                "http://127.0.0.1:5000/v2/",
                "http://127.0.0.1:5000/token",
                true,
            ),
            (
                "http://127.0.0.1:5000/v2/",
                "http://127.0.0.2:5000/v2/",
                false,
            ),
            (
                "http://127.0.0.1:5000/v2/",
                "http://127.0.0.1:5001/v2/",
                false,
            ),
            (
                "https://127.0.0.1:5000/v2/",
                "http://127.0.0.1:5000/v2/",
                false,
            ),
            ("https://r.example/v2/", "https://r.example:443/x", true),
            (
                "https://registry-1.docker.io/v2/",
                "https://index.docker.io/v2/",
                true,
            ),
            (
                "https://registry-1.docker.io/v2/",
                "http://index.docker.io/v2/",
                false,
            ),
            (
                "https://registry-1.docker.io/v2/",
                "https://production.cloudflare.docker.com/x",
                false,
            ),
        ] {
            assert_eq!(same_registry(&url(a), &url(b)), same, "{a} {b}");
        }
        assert_eq!(host(&url("http://127.0.0.2:8080/x")), "127.0.0.2:8080");
        assert_eq!(host(&url("https://r.example/x")), "r.example");
    }
}
