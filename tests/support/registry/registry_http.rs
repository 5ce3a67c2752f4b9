//! A registry as plain HTTP shows it, through curl rather than the xtask's client: what a push
//! stored is read back by code that shares nothing with the pusher, and tests plant what other
//! tools would have put there (a referrers index, a `.sig` manifest) the same way. Any registry
//! fixture that says where it listens ([`Endpoint`]) can be read so: Debian's docker-registry
//! ([`Registry`]) and ferro-oci-server ([`crate::registry::referrers_registry::ReferrersRegistry`]).

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;
use xtask::oci::blob::sha256;

use crate::Need;
use crate::deadline::output_within;
use crate::registry::docker_registry::Registry;

/// curl, the client these reads and writes go through.
pub const NEEDS: Need = Need::program("curl", "curl");

/// The manifest media types a read accepts, as `Accept` lists them.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json";
/// What the referrers API answers with.
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// How long one request to a registry on loopback may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const OK: u16 = 200;
const CREATED: u16 = 201;
const ACCEPTED: u16 = 202;
const NOT_FOUND: u16 = 404;

/// Where a registry fixture listens and how a client gets in.
pub trait Endpoint {
    /// `127.0.0.1:PORT`.
    fn host(&self) -> &str;
    /// The CA certificate of a TLS registry; None for plain HTTP.
    fn ca_file(&self) -> Option<PathBuf>;
    /// The user and password every request needs, if any.
    fn credentials(&self) -> Option<(&str, &str)>;
}

impl Endpoint for Registry {
    fn host(&self) -> &str {
        Registry::host(self)
    }

    fn ca_file(&self) -> Option<PathBuf> {
        Registry::ca_file(self)
    }

    fn credentials(&self) -> Option<(&str, &str)> {
        Registry::credentials(self)
    }
}

/// One HTTP answer.
pub struct Answer {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// curl's view of one registry; request bodies are staged in a temp dir of its own.
pub struct RegistryHttp<'a> {
    registry: &'a dyn Endpoint,
    scratch: TempDir,
}

impl<'a> RegistryHttp<'a> {
    pub fn new(registry: &'a dyn Endpoint) -> RegistryHttp<'a> {
        RegistryHttp {
            registry,
            scratch: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// `METHOD url` (a path after `/v2/`, or a whole URL) with `headers` and `body`.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Answer {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            let scheme = if self.registry.ca_file().is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}/v2/{url}", self.registry.host())
        };
        let mut command = Command::new("curl");
        // -D - puts the header block before the body on stdout; no `Expect: 100-continue`, so
        // there is one header block.
        command.args([
            "--silent",
            "--show-error",
            "-D",
            "-",
            "-H",
            "Expect:",
            "-X",
            method,
        ]);
        if let Some(ca) = self.registry.ca_file() {
            command.arg("--cacert").arg(ca);
        }
        if let Some((user, password)) = self.registry.credentials() {
            command.args(["--user", &format!("{user}:{password}")]);
        }
        for (name, value) in headers {
            command.args(["-H", &format!("{name}: {value}")]);
        }
        if let Some(body) = body {
            let file = self.scratch.path().join("body");
            fs::write(&file, body).expect("staging the request body");
            command
                .arg("--data-binary")
                .arg(format!("@{}", file.display()));
        }
        command.arg(&url);
        let out = output_within(&mut command, REQUEST_TIMEOUT);
        assert!(
            out.status.success(),
            "curl {method} {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        parse(&out.stdout).unwrap_or_else(|| {
            panic!(
                "curl {method} {url}: not an HTTP answer:\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// The bytes of manifest `reference` (a tag or a digest) in `repository`; None on 404.
    pub fn manifest(&self, repository: &str, reference: &str) -> Option<Vec<u8>> {
        let answer = self.request(
            "GET",
            &format!("{repository}/manifests/{reference}"),
            &[("Accept", MANIFEST_TYPES)],
            None,
        );
        match answer.status {
            OK => Some(answer.body),
            NOT_FOUND => None,
            status => panic!(
                "GET {repository}/manifests/{reference}: {status} {}",
                String::from_utf8_lossy(&answer.body)
            ),
        }
    }

    /// The JSON of manifest `reference`, which must exist.
    pub fn manifest_json(&self, repository: &str, reference: &str) -> serde_json::Value {
        let bytes = self
            .manifest(repository, reference)
            .unwrap_or_else(|| panic!("{repository}:{reference} is not in the registry"));
        serde_json::from_slice(&bytes).expect("a manifest is JSON")
    }

    /// The blob `digest` of `repository`, checked against its digest.
    pub fn blob(&self, repository: &str, digest: &str) -> Vec<u8> {
        let answer = self.request("GET", &format!("{repository}/blobs/{digest}"), &[], None);
        assert_eq!(answer.status, OK, "GET blob {digest}");
        assert_eq!(sha256(&answer.body), digest, "the registry's blob {digest}");
        answer.body
    }

    /// The status of the referrers API for `digest` (docker-registry 2.8 has none: 404).
    pub fn referrers_status(&self, repository: &str, digest: &str) -> u16 {
        self.referrers(repository, digest).status
    }

    /// The referrers API's answer for `digest`: `GET /v2/<repository>/referrers/<digest>`.
    pub fn referrers(&self, repository: &str, digest: &str) -> Answer {
        self.request(
            "GET",
            &format!("{repository}/referrers/{digest}"),
            &[("Accept", INDEX_TYPE)],
            None,
        )
    }

    /// Every tag of `repository`, as `GET /v2/<repository>/tags/list` lists them.
    pub fn tags(&self, repository: &str) -> Vec<String> {
        let answer = self.request("GET", &format!("{repository}/tags/list"), &[], None);
        assert_eq!(
            answer.status,
            OK,
            "GET {repository}/tags/list: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let list: serde_json::Value =
            serde_json::from_slice(&answer.body).expect("a tag list is JSON");
        list["tags"]
            .as_array()
            .expect("a tag list has tags")
            .iter()
            .map(|tag| tag.as_str().expect("a tag is a string").to_string())
            .collect()
    }

    /// Uploads `data` as a blob (POST, then PUT with its digest); returns the digest.
    pub fn put_blob(&self, repository: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let opened = self.request("POST", &format!("{repository}/blobs/uploads/"), &[], None);
        assert_eq!(opened.status, ACCEPTED, "opening an upload");
        let location = opened.header("location").expect("an upload location");
        let separator = if location.contains('?') { '&' } else { '?' };
        let location = if location.starts_with('/') {
            let scheme = if self.registry.ca_file().is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}{location}", self.registry.host())
        } else {
            location.to_string()
        };
        let closed = self.request(
            "PUT",
            &format!("{location}{separator}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            Some(data),
        );
        assert_eq!(closed.status, CREATED, "closing the upload of {digest}");
        digest
    }

    /// Stores `data` as a manifest of `media_type` under `reference`; returns its digest.
    pub fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        data: &[u8],
    ) -> String {
        let answer = self.request(
            "PUT",
            &format!("{repository}/manifests/{reference}"),
            &[("Content-Type", media_type)],
            Some(data),
        );
        assert_eq!(
            answer.status,
            CREATED,
            "PUT {repository}:{reference}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        sha256(data)
    }
}

/// An HTTP/1.1 answer as `curl -D -` prints it: status line, headers, blank line, body.
fn parse(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_string()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}
