//! `cargo xtask verify REGISTRY/REPOSITORY:TAG [--key cosign.pub]`: checks a published image
//! against this checkout. It reads the registry's index, rebuilds the image here with the date
//! the index carries (its `org.opencontainers.image.created`, back to SOURCE_DATE_EPOCH), and
//! compares every digest: the index, each platform's manifest, config and layer. It checks that
//! every platform has an SBOM (through the referrers API or the fallback tag) naming the layer's
//! exact `/pause` and the pinned compiler. With `--key`, it checks what cosign and the admission
//! controllers read, for the index and every platform manifest: cosign 2's `.sig` signature and
//! cosign 3's signature bundle; and for every platform its signed SBOM and provenance, in the
//! `.att` image and as bundles (`verify/attestations.rs`): the key's, about that manifest, the
//! SBOM the referrer's, the provenance this checkout's commit and compiler. Its result, on
//! stdout, is a table with its legend (`verify/table.rs`), or with `--json` one JSON document
//! (`verify/json.rs`); everything else goes to stderr: what it notices of the commit, the
//! rebuild's progress, a line per problem, and the verdict last (`verify/verdict.rs`). It
//! succeeds only when every row holds; otherwise it exits 1, naming the first blob that differs
//! and what differs in it. A registry that cannot be reached or refuses us ends it as it ends any
//! command (exit 3), not as a verification that failed.
//!
//! What the bytes depend on: the binaries (this checkout's source, the pinned compiler, the
//! commit, which the binary's version line carries), `image/image.toml`, the date, the revision
//! and version annotations. The tag the image was pushed under does not enter the index, its
//! manifests, configs or layers, so it need not be known; the SBOMs (which name the image's
//! repository) are checked by what they say, not byte for byte. When the image names another
//! commit than this checkout's, that is said first, with the command to check it out.

mod attestations;
mod commit;
mod differences;
mod json;
mod signature;
mod table;
mod verdict;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use sha1::{Digest, Sha1};
use xshell::Shell;

use crate::attest::materials::Compiler;
use crate::attest::sbom;
use crate::build::{image, pause};
use crate::escape::Escaped;
use crate::exit_status::{self, ExitStatus};
use crate::named_file;
use crate::oci::blob::{hex, sha256};
use crate::oci::definition::{CREATED, REVISION};
use crate::oci::descriptor::{Descriptor, OciPlatform};
use crate::oci::image::{Image, PlatformImage};
use crate::oci::index::{self, Index};
use crate::oci::layer;
use crate::oci::manifest::Manifest;
use crate::oci::reference::Reference;
use crate::oci::referrers::Listing;
use crate::oci::timestamp;
use crate::platform::{PLATFORMS, Platform};
use crate::project;
use crate::registry::referrers;
use crate::registry::session::{Access, Session};
use crate::registry::{self, Options as RegistryOptions};
use crate::sigstore::key::{self, PublicKey};
use attestations::Checkout;
use signature::Check;
use table::{Cell, Detail, Row};

/// The name the rebuilt image is assembled under: the tag enters no digest that is compared.
const REBUILD_TAG: &str = "localhost/pause:verify";
/// The index's row name.
const INDEX_ROW: &str = "index";
/// A cell that is not checked: without `--key`; `-` where there is nothing to check it against.
const NOT_CHECKED: &str = "not checked";
const NOTHING_TO_CHECK: &str = "-";

/// What to verify, and how to reach it.
pub struct Options {
    /// `REGISTRY/REPOSITORY:TAG` or `...@sha256:...`.
    pub reference: String,
    /// cosign.pub: check the signatures with it.
    pub key: Option<PathBuf>,
    pub registry: RegistryOptions,
    /// The result as one JSON document instead of the table.
    pub json: bool,
    /// The table's digests in full.
    pub wide: bool,
}

/// What the signatures and attestations must say, with `--key`: signed by the key, and about
/// this checkout's commit and compiler; with the name of every digest the image lists, for
/// messages.
struct Expected {
    key: PublicKey,
    commit: Option<String>,
    compiler: Compiler,
    names: BTreeMap<String, String>,
}

