//! Property tests of every parser of text this tool did not write: image references, a registry's
//! `WWW-Authenticate`, `Link` and `Retry-After` headers, token servers' answers, docker's and
//! podman's credential files, `image/image.toml`, cosign's key files (PEM around the encrypted
//! JSON container, and public keys), manifests, indexes and the documents hung on them (referrers
//! indexes, `.sig`/`.att` manifests, DSSE envelopes, Sigstore bundles, in-toto statements,
//! simple-signing payloads, SPDX and SLSA documents), layers, registry error bodies,
//! `SOURCE_DATE_EPOCH` and `--platform`.
//!
//! What it proves, for inputs drawn both at random (any bytes, any JSON) and near each grammar
//! (valid pieces with junk spliced in, edge numbers such as `u64::MAX`, `-1` and `1e400` in every
//! numeric field) so that the cases reach past the first refusal: no parser panics; and where a
//! printer exists, what was parsed prints and parses back to the same value (references, JSON
//! documents, DSSE envelopes, statements, PEM blocks, layers, quoted challenge parameters,
//! `Retry-After` seconds, docker's `auth`).
//!
//! Each property runs [`CASES`] cases (fewer where a case costs a key derivation, see
//! [`KEY_FILE_CASES`]) and writes how many it tried to stderr itself, past the test harness's
//! capture, so that `cargo test -p xtask` shows the numbers. Failures are not saved to a
//! regressions file: the panic message carries the shrunk input.

use std::cell::Cell;
use std::io::Write as _;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestRunner};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderValue, LINK, RETRY_AFTER};

use crate::attest::intoto::{self, Statement};
use crate::attest::{provenance, sbom};
use crate::oci::blob::sha256;
use crate::oci::definition::{Definition, File};
use crate::oci::descriptor::Descriptor;
use crate::oci::index::Index as ImageIndex;
use crate::oci::manifest::Manifest;
use crate::oci::reference::{Reference, redacted};
use crate::oci::{layer, referrers, timestamp};
use crate::platform::Platform;
use crate::registry::challenge::{self, Challenge};
use crate::registry::credentials::{Credentials, lookup};
use crate::registry::error::{Failure, Subject, explain, one_line, retry_after};
use crate::registry::session::next_link;
use crate::registry::token::parse_answer;
use crate::sigstore::attached::{self, AttachedManifest};
use crate::sigstore::dsse::Envelope;
use crate::sigstore::key::{PublicKey, SigningKey};
use crate::sigstore::{attestation, bundle, encrypted, pem, simple_signing};

/// Cases per property: together a few seconds in the dev profile.
const CASES: u32 = 2048;
/// Cases of the key-file properties, where a case that gets as far as the key derivation costs a
/// scrypt run (N = 2^15, 32 MiB) even optimised.
const KEY_FILE_CASES: u32 = 512;
/// How deep and how big arbitrary JSON documents grow.
const JSON_DEPTH: u32 = 3;
const JSON_NODES: u32 = 24;
const JSON_BRANCHING: u32 = 6;

/// Runs `property` on `cases` values of `strategy`; says on stderr how many cases it tried, and
/// fails with the smallest failing input proptest finds.
fn check<S>(name: &str, cases: u32, strategy: S, property: impl Fn(S::Value))
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let tried = Cell::new(0_u64);
    let result = runner.run(&strategy, |value| {
        tried.set(tried.get() + 1);
        property(value);
        Ok(())
    });
    let verdict = if result.is_ok() { "passed" } else { "FAILED" };
    // Straight to the process's stderr: the harness captures `eprintln!`, not this.
    let _ = writeln!(
        std::io::stderr().lock(),
        "untrusted input: {name}: {} cases tried, {verdict}",
        tried.get()
    );
    if let Err(error) = result {
        panic!("{name}: {error}");
    }
}

// --- Generators shared by the formats ------------------------------------------------------

/// Any text at all: control characters, newlines, any Unicode.
fn any_text(max: usize) -> BoxedStrategy<String> {
    proptest::string::string_regex(&format!("(?s).{{0,{max}}}"))
        .expect("a valid regex")
        .boxed()
}

/// Any bytes, valid UTF-8 or not.
fn any_bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max).boxed()
}

/// Numbers as JSON (and TOML) spell them, with the ones that break arithmetic and conversions.
const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "1e400",
    "-1e400",
    "1.5",
    "0.0",
    "1E2",
];

fn number_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => select(EDGE_NUMBERS).prop_map(str::to_string),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
    ]
    .boxed()
}

/// Field names of every JSON format read here, so that arbitrary documents hit real fields.
const KEYS: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "artifactType",
    "config",
    "layers",
    "manifests",
    "subject",
    "annotations",
    "digest",
    "size",
    "platform",
    "urls",
    "token",
    "access_token",
    "expires_in",
    "refresh_token",
    "error",
    "errors",
    "code",
    "message",
    "auths",
    "auth",
    "username",
    "password",
    "identitytoken",
    "payloadType",
    "payload",
    "signatures",
    "keyid",
    "sig",
    "verificationMaterial",
    "publicKey",
    "hint",
    "certificate",
    "x509CertificateChain",
    "rawBytes",
    "tlogEntries",
    "dsseEnvelope",
    "_type",
    "predicateType",
    "predicate",
    "name",
    "sha256",
    "critical",
    "identity",
    "docker-reference",
    "image",
    "docker-manifest-digest",
    "type",
    "kdf",
    "cipher",
    "ciphertext",
    "params",
    "salt",
    "nonce",
    "files",
    "packages",
    "fileName",
    "checksums",
    "algorithm",
    "checksumValue",
    "SPDXID",
    "versionInfo",
    "buildDefinition",
    "buildType",
    "externalParameters",
    "resolvedDependencies",
];

