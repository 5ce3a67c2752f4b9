//! A session on one repository of a registry: the calls a push, a signature or a verification
//! makes, each one line for its caller — [`Session::blob_exists`], [`Session::put_blob`],
//! [`Session::get_blob`], [`Session::manifest_digest`], [`Session::get_manifest`],
//! [`Session::put_manifest`], [`Session::referrers`]. Every call is authorised as the registry
//! asked (Basic, or a Bearer token fetched and renewed here), retried on connection failures
//! (one the registry refuses aside), 429 and 5xx, and fails with one line that names the cause
//! and the fix and never a secret, classified as the registry's (exit status 3).

use std::io::Read;

use anyhow::Result;
use reqwest::Url;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LINK, LOCATION};

use super::challenge::{self, Challenge};
use super::client::{Registry, password_may_travel};
use super::error::{FORBIDDEN, Failure, NOT_FOUND, Subject, UNAUTHORIZED, explain, retry_after};
use super::origin::{self, redirect_target, same_registry};
use super::retry::retry;
use super::token::{Realm, Token};
use crate::escape::escaped;
use crate::exit_status::{self, ExitStatus};
use crate::oci::blob::{Blob, sha256};
use crate::oci::{manifest, referrers};

/// The media types a manifest may come in, as `Accept` lists them.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCTET_STREAM: &str = "application/octet-stream";
/// The header in which a registry names the digest of what it stored or sent.
const CONTENT_DIGEST: &str = "docker-content-digest";
/// The most of an error answer read: registries' error JSON is a few hundred bytes.
const MAX_ERROR_BODY: u64 = 64 * 1024;
/// The most of a manifest or index read: the `.sig` and `.att` manifests, and a referrers
/// listing with all its pages, included.
pub(crate) const MAX_MANIFEST: u64 = manifest::MAX_BYTES;
/// The largest blob read: the blobs this tool reads are documents (SBOMs, signature payloads,
/// attestation envelopes, configs) and pause layers, each a few KiB. A descriptor naming more is
/// refused before the blob is asked for.
pub(crate) const MAX_BLOB: u64 = 64 * 1024 * 1024;
/// The most pages of one referrers listing read: a registry pages at tens or hundreds of entries,
/// and a subject of ours has four.
const MAX_REFERRERS_PAGES: usize = 64;
/// What [`MAX_MANIFEST`] is, for the line that refuses a longer answer.
const MANIFEST_LIMIT: &str =
    "the most a manifest or referrers listing may be (4 MiB, the distribution spec's size)";
const OK: u16 = 200;
const CREATED: u16 = 201;
const ACCEPTED: u16 = 202;

/// The rights a session asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Pull,
    Push,
}

impl Access {
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

/// What a request does when the registry redirects it to another host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffRegistry {
    /// Refuses it: the request carries credentials, or its answer may ask for them.
    Refuse,
    /// Follows it without credentials: a blob read, which registries send to a CDN.
    Follow,
}

/// How requests are authorised right now.
enum Auth {
    Anonymous,
    Basic,
    Bearer { realm: Realm, token: Option<Token> },
}

pub struct Session {
    registry: Registry,
    repository: String,
    scope: String,
    auth: Auth,
}

impl Session {
    /// A session on `repository` with the rights `access` needs, logged in as the registry's
    /// `/v2/` asked (a token fetched, or the Basic credentials checked): a wrong password fails
    /// here, before anything is sent.
    pub fn open(registry: Registry, repository: &str, access: Access) -> Result<Session> {
        let doing = format!("logging in to {}", registry.name);
        let challenge = registry.challenge.clone();
        let base = registry.url("");
        let mut session = Session {
            registry,
            repository: repository.to_string(),
            scope: format!("repository:{repository}:{}", access.actions()),
            auth: Auth::Anonymous,
        };
        if let Some(challenge) = challenge {
            session
                .adopt(challenge)
                .map_err(|failure| session.fail(&doing, failure))?;
        }
        match session.auth {
            Auth::Bearer { .. } => {
                retry(&doing, || session.authorize_bearer().map(|_| ()))
                    .map_err(|failure| session.fail(&doing, failure))?;
            }
            Auth::Basic => {
                retry(&doing, || {
                    session.send(&[OK], OffRegistry::Refuse, &|http| http.get(base.clone()))
                })
                .map_err(|failure| session.fail(&doing, failure))?;
            }
            Auth::Anonymous => {}
        }
        Ok(session)
    }

