//! Every read from the network is bounded, and no number a server sends can panic the client. A
//! hostile registry on 127.0.0.1 answers with an endless manifest (to `verify`) or an endless
//! referrers listing (to `push`), with blobs longer than their descriptors say, with a token that
//! lives 2^64 - 1 seconds, with a `Retry-After` of as long: each command refuses in one line (or
//! goes on, where the number is harmless), never exits 101 (a Rust panic), and, run under an
//! address-space limit, keeps its peak RSS (as GNU time reports it) well under 256 MiB.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pause_tests::bounded_run::{self, NEEDS_TIME};
use pause_tests::registry::loopback_http::{HttpServer, Reply, Request};
use pause_tests::xtask_cli::COMMAND_TIMEOUT;
use pause_tests::{image, ready};

/// What the xtask's reads are capped at: 4 MiB for a manifest or a referrers listing.
const MANIFEST_LIMIT: &str = "4194304 bytes";
const REPOSITORY: &str = "pause";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// A huge number a server may send: `u64::MAX`, which `Instant + Duration` cannot hold.
const HUGE: &str = "18446744073709551615";

/// A registry on 127.0.0.1 that lets everyone in (`/v2/` answers 200) and answers every other
/// request as `answer` says.
fn registry(answer: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
    HttpServer::start(
        None,
        Arc::new(move |request: &Request| {
            if request.path() == "/v2/" {
                return plain(200, "OK", Vec::new());
            }
            answer(request)
        }),
    )
}

/// An answer with no header but its length.
fn plain(status: u16, reason: &'static str, body: Vec<u8>) -> Reply {
    Reply::Answer {
        status,
        reason,
        headers: Vec::new(),
        body,
    }
}

/// An endless answer of JSON whitespace, as an image index.
fn endless_index() -> Reply {
    Reply::Endless {
        status: 200,
        reason: "OK",
        headers: vec![("Content-Type".into(), INDEX_TYPE.into())],
        chunk: vec![b' '; 64 * 1024],
    }
}

/// `verify` of a tag whose manifest never ends, and `push` to a registry whose referrers listing
/// never ends: each refuses in one line naming the 4 MiB limit, its peak RSS bounded.
#[test]
fn an_endless_manifest_or_listing_is_refused_at_4_mib() {
    if !ready(
        "hostile::network_reads::an_endless_manifest_or_listing_is_refused_at_4_mib",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let server = registry(|request| {
        let path = request.path();
        match request.method.as_str() {
            "GET" if path.contains("/manifests/") || path.contains("/referrers/") => {
                endless_index()
            }
            // Every blob is there already, every manifest is taken.
            "HEAD" => plain(200, "OK", Vec::new()),
            "PUT" => plain(201, "Created", Vec::new()),
            _ => plain(404, "Not Found", Vec::new()),
        }
    });
    let reference = format!("{}/{REPOSITORY}:endless", server.host());
    let run = bounded_run::run(&["verify", &reference], COMMAND_TIMEOUT);
    bounded_run::assert_refused(
        "verify, endless manifest",
        &run,
        &[MANIFEST_LIMIT, "reading manifest endless", &server.host()],
    );
    let layout = image::layout().display().to_string();
    let run = bounded_run::run(&["push", &reference, "--layout", &layout], COMMAND_TIMEOUT);
    bounded_run::assert_refused(
        "push, endless referrers listing",
        &run,
        &[MANIFEST_LIMIT, "listing the referrers", &server.host()],
    );
}

/// The project's layout served as a registry would serve the image pushed from it, but for its
/// blobs, each an endless repetition of itself: longer than its descriptor's size.
fn serving_overlong_blobs(layout: PathBuf) -> HttpServer {
    registry(move |request| {
        let path = request.path();
        let Some((_, reference)) = path.rsplit_once('/') else {
            return plain(404, "Not Found", Vec::new());
        };
        if path.contains("/blobs/") {
            return match blob(&layout, reference) {
                Some(bytes) => Reply::Endless {
                    status: 200,
                    reason: "OK",
                    headers: Vec::new(),
                    chunk: bytes,
                },
                None => plain(404, "Not Found", Vec::new()),
            };
        }
        let document = if reference.starts_with("sha256:") {
            blob(&layout, reference)
        } else {
            // A tag: the image index.
            image_index(&layout)
        };
        match document {
            Some(bytes) if path.contains("/manifests/") => {
                let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|json| json["mediaType"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Reply::Answer {
                    status: 200,
                    reason: "OK",
                    headers: vec![("Content-Type".into(), media_type)],
                    body: bytes,
                }
            }
            _ => plain(404, "Not Found", Vec::new()),
        }
    })
}

/// The blob `digest` of the layout at `layout`.
fn blob(layout: &Path, digest: &str) -> Option<Vec<u8>> {
    let hex = digest.strip_prefix("sha256:")?;
    if !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read(layout.join("blobs/sha256").join(hex)).ok()
}

/// The multi-platform image index of the layout at `layout`.
fn image_index(layout: &Path) -> Option<Vec<u8>> {
    let top: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).ok()?).ok()?;
    let digest = top["manifests"]
        .as_array()?
        .iter()
        .find(|entry| entry["mediaType"] == INDEX_TYPE)?["digest"]
        .as_str()?
        .to_string();
    blob(layout, &digest)
}