/// A JSON document as text, so that number literals no `serde_json::Value` holds (`1e400`,
/// `18446744073709551616`) and duplicate keys can be written.
#[derive(Debug, Clone)]
enum Json {
    Literal(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn string(text: &str) -> Json {
        Json::Literal(serde_json::to_string(text).expect("a string serialises"))
    }

    fn text(&self) -> String {
        match self {
            Json::Literal(literal) => literal.clone(),
            Json::Array(items) => {
                let items: Vec<String> = items.iter().map(Json::text).collect();
                format!("[{}]", items.join(","))
            }
            Json::Object(members) => {
                let members: Vec<String> = members
                    .iter()
                    .map(|(key, value)| format!("{}:{}", Json::string(key).text(), value.text()))
                    .collect();
                format!("{{{}}}", members.join(","))
            }
        }
    }
}

fn json_key() -> BoxedStrategy<String> {
    prop_oneof![3 => select(KEYS).prop_map(str::to_string), 1 => any_text(8)].boxed()
}

fn json_string() -> BoxedStrategy<Json> {
    any_text(24).prop_map(|text| Json::string(&text)).boxed()
}

/// Any JSON value: scalars of every kind, arrays and objects nested a few levels.
fn json_any() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        select(&["null", "true", "false"][..]).prop_map(|literal| Json::Literal(literal.into())),
        number_text().prop_map(Json::Literal),
        json_string(),
    ];
    leaf.prop_recursive(JSON_DEPTH, JSON_NODES, JSON_BRANCHING, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..JSON_BRANCHING as usize)
                .prop_map(Json::Array),
            proptest::collection::vec((json_key(), inner), 0..JSON_BRANCHING as usize)
                .prop_map(Json::Object),
        ]
    })
    .boxed()
}

/// `value` mostly, anything now and then: a field of the right shape or of any other. Rare
/// enough that a document of a dozen fields is often whole, so cases reach past the first
/// refusal.
fn near(value: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    prop_oneof![60 => value, 1 => json_any()].boxed()
}