    /// `REGISTRY/REPOSITORY`, the registry as the user named it: for messages.
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.registry.name, self.repository)
    }

    /// Whether the repository holds the blob `digest`.
    pub fn blob_exists(&mut self, digest: &str) -> Result<bool> {
        let url = self
            .registry
            .url(&format!("{}/blobs/{digest}", self.repository));
        let doing = format!("checking blob {digest}");
        let response = self.call(&doing, &[OK, NOT_FOUND], OffRegistry::Follow, &|http| {
            http.head(url.clone())
        })?;
        Ok(response.status().as_u16() == OK)
    }

    /// The digest of the manifest the repository holds under `reference` (a tag or a digest),
    /// asked with `HEAD`; None when it holds none. A registry that names no digest in its answer
    /// holds a digest reference's own; for a tag, it says nothing we can compare: None.
    pub(crate) fn manifest_digest(&mut self, reference: &str) -> Result<Option<String>> {
        let url = self
            .registry
            .url(&format!("{}/manifests/{reference}", self.repository));
        let doing = format!("checking manifest {reference}");
        let response = self.call(&doing, &[OK, NOT_FOUND], OffRegistry::Refuse, &|http| {
            http.head(url.clone())
                .header(ACCEPT, MANIFEST_TYPES.join(", "))
        })?;
        if response.status().as_u16() == NOT_FOUND {
            return Ok(None);
        }
        let named = response
            .headers()
            .get(CONTENT_DIGEST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        Ok(named.or_else(|| reference.contains(':').then(|| reference.to_string())))
    }

    /// Uploads `blob` in one piece: `POST` opens an upload, `PUT` with the digest closes it. A
    /// failure anywhere retries both.
    pub fn put_blob(&mut self, blob: &Blob) -> Result<()> {
        let doing = format!("uploading blob {}", blob.digest);
        let start = self
            .registry
            .url(&format!("{}/blobs/uploads/", self.repository));
        let stored = retry(&doing, || {
            let opened = self.send(&[ACCEPTED], OffRegistry::Refuse, &|http| {
                http.post(start.clone())
            })?;
            let mut upload = location(&opened)?;
            upload.query_pairs_mut().append_pair("digest", &blob.digest);
            let closed = self.send(&[CREATED], OffRegistry::Refuse, &|http| {
                http.put(upload.clone())
                    .header(CONTENT_TYPE, OCTET_STREAM)
                    .body(blob.data.clone())
            })?;
            Ok(stored_digest(closed.headers()))
        })
        .map_err(|failure| self.fail(&doing, failure))?;
        self.check_digest(&doing, stored.as_deref(), &blob.digest)
    }

    /// The blob `digest` of `size` bytes (as its descriptor says), checked against its digest.
    /// No more than `size` bytes are taken: a longer answer is refused, and so is a size over
    /// [`MAX_BLOB`], before anything is asked.
    pub fn get_blob(&mut self, digest: &str, size: u64) -> Result<Vec<u8>> {
        let doing = format!("downloading blob {digest}");
        if size > MAX_BLOB {
            return Err(refused(format!(
                "{doing}: its descriptor gives it {size} bytes, more than the {MAX_BLOB} this tool reads of a blob (its blobs are documents and layers of a few KiB): refused; check what the registry holds"
            )));
        }
        let url = self
            .registry
            .url(&format!("{}/blobs/{digest}", self.repository));
        let response = self.call(&doing, &[OK], OffRegistry::Follow, &|http| {
            http.get(url.clone())
        })?;
        let data = self.body(
            &doing,
            response,
            size,
            &format!("the {size} bytes its descriptor gives"),
        )?;
        self.check_digest(&doing, Some(&sha256(&data)), digest)?;
        Ok(data)
    }

    /// The manifest or index `reference` (a tag or a digest) as the registry stores it, its exact
    /// bytes and media type; None when the registry has none.
    pub fn get_manifest(&mut self, reference: &str) -> Result<Option<Blob>> {
        let url = self
            .registry
            .url(&format!("{}/manifests/{reference}", self.repository));
        let doing = format!("reading manifest {reference}");
        let response = self.call(&doing, &[OK, NOT_FOUND], OffRegistry::Refuse, &|http| {
            http.get(url.clone())
                .header(ACCEPT, MANIFEST_TYPES.join(", "))
        })?;
        if response.status().as_u16() == NOT_FOUND {
            return Ok(None);
        }
        let media_type = media_type(response.headers());
        let data = self.body(&doing, response, MAX_MANIFEST, MANIFEST_LIMIT)?;
        let manifest = Blob {
            media_type,
            digest: sha256(&data),
            data,
        };
        if reference.contains(':') {
            self.check_digest(&doing, Some(&manifest.digest), reference)?;
        }
        Ok(Some(manifest))
    }

    /// Stores `manifest`'s exact bytes under `reference` (a tag or its digest) and checks that the
    /// registry stored them under the local digest.
    pub fn put_manifest(&mut self, reference: &str, manifest: &Blob) -> Result<()> {
        let url = self
            .registry
            .url(&format!("{}/manifests/{reference}", self.repository));
        let doing = format!("pushing manifest {}", manifest.digest);
        let stored = retry(&doing, || {
            let response = self.send(&[CREATED], OffRegistry::Refuse, &|http| {
                http.put(url.clone())
                    .header(CONTENT_TYPE, &manifest.media_type)
                    .body(manifest.data.clone())
            })?;
            Ok(stored_digest(response.headers()))
        })
        .map_err(|failure| {
            let line = self.explain(&doing, &failure);
            if failure.status().is_some_and(refuses_the_document) {
                refused(format!(
                    "{line}: the registry rejected the manifest; check that it accepts OCI image indexes, \
                     and rebuild the layout with `cargo xtask image`"
                ))
            } else {
                refused(line)
            }
        })?;
        self.check_digest(&doing, stored.as_deref(), &manifest.digest)
    }

    /// The image index of the manifests that name `digest` as their subject (the OCI referrers
    /// API), every page of it; None when the registry does not offer the API (404).
    pub fn referrers(&mut self, digest: &str) -> Result<Option<Blob>> {
        let mut url = self
            .registry
            .url(&format!("{}/referrers/{digest}", self.repository));
        let doing = format!("listing the referrers of {digest}");
        let mut pages: Vec<Vec<u8>> = Vec::new();
        loop {
            let page = url.clone();
            let response = self.call(&doing, &[OK, NOT_FOUND], OffRegistry::Refuse, &|http| {
                http.get(page.clone()).header(ACCEPT, OCI_INDEX)
            })?;
            if response.status().as_u16() == NOT_FOUND {
                return Ok(None);
            }
            let next = next_page(&response);
            // One listing, however many pages: what is left of the limit after those read.
            let read: u64 = pages.iter().map(|page| page.len() as u64).sum();
            pages.push(self.body(
                &doing,
                response,
                MAX_MANIFEST.saturating_sub(read),
                MANIFEST_LIMIT,
            )?);
            match next {
                Some(next) if pages.len() < MAX_REFERRERS_PAGES && self.registry.owns(&next) => {
                    url = next;
                }
                Some(_) => {
                    return Err(refused(format!(
                        "{doing}: {} pages on, {} still names a next one (or one on another host): \
                         the listing is not read whole; check the registry",
                        pages.len(),
                        self.registry.name
                    )));
                }
                None => break,
            }
        }
        let joined =
            referrers::join_pages(pages).map_err(|error| refused(format!("{doing}: {error:#}")))?;
        Ok(Some(Blob::new(OCI_INDEX, joined)))
    }

    /// One call with retries, its failure explained.
    fn call(
        &mut self,
        doing: &str,
        expect: &[u16],
        off_registry: OffRegistry,
        build: &dyn Fn(&Client) -> RequestBuilder,
    ) -> Result<Response> {
        retry(doing, || self.send(expect, off_registry, build))
            .map_err(|failure| self.fail(doing, failure))
    }

    /// Sends the request `build` makes, authorised; a status outside `expect` is a failure. A 401
    /// whose challenge can be answered anew (a token expired, or a repository that wants a login
    /// `/v2/` did not) is answered once and the request sent again; a 401 from another host than
    /// the registry is refused, nothing sent to the token server it names. A redirect off the
    /// registry is followed without credentials or refused, as `off_registry` says.
    fn send(
        &mut self,
        expect: &[u16],
        off_registry: OffRegistry,
        build: &dyn Fn(&Client) -> RequestBuilder,
    ) -> Result<Response, Failure> {
        let mut answered_again = false;
        loop {
            let (client, request) = self.authorize(build(&self.registry.http))?.build_split();
            let request = request.map_err(Failure::transport)?;
            let method = request.method().clone();
            let mut response = client.execute(request).map_err(Failure::transport)?;
            // The client follows redirects within the registry only: one left here leaves it.
            if let Some(target) =
                redirect_target(&response).filter(|target| !same_registry(response.url(), target))
            {
                if off_registry == OffRegistry::Refuse {
                    return Err(Failure::Refused(format!(
                        "{} sent it on to {}, another host: a request that carries credentials, or may be asked for them, follows no redirect off the registry, so nothing was sent there; the registry must answer it itself",
                        origin::host(response.url()),
                        origin::host(&target)
                    )));
                }
                response = self
                    .registry
                    .cdn_http
                    .request(method, target)
                    .send()
                    .map_err(Failure::transport)?;
            }
            let code = response.status().as_u16();
            if code == UNAUTHORIZED && !self.registry.owns(response.url()) {
                return Err(Failure::Refused(format!(
                    "{} sent the request on to {}, which asks for a login (401): credentials go only to {} and the token server it names, so nothing was sent to the one {} names; a registry's CDN or upload host must take requests without a login",
                    escaped(&self.registry.name),
                    origin::host(response.url()),
                    escaped(&self.registry.name),
                    origin::host(response.url())
                )));
            }
            if code == UNAUTHORIZED
                && !answered_again
                && let Some(challenge) = challenge::from_headers(response.headers())
                && self.may_help(&challenge)
            {
                self.adopt(challenge)?;
                answered_again = true;
                continue;
            }
            if expect.contains(&code) {
                return Ok(response);
            }
            return Err(failure_of(response));
        }
    }

    /// Whether answering `challenge` anew may turn a 401 into a success: a new token always may
    /// (the last one expired, or was revoked); Basic only if no credentials were sent yet.
    fn may_help(&self, challenge: &Challenge) -> bool {
        match challenge {
            Challenge::Bearer { .. } => true,
            Challenge::Basic => {
                matches!(self.auth, Auth::Anonymous) && self.registry.credentials.is_some()
            }
        }
    }

    /// Authorises requests as `challenge` says from now on; a token realm is checked here, before
    /// anything is sent to it.
    fn adopt(&mut self, challenge: Challenge) -> Result<(), Failure> {
        let registry = &self.registry;
        let auth = match challenge {
            Challenge::Basic if registry.credentials.is_some() => {
                if registry
                    .credentials
                    .as_ref()
                    .is_some_and(|credentials| credentials.is_identity_token)
                {
                    return Err(Failure::Refused(format!(
                        "{} asks for a user name and password (Basic), but the login stored for it is an OAuth identity token, which only a token server takes: nothing was sent; log in with a password (`docker login {}`) or pass --username U --password-stdin",
                        registry.name, registry.name
                    )));
                }
                if !password_may_travel(&registry.base) {
                    return Err(Failure::Refused(format!(
                        "{} asks for the password over plain HTTP (--insecure), where anyone on the network could read it: nothing was sent; serve the registry over HTTPS (with --ca-file for a private CA), or push without credentials",
                        registry.name
                    )));
                }
                Auth::Basic
            }
            Challenge::Basic => Auth::Anonymous,
            Challenge::Bearer { realm, service, .. } => Auth::Bearer {
                realm: Realm::check(
                    &realm,
                    service,
                    &registry.base,
                    &registry.name,
                    registry.credentials.is_some(),
                )?,
                token: None,
            },
        };
        self.auth = auth;
        Ok(())
    }

    /// Adds the `Authorization` a request to the registry needs. Requests elsewhere (an upload
    /// location on another host) get none.
    fn authorize(&mut self, request: RequestBuilder) -> Result<RequestBuilder, Failure> {
        let (client, built) = request.build_split();
        let built = built.map_err(Failure::transport)?;
        let to_registry = self.registry.owns(built.url());
        let request = RequestBuilder::from_parts(client, built);
        if !to_registry {
            return Ok(request);
        }
        match &self.auth {
            Auth::Anonymous => Ok(request),
            Auth::Basic => {
                let credentials = self
                    .registry
                    .credentials
                    .as_ref()
                    .expect("Basic authorisation is chosen only with credentials");
                Ok(request.basic_auth(&credentials.username, Some(credentials.password.expose())))
            }
            Auth::Bearer { .. } => {
                let token = self.authorize_bearer()?;
                Ok(request.bearer_auth(token))
            }
        }
    }

    /// The current token, fetched anew when there is none or it is about to expire.
    fn authorize_bearer(&mut self) -> Result<String, Failure> {
        let Auth::Bearer { realm, token } = &mut self.auth else {
            unreachable!("called for Bearer authorisation only")
        };
        if let Some(token) = token.as_ref().filter(|token| token.is_fresh()) {
            return Ok(token.value().expose().to_string());
        }
        let fresh = realm.fetch(&self.registry, &self.scope)?;
        let value = fresh.value().expose().to_string();
        *token = Some(fresh);
        Ok(value)
    }

    /// The body of a successful answer, refused when it is longer than `limit` bytes (`what`
    /// says which limit): at most `limit + 1` bytes are read, whatever the server sends.
    fn body(&self, doing: &str, response: Response, limit: u64, what: &str) -> Result<Vec<u8>> {
        let too_long = || {
            refused(format!(
                "{doing}: {} sends more than {limit} bytes, {what}: refused, and no more was read; check the registry",
                escaped(&self.registry.name)
            ))
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_long());
        }
        let mut data = Vec::new();
        response
            .take(limit.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|error| {
                refused(format!(
                    "{doing}: the answer of {} broke off ({}): try again",
                    escaped(&self.registry.name),
                    escaped(&error.to_string())
                ))
            })?;
        if data.len() as u64 > limit {
            return Err(too_long());
        }
        Ok(data)
    }

    /// Fails when the registry says it stored or sent something else than `expected`: the bytes
    /// were altered on the way.
    fn check_digest(&self, doing: &str, actual: Option<&str>, expected: &str) -> Result<()> {
        match actual {
            Some(actual) if actual != expected => Err(refused(format!(
                "{doing}: {} has it as {actual}, not {expected}: something on the way (a proxy?) altered the bytes; push or pull without it",
                self.registry.name
            ))),
            _ => Ok(()),
        }
    }

    fn explain(&self, doing: &str, failure: &Failure) -> String {
        let subject = Subject {
            registry: &self.registry.name,
            repository: &self.repository,
            with_credentials: self.registry.credentials.is_some(),
        };
        self.redact(explain(failure, &subject, doing))
    }

    fn fail(&self, doing: &str, failure: Failure) -> anyhow::Error {
        refused(self.explain(doing, &failure))
    }

    /// `line` with the password and the current token cut out, should a registry's error message
    /// have echoed one back.
    fn redact(&self, line: String) -> String {
        let mut secrets: Vec<String> = Vec::new();
        if let Some(credentials) = &self.registry.credentials {
            secrets.push(credentials.password.expose().to_string());
        }
        if let Auth::Bearer {
            token: Some(token), ..
        } = &self.auth
        {
            secrets.push(token.value().expose().to_string());
        }
        secrets
            .iter()
            .filter(|secret| !secret.is_empty())
            .fold(line, |line, secret| line.replace(secret.as_str(), "***"))
    }
}