/// `verify` of the project's image from a registry whose blobs run on past their size: the
/// first one read is refused in one line naming its size, and no more of it is read.
#[test]
fn a_blob_longer_than_its_descriptor_is_refused() {
    if !ready(
        "hostile::network_reads::a_blob_longer_than_its_descriptor_is_refused",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let server = serving_overlong_blobs(image::layout());
    let reference = format!("{}/{REPOSITORY}:overlong", server.host());
    let run = bounded_run::run(&["verify", &reference], COMMAND_TIMEOUT);
    bounded_run::assert_refused(
        "verify, overlong blobs",
        &run,
        &["downloading blob sha256:", "bytes its descriptor gives"],
    );
}

/// A token server whose token lives `u64::MAX` seconds, and a registry that asks to be tried
/// again in `u64::MAX` seconds (and in more than a u64 holds): no panic. The token is used (the
/// tag is then missing: one line); the wait is not waited out (one line naming it).
#[test]
fn no_number_a_server_sends_panics() {
    if !ready(
        "hostile::network_reads::no_number_a_server_sends_panics",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let used = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let used = used.clone();
        HttpServer::start(
            None,
            Arc::new(move |request: &Request| {
                let authorization = request.header("authorization").map(str::to_string);
                match request.path() {
                    "/token" => Reply::Answer {
                        status: 200,
                        reason: "OK",
                        headers: vec![("Content-Type".into(), "application/json".into())],
                        body: format!(r#"{{"token":"forever","expires_in":{HUGE}}}"#).into_bytes(),
                    },
                    _ if authorization.as_deref() != Some("Bearer forever") => Reply::Answer {
                        status: 401,
                        reason: "Unauthorized",
                        headers: vec![(
                            "WWW-Authenticate".into(),
                            format!(
                                r#"Bearer realm="http://{}/token",service="hostile""#,
                                request.header("host").unwrap_or_default()
                            ),
                        )],
                        body: Vec::new(),
                    },
                    "/v2/" => plain(200, "OK", Vec::new()),
                    path => {
                        if let Ok(mut used) = used.lock() {
                            used.push(path.to_string());
                        }
                        plain(404, "Not Found", Vec::new())
                    }
                }
            }),
        )
    };
    let reference = format!("{}/{REPOSITORY}:forever", server.host());
    let run = bounded_run::run(&["verify", &reference], COMMAND_TIMEOUT);
    bounded_run::assert_refused("a token for 2^64 - 1 seconds", &run, &["has no such image"]);
    let used = used.lock().map(|used| used.clone()).unwrap_or_default();
    assert!(
        !used.is_empty(),
        "the registry never saw the token used: {}",
        run.said.all()
    );

    for wait in [HUGE, "99999999999999999999999"] {
        let server = registry(move |_| Reply::Answer {
            status: 429,
            reason: "Too Many Requests",
            headers: vec![("Retry-After".into(), wait.into())],
            body: Vec::new(),
        });
        let reference = format!("{}/{REPOSITORY}:later", server.host());
        let run = bounded_run::run(&["verify", &reference], COMMAND_TIMEOUT);
        bounded_run::assert_refused(
            &format!("Retry-After: {wait}"),
            &run,
            &["429", &server.host()],
        );
    }
}
