//! The signed statements of one digest, as `verify` holds them against the key and the checkout:
//! cosign 3's signature bundle (the `bundle` column), and for a platform its SBOM and provenance
//! in both formats, cosign 2's `.att` layers and cosign 3's bundle referrers (the
//! `attestations` column).
//!
//! Each stored attestation is read with the key (`sigstore::attestation::read_envelope`,
//! `read_bundle`). One the key signed must be about this digest (else it was moved here from
//! another manifest), must carry the predicate type it is labelled with, and must say what the
//! checkout says: the signed SBOM is the SBOM referrer's document byte for byte; the provenance
//! names this project's build type, the row's platform, this checkout's commit (else: which
//! commit to check out) and its compiler. Attestations by other keys are others' business and
//! pass, unless none of a kind is the key's. Each problem is one line naming the platform, the
//! format, the predicate type and what differs; a line saying none is the key's carries the keys
//! the bundles name instead, as fingerprints, for the one line that says the key is wrong.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use super::commit;
use super::table::{Cell, Detail, Verdict, short};
use crate::attest::materials::Compiler;
use crate::attest::provenance;
use crate::platform::Platform;
use crate::registry::referrers;
use crate::registry::session::Session;
use crate::sigstore::attestation::{self, EnvelopeLayer, Reading, SPDX_PREDICATE_TYPE};
use crate::sigstore::bundle::{self, SIGN_PREDICATE_TYPE};
use crate::sigstore::key::PublicKey;

/// A `gitCommit` digest's length: a full SHA-1 commit id.
const COMMIT_HEX_DIGITS: usize = 40;

/// Where cosign keeps an attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// cosign 2: a layer of the `sha256-<hex>.att` image.
    Att,
    /// cosign 3: a Sigstore bundle referrer.
    Bundle,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Att => ".att",
            Format::Bundle => "bundle",
        }
    }
}

/// One attestation the registry keeps for a digest, read with the key.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) format: Format,
    /// The `.att` layer's digest, or the bundle referrer's manifest digest.
    pub(super) at: String,
    /// The predicate type its annotation names, what readers pick it by.
    pub(super) labelled: Option<String>,
    /// The subject a bundle referrer's manifest names, when it is not the digest it is listed
    /// under.
    pub(super) listed_for: Option<String>,
    /// The key a bundle names (its hint), as a fingerprint; none for an `.att` envelope.
    pub(super) signer: Option<String>,
    pub(super) reading: Reading,
}

impl Found {
    /// The predicate type it is about: the signed statement's, else its label's.
    fn predicate_type(&self) -> Option<&str> {
        match &self.reading {
            Reading::Verified(statement) | Reading::AboutAnother(statement) => {
                Some(statement.predicate_type())
            }
            Reading::Broken(_) | Reading::NotTheKeys(_) => self.labelled.as_deref(),
        }
    }
}

