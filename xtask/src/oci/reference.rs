//! Image references, `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`, parsed once for every command by the
//! grammar docker and the distribution spec use: lower-case path components joined by `.`, `_`,
//! `__` or dashes; a first component that is a host (it has a `.` or `:`, or is `localhost`); a tag
//! of at most 128 word characters, dots and dashes.
//!
//! Docker Hub is one registry under several names (`docker.io`, `index.docker.io`,
//! `registry-1.docker.io`): a reference to it is normalised to `docker.io`, and a one-component
//! repository there to `library/NAME`, as the docker CLI does.
//!
//! What a user types may carry credentials (`user:password@host/...`); an error never repeats
//! them.

use std::fmt;

use super::blob::is_sha256_digest;
use crate::escape::Escaped;
use crate::exit_status::{self, ExitStatus};

/// Docker Hub's canonical name, the one `docker.io/...` references use.
pub(crate) const DOCKER_HUB: &str = "docker.io";
/// Other names users and tools give Docker Hub.
const DOCKER_HUB_ALIASES: &[&str] = &["index.docker.io", "registry-1.docker.io"];
/// Where Docker Hub's registry API answers.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The namespace of Docker Hub's official images: `docker.io/pause` is `docker.io/library/pause`.
pub(crate) const DOCKER_HUB_OFFICIAL: &str = "library";
const LOCALHOST: &str = "localhost";
const MAX_TAG_LENGTH: usize = 128;
/// The most a repository name (registry included) may have, as the distribution spec says.
const MAX_NAME_LENGTH: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    /// `host[:port]`, Docker Hub's always as `docker.io`; `None` when the reference names none.
    pub(crate) registry: Option<String>,
    pub(crate) repository: String,
    pub(crate) tag: Option<String>,
    pub(crate) digest: Option<String>,
}

/// Why a reference was refused, with the reference as it may be shown (credentials masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReferenceError {
    pub(crate) shown: String,
    pub(crate) reason: String,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", Escaped(&self.shown), self.reason)
    }
}