/// An object with each of `fields` (most of the time, each near its shape), now and then a stray
/// member.
fn object(fields: Vec<(&'static str, BoxedStrategy<Json>)>) -> BoxedStrategy<Json> {
    const PRESENT: f64 = 0.985;
    const STRAY: f64 = 0.2;
    let members: Vec<BoxedStrategy<Option<(String, Json)>>> = fields
        .into_iter()
        .map(|(name, value)| {
            proptest::option::weighted(PRESENT, near(value))
                .prop_map(move |value| value.map(|value| (name.to_string(), value)))
                .boxed()
        })
        .collect();
    (
        members,
        proptest::option::weighted(STRAY, (json_key(), json_any())),
    )
        .prop_map(|(members, stray)| {
            Json::Object(members.into_iter().flatten().chain(stray).collect())
        })
        .boxed()
}

fn array(item: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    proptest::collection::vec(item, 0..4)
        .prop_map(Json::Array)
        .boxed()
}

/// Mostly one of `texts` (the values the readers look for), now and then any string.
/// Mostly one `item` (what a statement's subject must be), else up to four.
fn one_or_more(item: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    prop_oneof![
        3 => item.clone().prop_map(|item| Json::Array(vec![item])),
        1 => array(item),
    ]
    .boxed()
}

fn one_of(texts: &[&str]) -> BoxedStrategy<Json> {
    let texts: Vec<String> = texts.iter().map(|text| text.to_string()).collect();
    prop_oneof![3 => select(texts).prop_map(|text| Json::string(&text)), 1 => json_string()].boxed()
}

/// A count or size: mostly a small one, else any number.
fn number() -> BoxedStrategy<Json> {
    const SMALL: u32 = 5000;
    prop_oneof![
        8 => (0..SMALL).prop_map(|n| n.to_string()),
        1 => number_text(),
    ]
    .prop_map(Json::Literal)
    .boxed()
}

/// String-to-string maps (annotations, digest sets), with the odd non-string value.
fn string_map() -> BoxedStrategy<Json> {
    proptest::collection::vec((json_key(), near(json_string())), 0..4)
        .prop_map(Json::Object)
        .boxed()
}

fn digest() -> BoxedStrategy<Json> {
    prop_oneof![
        3 => "sha256:[0-9a-f]{64}",
        1 => "sha256:[0-9a-fA-F./]{0,70}",
        1 => "[a-z0-9]{1,8}:[0-9a-f]{0,70}",
    ]
    .prop_map(|text| Json::string(&text))
    .boxed()
}

/// Base64 of `bytes` in each alphabet the formats meet, or something that is not base64.
fn base64_of(bytes: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<Json> {
    prop_oneof![
        8 => bytes.clone().prop_map(|bytes| STANDARD.encode(bytes)),
        1 => bytes.prop_map(|bytes| URL_SAFE.encode(bytes)),
        1 => any_text(16),
    ]
    .prop_map(|text| Json::string(&text))
    .boxed()
}

/// `text` with up to three characters of junk spliced in somewhere.
fn spliced(text: BoxedStrategy<String>) -> BoxedStrategy<String> {
    (text, proptest::option::of((any::<Index>(), any_text(3))))
        .prop_map(|(mut text, junk)| {
            if let Some((at, junk)) = junk {
                let boundaries: Vec<usize> = text
                    .char_indices()
                    .map(|(at, _)| at)
                    .chain([text.len()])
                    .collect();
                text.insert_str(*at.get(&boundaries), &junk);
            }
            text
        })
        .boxed()
}

/// A document's bytes, shown as text in a failure report.
#[derive(Clone)]
struct Document(Vec<u8>);

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// Documents of the given shapes (weighted), any JSON, or any bytes.
fn documents(shapes: Vec<(u32, BoxedStrategy<Json>)>) -> BoxedStrategy<Document> {
    let json = shapes
        .into_iter()
        .chain([(1, json_any())])
        .map(|(weight, shape)| {
            (
                weight,
                shape.prop_map(|json| json.text().into_bytes()).boxed(),
            )
        });
    proptest::strategy::Union::new_weighted(json.chain([(1, any_bytes(64))]).collect::<Vec<_>>())
        .prop_map(Document)
        .boxed()
}

// --- Manifests, indexes and what hangs on them -----------------------------------------------

const MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.empty.v1+json",
    "application/vnd.dev.cosign.simplesigning.v1+json",
    "application/vnd.dsse.envelope.v1+json",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.in-toto+json",
];

fn descriptor() -> BoxedStrategy<Json> {
    object(vec![
        ("mediaType", one_of(MEDIA_TYPES)),
        ("digest", digest()),
        ("size", number()),
        (
            "platform",
            object(vec![
                ("architecture", one_of(&["amd64", "arm64", "arm"])),
                ("os", one_of(&["linux"])),
                ("variant", one_of(&["v7", "v8"])),
            ]),
        ),
        ("annotations", string_map()),
        ("artifactType", one_of(MEDIA_TYPES)),
        ("urls", array(json_string())),
    ])
}

fn manifest() -> BoxedStrategy<Json> {
    object(vec![
        ("schemaVersion", number()),
        ("mediaType", one_of(MEDIA_TYPES)),
        ("artifactType", one_of(MEDIA_TYPES)),
        ("config", descriptor()),
        ("layers", array(descriptor())),
        ("subject", descriptor()),
        ("annotations", string_map()),
    ])
}

fn index() -> BoxedStrategy<Json> {
    object(vec![
        ("schemaVersion", number()),
        ("mediaType", one_of(MEDIA_TYPES)),
        ("manifests", array(descriptor())),
        ("annotations", string_map()),
    ])
}

/// A registry's answer for a manifest or index: any bytes, any JSON, or near either schema.
fn registry_document() -> BoxedStrategy<Document> {
    documents(vec![(3, manifest()), (3, index())])
}

/// `T` parsed from `bytes`, printed and parsed again, prints the same.
fn reprints_the_same<T>(bytes: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    if let Ok(parsed) = serde_json::from_slice::<T>(bytes) {
        let printed = serde_json::to_vec(&parsed).expect("a parsed document prints");
        let again: T = serde_json::from_slice(&printed).expect("a printed document parses");
        assert_eq!(
            serde_json::to_vec(&again).expect("a parsed document prints"),
            printed,
            "{}",
            String::from_utf8_lossy(&printed)
        );
    }
}

/// Inputs these properties once failed on, tried on every run as well: a Docker Hub reference
/// whose `library/` pushed it past 255 characters once printed, a float in another tool's field
/// that serde_json's default parser read one ULP off (so writing the manifest back changed it),
/// and an `expires_in` whose `Instant` overflowed.
#[test]
fn inputs_that_once_failed() {
    const DOCKER_HUB_PREFIX: &str = "docker.io/";
    const MAX_NAME_LENGTH: usize = 255;
    let long = format!(
        "{DOCKER_HUB_PREFIX}{}",
        "a".repeat(MAX_NAME_LENGTH - DOCKER_HUB_PREFIX.len())
    );
    if let Ok(reference) = Reference::parse(&long) {
        assert_eq!(Reference::parse(&reference.to_string()), Ok(reference));
    }
    reprints_the_same::<AttachedManifest>(
        br#"{"schemaVersion":0,"config":{"mediaType":"m","digest":"d","size":0},"layers":[{"mediaType":"m","digest":"d","size":0,"artifactType":{"schemaVersion":{"schemaVersion":-8.932844483680624e-305}}}]}"#,
    );
    let now = Instant::now();
    for answer in [
        r#"{"token":"t","expires_in":18446744073709551615}"#,
        r#"{"access_token":"t","expires_in":9223372036854775807}"#,
    ] {
        let _ = parse_answer(answer.as_bytes(), now);
    }
}

#[test]
fn manifests_and_indexes() {
    let referrer = Descriptor::new(MEDIA_TYPES[0], &sha256(b"referrer"), 1);
    check(
        "manifests and indexes",
        CASES,
        registry_document(),
        |Document(bytes)| {
            reprints_the_same::<Manifest>(&bytes);
            reprints_the_same::<ImageIndex>(&bytes);
            reprints_the_same::<Descriptor>(&bytes);
            reprints_the_same::<AttachedManifest>(&bytes);
            let _ = referrers::listed(&bytes, MEDIA_TYPES[7]);
            if let Ok(digests) = referrers::listed_digests(&bytes) {
                // Two pages of the same index list what one does.
                let joined = referrers::join_pages(vec![bytes.clone(), bytes.clone()])
                    .expect("pages that parse join");
                assert_eq!(referrers::listed_digests(&joined).ok(), Some(digests));
            }
            if let Ok(Some(added)) = referrers::add(Some(&bytes), &referrer) {
                let listed = referrers::listed_digests(&added.data).expect("what add writes");
                assert!(listed.contains(&referrer.digest));
            }
            let _ = attached::layers_of(&bytes, MEDIA_TYPES[5]);
            let _ = attached::append(Some(&bytes), "manifest", &[]);
            let _ = simple_signing::signatures(&bytes);
        },
    );
}

// --- Signed documents: DSSE, bundles, statements, payloads -----------------------------------

fn dsse_signatures() -> BoxedStrategy<Json> {
    array(object(vec![
        ("keyid", json_string()),
        ("sig", base64_of(any_bytes(80))),
    ]))
}

fn envelope() -> BoxedStrategy<Json> {
    object(vec![
        ("payloadType", one_of(&[intoto::MEDIA_TYPE])),
        (
            "payload",
            base64_of(
                statement()
                    .prop_map(|json| json.text().into_bytes())
                    .boxed(),
            ),
        ),
        ("signatures", dsse_signatures()),
    ])
}

fn statement() -> BoxedStrategy<Json> {
    object(vec![
        ("_type", one_of(&[intoto::STATEMENT_TYPE])),
        (
            "subject",
            one_or_more(object(vec![
                ("name", json_string()),
                (
                    "digest",
                    object(vec![(
                        "sha256",
                        prop_oneof![3 => "[0-9a-f]{64}", 1 => "[0-9a-fA-F]{0,66}"]
                            .prop_map(|hex| Json::string(&hex))
                            .boxed(),
                    )]),
                ),
                ("annotations", string_map()),
            ])),
        ),
        ("predicateType", one_of(&[bundle::SIGN_PREDICATE_TYPE])),
        ("predicate", json_any()),
    ])
}

/// One key for the whole run: the readers of signed documents need one to check against.
fn test_key() -> PublicKey {
    SigningKey::generate()
        .expect("the system's random source")
        .public_key()
}

#[test]
fn dsse_envelopes_and_bundles() {
    let key = test_key();
    let hint = bundle::key_hint(&key).expect("a hint of a key");
    let subject = sha256(b"subject");
    // A key's bundle, or a keyless one: a Fulcio certificate where the key's hint would be.
    let bundle_json = |material: (&'static str, BoxedStrategy<Json>)| {
        object(vec![
            ("mediaType", one_of(&[bundle::MEDIA_TYPE])),
            (
                "verificationMaterial",
                object(vec![material, ("tlogEntries", array(json_any()))]),
            ),
            ("dsseEnvelope", envelope()),
        ])
    };
    let keyed = bundle_json(("publicKey", object(vec![("hint", one_of(&[&hint]))])));
    let keyless = bundle_json(("certificate", object(vec![("rawBytes", json_any())])));
    let documents = documents(vec![(3, envelope()), (3, keyed), (1, keyless)]);
    check(
        "DSSE envelopes and Sigstore bundles",
        CASES,
        documents,
        |Document(bytes)| {
            if let Ok(envelope) = Envelope::parse(&bytes) {
                assert_eq!(Envelope::parse(&envelope.to_json()).ok(), Some(envelope));
            }
            if let Ok(read) = bundle::parse(&bytes) {
                let _ = read.verify(&key);
            }
            let _ = attestation::read_envelope(&bytes, &key, &subject);
            let _ = attestation::read_bundle(&bytes, &key, &subject);
        },
    );
}

/// A bundle's key hint (base64 of a SHA-256, as cosign 3 writes it), named in messages as every
/// key is: `sha256:` and 64 hex digits when it is one, else quoted as it came.
#[test]
fn bundle_key_hints() {
    let hints = prop_oneof![
        any_bytes(40).prop_map(|bytes| STANDARD.encode(bytes)),
        proptest::collection::vec(any::<u8>(), 32).prop_map(|bytes| STANDARD.encode(bytes)),
        spliced(Just(STANDARD.encode([7; 32])).boxed()),
        any_text(64),
    ];
    check(
        "bundle key hints",
        CASES,
        hints,
        |hint| match bundle::hinted_key(&hint) {
            Some(named) => assert!(
                named.len() == "sha256:".len() + 64
                    && named.starts_with("sha256:")
                    && named["sha256:".len()..]
                        .bytes()
                        .all(|byte| byte.is_ascii_hexdigit()),
                "{named}"
            ),
            None => assert!(bundle::named_key(&hint).contains(&hint)),
        },
    );
}

#[test]
fn statements_payloads_sboms_and_provenance() {
    let payload = object(vec![
        (
            "critical",
            object(vec![
                (
                    "identity",
                    object(vec![("docker-reference", json_string())]),
                ),
                ("image", object(vec![("docker-manifest-digest", digest())])),
                ("type", one_of(&["cosign container image signature"])),
            ]),
        ),
        ("optional", json_any()),
    ]);
    let documents = documents(vec![(3, statement()), (2, payload)]);
    check(
        "statements, signature payloads, SBOMs, provenance",
        CASES,
        documents,
        |Document(bytes)| {
            if let Ok(statement) = Statement::parse(&bytes) {
                assert_eq!(Statement::parse(&statement.to_json()).ok(), Some(statement));
            }
            let _ = simple_signing::claim(&bytes);
            let _ = sbom::summary(&bytes);
            let _ = provenance::claims(&bytes);
        },
    );
}

// --- Registry headers and answers ------------------------------------------------------------

/// Bytes a header value may hold: tab, visible ASCII and obs-text (not always UTF-8).
fn header_bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(b'\t'), 0x20_u8..0x7f, 0x80_u8..=0xff],
        0..=max,
    )
    .boxed()
}