/// Everything the registry keeps as signed statements of one digest.
#[derive(Debug, Clone)]
pub(super) struct Gathered {
    /// Why the `.att` image cannot be used (none, or not cosign's), as a detail; None when it
    /// was read.
    pub(super) att_problem: Option<(&'static str, String)>,
    /// Where the bundles are listed, for messages.
    pub(super) bundles_place: String,
    pub(super) found: Vec<Found>,
}

/// Reads every `.att` layer and bundle referrer of `digest` with `key`.
pub(super) fn gather(session: &mut Session, key: &PublicKey, digest: &str) -> Result<Gathered> {
    let mut found = Vec::new();
    let tag = attestation::attestation_tag(digest);
    let att_problem = match fetch_att(session, digest)? {
        Attested::Missing => Some((
            "missing",
            format!(
                "no .att image: the registry has no {tag} (cosign 2's attestations of the SBOM \
                 and the provenance); push with `--sign-key cosign.key`"
            ),
        )),
        Attested::Unreadable(why) => Some(("unreadable", format!(".att: {why}"))),
        Attested::Envelopes(envelopes) => {
            for (layer, bytes) in envelopes {
                found.push(Found {
                    format: Format::Att,
                    reading: attestation::read_envelope(&bytes, key, digest),
                    at: layer.digest,
                    labelled: layer.predicate_type,
                    listed_for: None,
                    signer: None,
                });
            }
            None
        }
    };
    let (listing, referrers) = referrers::fetch(session, digest, bundle::MEDIA_TYPE)?;
    for referrer in referrers {
        // The label as the listing gives it, for a referrer that cannot be read; the manifest's
        // own otherwise.
        let listed = referrer
            .listed_annotations
            .get(bundle::PREDICATE_TYPE_ANNOTATION)
            .cloned();
        let (reading, labelled, listed_for, signer) = match referrer.content {
            Ok(content) => (
                attestation::read_bundle(&content.document, key, digest),
                content
                    .annotations
                    .get(bundle::PREDICATE_TYPE_ANNOTATION)
                    .cloned()
                    .or(listed),
                content.subject.filter(|subject| subject != digest),
                bundle::parse(&content.document)
                    .ok()
                    .and_then(|read| bundle::hinted_key(&read.hint)),
            ),
            Err(why) => (Reading::NotTheKeys(why), listed, None, None),
        };
        found.push(Found {
            format: Format::Bundle,
            at: referrer.digest,
            labelled,
            listed_for,
            signer,
            reading,
        });
    }
    Ok(Gathered {
        att_problem,
        bundles_place: listing.place(),
        found,
    })
}

/// The `.att` image of one digest as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attested {
    /// No `.att` tag.
    Missing,
    /// The tag holds something that is not cosign's: why, naming it.
    Unreadable(String),
    /// Each envelope layer, with its bytes (checked against its digest).
    Envelopes(Vec<(EnvelopeLayer, Vec<u8>)>),
}

/// The envelopes stored under `digest`'s `.att` tag, fetched; what they say is for the caller
/// to read (`attestation::read_envelope`).
fn fetch_att(session: &mut Session, digest: &str) -> Result<Attested> {
    let tag = attestation::attestation_tag(digest);
    let Some(manifest) = session.get_manifest(&tag)? else {
        return Ok(Attested::Missing);
    };
    let layers = match attestation::envelopes(&manifest.data) {
        Ok(layers) => layers,
        Err(error) => return Ok(Attested::Unreadable(format!("{tag}: {error:#}"))),
    };
    let mut envelopes = Vec::new();
    for layer in layers {
        let bytes = session.get_blob(&layer.digest, layer.size)?;
        envelopes.push((layer, bytes));
    }
    Ok(Attested::Envelopes(envelopes))
}

/// What the statements are held against: the key, and what the checkout says.
pub(super) struct Checkout<'a> {
    /// The key's fingerprint, for messages.
    pub(super) fingerprint: String,
    /// The commit checked out (40 hex digits), if this is a git checkout.
    pub(super) commit: Option<&'a str>,
    pub(super) compiler: &'a Compiler,
    /// Every manifest the image lists, and the index: its digest, and the row's name.
    pub(super) names: &'a BTreeMap<String, String>,
}

/// The row the statements are about.
pub(super) struct Row<'a> {
    /// `index` or the platform's name.
    pub(super) name: &'a str,
    /// The platform, for a platform manifest.
    pub(super) platform: Option<&'static Platform>,
    /// The SBOM referrer's document the SBOM column accepted, which the signed SBOM must be.
    pub(super) sbom: Option<&'a [u8]>,
}

/// One thing that does not hold: the cell's word for it, and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    short: &'static str,
    line: String,
    /// When none of a kind is the key's: the keys the bundles of that kind name.
    other_keys: Option<BTreeSet<String>>,
}

/// The word of a problem that says none of a kind is the key's.
const NOT_BY_THIS_KEY: &str = "not by this key";
const MISSING: &str = "missing";

impl Problem {
    fn new(short: &'static str, line: String) -> Problem {
        Problem {
            short,
            line,
            other_keys: None,
        }
    }
}

/// The `bundle` cell: cosign 3's signature of the digest, a bundle of `cosign sign`'s statement.
pub(super) fn bundle_cell(gathered: &Gathered, row: &Row<'_>, checkout: &Checkout<'_>) -> Cell {
    let problems = judge(gathered, Format::Bundle, SIGN_PREDICATE_TYPE, row, checkout);
    cell(problems)
}