impl Reference {
    pub(crate) fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let fail = |reason: &str| ReferenceError {
            shown: redacted(text),
            reason: reason.to_string(),
        };
        if credentials_end(text).is_some_and(|(_, certainly)| certainly) {
            return Err(fail(
                "carries credentials before `@`: remove them (pass --username U --password-stdin instead)",
            ));
        }
        if scheme_end(text).is_some() {
            return Err(fail(
                "has a URL scheme: an image reference starts with the registry's host",
            ));
        }
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (text, None),
        };
        if let Some(digest) = digest
            && !is_sha256_digest(digest)
        {
            return Err(fail(
                "has a malformed digest: write @sha256: and 64 lower-case hex digits (credentials \
                 never go in a reference: pass --username U --password-stdin)",
            ));
        }
        // The tag starts at the first colon after the last slash (a colon before it is the
        // registry's port): in `pause::0.1.0` the tag, `:0.1.0`, is what is wrong.
        let last_slash = name.rfind('/').map_or(0, |slash| slash + 1);
        let (name, tag) = match name[last_slash..].find(':') {
            Some(colon) => (
                &name[..last_slash + colon],
                Some(&name[last_slash + colon + 1..]),
            ),
            None => (name, None),
        };
        // The part named is shown escaped: no credentials are left in it (they were refused above,
        // or they made the digest malformed).
        if let Some(tag) = tag
            && !is_tag(tag)
        {
            return Err(fail(&format!(
                "has a malformed tag `{}`: at most 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
                Escaped(tag)
            )));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if is_host_like(first) => (Some(first), rest),
            _ => (None, name),
        };
        if let Some(host) = registry
            && !is_host(host)
        {
            return Err(fail(&format!(
                "has a malformed registry host `{}`",
                Escaped(host)
            )));
        }
        if !repository.split('/').all(is_path_component) {
            return Err(fail(&format!(
                "has a malformed repository `{}`: lower-case letters and digits, joined by `.`, `_`, `__` or `-`, components separated by `/`",
                Escaped(repository)
            )));
        }
        let on_docker_hub = registry.is_some_and(|host| canonical_registry(host) == DOCKER_HUB);
        let repository = if on_docker_hub && !repository.contains('/') {
            format!("{DOCKER_HUB_OFFICIAL}/{repository}")
        } else {
            repository.to_string()
        };
        let registry = registry.map(|host| canonical_registry(host).to_string());
        // Counted as printed, `library/` included, so that what is printed parses again.
        if registry.as_ref().map_or(0, |host| host.len() + 1) + repository.len() > MAX_NAME_LENGTH {
            return Err(fail(
                "is longer than the 255 characters a repository name may have",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }
}

/// How a push names its target, for the errors that refuse another.
const PUSH_FORM: &str =
    "write REGISTRY/REPOSITORY:TAG, e.g. ghcr.io/OWNER/pause:0.1.0 or 127.0.0.1:5000/pause:dev";
/// How a read (verify) names an image, for the errors that refuse another.
const READ_FORM: &str =
    "write REGISTRY/REPOSITORY:TAG (or @sha256:…), e.g. ghcr.io/OWNER/pause:0.1.0";

impl Reference {
    /// Where a push goes: `REGISTRY/REPOSITORY:TAG`, the registry spelled out and no digest (a
    /// push needs a tag to point at the image). A reference that is not one is a usage error.
    pub(crate) fn to_push(text: &str) -> anyhow::Result<Reference> {
        let reference =
            Reference::parse(text).map_err(|error| usage(format!("{error}: {PUSH_FORM}")))?;
        if reference.digest.is_some() {
            return Err(usage(format!(
                "`{reference}` names a digest: a push needs a tag to point at the image; {PUSH_FORM}"
            )));
        }
        if reference.registry.is_none() {
            return Err(usage(format!(
                "`{reference}` names no registry: {PUSH_FORM}"
            )));
        }
        if reference.tag.is_none() {
            return Err(usage(format!("`{reference}` has no tag: {PUSH_FORM}")));
        }
        Ok(reference)
    }

    /// What a read names: `REGISTRY/REPOSITORY:TAG` or `REGISTRY/REPOSITORY@DIGEST`, the registry
    /// spelled out. A reference that is not one is a usage error.
    pub(crate) fn to_read(text: &str) -> anyhow::Result<Reference> {
        let reference =
            Reference::parse(text).map_err(|error| usage(format!("{error}: {READ_FORM}")))?;
        if reference.registry.is_none() {
            return Err(usage(format!(
                "`{reference}` names no registry: {READ_FORM}"
            )));
        }
        if reference.digest.is_none() && reference.tag.is_none() {
            return Err(usage(format!("`{reference}` has no tag: {READ_FORM}")));
        }
        Ok(reference)
    }

    /// The registry, as users name it (Docker Hub's as `docker.io`); empty for a reference that
    /// names none, which [`Reference::to_push`] and [`Reference::to_read`] refuse.
    pub(crate) fn registry(&self) -> &str {
        self.registry.as_deref().unwrap_or_default()
    }

    /// `REGISTRY/REPOSITORY`, the registry as users name it.
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.registry(), self.repository)
    }

    /// What a read asks the registry for: the digest if there is one, else the tag.
    pub(crate) fn tag_or_digest(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or_default()
    }
}

/// A reference the command line gave that cannot be right: exit status 2.
fn usage(message: String) -> anyhow::Error {
    exit_status::error(ExitStatus::Usage, message)
}

/// go-containerregistry's name for Docker Hub, which cosign writes into the documents it signs.
const GO_DOCKER_HUB: &str = "index.docker.io";

impl Reference {
    /// The repository as go-containerregistry names it (`Repository.Name()`), and so as cosign
    /// writes it into what it signs (simple-signing's `docker-reference`, an attestation's
    /// subject name): the registry included, no tag or digest, Docker Hub spelled
    /// `index.docker.io` with `library/` before an official image's name.
    pub(crate) fn repository_name(&self) -> String {
        match self.registry.as_deref() {
            None | Some(DOCKER_HUB) if !self.repository.contains('/') => {
                format!("{GO_DOCKER_HUB}/{DOCKER_HUB_OFFICIAL}/{}", self.repository)
            }
            None | Some(DOCKER_HUB) => format!("{GO_DOCKER_HUB}/{}", self.repository),
            Some(registry) => format!("{registry}/{}", self.repository),
        }
    }
}