/// A call that failed: the registry could not be reached, refused it, or answered what it should
/// not. Every error of a session's calls is one, exit status 3.
fn refused(line: String) -> anyhow::Error {
    exit_status::error(ExitStatus::Registry, line)
}

/// A 4xx that is not about credentials: the registry refused the document itself.
fn refuses_the_document(code: u16) -> bool {
    (400..500).contains(&code) && code != UNAUTHORIZED && code != FORBIDDEN
}

/// Where an opened upload continues: its `Location`, relative to the answer's URL.
fn location(response: &Response) -> Result<Url, Failure> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| response.url().join(location).ok())
        .ok_or_else(|| {
            Failure::Malformed(
                "the registry opened an upload without a Location to send it to".to_string(),
            )
        })
}

/// The digest a registry says it stored: `Docker-Content-Digest`, else the last part of the
/// `Location` when it is a digest.
fn stored_digest(headers: &HeaderMap) -> Option<String> {
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok());
    header(CONTENT_DIGEST).map(str::to_string).or_else(|| {
        header(LOCATION.as_str())
            .and_then(|location| location.rsplit('/').next())
            .filter(|last| last.starts_with("sha256:"))
            .map(str::to_string)
    })
}

/// The page a `Link: <URL>; rel="next"` header names (RFC 8288; the distribution spec's paging),
/// resolved against the answer's own URL.
fn next_page(response: &Response) -> Option<Url> {
    next_link(response.headers(), response.url())
}