/// The `attestations` cell of a platform: its SBOM and provenance, in the `.att` image and as
/// bundles.
pub(super) fn attestations_cell(
    gathered: &Gathered,
    row: &Row<'_>,
    checkout: &Checkout<'_>,
) -> Cell {
    let mut problems = Vec::new();
    if let Some((short, line)) = &gathered.att_problem {
        problems.push(Problem::new(short, format!("{}: {line}", row.name)));
    } else {
        for predicate_type in [SPDX_PREDICATE_TYPE, provenance::PREDICATE_TYPE] {
            problems.extend(judge(gathered, Format::Att, predicate_type, row, checkout));
        }
    }
    for predicate_type in [SPDX_PREDICATE_TYPE, provenance::PREDICATE_TYPE] {
        problems.extend(judge(
            gathered,
            Format::Bundle,
            predicate_type,
            row,
            checkout,
        ));
    }
    cell(problems)
}

/// `ok`, or the first problem's word and verdict, with every problem's line.
fn cell(problems: Vec<Problem>) -> Cell {
    let Some(first) = problems.first() else {
        return Cell::ok("ok");
    };
    let verdict = match first.short {
        MISSING => Verdict::Missing,
        NOT_BY_THIS_KEY => Verdict::OtherKey,
        _ => Verdict::Failed,
    };
    let text = first.short;
    let details = problems
        .into_iter()
        .map(|problem| Detail {
            line: problem.line,
            other_keys: problem.other_keys,
        })
        .collect();
    Cell::new(text, verdict, details)
}

/// Every problem with the attestations of `predicate_type` in `format`: a key's statement moved
/// here, mislabelled, changed, or saying what the checkout does not; none by the key at all.
fn judge(
    gathered: &Gathered,
    format: Format,
    predicate_type: &str,
    row: &Row<'_>,
    checkout: &Checkout<'_>,
) -> Vec<Problem> {
    let what = format!("{}: {} {predicate_type}", row.name, format.name());
    let mut problems = Vec::new();
    let mut verified = 0;
    let mut others = Vec::new();
    let mut signers = BTreeSet::new();
    for found in gathered
        .found
        .iter()
        .filter(|found| found.format == format && found.predicate_type() == Some(predicate_type))
    {
        let at = format!("{what} ({})", short(&found.at));
        match &found.reading {
            Reading::AboutAnother(statement) => problems.push(Problem::new(
                "moved",
                format!(
                    "{at}: the key's statement about {}, not this manifest: an attestation moved \
                     here from another manifest",
                    manifest_name(checkout, &statement.subject_digest())
                ),
            )),
            Reading::Broken(why) => problems.push(Problem::new("changed", format!("{at}: {why}"))),
            Reading::NotTheKeys(why) => {
                others.push(why.as_str());
                signers.extend(found.signer.iter().cloned());
            }
            Reading::Verified(statement) => {
                verified += 1;
                if let Some(subject) = &found.listed_for {
                    problems.push(Problem::new(
                        "moved",
                        format!(
                            "{at}: listed among this manifest's referrers, its referrer names {} \
                             as its subject: moved here from another manifest's referrers",
                            manifest_name(checkout, subject)
                        ),
                    ));
                }
                if found.labelled.as_deref() != Some(predicate_type) {
                    problems.push(Problem::new(
                        "mislabelled",
                        format!(
                            "{at}: labelled {}, and the key signed a {predicate_type}: readers \
                             that pick by the label miss it",
                            found
                                .labelled
                                .as_deref()
                                .unwrap_or("with no predicate type")
                        ),
                    ));
                }
                problems.extend(
                    content_problems(
                        statement.predicate_type(),
                        statement.predicate(),
                        row,
                        checkout,
                    )
                    .into_iter()
                    .map(|(short, why)| Problem::new(short, format!("{at}: {why}"))),
                );
            }
        }
    }
    if verified == 0 {
        problems.push(match others.first() {
            Some(why) => Problem {
                short: NOT_BY_THIS_KEY,
                line: format!(
                    "{what}: {} found, none signed by the key {}: {why}",
                    others.len(),
                    checkout.fingerprint
                ),
                other_keys: Some(signers),
            },
            None => Problem::new(
                MISSING,
                match format {
                    Format::Att => {
                        format!("{what}: none in its .att image: push with `--sign-key cosign.key`")
                    }
                    Format::Bundle => format!(
                        "{what}: no bundle among its referrers ({}): push with `--sign-key \
                         cosign.key`",
                        gathered.bundles_place
                    ),
                },
            ),
        });
    }
    problems
}