/// A header map with `name` set to each of `values` that HTTP allows (no other can reach us).
fn headers(name: reqwest::header::HeaderName, values: &[Vec<u8>]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name.clone(), value);
        }
    }
    headers
}

/// `"text"` with `\` and `"` escaped: RFC 7230's quoted-string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn token_text() -> BoxedStrategy<String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}".boxed()
}

/// Schemes as registries spell them, and one this client does not answer.
const SCHEMES: &[&str] = &["Basic", "Bearer", "bearer", "BEARER", "Negotiate"];

/// A `WWW-Authenticate` value near the grammar: schemes registries use and others, parameters
/// quoted or not, unterminated quotes, stray commas and spaces.
fn challenge_text() -> BoxedStrategy<String> {
    let scheme = prop_oneof![
        3 => select(SCHEMES).prop_map(str::to_string),
        1 => token_text(),
        1 => any_text(4),
    ];
    let name = prop_oneof![
        3 => select(&["realm", "service", "scope", "error", "Realm"][..]).prop_map(str::to_string),
        1 => token_text(),
        1 => any_text(3),
    ];
    let value = prop_oneof![
        2 => any_text(20).prop_map(|text| quoted(&text)),
        1 => token_text(),
        1 => any_text(12).prop_map(|text| format!("\"{text}")),
        1 => any_text(12),
    ];
    let separator = || select(&[",", ", ", " , ", ",,", " ", "", "\t"][..]);
    let param = (name, separator(), value).prop_map(|(name, space, value)| {
        let space = space.trim_matches(',');
        format!("{name}{space}={space}{value}")
    });
    let one = (
        scheme,
        proptest::collection::vec((param, separator()), 0..4),
    )
        .prop_map(|(scheme, params)| {
            let params: String = params
                .into_iter()
                .map(|(param, separator)| format!("{param}{separator}"))
                .collect();
            format!("{scheme} {params}")
        });
    proptest::collection::vec((one, separator()), 1..4)
        .prop_map(|challenges| {
            challenges
                .into_iter()
                .map(|(challenge, separator)| format!("{challenge}{separator}"))
                .collect()
        })
        .boxed()
}