impl Expected {
    fn checkout(&self) -> Checkout<'_> {
        Checkout {
            fingerprint: self.key.fingerprint(),
            commit: self.commit.as_deref(),
            compiler: &self.compiler,
            names: &self.names,
        }
    }
}

/// The image index the registry holds under the reference, read and checked to be one
/// `cargo xtask image` builds.
struct Remote {
    digest: String,
    data: Vec<u8>,
    index: Index,
    /// Its `org.opencontainers.image.created`, and that date as SOURCE_DATE_EPOCH.
    created: String,
    epoch: u64,
}

/// Verifies `options.reference`: reads the registry's index, says how its commit compares with
/// this checkout's, rebuilds the image here, holds every digest (and with `--key` every signature
/// and attestation) against it, prints the table (or the JSON document), the problems and the
/// verdict; fails with status 1 unless every row holds.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let target = Reference::to_read(&options.reference)?;
    let key = match &options.key {
        Some(path) => Some((read_key(path)?, key_file_name(path))),
        None => None,
    };
    let mut session = registry::open(sh, &target, Access::Pull, &options.registry)?;
    let shown = &options.reference;
    let remote = read_index(&mut session, shown, target.tag_or_digest())?;
    let checkout = project::git_revision(sh);
    let other_commit = compare_commits(sh, &remote.index, checkout.as_deref());
    let rebuilt = rebuild(sh, shown, &remote, checkout.as_deref())?;
    let pinned = project::pinned_toolchain()?;
    let (expected, key_named) = match key {
        Some((key, file)) => {
            let named = verdict::Key {
                fingerprint: key.fingerprint(),
                file,
            };
            (Some(expected(sh, key, &remote)?), Some(named))
        }
        None => (None, None),
    };
    let context = RowContext {
        repository: target.name(),
        expected: expected.as_ref(),
        pinned: &pinned,
    };
    let rows = rows(&mut session, &remote, &rebuilt, &context)?;
    let verdict = verdict::judge(shown, &rows, key_named.as_ref(), other_commit.as_deref());
    if options.json {
        let fingerprint = key_named.as_ref().map(|key| key.fingerprint.as_str());
        json::print(shown, &rows, verdict.holds, &verdict.line, fingerprint)?;
    } else {
        table::print(&rows, options.wide, expected.is_some());
    }
    for problem in &verdict.problems {
        eprintln!("{problem}");
    }
    if !verdict.holds {
        return Err(exit_status::error(ExitStatus::Failed, verdict.line));
    }
    eprintln!("{}", verdict.line);
    Ok(())
}

/// What every row is checked with: the repository (for each row's reference by digest), what
/// `--key`'s checks expect, and the pinned compiler.
struct RowContext<'a> {
    repository: String,
    expected: Option<&'a Expected>,
    pinned: &'a str,
}

impl RowContext<'_> {
    /// `REGISTRY/REPOSITORY@DIGEST`.
    fn reference(&self, digest: &str) -> String {
        format!("{}@{digest}", self.repository)
    }
}

/// The index under `tag_or_digest`, which must be an OCI image index carrying the date
/// `cargo xtask image` writes.
fn read_index(session: &mut Session, shown: &str, tag_or_digest: &str) -> Result<Remote> {
    let Some(remote_index) = session.get_manifest(tag_or_digest)? else {
        bail!(
            "{shown}: {} has no such image: check the repository and the tag (`cargo xtask push` \
             prints what it pushed)",
            session.name()
        );
    };
    if remote_index.media_type != index::MEDIA_TYPE {
        bail!(
            "{shown} is {}, not the multi-platform image index `cargo xtask image` builds: give the \
             tag the push printed",
            if remote_index.media_type.is_empty() {
                "a manifest of no type".to_string()
            } else {
                format!("a manifest of type `{}`", Escaped(&remote_index.media_type))
            }
        );
    }
    let remote: Index = serde_json::from_slice(&remote_index.data).map_err(|error| {
        anyhow!(
            "{shown}: its index is not valid ({})",
            Escaped(&error.to_string())
        )
    })?;
    let created = remote.annotations.get(CREATED).ok_or_else(|| {
        anyhow!(
            "{shown}: the index has no {CREATED} annotation: `cargo xtask image` did not build it"
        )
    })?;
    let epoch = timestamp::seconds_of(created).ok_or_else(|| {
        anyhow!(
            "{shown}: its {CREATED} is `{}`, not a date `cargo xtask image` writes \
             (YYYY-MM-DDTHH:MM:SSZ): it did not build it",
            Escaped(created)
        )
    })?;
    Ok(Remote {
        created: created.clone(),
        epoch,
        digest: remote_index.digest,
        data: remote_index.data,
        index: remote,
    })
}