/// What a statement the key signed about this row claims that the checkout does not: the
/// cell's word and why, for each.
fn content_problems(
    predicate_type: &str,
    predicate: &[u8],
    row: &Row<'_>,
    checkout: &Checkout<'_>,
) -> Vec<(&'static str, String)> {
    match predicate_type {
        SPDX_PREDICATE_TYPE => match row.sbom {
            Some(document) if document != predicate => vec![(
                "SBOM differs",
                format!(
                    "the signed SBOM is not the SBOM referrer's document: {} bytes signed, {} in \
                     the referrer, they differ from byte {} on",
                    predicate.len(),
                    document.len(),
                    document
                        .iter()
                        .zip(predicate)
                        .position(|(a, b)| a != b)
                        .unwrap_or(document.len().min(predicate.len()))
                ),
            )],
            // No SBOM referrer (or none that holds): the SBOM column says so.
            _ => Vec::new(),
        },
        provenance::PREDICATE_TYPE => provenance_problems(predicate, row, checkout),
        _ => Vec::new(),
    }
}

/// The provenance's build type, platform, commit and compiler against this project, the row and
/// the checkout.
fn provenance_problems(
    predicate: &[u8],
    row: &Row<'_>,
    checkout: &Checkout<'_>,
) -> Vec<(&'static str, String)> {
    let claims = match provenance::claims(predicate) {
        Ok(claims) => claims,
        Err(error) => return vec![("not provenance", format!("{error:#}"))],
    };
    let mut problems = Vec::new();
    if claims.build_type != provenance::BUILD_TYPE {
        problems.push((
            "other build type",
            format!(
                "its buildType is {}, not this project's {}",
                claims.build_type,
                provenance::BUILD_TYPE
            ),
        ));
    }
    let platform = row.platform.map(|platform| platform.name);
    if claims.platform.as_deref() != platform {
        problems.push((
            "other platform",
            format!(
                "it is the provenance of {}, not of {}",
                claims.platform.as_deref().unwrap_or("no platform"),
                platform.unwrap_or("this manifest")
            ),
        ));
    }
    match (&claims.commit, checkout.commit) {
        // The table escapes what it prints; only a commit id is offered to git.
        (Some(theirs), ours) if Some(theirs.as_str()) != ours && commit::id(theirs).is_none() => {
            problems.push((
                "other commit",
                format!("its source.commit {}", commit::is_not_an_id()),
            ))
        }
        (Some(theirs), Some(ours)) if theirs != ours => problems.push((
            "other commit",
            format!(
                "built from commit {theirs}, this checkout is {ours}: check that commit out with \
                 `git checkout {theirs}` and run verify again"
            ),
        )),
        (Some(theirs), None) => problems.push((
            "other commit",
            format!(
                "built from commit {theirs}, and this is not a git checkout: clone the repository \
                 and `git checkout {theirs}`"
            ),
        )),
        (None, _) => problems.push((
            "no commit",
            "it names no source commit, so it cannot be held against a checkout".to_string(),
        )),
        _ => {}
    }
    if claims.source_dependency_commit.is_some() && claims.source_dependency_commit != claims.commit
    {
        problems.push((
            "other commit",
            format!(
                "its source dependency's gitCommit {} is not its source.commit {}",
                claims
                    .source_dependency_commit
                    .as_deref()
                    .unwrap_or_default(),
                claims.commit.as_deref().unwrap_or("(none)")
            ),
        ));
    }
    let compiler = checkout.compiler;
    let our_commit =
        (compiler.commit_hash.len() == COMMIT_HEX_DIGITS).then_some(compiler.commit_hash.as_str());
    if claims.rustc_version.as_deref() != Some(compiler.version.as_str())
        || claims.rustc_commit.as_deref() != our_commit
    {
        problems.push((
            "other compiler",
            format!(
                "built with `{}` (commit {}), and this checkout's rust-toolchain.toml gives `{}` \
                 (commit {}): the image was built with another toolchain",
                claims.rustc_version.as_deref().unwrap_or("no rustc"),
                claims.rustc_commit.as_deref().unwrap_or("none"),
                compiler.version,
                our_commit.unwrap_or("none")
            ),
        ));
    }
    problems
}