#[test]
fn www_authenticate_challenges() {
    let values = prop_oneof![
        1 => any_text(40),
        3 => spliced(challenge_text()),
    ];
    check("WWW-Authenticate challenges", CASES, values, |value| {
        let _ = challenge::parse(&value);
        if let Ok(header) = HeaderValue::from_str(&value) {
            let mut headers = HeaderMap::new();
            headers.append(reqwest::header::WWW_AUTHENTICATE, header);
            let _ = challenge::from_headers(&headers);
        }
    });
}

#[test]
fn quoted_challenge_parameters_read_back_as_written() {
    let optional = || proptest::option::of(any_text(24));
    let cases = (
        proptest::option::of(any_text(12)),
        any_text(40),
        optional(),
        optional(),
        any::<Index>(),
    );
    check(
        "quoted challenge parameters read back",
        CASES,
        cases,
        |(basic, realm, service, error, order)| {
            let mut params = vec![
                format!("realm={}", quoted(&realm)),
                "scope=\"repository:a/b:pull,push\"".to_string(),
            ];
            params.extend(service.as_ref().map(|s| format!("service={}", quoted(s))));
            params.extend(error.as_ref().map(|e| format!("error={}", quoted(e))));
            let turn = order.index(params.len());
            params.rotate_left(turn);
            let bearer = format!("Bearer {}", params.join(", "));
            let value = match &basic {
                Some(realm) => format!("Basic realm={}, {bearer}", quoted(realm)),
                None => bearer,
            };
            let expected = Challenge::Bearer {
                realm,
                service,
                error,
            };
            let mut want = Vec::new();
            if basic.is_some() {
                want.push(Challenge::Basic);
            }
            want.push(expected);
            assert_eq!(challenge::parse(&value), want, "{value}");
        },
    );
}

