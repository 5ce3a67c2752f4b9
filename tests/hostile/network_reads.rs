//! Every read from the network is bounded, and no number a server sends can panic the client. A
//! hostile registry on 127.0.0.1 answers with an endless manifest (to `verify`) or an endless
//! referrers listing (to `push`), with blobs longer than their descriptors say, with a token that
//! lives 2^64 - 1 seconds, with a `Retry-After` of as long: each command refuses in one line (or
//! goes on, where the number is harmless), never exits 101 (a Rust panic), and, run under an
//! address-space limit, keeps its peak RSS (as GNU time reports it) well under 256 MiB.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use pause_tests::deadline::output_within;
use pause_tests::loopback_http::{HttpServer, Reply, Request};
use pause_tests::xtask_cli::{self, COMMAND_TIMEOUT, Said};
use pause_tests::{Need, image, ready};

/// The address space a command may map: room for the xtask's threads and their allocator
/// arenas, while a client that kept an endless answer would fail at it rather than take the
/// machine's memory.
const ADDRESS_SPACE: u64 = 1 << 30;
/// The peak RSS a bounded command stays under, a quarter of the 256 MiB the issue allows: a
/// manifest is read up to 4 MiB, a blob up to its descriptor's size. Measured: 15 to 21 MiB for
/// the debug xtask, 40 MiB for a verify, whose rebuild runs cargo (time counts the peak of what
/// the command waited for too). Without the bounds they reached the 1 GiB limit.
const MAX_PEAK_RSS: u64 = 64 << 20;
/// What the xtask's reads are capped at: 4 MiB for a manifest or a referrers listing.
const MANIFEST_LIMIT: &str = "4194304 bytes";
/// The exit code of a Rust program that panicked.
const PANICKED: i32 = 101;
const REPOSITORY: &str = "pause";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// A huge number a server may send: `u64::MAX`, which `Instant + Duration` cannot hold.
const HUGE: &str = "18446744073709551615";

/// GNU time, the parent that reports the command's peak RSS: `wait4`'s count for a child of the
/// test process itself would start at the test's own (a forked child's peak is its parent's),
/// where time is small.
const NEEDS_TIME: Need = Need::program(TIME, "time");
const TIME: &str = "/usr/bin/time";
/// What GNU time writes before the numbers when the command died of a signal.
const KILLED_BY: &str = "Command terminated by signal ";

/// How a run under [`ADDRESS_SPACE`] ended.
struct Bounded {
    said: Said,
    /// The command's exit code; None when a signal ended it.
    code: Option<i32>,
    /// The signal that ended it.
    signal: Option<i32>,
    /// The most resident memory the command (and anything it waited for) had, in bytes.
    peak_rss: u64,
}

/// Runs the xtask binary with `args` as [`xtask_cli::run`] does, under [`ADDRESS_SPACE`] and
/// GNU time, which reports its peak RSS. Killed after [`COMMAND_TIMEOUT`].
fn run_bounded(args: &[&str]) -> Bounded {
    let home = tempfile::tempdir().expect("a temp dir");
    let report = home.path().join("time-report");
    let xtask = xtask_cli::command(args, &[], home.path());
    let mut command = Command::new(TIME);
    command
        .args(["--format=%M", "--output"])
        .arg(&report)
        .arg("--")
        .arg(xtask.get_program())
        .args(xtask.get_args());
    for (name, value) in xtask.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    // SAFETY: setsid and setrlimit are async-signal-safe, and nothing else runs between fork and
    // exec. The limit is inherited by the xtask that time starts.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &limit) {
                0 => Ok(()),
                _ => Err(io::Error::last_os_error()),
            }
        });
    }
    let out = output_within(&mut command, COMMAND_TIMEOUT);
    let said = Said {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let report = std::fs::read_to_string(&report).unwrap_or_default();
    let signal = report
        .lines()
        .find_map(|line| line.strip_prefix(KILLED_BY)?.trim().parse().ok());
    let peak_kib: u64 = report
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time reported no peak RSS: {report}\n{}", said.all()));
    Bounded {
        code: if signal.is_some() {
            None
        } else {
            out.status.code()
        },
        signal,
        said,
        peak_rss: peak_kib * 1024,
    }
}

/// Asserts `run` refused in one line naming each of `named`, without a panic, its peak RSS under
/// [`MAX_PEAK_RSS`]; returns the line.
fn assert_refused_within_bounds(case: &str, run: &Bounded, named: &[&str]) -> String {
    assert_ne!(
        run.code,
        Some(PANICKED),
        "{case}: it panicked:\n{}",
        run.said.all()
    );
    assert!(
        run.code.is_some(),
        "{case}: killed by signal {:?}, peak RSS {} MiB:\n{}",
        run.signal,
        run.peak_rss >> 20,
        run.said.all()
    );
    let line = run.said.error_line(case);
    xtask_cli::assert_names(&line, named);
    assert!(
        run.peak_rss < MAX_PEAK_RSS,
        "{case}: peak RSS {} MiB, over {} MiB: {line}",
        run.peak_rss >> 20,
        MAX_PEAK_RSS >> 20
    );
    eprintln!("{case}: peak RSS {} KiB: {line}", run.peak_rss >> 10);
    line
}

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
        "network_reads::an_endless_manifest_or_listing_is_refused_at_4_mib",
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
    let run = run_bounded(&["verify", &reference]);
    assert_refused_within_bounds(
        "verify, endless manifest",
        &run,
        &[MANIFEST_LIMIT, "reading manifest endless", &server.host()],
    );
    let layout = image::layout().display().to_string();
    let run = run_bounded(&["push", &reference, "--layout", &layout]);
    assert_refused_within_bounds(
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
        "network_reads::a_blob_longer_than_its_descriptor_is_refused",
        &[NEEDS_TIME],
    ) {
        return;
    }
    let server = serving_overlong_blobs(image::layout());
    let reference = format!("{}/{REPOSITORY}:overlong", server.host());
    let run = run_bounded(&["verify", &reference]);
    assert_refused_within_bounds(
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
        "network_reads::no_number_a_server_sends_panics",
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
    let run = run_bounded(&["verify", &reference]);
    assert_refused_within_bounds("a token for 2^64 - 1 seconds", &run, &["has no such image"]);
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
        let run = run_bounded(&["verify", &reference]);
        assert_refused_within_bounds(
            &format!("Retry-After: {wait}"),
            &run,
            &["429", &server.host()],
        );
    }
}