/// A registry's one name: Docker Hub's aliases are `docker.io`, any other host is itself.
pub(crate) fn canonical_registry(host: &str) -> &str {
    if DOCKER_HUB_ALIASES.contains(&host) {
        DOCKER_HUB
    } else {
        host
    }
}

/// The registry a key of a docker `config.json` (`auths`, `credHelpers`) names: `https://host/v1/`
/// is `host`, Docker Hub's names are `docker.io`.
pub(crate) fn registry_of_key(key: &str) -> &str {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    canonical_registry(without_scheme.split('/').next().unwrap_or(without_scheme))
}

/// The host that answers `registry`'s API (Docker Hub's differs from its name).
pub(crate) fn api_host(registry: &str) -> &str {
    if canonical_registry(registry) == DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        registry
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(registry) = &self.registry {
            write!(f, "{registry}/")?;
        }
        f.write_str(&self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Where a URL scheme (`https://`) ends, if `text` starts with one.
fn scheme_end(text: &str) -> Option<usize> {
    const SEPARATOR: &str = "://";
    let (scheme, _) = text.split_once(SEPARATOR)?;
    let mut chars = scheme.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(scheme.len() + SEPARATOR.len())
}

/// Where credentials typed into `text` (after any scheme) end: the index of the `@` after them,
/// and whether they are certainly credentials. A reference has at most one `@`, the one that
/// introduces its digest (`sha256:` and 64 hex digits, at the end). So any `@` before that one
/// ends `user:password` (which may hold `/`, `@`, `:` and `%`), and so does a last `@` that no
/// digest follows: with a `/` after it, certainly (`user:password@host/repository`); without one
/// it may be a mistyped digest, or `user:password@host`, and the text cannot say which.
fn credentials_end(text: &str) -> Option<(usize, bool)> {
    let last = text.rfind('@')?;
    if is_sha256_digest(&text[last + 1..]) {
        text[..last].rfind('@').map(|at| (at, true))
    } else {
        Some((last, text[last..].contains('/')))
    }
}

/// `text` with any URL scheme kept and any credentials (see [`credentials_end`]) replaced by
/// `***`: what a message may show of a reference.
pub(crate) fn redacted(text: &str) -> String {
    let (scheme, rest) = text.split_at(scheme_end(text).unwrap_or(0));
    match credentials_end(rest) {
        Some((at, _)) => format!("{scheme}***{}", &rest[at..]),
        None => text.to_string(),
    }
}

/// Whether docker would read this first component as a registry host rather than a path.
fn is_host_like(component: &str) -> bool {
    component.contains(['.', ':'])
        || component == LOCALHOST
        || component.chars().any(|c| c.is_ascii_uppercase())
}

/// `name[.name...][:port]` or `[ipv6][:port]`.
fn is_host(host: &str) -> bool {
    if let Some(bracketed) = host.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return false;
        };
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return port_ok && address.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let is_label = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    port.is_none_or(is_port) && name.split('.').all(is_label)
}

/// A TCP port: one to five digits.
fn is_port(port: &str) -> bool {
    const MAX_DIGITS: usize = 5;
    (1..=MAX_DIGITS).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())
}

/// `[a-z0-9]+` runs joined by one `.` or `_`, by `__`, or by any number of `-`.
fn is_path_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !component.starts_with(alnum) || !component.ends_with(alnum) {
        return false;
    }
    let mut separator = String::new();
    for c in component.chars() {
        if alnum(c) {
            let allowed = separator.is_empty()
                || separator == "."
                || separator == "_"
                || separator == "__"
                || separator.chars().all(|s| s == '-');
            if !allowed {
                return false;
            }
            separator.clear();
        } else {
            separator.push(c);
        }
    }
    true
}