/// Says which commit the image names when it is not this checkout's, and whether the checkout
/// has uncommitted changes: a rebuild of another commit cannot match, and says why here. Returns
/// the other commit (the revision as the image names it). The revision is the registry's word:
/// only a commit id is offered to git (`commit.rs`).
fn compare_commits(sh: &Shell, remote: &Index, checkout: Option<&str>) -> Option<String> {
    let remote_revision = remote.annotations.get(REVISION);
    let other_commit = match (remote_revision, checkout) {
        (Some(theirs), Some(ours)) if theirs != ours => {
            match commit::id(theirs) {
                Some(theirs) => eprintln!(
                    "the image was built from commit {theirs}, this checkout is {ours}: check \
                     that commit out with `git checkout {theirs}` and run verify again; \
                     comparing with this checkout anyway"
                ),
                None => eprintln!(
                    "the image's {REVISION} is not this checkout's commit {ours}: {}; comparing \
                     with this checkout anyway",
                    commit::not_an_id(theirs)
                ),
            }
            Some(theirs.clone())
        }
        (None, _) => {
            eprintln!("the image names no commit ({REVISION}): comparing with this checkout");
            None
        }
        (Some(theirs), None) => {
            match commit::id(theirs) {
                Some(theirs) => eprintln!(
                    "this is not a git checkout: the image was built from commit {theirs}; clone \
                     the repository and `git checkout {theirs}`; comparing anyway"
                ),
                None => eprintln!(
                    "this is not a git checkout, and the image's {REVISION}: {}; comparing anyway",
                    commit::not_an_id(theirs)
                ),
            }
            Some(theirs.clone())
        }
        _ => None,
    };

    if project::has_uncommitted_changes(sh) {
        eprintln!(
            "this checkout has uncommitted changes to tracked files: the rebuild is not of its \
             commit alone (`git stash` them to compare the commit)"
        );
    }
    other_commit
}

/// The image rebuilt here, for the platforms the remote index lists that this checkout builds,
/// dated as the remote one is; `checkout` is this checkout's commit, for the line that says so.
fn rebuild(sh: &Shell, shown: &str, remote: &Remote, checkout: Option<&str>) -> Result<Image> {
    let mut platforms = Vec::new();
    for descriptor in &remote.index.manifests {
        if let Some(platform) = platform_of(descriptor) {
            platforms.push(platform);
        }
    }
    let platforms = image::in_table_order(&platforms);
    eprintln!(
        "rebuilding {} from this checkout{} dated {} (SOURCE_DATE_EPOCH={}, the \
         image's {CREATED})",
        platforms
            .iter()
            .map(|platform| platform.name)
            .collect::<Vec<_>>()
            .join(", "),
        checkout.map_or_else(String::new, |commit| format!(" (commit {commit})")),
        remote.created,
        remote.epoch,
    );
    if platforms.is_empty() {
        bail!("{shown}: its index lists no platform this checkout builds");
    }
    // No provenance: it is an unsigned statement beside the image, in no digest compared.
    image::build(sh, REBUILD_TAG, &platforms, remote.epoch, None, false)
}

/// What `--key`'s checks hold the registry's signatures and attestations against.
fn expected(sh: &Shell, key: PublicKey, remote: &Remote) -> Result<Expected> {
    Ok(Expected {
        key,
        commit: project::git_commit(sh),
        compiler: pause::compiler(sh)?,
        names: std::iter::once((remote.digest.clone(), INDEX_ROW.to_string()))
            .chain(
                remote
                    .index
                    .manifests
                    .iter()
                    .map(|descriptor| (descriptor.digest.clone(), row_name(descriptor))),
            )
            .collect(),
    })
}