/// `linux/arm64's manifest sha256:…`, `the index sha256:…`, or the digest alone when the image
/// lists no such manifest.
fn manifest_name(checkout: &Checkout<'_>, digest: &str) -> String {
    match checkout.names.get(digest).map(String::as_str) {
        Some("index") => format!("the index {digest}"),
        Some(name) => format!("{name}'s manifest {digest}"),
        None => format!("{digest}, a manifest this image does not list"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::{Checkout, Format, Found, Gathered, Row, Verdict, attestations_cell, bundle_cell};
    use crate::attest::materials::Compiler;
    use crate::attest::materials::tests::RUSTC_VV;
    use crate::attest::provenance::tests::COMMIT;
    use crate::build::assemble::tests::every_platform;
    use crate::oci::layout::{self, Contents};
    use crate::platform::PLATFORMS;
    use crate::sigstore::attestation::{
        Attestation, SPDX_PREDICATE_TYPE, read_bundle, read_envelope, sign_attestations,
    };
    use crate::sigstore::key::{PublicKey, SigningKey};

    const IMAGE: &str = "ghcr.io/o/pause:0.1.0";
    const PROVENANCE: &str = "https://slsa.dev/provenance/v1";

    /// The stand-in image's layout, its attestations signed with a fresh key.
    struct Signed {
        contents: Contents,
        key: SigningKey,
        signed: Vec<Attestation>,
        names: BTreeMap<String, String>,
        compiler: Compiler,
    }

    fn signed() -> Signed {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        layout::write(&every_platform(0), &dir).unwrap();
        let contents = layout::read(&dir).unwrap();
        let key = SigningKey::generate().unwrap();
        let signed = sign_attestations(&contents, IMAGE, &key).unwrap();
        let names = std::iter::once((contents.index.digest.clone(), "index".to_string()))
            .chain(
                contents
                    .manifests
                    .iter()
                    .zip(PLATFORMS)
                    .map(|(manifest, platform)| (manifest.digest.clone(), platform.name.into())),
            )
            .collect();
        Signed {
            contents,
            key,
            signed,
            names,
            compiler: Compiler::parse(RUSTC_VV).unwrap(),
        }
    }

    impl Signed {
        fn digest(&self, platform: usize) -> &str {
            &self.contents.manifests[platform].digest
        }

        /// The SBOM referrer's document of `platform`.
        fn sbom(&self, platform: usize) -> &[u8] {
            let digest = self.digest(platform);
            &self
                .contents
                .referrers
                .iter()
                .find(|artifact| artifact.subject.digest == digest)
                .unwrap()
                .layer
                .data
        }

        fn checkout<'a>(&'a self, commit: &'a str) -> Checkout<'a> {
            Checkout {
                fingerprint: self.key.public_key().fingerprint(),
                commit: Some(commit),
                compiler: &self.compiler,
                names: &self.names,
            }
        }

        /// What the push stores for `platform`, read with `key` as verify reads it.
        fn stored(&self, platform: usize, key: &PublicKey) -> Gathered {
            let digest = self.digest(platform);
            let mut found = Vec::new();
            for attestation in self.signed.iter().filter(|a| a.subject_digest() == digest) {
                if attestation.in_att() {
                    found.push(att(attestation, key, digest));
                }
                found.push(bundle(attestation, key, digest));
            }
            Gathered {
                att_problem: None,
                bundles_place: "the tag sha256-…".to_string(),
                found,
            }
        }

        fn of(&self, platform: usize, predicate_type: &str) -> &Attestation {
            let digest = self.digest(platform);
            self.signed
                .iter()
                .find(|a| a.subject_digest() == digest && a.predicate_type() == predicate_type)
                .unwrap()
        }
    }

    fn att(attestation: &Attestation, key: &PublicKey, digest: &str) -> Found {
        let layer = attestation.att_layer();
        Found {
            format: Format::Att,
            reading: read_envelope(&layer.data, key, digest),
            at: layer.digest,
            labelled: Some(attestation.predicate_type().to_string()),
            listed_for: None,
            signer: None,
        }
    }

    fn bundle(attestation: &Attestation, key: &PublicKey, digest: &str) -> Found {
        Found {
            format: Format::Bundle,
            reading: read_bundle(&attestation.bundle().data, key, digest),
            at: attestation.bundle().digest.clone(),
            labelled: Some(attestation.predicate_type().to_string()),
            listed_for: None,
            signer: crate::sigstore::bundle::parse(&attestation.bundle().data)
                .ok()
                .and_then(|read| crate::sigstore::bundle::hinted_key(&read.hint)),
        }
    }

    fn row(signed: &Signed, platform: usize) -> Row<'_> {
        Row {
            name: PLATFORMS[platform].name,
            platform: Some(&PLATFORMS[platform]),
            sbom: Some(signed.sbom(platform)),
        }
    }

    /// The attestations cell's text and its lines.
    fn judged(
        gathered: &Gathered,
        row: &Row<'_>,
        checkout: &Checkout<'_>,
    ) -> (String, Vec<String>) {
        let cell = attestations_cell(gathered, row, checkout);
        let details: Vec<String> = cell.details.iter().map(|d| d.line.clone()).collect();
        assert_eq!(cell.holds(), details.is_empty(), "{details:?}");
        (cell.text, details)
    }

    #[test]
    fn what_the_push_stores_holds() {
        let signed = signed();
        let key = signed.key.public_key();
        let checkout = signed.checkout(COMMIT);
        for platform in 0..PLATFORMS.len() {
            let gathered = signed.stored(platform, &key);
            let row = row(&signed, platform);
            assert_eq!(
                judged(&gathered, &row, &checkout),
                ("ok".to_string(), vec![])
            );
            let cell = bundle_cell(&gathered, &row, &checkout);
            assert!(
                cell.holds() && cell.details.is_empty(),
                "{:?}",
                cell.details
            );
        }
    }

    /// Each way the stored attestations can fail names the platform, the format, the predicate
    /// type and what differs, in one line.
    #[test]
    fn every_problem_is_one_line_naming_it() {
        let signed = signed();
        let key = signed.key.public_key();
        let checkout = signed.checkout(COMMIT);
        let amd64 = signed.digest(0).to_string();
        let row = row(&signed, 0);
        let expect = |gathered: &Gathered, checkout: &Checkout<'_>, short: &str, named: &[&str]| {
            let (text, details) = judged(gathered, &row, checkout);
            assert_eq!(text, short, "{details:?}");
            let line = &details[0];
            assert!(!line.contains('\n'), "{line}");
            for named in named {
                assert!(line.contains(named), "`{named}` not in: {line}");
            }
        };

        // arm64's provenance, in amd64's .att image.
        let mut moved = signed.stored(0, &key);
        moved
            .found
            .push(att(signed.of(1, PROVENANCE), &key, &amd64));
        expect(
            &moved,
            &checkout,
            "moved",
            &[
                "linux/amd64: .att https://slsa.dev/provenance/v1",
                "about linux/arm64's manifest",
                signed.digest(1),
            ],
        );
        // A bundle referrer of arm64 listed among amd64's referrers.
        let mut listed = signed.stored(0, &key);
        let mut theirs = bundle(signed.of(0, SPDX_PREDICATE_TYPE), &key, &amd64);
        theirs.listed_for = Some(signed.digest(1).to_string());
        listed.found.push(theirs);
        expect(
            &listed,
            &checkout,
            "moved",
            &[
                "linux/amd64: bundle https://spdx.dev/Document",
                "linux/arm64's manifest",
            ],
        );
        // The provenance bundle changed after signing.
        let mut changed = signed.stored(0, &key);
        let provenance = signed.of(0, PROVENANCE);
        let mut envelope = provenance.envelope().clone();
        envelope.payload.extend_from_slice(b" ");
        let broken = crate::sigstore::bundle::bundle(&envelope, &key).unwrap();
        let at = changed
            .found
            .iter()
            .position(|f| f.format == Format::Bundle && f.labelled.as_deref() == Some(PROVENANCE))
            .unwrap();
        changed.found[at].reading = read_bundle(&broken.data, &key, &amd64);
        expect(
            &changed,
            &checkout,
            "changed",
            &[
                "linux/amd64: bundle https://slsa.dev/provenance/v1",
                "changed after signing",
            ],
        );
        // Another key.
        let other = SigningKey::generate().unwrap().public_key();
        let other_checkout = Checkout {
            fingerprint: other.fingerprint(),
            ..signed.checkout(COMMIT)
        };
        expect(
            &signed.stored(0, &other),
            &other_checkout,
            "not by this key",
            &[
                "linux/amd64: .att https://spdx.dev/Document",
                "1 found, none signed by the key",
            ],
        );
        // Every such line carries the keys that did sign as far as they are named: a bundle
        // names its key, by the fingerprint the lines use; an `.att` envelope names none.
        let cell = attestations_cell(&signed.stored(0, &other), &row, &other_checkout);
        assert_eq!(cell.verdict, Verdict::OtherKey);
        let signer = key.fingerprint();
        for detail in &cell.details {
            let named = detail.other_keys.as_ref().expect("none by the key");
            if detail.line.contains(": bundle ") {
                assert_eq!(named, &BTreeSet::from([signer.clone()]), "{}", detail.line);
                assert!(
                    detail
                        .line
                        .contains(&format!("names another key, {signer}")),
                    "{}",
                    detail.line
                );
            } else {
                assert!(named.is_empty(), "{}", detail.line);
            }
        }
        // No provenance bundle.
        let mut missing = signed.stored(0, &key);
        missing.found.remove(at);
        expect(
            &missing,
            &checkout,
            "missing",
            &[
                "linux/amd64: bundle https://slsa.dev/provenance/v1",
                "no bundle among its referrers",
            ],
        );
        // No .att image.
        let mut no_att = signed.stored(0, &key);
        no_att.att_problem = Some(("missing", "no .att image: …".to_string()));
        no_att.found.retain(|found| found.format == Format::Bundle);
        expect(
            &no_att,
            &checkout,
            "missing",
            &["linux/amd64: no .att image"],
        );
        // Another commit checked out.
        let later = "fedcba9876543210fedcba9876543210fedcba98";
        expect(
            &signed.stored(0, &key),
            &signed.checkout(later),
            "other commit",
            &[
                "linux/amd64: .att https://slsa.dev/provenance/v1",
                &format!("built from commit {COMMIT}, this checkout is {later}"),
                &format!("`git checkout {COMMIT}`"),
            ],
        );
        // Another compiler.
        let newer = Compiler::parse(&RUSTC_VV.replace("1.95.0", "1.96.0")).unwrap();
        expect(
            &signed.stored(0, &key),
            &Checkout {
                compiler: &newer,
                ..signed.checkout(COMMIT)
            },
            "other compiler",
            &["built with `rustc 1.95.0", "gives `rustc 1.96.0"],
        );
        // An SBOM referrer that is not the signed one.
        let other_sbom = br#"{"spdxVersion":"SPDX-2.3"}"#;
        let (text, details) = judged(
            &signed.stored(0, &key),
            &Row {
                sbom: Some(other_sbom),
                ..row
            },
            &checkout,
        );
        assert_eq!(text, "SBOM differs");
        assert_eq!(details.len(), 2, "in both formats: {details:?}");
        assert!(
            details[0].starts_with("linux/amd64: .att https://spdx.dev/Document")
                && details[0].contains("the signed SBOM is not the SBOM referrer's document"),
            "{details:?}"
        );
        // arm64's statements held as amd64's row (the SBOM aside): another platform.
        let (text, details) = judged(
            &signed.stored(1, &key),
            &Row {
                sbom: Some(signed.sbom(1)),
                ..row
            },
            &checkout,
        );
        assert_eq!(text, "other platform", "{details:?}");
        assert!(details[0].contains("provenance of linux/arm64, not of linux/amd64"));
    }
}