/// The `rel="next"` target among `headers`' `Link`s, resolved against `base`.
pub(crate) fn next_link(headers: &HeaderMap, base: &Url) -> Option<Url> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|link| {
            let (target, parameters) = link.trim().split_once(';')?;
            // RFC 8288 3.3: a link's first `rel` is its relation; later ones are ignored.
            let rel = parameters
                .split(';')
                .map(|parameter| parameter.trim().replace(' ', ""))
                .find(|parameter| parameter.starts_with("rel="))?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            (rel == "rel=\"next\"" || rel == "rel=next").then_some(target)
        })
        .next()
        // The first next link decides: one that does not resolve ends the paging, rather than
        // letting a later link of the same answer stand in for it.
        .and_then(|target| base.join(target).ok())
}

/// The media type of an answer, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A status the call cannot use, with the registry's error message and its challenge's `error`.
fn failure_of(response: Response) -> Failure {
    let code = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let challenge_error = match challenge::from_headers(response.headers()) {
        Some(Challenge::Bearer { error, .. }) => error,
        _ => None,
    };
    let mut body = String::new();
    let _ = response.take(MAX_ERROR_BODY).read_to_string(&mut body);
    Failure::Status {
        code,
        body,
        challenge_error,
        token_server: None,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use reqwest::Url;
    use reqwest::header::{HeaderMap, HeaderValue, LINK};

    use super::next_link;

    #[test]
    fn the_next_page_is_the_link_with_rel_next() {
        let base = Url::parse("https://r.example/v2/pause/referrers/sha256:aa").unwrap();
        let next = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(LINK, HeaderValue::from_str(value).unwrap());
            }
            next_link(&headers, &base).map(|url| url.to_string())
        };
        assert_eq!(
            next(&[r#"</v2/pause/referrers/sha256:aa?n=2&last=x>; rel="next""#]).as_deref(),
            Some("https://r.example/v2/pause/referrers/sha256:aa?n=2&last=x")
        );
        assert_eq!(
            next(&[r#"<https://r.example/a>; rel="prev", <https://r.example/b>; rel=next"#])
                .as_deref(),
            Some("https://r.example/b")
        );
        assert_eq!(next(&[r#"<https://r.example/a>; rel="prev""#]), None);
        assert_eq!(next(&[]), None);
    }
}