fn is_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    tag.len() <= MAX_TAG_LENGTH
        && tag.starts_with(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::Reference;
    use crate::exit_status::{self, ExitStatus};

    fn parts(text: &str) -> (Option<String>, String, Option<String>, Option<String>) {
        let r = Reference::parse(text).unwrap_or_else(|error| panic!("{error}"));
        (r.registry, r.repository, r.tag, r.digest)
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn good_references_parse_into_their_parts() {
        let s = |text: &str| Some(text.to_string());
        assert_eq!(
            parts("localhost/pause:0.1.0"),
            (s("localhost"), "pause".into(), s("0.1.0"), None)
        );
        assert_eq!(
            parts("127.0.0.1:5000/pause:dev"),
            (s("127.0.0.1:5000"), "pause".into(), s("dev"), None)
        );
        assert_eq!(
            parts("ghcr.io/o/pause:v1.2.3"),
            (s("ghcr.io"), "o/pause".into(), s("v1.2.3"), None)
        );
        assert_eq!(parts("pause:x"), (None, "pause".into(), s("x"), None));
        assert_eq!(
            parts("[::1]:5000/a/b-c__d:t"),
            (s("[::1]:5000"), "a/b-c__d".into(), s("t"), None)
        );
        assert_eq!(
            parts(&format!("ghcr.io/o/pause:t@{DIGEST}")),
            (s("ghcr.io"), "o/pause".into(), s("t"), s(DIGEST))
        );
        assert_eq!(parts(&format!("ghcr.io/o/pause@{DIGEST}")).2, None);
    }

    #[test]
    fn docker_hub_is_one_registry_and_official_images_live_in_library() {
        for text in [
            "docker.io/pause:t",
            "index.docker.io/pause:t",
            "registry-1.docker.io/library/pause:t",
        ] {
            let reference = Reference::parse(text).unwrap();
            assert_eq!(reference.to_string(), "docker.io/library/pause:t", "{text}");
            assert_eq!(
                reference.registry.as_deref().map(super::api_host),
                Some("registry-1.docker.io")
            );
        }
        assert_eq!(
            Reference::parse("docker.io/bob/pause:t")
                .unwrap()
                .repository,
            "bob/pause"
        );
        assert_eq!(
            Reference::parse("ghcr.io/pause:t").unwrap().repository,
            "pause"
        );
    }

    #[test]
    fn bad_references_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("", "malformed repository"),
            ("Pause:1", "malformed repository"),
            ("localhost/pause:", "malformed tag"),
            ("localhost/pause:a/b", "malformed repository"),
            (":1", "malformed repository"),
            ("pause:-x", "malformed tag"),
            ("a//b:1", "malformed repository"),
            ("ghcr.io/o/pause@sha256:abc", "malformed digest"),
            ("https://ghcr.io/o/pause:1", "URL scheme"),
            ("bad_host.io/pause:1", "malformed registry host"),
            ("ghcr.io:port/pause:1", "malformed registry host"),
        ] {
            let error = Reference::parse(bad).expect_err(bad);
            assert!(error.reason.contains(reason), "{bad}: {error}");
        }
        let long = format!("ghcr.io/{}:t", "a".repeat(256));
        assert!(Reference::parse(&long).unwrap_err().reason.contains("255"));
        let long_tag = format!("ghcr.io/a:{}", "t".repeat(129));
        assert!(
            Reference::parse(&long_tag)
                .unwrap_err()
                .reason
                .contains("malformed tag")
        );
    }

    #[test]
    fn the_part_that_is_wrong_is_named() {
        for (bad, reason) in [
            ("pause::0.1.0", "has a malformed tag `:0.1.0`: at most 128"),
            (
                "host/pause:bad tag!",
                "has a malformed tag `bad tag!`: at most 128",
            ),
            (
                "127.0.0.1:5000/Pause:t",
                "has a malformed repository `Pause`: lower-case",
            ),
            (
                "bad_host.io/pause:1",
                "has a malformed registry host `bad_host.io`",
            ),
        ] {
            let error = Reference::parse(bad).expect_err(bad);
            assert!(error.reason.starts_with(reason), "{bad}: {error}");
        }
    }

    #[test]
    fn credentials_in_a_reference_are_never_repeated() {
        for password in ["hunter2", "s3cr/et", "s3cr@et", "a:b%2F/c@d", "x/y@z/"] {
            for (text, shown) in [
                (
                    format!("bob:{password}@ghcr.io/o/pause:t"),
                    "`***@ghcr.io/o/pause:t`",
                ),
                (
                    format!("https://bob:{password}@ghcr.io/o/pause:t"),
                    "`https://***@ghcr.io/o/pause:t`",
                ),
                (
                    format!("bob:{password}@ghcr.io/BAD:t"),
                    "`***@ghcr.io/BAD:t`",
                ),
                (
                    format!("{password}@ghcr.io/p@{DIGEST}"),
                    "`***@ghcr.io/p@sha256:",
                ),
                (format!("bob:{password}@ghcr.io"), "`***@ghcr.io`"),
            ] {
                let error = Reference::parse(&text).expect_err(&text).to_string();
                assert!(error.starts_with(shown), "{text}: {error}");
                assert!(
                    !error.contains(password) && !error.contains("bob"),
                    "{error}"
                );
                assert!(error.contains("--password-stdin"), "{text}: {error}");
            }
        }
    }

    #[test]
    fn a_digest_or_a_tag_is_not_taken_for_credentials() {
        assert_eq!(parts(&format!("pause@{DIGEST}")).3.as_deref(), Some(DIGEST));
        assert_eq!(parts(&format!("pause:1@{DIGEST}")).2.as_deref(), Some("1"));
        let error = Reference::parse("127.0.0.1:5000/a/Bad:t").unwrap_err();
        assert_eq!(error.shown, "127.0.0.1:5000/a/Bad:t");
    }

    #[test]
    fn a_push_needs_a_registry_a_repository_and_a_tag() {
        let target = Reference::to_push("docker.io/pause:t").unwrap();
        assert_eq!(
            (target.registry(), target.repository.as_str()),
            ("docker.io", "library/pause")
        );
        for (reference, cause) in [
            ("pause:0.1.0", "names no registry"),
            ("127.0.0.1:5000/pause", "has no tag"),
            ("127.0.0.1:5000/Pause:0.1.0", "malformed repository"),
            ("127.0.0.1:5000/pause@sha256:0123", "malformed digest"),
            (&format!("127.0.0.1:5000/pause@{DIGEST}"), "names a digest"),
        ] {
            let error = Reference::to_push(reference).expect_err(reference);
            assert_eq!(exit_status::of(&error), ExitStatus::Usage, "{reference}");
            let error = error.to_string();
            assert!(error.contains(cause), "{reference}: {error}");
            assert!(
                error.contains("REGISTRY/REPOSITORY:TAG"),
                "{reference}: {error}"
            );
            assert!(!error.contains('\n'), "{reference}: {error}");
        }
    }

    #[test]
    fn a_read_needs_a_registry_and_a_tag_or_digest() {
        let read = |text: &str| {
            let reference = Reference::to_read(text).unwrap();
            (
                reference.registry().to_string(),
                reference.repository.clone(),
                reference.tag_or_digest().to_string(),
            )
        };
        assert_eq!(
            read("ghcr.io/o/pause:0.1.0"),
            ("ghcr.io".into(), "o/pause".into(), "0.1.0".into())
        );
        assert_eq!(
            read(&format!("docker.io/pause@{DIGEST}")),
            ("docker.io".into(), "library/pause".into(), DIGEST.into())
        );
        for (bad, why) in [
            ("pause:0.1.0", "names no registry"),
            ("ghcr.io/o/pause", "has no tag"),
        ] {
            let error = Reference::to_read(bad).unwrap_err().to_string();
            assert!(
                error.contains(why) && error.contains("REGISTRY/REPOSITORY:TAG"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_config_key_names_its_registry() {
        for (key, registry) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
            ("ghcr.io", "ghcr.io"),
        ] {
            assert_eq!(super::registry_of_key(key), registry, "{key}");
        }
    }

    #[test]
    fn control_characters_in_a_refused_reference_are_escaped() {
        let error = Reference::parse("ghcr.io/p:\u{1b}]0;x\u{7}")
            .unwrap_err()
            .to_string();
        assert!(!error.contains(['\u{1b}', '\u{7}']), "{error:?}");
    }
}