/// The table's rows: the index's, then one per entry of the remote index.
fn rows(
    session: &mut Session,
    remote: &Remote,
    rebuilt: &Image,
    context: &RowContext<'_>,
) -> Result<Vec<Row>> {
    let mut rows = vec![index_row(
        session,
        &remote.digest,
        &remote.data,
        rebuilt,
        context,
    )?];
    for descriptor in &remote.index.manifests {
        let row = match platform_of(descriptor).and_then(|platform| {
            rebuilt
                .platforms
                .iter()
                .find(|built| built.platform == platform)
        }) {
            Some(built) => platform_row(session, descriptor, built, context)?,
            None => {
                let name = row_name(descriptor);
                let line = format!(
                    "{name}: the index lists {}, and this checkout builds no such platform",
                    descriptor.digest
                );
                Row {
                    digest: descriptor.digest.clone(),
                    platform: descriptor.platform.clone(),
                    reference: context.reference(&descriptor.digest),
                    rebuilt: Cell::failed("no: not a platform this checkout builds", line),
                    signature: Cell::not_checked(NOTHING_TO_CHECK),
                    bundle: Cell::not_checked(NOTHING_TO_CHECK),
                    sbom: Cell::not_checked(NOTHING_TO_CHECK),
                    attestations: Cell::not_checked(NOTHING_TO_CHECK),
                    name,
                }
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

/// cosign.pub, read.
fn read_key(path: &std::path::Path) -> Result<PublicKey> {
    let text = named_file::read(path, key::MAX_KEY_FILE_BYTES)
        .with_context(|| format!("cannot read --key {}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    PublicKey::from_pem(&text).map_err(|error| anyhow!("--key {}: {error:#}", path.display()))
}

/// `--key`'s file as lines name it: its name (`cosign.pub`), which the user gave.
fn key_file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// The row of an index entry: its platform as the table names it (`linux/arm64`), else as the
/// entry does.
fn row_name(descriptor: &Descriptor) -> String {
    match (platform_of(descriptor), &descriptor.platform) {
        (Some(platform), _) => platform.name.to_string(),
        (None, Some(named)) => named.to_string(),
        (None, None) => "(no platform)".to_string(),
    }
}

/// The platform of the table an index entry names.
fn platform_of(descriptor: &Descriptor) -> Option<&'static Platform> {
    let named = descriptor.platform.as_ref()?;
    PLATFORMS
        .iter()
        .find(|platform| OciPlatform::from(*platform) == *named)
}

/// The index's row: its digest against the rebuilt one, its signatures.
fn index_row(
    session: &mut Session,
    digest: &str,
    data: &[u8],
    rebuilt: &Image,
    context: &RowContext<'_>,
) -> Result<Row> {
    let rebuilt_cell = if digest == rebuilt.index.digest {
        Cell::ok("yes")
    } else {
        Cell::failed(
            "no: index",
            format!(
                "index: registry {digest}, rebuilt {}: {}",
                rebuilt.index.digest,
                differences::documents(data, &rebuilt.index.data)
            ),
        )
    };
    let signature = signature_cell(session, context.expected, digest, INDEX_ROW)?;
    let bundle = match context.expected {
        Some(expected) => {
            let gathered = attestations::gather(session, &expected.key, digest)?;
            let row = attestations::Row {
                name: INDEX_ROW,
                platform: None,
                sbom: None,
            };
            attestations::bundle_cell(&gathered, &row, &expected.checkout())
        }
        None => Cell::not_checked(NOT_CHECKED),
    };
    Ok(Row {
        name: INDEX_ROW.to_string(),
        digest: digest.to_string(),
        platform: None,
        reference: context.reference(digest),
        rebuilt: rebuilt_cell,
        signature,
        bundle,
        sbom: Cell::not_applicable(),
        attestations: Cell::not_applicable(),
    })
}

/// A platform's row: its manifest, config and layer against the rebuilt ones, its signatures,
/// its SBOM, its attestations.
fn platform_row(
    session: &mut Session,
    descriptor: &Descriptor,
    built: &PlatformImage,
    context: &RowContext<'_>,
) -> Result<Row> {
    let name = built.platform.name;
    let digest = &descriptor.digest;
    let row = |rebuilt, signature, bundle, sbom, attestations| Row {
        name: name.to_string(),
        digest: digest.clone(),
        platform: descriptor.platform.clone(),
        reference: context.reference(digest),
        rebuilt,
        signature,
        bundle,
        sbom,
        attestations,
    };
    let fail = |cell: &str, detail: String| Cell::failed(cell, format!("{name}: {detail}"));
    let Some(remote_manifest) = session.get_manifest(digest)? else {
        let rebuilt = fail(
            "no: manifest missing",
            format!("the index lists {digest}, which the registry does not have"),
        );
        let nothing = || Cell::not_checked(NOTHING_TO_CHECK);
        return Ok(row(rebuilt, nothing(), nothing(), nothing(), nothing()));
    };
    let parsed: Option<Manifest> = serde_json::from_slice(&remote_manifest.data).ok();
    let remote_layer = match parsed.as_ref().map(|manifest| manifest.layers.as_slice()) {
        Some([layer]) => Some((
            layer.digest.clone(),
            session.get_blob(&layer.digest, layer.size)?,
        )),
        _ => None,
    };

    let rebuilt = if *digest == built.manifest.digest {
        Cell::ok("yes")
    } else {
        match (&parsed, &remote_layer) {
            (Some(_), Some((layer_digest, layer_bytes))) if *layer_digest != built.layer.digest => {
                let what = differences::layers(layer_bytes, &built.layer.data);
                fail(
                    "no: layer",
                    format!(
                        "layer {layer_digest} in the registry, {} rebuilt: {what}",
                        built.layer.digest
                    ),
                )
            }
            (Some(manifest), Some(_)) if manifest.config.digest != built.config.digest => {
                let remote_config =
                    session.get_blob(&manifest.config.digest, manifest.config.size)?;
                let what = differences::documents(&remote_config, &built.config.data);
                fail(
                    "no: config",
                    format!(
                        "config {} in the registry, {} rebuilt: {what}",
                        manifest.config.digest, built.config.digest
                    ),
                )
            }
            (Some(_), Some(_)) => {
                let what = differences::documents(&remote_manifest.data, &built.manifest.data);
                fail(
                    "no: manifest",
                    format!(
                        "manifest {digest} in the registry, {} rebuilt: {what}",
                        built.manifest.digest
                    ),
                )
            }
            _ => fail(
                "no: manifest",
                format!(
                    "manifest {digest} is not an image manifest with one layer, as this \
                     checkout builds ({})",
                    remote_manifest.media_type
                ),
            ),
        }
    };
    let signature = signature_cell(session, context.expected, digest, name)?;
    let (sbom, document) = sbom_cell(
        session,
        digest,
        remote_layer.as_ref().map(|(_, bytes)| bytes.as_slice()),
        context.pinned,
        name,
    )?;
    let (bundle, attested) = match context.expected {
        Some(expected) => {
            let gathered = attestations::gather(session, &expected.key, digest)?;
            let row = attestations::Row {
                name,
                platform: Some(built.platform),
                sbom: document.as_deref(),
            };
            let checkout = expected.checkout();
            (
                attestations::bundle_cell(&gathered, &row, &checkout),
                attestations::attestations_cell(&gathered, &row, &checkout),
            )
        }
        None => (
            Cell::not_checked(NOT_CHECKED),
            Cell::not_checked(NOT_CHECKED),
        ),
    };
    Ok(row(rebuilt, signature, bundle, sbom, attested))
}

/// The `.sig` cell of `digest`: not checked without a key.
fn signature_cell(
    session: &mut Session,
    expected: Option<&Expected>,
    digest: &str,
    name: &str,
) -> Result<Cell> {
    let Some(key) = expected.map(|expected| &expected.key) else {
        return Ok(Cell::not_checked(NOT_CHECKED));
    };
    let tag = crate::sigstore::simple_signing::signature_tag(digest);
    Ok(match signature::check(session, key, digest)? {
        Check::Verified => Cell::ok("ok"),
        Check::Missing => Cell::missing(format!(
            "{name}: no signature: the registry has no {tag}; sign with `cargo xtask push \
             --sign-key cosign.key`"
        )),
        Check::OtherKeys(count) => Cell::new(
            "not by this key",
            table::Verdict::OtherKey,
            vec![Detail {
                line: format!(
                    "{name}: {count} signature(s) under {tag}, none by the key {}",
                    key.fingerprint()
                ),
                // A `.sig` names no key.
                other_keys: Some(Default::default()),
            }],
        ),
        Check::OtherDigest(named) => Cell::failed(
            "names another digest",
            format!(
                "{name}: the key's signature under {tag} is of {named}, another manifest: a \
                 signature copied from it"
            ),
        ),
        Check::Unreadable(why) => Cell::failed("unreadable", format!("{name}: {why}")),
    })
}

/// The SBOM cell of the platform manifest `digest`, whose layer is `layer`: an SBOM among its
/// referrers whose file is the layer's `/pause` (SHA-256 and SHA-1) and whose compiler is the
/// pinned one. With it, that SBOM's document, which the signed SBOM must be.
fn sbom_cell(
    session: &mut Session,
    digest: &str,
    layer: Option<&[u8]>,
    pinned: &str,
    name: &str,
) -> Result<(Cell, Option<Vec<u8>>)> {
    let (listing, found) = referrers::fetch(session, digest, sbom::MEDIA_TYPE)?;
    let place = listing.place();
    if found.is_empty() {
        let line = format!(
            "{name}: no SBOM ({}) among the referrers of {digest} ({place}): push the layout \
             `cargo xtask image` wrote, which holds one per platform",
            sbom::MEDIA_TYPE
        );
        return Ok((Cell::missing(line), None));
    }
    let files: Vec<(String, Vec<u8>)> = match layer.map(layer::read) {
        Some(Ok((entries, _))) => entries
            .into_iter()
            .map(|entry| {
                (
                    format!("./{}", entry.path.trim_start_matches("./")),
                    entry.data,
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut problem = String::new();
    for fetched in found {
        let why = match fetched.content {
            Ok(content) if content.subject.as_deref() != Some(digest) => {
                format!("{} does not name {digest} as its subject", fetched.digest)
            }
            Ok(content) => match sbom_problem(&content.document, &files, pinned) {
                None => {
                    let via = match &listing {
                        Listing::Api => "ok (referrers API)",
                        Listing::FallbackTag(_) => "ok (fallback tag)",
                    };
                    return Ok((Cell::ok(via), Some(content.document)));
                }
                Some(why) => why,
            },
            Err(why) => why,
        };
        problem = why;
    }
    let text = if problem.contains("rustc") {
        "other compiler"
    } else {
        "does not match"
    };
    let line = format!("{name}: the SBOM found through {place}: {problem}");
    Ok((Cell::failed(text, line), None))
}

/// What is wrong with the SBOM `document` of a platform whose layer holds `files`, if anything.
fn sbom_problem(document: &[u8], files: &[(String, Vec<u8>)], pinned: &str) -> Option<String> {
    let summary = match sbom::summary(document) {
        Ok(summary) => summary,
        Err(error) => return Some(format!("{} ({error:#})", sha256(document))),
    };
    if files.is_empty() {
        return Some("the platform's layer cannot be read".to_string());
    }
    for (path, data) in files {
        let Some(listed) = summary.files.iter().find(|file| file.name == *path) else {
            return Some(format!("it does not list {}", &path[1..]));
        };
        let sha256_hex = sha256(data)["sha256:".len()..].to_string();
        let sha1_hex = hex(&Sha1::digest(data));
        if listed.sha256.as_deref() != Some(sha256_hex.as_str())
            || listed.sha1.as_deref() != Some(sha1_hex.as_str())
        {
            return Some(format!(
                "its {} digests (SHA-256 {}) are not the layer's file's ({sha256_hex})",
                &path[1..],
                listed.sha256.as_deref().unwrap_or("absent")
            ));
        }
    }
    match summary.rustc.as_deref() {
        Some(version) if version == pinned => None,
        Some(version) => Some(format!(
            "it records rustc {version}, and rust-toolchain.toml pins {pinned}: the image was \
             built with another toolchain"
        )),
        None => Some("it names no rustc".to_string()),
    }
}
