//! A registry that answers with terminal escapes: a revision annotation meant to be pasted into a
//! shell (`$(touch PWNED)`) and to retitle the terminal (OSC) and hide text (SGR 8), platform
//! fields and media types holding CSI, error bodies holding C1 controls. Nothing of it may reach
//! the terminal raw: no control byte but our own newlines on stdout or stderr, and no
//! `git checkout` suggestion of anything but a commit id.

use std::sync::Arc;

use pause_tests::registry::loopback_http::{HttpServer, Reply, Request};
use pause_tests::xtask_cli::{self, Said};
use serde_json::json;

/// The OCI image index's media type, which verify insists on.
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const REVISION: &str = "org.opencontainers.image.revision";
const CREATED: &str = "org.opencontainers.image.created";
/// What a hostile registry puts where we quote it: a command substitution for a pasted line, an
/// OSC that retitles the terminal (ended by BEL), SGR 8 that hides what follows, a CSI written as
/// its one-character C1 form, a carriage return that overwrites our line, a DEL.
const HOSTILE: &str =
    "$(touch PWNED)\u{1b}]0;pwned\u{7}\u{1b}[8mhidden\u{9b}2J\rerror: fake\u{7f}\u{85}end";

/// A registry of one repository `hostile/pause` whose every answer but `/v2/` is `answer`.
fn registry(answer: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
    HttpServer::start(
        None,
        Arc::new(move |request: &Request| {
            if request.path() == "/v2/" {
                Reply::Answer {
                    status: 200,
                    reason: "OK",
                    headers: Vec::new(),
                    body: b"{}".to_vec(),
                }
            } else {
                answer(request)
            }
        }),
    )
}

/// Panics, showing the output escaped, when a byte other than our newline that a terminal acts
/// on (C0, DEL, C1) is in it, or when a `git checkout` of the hostile text is suggested.
fn assert_clean(case: &str, said: &Said) {
    for (stream, text) in [("stdout", &said.stdout), ("stderr", &said.stderr)] {
        let raw = text
            .chars()
            .find(|&c| (c.is_control() && c != '\n') || ('\u{80}'..='\u{9f}').contains(&c));
        assert!(
            raw.is_none(),
            "{case}: {stream} holds the control character {raw:?}:\n{}",
            text.escape_debug()
        );
        assert!(
            !text.contains("git checkout $("),
            "{case}: {stream} suggests checking out a command substitution:\n{}",
            text.escape_debug()
        );
    }
}

fn verify(server: &HttpServer) -> Said {
    let reference = format!("{}/hostile/pause:t", server.host());
    xtask_cli::run(&["verify", &reference], &[])
}

/// An index whose revision is hostile and whose one platform is none this checkout builds (with
/// escapes in its fields): verify says which commit the image names before it gives up, and says
/// it escaped, with no `git checkout` suggestion.
#[test]
fn verify_prints_a_hostile_revision_escaped_and_suggests_no_checkout() {
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "0".repeat(64)),
            "size": 1,
            "platform": {"os": format!("linux{HOSTILE}"), "architecture": HOSTILE},
        }],
        "annotations": {CREATED: "2024-01-01T00:00:00Z", REVISION: HOSTILE},
    });
    let server = registry(move |_| Reply::Answer {
        status: 200,
        reason: "OK",
        headers: vec![("Content-Type".into(), INDEX.into())],
        body: index.to_string().into_bytes(),
    });
    let said = verify(&server);
    let error = said.error_line("a hostile revision");
    assert_clean("a hostile revision", &said);
    assert!(
        said.stderr.contains("not a commit id"),
        "the revision is not called what it is:\n{}",
        said.all().escape_debug()
    );
    assert!(error.contains("lists no platform"), "{error}");
}

/// A manifest of another media type, named in the document, and dates that are not dates: each
/// refusal quotes what the registry said, escaped.
#[test]
fn verify_quotes_a_hostile_media_type_and_date_escaped() {
    for (case, document) in [
        (
            "a media type",
            json!({"schemaVersion": 2, "mediaType": format!("text/{HOSTILE}")}),
        ),
        (
            "a date",
            json!({
                "schemaVersion": 2,
                "mediaType": INDEX,
                "manifests": [],
                "annotations": {CREATED: HOSTILE},
            }),
        ),
        (
            "an index that is not one",
            json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": HOSTILE}),
        ),
    ] {
        let server = registry(move |_| Reply::Answer {
            status: 200,
            reason: "OK",
            headers: Vec::new(),
            body: document.to_string().into_bytes(),
        });
        let said = verify(&server);
        said.error_line(case);
        assert_clean(case, &said);
    }
}

/// A registry that refuses with hostile error texts, as the distribution spec's JSON and as a
/// bare body: verify's and push's one line quote them escaped.
#[test]
fn registry_error_texts_are_quoted_escaped() {
    let spec = json!({"errors": [{"code": format!("DENIED{HOSTILE}"), "message": HOSTILE}]});
    let dir = tempfile::tempdir().expect("a temp dir");
    let layout = xtask_cli::build_image(dir.path(), &[])
        .display()
        .to_string();
    for (case, body) in [
        ("the spec's error JSON", spec.to_string()),
        ("a bare body", HOSTILE.to_string()),
    ] {
        let server = registry(move |request| Reply::Answer {
            status: if request.method == "HEAD" { 404 } else { 400 },
            reason: "Bad Request",
            headers: Vec::new(),
            body: body.clone().into_bytes(),
        });
        let reference = format!("{}/hostile/pause:t", server.host());
        for command in [
            vec!["verify", &reference],
            vec!["push", &reference, "--layout", &layout],
        ] {
            let case = format!("{case}, {}", command[0]);
            let said = xtask_cli::run(&command, &[]);
            let error = said.error_line(&case);
            assert!(
                error.contains("400 Bad Request"),
                "{case}: {}",
                error.escape_debug()
            );
            assert_clean(&case, &said);
        }
    }
}