#[test]
fn link_headers() {
    let base = Url::parse("https://r.example/v2/pause/referrers/sha256:aa").expect("a URL");
    let target = "[a-zA-Z0-9/?=&._~:%-]{0,30}";
    let rel = select(
        &[
            "rel=\"next\"",
            "rel=next",
            "rel=\"prev\"",
            "rel=\"last\"",
            "title=\"x\"",
        ][..],
    );
    let clean_link = (target, proptest::collection::vec(rel, 0..3));
    let clean = proptest::collection::vec(clean_link, 0..4);
    let raw = prop_oneof![
        1 => proptest::collection::vec(header_bytes(60), 0..3),
        2 => proptest::collection::vec(
            spliced(challenge_text().prop_map(|text| format!("<{text}>; rel=\"next\"")).boxed())
                .prop_map(String::into_bytes),
            0..3,
        ),
    ];
    check("Link headers", CASES, (clean, raw), |(links, raw)| {
        // RFC 8288's meaning: the first link with rel=next, resolved against the page's URL.
        let text: Vec<String> = links
            .iter()
            .map(|(target, params)| {
                std::iter::once(format!("<{target}>"))
                    .chain(params.iter().map(|param| param.to_string()))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .collect();
        let expected = links
            .iter()
            .find(|(_, params)| {
                params
                    .iter()
                    .find(|p| p.starts_with("rel="))
                    .is_some_and(|p| p.contains("next"))
            })
            .and_then(|(target, _)| base.join(target).ok());
        if !text.is_empty() {
            let value = text.join(", ").into_bytes();
            assert_eq!(
                next_link(&headers(LINK, &[value]), &base),
                expected,
                "{text:?}"
            );
        }
        let _ = next_link(&headers(LINK, &raw), &base);
    });
}

#[test]
fn retry_after_headers() {
    let spaces = || select(&["", " ", "\t", "  "][..]);
    let cases = (
        spaces(),
        any::<u64>(),
        spaces(),
        header_bytes(24),
        "[0-9]{20,30}",
    );
    check(
        "Retry-After headers",
        CASES,
        cases,
        |(before, seconds, after, raw, huge)| {
            let value = format!("{before}{seconds}{after}").into_bytes();
            assert_eq!(
                retry_after(&headers(RETRY_AFTER, &[value])),
                Some(Duration::from_secs(seconds))
            );
            let _ = retry_after(&headers(RETRY_AFTER, &[raw]));
            let _ = retry_after(&headers(RETRY_AFTER, &[huge.into_bytes()]));
        },
    );
}

/// `expires_in` near `u64::MAX` once panicked here: adding it to an `Instant` overflows.
#[test]
fn token_server_answers() {
    let answer = object(vec![
        ("token", json_string()),
        ("access_token", json_string()),
        ("expires_in", number_text().prop_map(Json::Literal).boxed()),
        ("refresh_token", json_string()),
        ("issued_at", json_string()),
        ("error", one_of(&["invalid_grant", "invalid_request"])),
    ]);
    let answers = documents(vec![(4, answer)]);
    check(
        "token server answers",
        CASES,
        answers,
        |Document(answer)| {
            if let Some((token, _refresh)) = parse_answer(&answer, Instant::now()) {
                assert!(!token.value().expose().is_empty());
                let _ = token.is_fresh();
            }
        },
    );
}

#[test]
fn registry_error_bodies() {
    let body = prop_oneof![
        1 => any_text(300),
        2 => object(vec![(
            "errors",
            array(object(vec![
                ("code", one_of(&["UNAUTHORIZED", "DENIED", "MANIFEST_INVALID"])),
                ("message", json_string()),
                ("detail", json_any()),
            ])),
        )])
        .prop_map(|json| json.text()),
    ];
    let cases = (
        any::<u16>(),
        body,
        proptest::option::of(any_text(12)),
        proptest::option::of(any::<u64>()),
        any::<bool>(),
    );
    check(
        "registry error bodies",
        CASES,
        cases,
        |(code, body, challenge_error, wait, with_credentials)| {
            let _ = one_line(&body);
            let failure = Failure::Status {
                code,
                body,
                challenge_error,
                token_server: None,
                retry_after: wait.map(Duration::from_secs),
            };
            let _ = failure.is_transient();
            let subject = Subject {
                registry: "r.example",
                repository: "pause",
                with_credentials,
            };
            let _ = explain(&failure, &subject, "pushing");
        },
    );
}

// --- References ------------------------------------------------------------------------------

/// `[credentials@][host/]repository[:tag][@digest]` from valid and nearly valid pieces.
fn reference_text() -> BoxedStrategy<String> {
    let host = prop_oneof![
        2 => select(&[
            "localhost",
            "LOCALHOST",
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "ghcr.io",
            "127.0.0.1:5000",
            "[::1]:5000",
            "[::1]",
            "[::1:5000",
            "a-b.example.com:65535",
            "host:",
        ][..])
        .prop_map(str::to_string),
        1 => "[a-zA-Z0-9-]{1,12}(\\.[a-zA-Z0-9_-]{1,12}){0,3}(:[0-9]{0,6})?",
    ];
    let component = prop_oneof![
        6 => "[a-z0-9]{1,8}(([._]|__|-{1,3})[a-z0-9]{1,8}){0,2}",
        1 => "[a-z]{240,260}",
        1 => "[a-zA-Z0-9._-]{0,6}",
    ];
    let repository = proptest::collection::vec(component, 1..4).prop_map(|parts| parts.join("/"));
    let tag = prop_oneof![
        4 => "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
        1 => "[A-Za-z0-9_.-]{125,130}",
    ];
    let digest = prop_oneof![
        3 => "sha256:[0-9a-f]{64}",
        1 => "sha256:[0-9a-fA-F]{60,66}",
        1 => "[a-z0-9]{1,8}:[0-9a-f]{0,70}",
    ];
    let credentials = "[a-z]{1,5}:[a-z@/%:]{1,8}@";
    let pieces = (
        proptest::option::weighted(0.1, credentials),
        proptest::option::weighted(0.7, host),
        repository,
        proptest::option::of(tag),
        proptest::option::weighted(0.3, digest),
    );
    spliced(
        pieces
            .prop_map(|(credentials, host, repository, tag, digest)| {
                let mut text = credentials.unwrap_or_default();
                if let Some(host) = host {
                    text.push_str(&format!("{host}/"));
                }
                text.push_str(&repository);
                if let Some(tag) = tag {
                    text.push_str(&format!(":{tag}"));
                }
                if let Some(digest) = digest {
                    text.push_str(&format!("@{digest}"));
                }
                text
            })
            .boxed(),
    )
}

#[test]
fn image_references_parse_and_print_back() {
    let texts = prop_oneof![1 => any_text(40), 4 => reference_text()];
    check("image references", CASES, texts, |text| {
        let _ = redacted(&text);
        match Reference::parse(&text) {
            Ok(reference) => {
                let printed = reference.to_string();
                assert_eq!(Reference::parse(&printed), Ok(reference.clone()), "{text}");
                let _ = reference.repository_name();
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    });
}

// --- Files: docker config, image.toml, key files ---------------------------------------------

const REGISTRY_KEYS: &[&str] = &[
    "ghcr.io",
    "https://ghcr.io",
    "https://ghcr.io/v1/",
    "http://ghcr.io",
    "docker.io",
    "https://index.docker.io/v1/",
    "registry-1.docker.io",
];

/// docker's config.json or podman's auth.json, near its shape. `credHelpers` and `credsStore`
/// never name a helper (a string): that would run a program.
fn docker_config() -> BoxedStrategy<String> {
    let entry = object(vec![
        ("auth", base64_of(any_bytes(40))),
        ("username", json_string()),
        ("password", json_string()),
        ("identitytoken", json_string()),
        ("email", json_string()),
    ]);
    let not_a_helper = prop_oneof![
        select(&["null", "1", "[]", "{}", "true", "\"\""][..])
            .prop_map(|literal| Json::Literal(literal.into())),
        number(),
    ]
    .boxed();
    let registry_key =
        prop_oneof![3 => select(REGISTRY_KEYS).prop_map(str::to_string), 1 => any_text(10)];
    let helpers = proptest::collection::vec((registry_key.clone(), not_a_helper.clone()), 0..3)
        .prop_map(Json::Object);
    let auths = proptest::collection::vec((registry_key, entry), 0..3).prop_map(Json::Object);
    let document = (
        proptest::option::weighted(0.9, auths),
        proptest::option::weighted(0.2, helpers),
        proptest::option::weighted(0.2, not_a_helper),
    )
        .prop_map(|(auths, helpers, store)| {
            let members = [
                ("auths", auths),
                ("credHelpers", helpers),
                ("credsStore", store),
            ];
            Json::Object(
                members
                    .into_iter()
                    .filter_map(|(name, value)| Some((name.to_string(), value?)))
                    .collect(),
            )
            .text()
        });
    prop_oneof![
        1 => any_text(40),
        4 => document,
    ]
    .boxed()
}

/// Config files in a directory of their own, each case's in a new file: rewriting one file in
/// place makes ext4 flush it to disk every time (its `auto_da_alloc`), which on a busy machine
/// turns milliseconds into seconds.
struct ConfigFiles {
    dir: tempfile::TempDir,
    sh: xshell::Shell,
    written: Cell<u64>,
}

impl ConfigFiles {
    fn new() -> ConfigFiles {
        ConfigFiles {
            dir: tempfile::tempdir().expect("a temporary directory"),
            sh: xshell::Shell::new().expect("a shell"),
            written: Cell::new(0),
        }
    }

    /// What `lookup` finds for `registry` in a config file holding `text`.
    fn lookup(&self, text: &str, registry: &str) -> anyhow::Result<Option<Credentials>> {
        self.written.set(self.written.get() + 1);
        let file = self
            .dir
            .path()
            .join(format!("config-{}.json", self.written.get()));
        std::fs::write(&file, text).expect("writing the config");
        let found = lookup(&self.sh, std::slice::from_ref(&file), registry);
        std::fs::remove_file(&file).expect("removing the config");
        found
    }
}

#[test]
fn docker_config_entries() {
    let files = ConfigFiles::new();
    check("docker config entries", CASES, docker_config(), |text| {
        for registry in ["ghcr.io", "docker.io"] {
            let _ = files.lookup(&text, registry);
        }
    });
}

#[test]
fn docker_config_credentials_read_back_as_written() {
    let files = ConfigFiles::new();
    let cases = ("[^:]{0,16}", any_text(24), any::<bool>());
    check(
        "docker config credentials read back",
        CASES,
        cases,
        |(username, password, as_auth)| {
            let entry = if as_auth {
                let auth = STANDARD.encode(format!("{username}:{password}"));
                Json::Object(vec![("auth".into(), Json::string(&auth))])
            } else {
                Json::Object(vec![
                    ("username".into(), Json::string(&username)),
                    ("password".into(), Json::string(&password)),
                ])
            };
            let document = Json::Object(vec![(
                "auths".into(),
                Json::Object(vec![("ghcr.io".into(), entry)]),
            )]);
            let found = files.lookup(&document.text(), "ghcr.io");
            // Separate fields need both filled; `auth` carries even empty ones.
            let expected = (as_auth || (!username.is_empty() && !password.is_empty()))
                .then(|| Credentials::new(username.as_str(), password.as_str()));
            match found {
                Ok(found) => assert_eq!(found, expected),
                Err(error) => assert!(expected.is_none(), "{error:#}"),
            }
        },
    );
}

/// The keys and tables of an image definition.
const DEFINITION_KEYS: &[&str] = &[
    "entrypoint",
    "user",
    "path",
    "mode",
    "uid",
    "gid",
    "[binary]",
    "[annotations]",
];

/// The project's definition, which the structured cases edit.
const IMAGE_TOML: &str = include_str!("../../image/image.toml");

fn toml_value() -> BoxedStrategy<String> {
    prop_oneof![
        2 => number_text(),
        1 => select(&["0o755", "0o7777777777777", "0x10", "-0o1", "inf", "nan", "true"][..])
            .prop_map(str::to_string),
        2 => any_text(16).prop_map(|text| format!("{text:?}")),
        1 => any_text(16).prop_map(|text| format!("'{text}'")),
        1 => proptest::collection::vec(any_text(8), 0..3)
            .prop_map(|items| format!("{items:?}")),
        1 => any_text(8),
    ]
    .boxed()
}

#[test]
fn image_definitions() {
    let lines: Vec<&'static str> = IMAGE_TOML.lines().collect();
    let line_count = lines.len();
    let key = prop_oneof![
        3 => select(DEFINITION_KEYS).prop_map(str::to_string),
        1 => any_text(8),
    ];
    let edited = proptest::collection::vec((0..line_count, key, toml_value()), 1..3).prop_map(
        move |edits| {
            let mut lines: Vec<String> = lines.iter().map(|line| line.to_string()).collect();
            for (at, key, value) in edits {
                lines[at] = format!("{key} = {value}");
            }
            lines.join("\n")
        },
    );
    let texts = prop_oneof![
        1 => any_text(60),
        3 => edited,
        2 => spliced(Just(IMAGE_TOML.to_string()).boxed()),
        1 => any::<Index>().prop_map(|at| {
            let boundaries: Vec<usize> = IMAGE_TOML.char_indices().map(|(at, _)| at).collect();
            IMAGE_TOML[..*at.get(&boundaries)].to_string()
        }),
    ];
    check("image.toml definitions", CASES, texts, |text| {
        if let Err(error) = Definition::parse(&text) {
            let _ = format!("{error:#}");
        }
    });
}

/// cosign's private-key label, its older one, and the public key's.
const PEM_LABELS: &[&str] = &[
    "ENCRYPTED SIGSTORE PRIVATE KEY",
    "ENCRYPTED COSIGN PRIVATE KEY",
    "PUBLIC KEY",
];

/// PEM around `bytes` under one of cosign's labels, with the block's lines and the text around
/// it sometimes mangled.
fn pem_text(bytes: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<String> {
    let label = prop_oneof![3 => select(PEM_LABELS).prop_map(str::to_string), 1 => any_text(8)];
    (label, bytes, any::<bool>())
        .prop_map(|(label, bytes, crlf)| {
            let text = pem::encode(&label, &bytes).to_string();
            if crlf {
                text.replace('\n', "\r\n")
            } else {
                text
            }
        })
        .prop_flat_map(|text| spliced(Just(text).boxed()))
        .boxed()
}

#[test]
fn pem_blocks_read_back_as_written() {
    let cases = (
        "[A-Z0-9]([A-Z0-9 ]{0,30}[A-Z0-9])?",
        any_bytes(300),
        any_text(30),
    );
    check(
        "PEM blocks read back",
        CASES,
        cases,
        |(label, bytes, text)| {
            let (read_label, read) = pem::decode(&pem::encode(&label, &bytes)).expect("our PEM");
            assert_eq!((read_label, read.to_vec()), (label, bytes));
            let _ = pem::decode(&text);
        },
    );
}

#[test]
fn public_key_files() {
    // SubjectPublicKeyInfo of an uncompressed P-256 point, up to the point's 64 bytes.
    const P256_SPKI_PREFIX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
    let prefix: Vec<u8> = (0..P256_SPKI_PREFIX.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&P256_SPKI_PREFIX[at..at + 2], 16).expect("hex"))
        .collect();
    let point = proptest::collection::vec(any::<u8>(), 65).prop_map(move |point| {
        let mut der = prefix.clone();
        der.extend(point);
        der
    });
    let der = prop_oneof![1 => any_bytes(100), 3 => point].boxed();
    let texts = prop_oneof![1 => any_text(60), 4 => pem_text(der)];
    check("public key files", CASES, texts, |text| {
        if let Ok(key) = PublicKey::from_pem(&text) {
            let printed = key.to_pem().expect("a key prints");
            assert_eq!(PublicKey::from_pem(&printed).ok(), Some(key));
        }
    });
}

/// go-securesystemslib's encrypted container near its shape. The scrypt cost is one cosign
/// writes only now and then, and then only the cheapest: each such case derives a key.
fn key_container() -> BoxedStrategy<Json> {
    let cost = prop_oneof![
        1 => Just("32768".to_string()),
        2 => select(&["65536x", "0", "1", "-1", "131072.5", "4294967295"][..])
            .prop_map(str::to_string),
        2 => number_text(),
    ]
    .prop_map(Json::Literal)
    .boxed();
    let small = |cosigns: &'static str| {
        prop_oneof![
            4 => Just(cosigns),
            1 => select(&["8", "1", "0", "-1", "4294967296"][..]),
        ]
        .prop_map(|n| Json::Literal(n.into()))
        .boxed()
    };
    object(vec![
        (
            "kdf",
            object(vec![
                ("name", one_of(&["scrypt"])),
                (
                    "params",
                    object(vec![("N", cost), ("r", small("8")), ("p", small("1"))]),
                ),
                ("salt", base64_of(any_bytes(40))),
            ]),
        ),
        (
            "cipher",
            object(vec![
                ("name", one_of(&["nacl/secretbox"])),
                (
                    "nonce",
                    base64_of(prop_oneof![Just(vec![0; 24]), any_bytes(30)].boxed()),
                ),
            ]),
        ),
        ("ciphertext", base64_of(any_bytes(80))),
    ])
}

#[test]
fn private_key_files() {
    let containers = key_container()
        .prop_map(|json| json.text().into_bytes())
        .boxed();
    let texts = prop_oneof![
        1 => any_text(60).prop_map(|text| (text, Vec::new())),
        4 => (pem_text(containers.clone()), Just(Vec::new())),
        2 => (Just(String::new()), containers),
    ];
    check(
        "private key files",
        KEY_FILE_CASES,
        texts,
        |(text, container)| {
            let _ = SigningKey::from_key_file(&text, b"password");
            let _ = encrypted::open(&container, b"password");
        },
    );
}

// --- Layers, SOURCE_DATE_EPOCH, --platform ---------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

#[test]
fn layers_read_back_as_built() {
    const MAX_MODE: u32 = 0o7777;
    const MAX_TAR_ID: u64 = 0o7777777;
    let file = (
        "[a-z][a-z0-9._-]{0,30}",
        0..=MAX_MODE,
        0..=MAX_TAR_ID,
        0..=MAX_TAR_ID,
    );
    let damage = proptest::collection::vec((any::<Index>(), any::<u8>()), 0..4);
    let cases = (
        file,
        any_bytes(300),
        0..=timestamp::LATEST,
        damage,
        any_bytes(200),
    );
    check(
        "layers read back as built",
        CASES,
        cases,
        |((path, mode, uid, gid), data, mtime, damage, raw)| {
            let file = File {
                path: format!("/{path}"),
                mode,
                uid,
                gid,
            };
            let built = layer::build(&file, &data, mtime).expect("a layer builds");
            let (entries, diff_id) = layer::read(&built.blob.data).expect("our layer reads");
            assert_eq!(diff_id, built.diff_id);
            assert_eq!(
                entries,
                [layer::Entry {
                    path,
                    mode,
                    uid,
                    gid,
                    mtime,
                    data: data.clone(),
                }]
            );
            // The same tar with bytes changed, and bytes that are no layer at all.
            let mut tar = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(built.blob.data.as_slice()),
                &mut tar,
            )
            .expect("our gzip");
            for (at, byte) in damage {
                let at = at.index(tar.len());
                tar[at] = byte;
            }
            let _ = layer::read(&gzip(&tar));
            let _ = layer::read(&gzip(&raw));
            let _ = layer::read(&raw);
        },
    );
}

#[test]
fn source_date_epochs_and_platform_lists() {
    let cases = (
        prop_oneof![any_text(24), number_text(), "[ \t]*[0-9]{1,13}[ \t]*"],
        0..=timestamp::LATEST,
        prop_oneof![any_text(24), "[a-z0-9/, ]{0,30}"],
    );
    check(
        "SOURCE_DATE_EPOCH and --platform",
        CASES,
        cases,
        |(text, seconds, platforms)| {
            if let Ok(seconds) = timestamp::parse(Some(&text)) {
                let _ = timestamp::rfc3339(seconds);
            }
            assert_eq!(
                timestamp::parse(Some(&seconds.to_string())).ok(),
                Some(seconds)
            );
            let _ = timestamp::rfc3339(seconds);
            let _ = Platform::parse_list(&platforms);
        },
    );
}
