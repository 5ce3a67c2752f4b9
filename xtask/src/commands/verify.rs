//! `cargo xtask verify REGISTRY/REPOSITORY:TAG [--key cosign.pub]`: checks a published image
//! against this checkout. It reads the registry's index, rebuilds the image here with the date
//! the index carries (its `org.opencontainers.image.created`, back to SOURCE_DATE_EPOCH), and
//! compares every digest: the index, each platform's manifest, config and layer. With `--key`, it
//! checks cosign's signature of the index and of every platform manifest; it checks that every
//! platform has an SBOM (through the referrers API or the fallback tag) naming the layer's exact
//! `/pause` and the pinned compiler. It prints a table and succeeds only when every row holds; a
//! row that does not says which blob differs first and what differs in it.
//!
//! What the bytes depend on: the binaries (this checkout's source, the pinned compiler, the
//! commit, which the binary's version line carries), `image/image.toml`, the date, the revision
//! and version annotations. The tag the image was pushed under does not enter the index, its
//! manifests, configs or layers, so it need not be known; the SBOMs (which name the image's
//! repository) are checked by what they say, not byte for byte. When the image names another
//! commit than this checkout's, that is said first, with the command to check it out.

mod differences;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use sha1::{Digest, Sha1};
use xshell::Shell;

use super::image;
use crate::oci::blob::{hex, sha256};
use crate::oci::definition::{CREATED, REVISION};
use crate::oci::descriptor::{Descriptor, OciPlatform};
use crate::oci::image::{Image, PlatformImage};
use crate::oci::index::{self, Index};
use crate::oci::layer;
use crate::oci::manifest::Manifest;
use crate::oci::reference::Reference;
use crate::oci::sbom;
use crate::oci::timestamp;
use crate::platform::{PLATFORMS, Platform};
use crate::project;
use crate::registry::client::{ConnectOptions, Registry};
use crate::registry::credentials::{self, Credentials};
use crate::registry::referrers::{self, Listing};
use crate::registry::session::{Access, Session};
use crate::registry::signatures::{self, Check};
use crate::sigstore::key::PublicKey;

/// The name the rebuilt image is assembled under: the tag enters no digest that is compared.
const REBUILD_TAG: &str = "localhost/pause:verify";
/// How many hex digits of a digest the table shows.
const SHORT_DIGEST: usize = 12;

/// What to verify, and how to reach it.
pub struct Options {
    /// `REGISTRY/REPOSITORY:TAG` or `...@sha256:...`.
    pub reference: String,
    /// cosign.pub: check the signatures with it.
    pub key: Option<PathBuf>,
    pub login: Option<Credentials>,
    pub auth_files: Vec<PathBuf>,
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
}

impl Options {
    pub fn new(reference: String) -> Options {
        Options {
            reference,
            key: None,
            login: None,
            auth_files: credentials::default_files(),
            insecure: false,
            ca_file: None,
        }
    }
}

/// One cell of the table: its text, and whether it holds.
struct Cell {
    text: String,
    holds: bool,
}

impl Cell {
    fn holds(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            holds: true,
        }
    }

    fn fails(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            holds: false,
        }
    }
}

/// One row: the index, or a platform.
struct Row {
    name: String,
    digest: String,
    rebuilt: Cell,
    signature: Cell,
    sbom: Cell,
    /// What the failing cells mean, a line each.
    details: Vec<String>,
}

impl Row {
    fn holds(&self) -> bool {
        self.rebuilt.holds && self.signature.holds && self.sbom.holds
    }
}

pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let (registry_name, repository, reference) = parse(&options.reference)?;
    let key = options.key.as_deref().map(read_key).transpose()?;
    let login = match &options.login {
        Some(credentials) => Some(credentials.clone()),
        None => credentials::lookup(sh, &options.auth_files, &registry_name)?,
    };
    let connect = ConnectOptions {
        insecure: options.insecure,
        ca_file: options.ca_file.clone(),
    };
    let registry = Registry::connect(&registry_name, &connect, login)?;
    let mut session = Session::open(&registry, &repository, Access::Pull)?;
    let shown = &options.reference;

    let Some(remote_index) = session.get_manifest(&reference)? else {
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
                format!("a manifest of type {}", remote_index.media_type)
            }
        );
    }
    let remote: Index = serde_json::from_slice(&remote_index.data)
        .map_err(|error| anyhow!("{shown}: its index is not valid ({error})"))?;
    let created = remote.annotations.get(CREATED).ok_or_else(|| {
        anyhow!(
            "{shown}: the index has no {CREATED} annotation: `cargo xtask image` did not build it"
        )
    })?;
    let epoch = timestamp::seconds_of(created).ok_or_else(|| {
        anyhow!(
            "{shown}: its {CREATED} is {created:?}, not a date `cargo xtask image` writes \
             (YYYY-MM-DDTHH:MM:SSZ): it did not build it"
        )
    })?;

    // The commit first: a rebuild of another commit cannot match, and says why here.
    let checkout = project::git_revision(sh);
    let remote_revision = remote.annotations.get(REVISION);
    let other_commit = match (remote_revision, &checkout) {
        (Some(theirs), Some(ours)) if theirs != ours => {
            println!(
                "the image was built from commit {theirs}, this checkout is {ours}: check that \
                 commit out with `git checkout {theirs}` and run verify again; comparing with \
                 this checkout anyway"
            );
            Some(theirs.clone())
        }
        (None, _) => {
            println!("the image names no commit ({REVISION}): comparing with this checkout");
            None
        }
        (Some(theirs), None) => {
            println!(
                "this is not a git checkout: the image was built from commit {theirs}; clone the \
                 repository and `git checkout {theirs}`; comparing anyway"
            );
            Some(theirs.clone())
        }
        _ => None,
    };

    if project::has_uncommitted_changes(sh) {
        println!(
            "this checkout has uncommitted changes to tracked files: the rebuild is not of its \
             commit alone (`git stash` them to compare the commit)"
        );
    }

    let mut platforms = Vec::new();
    for descriptor in &remote.manifests {
        if let Some(platform) = platform_of(descriptor) {
            platforms.push(platform);
        }
    }
    let platforms = image::in_table_order(&platforms);
    println!(
        "rebuilding {} from this checkout{} dated {created} (SOURCE_DATE_EPOCH={epoch}, the \
         image's {CREATED})",
        platforms
            .iter()
            .map(|platform| platform.name)
            .collect::<Vec<_>>()
            .join(", "),
        checkout
            .as_deref()
            .map_or_else(String::new, |commit| format!(" (commit {commit})")),
    );
    if platforms.is_empty() {
        bail!("{shown}: its index lists no platform this checkout builds");
    }
    // No provenance: it is an unsigned statement beside the image, in no digest compared.
    let rebuilt = image::build(sh, REBUILD_TAG, &platforms, epoch, None)?;
    let pinned = project::pinned_toolchain()?;

    let mut rows = vec![index_row(
        &mut session,
        &remote_index.digest,
        &remote_index.data,
        &rebuilt,
        key.as_ref(),
    )?];
    for descriptor in &remote.manifests {
        let row = match platform_of(descriptor).and_then(|platform| {
            rebuilt
                .platforms
                .iter()
                .find(|built| built.platform == platform)
        }) {
            Some(built) => platform_row(&mut session, descriptor, built, key.as_ref(), &pinned)?,
            None => Row {
                name: descriptor
                    .platform
                    .as_ref()
                    .map_or_else(|| "(no platform)".to_string(), ToString::to_string),
                digest: descriptor.digest.clone(),
                rebuilt: Cell::fails("no: not a platform this checkout builds"),
                signature: Cell::holds("-"),
                sbom: Cell::holds("-"),
                details: Vec::new(),
            },
        };
        rows.push(row);
    }
    print_table(&rows, key.is_some());

    let failing: Vec<&Row> = rows.iter().filter(|row| !row.holds()).collect();
    if failing.is_empty() {
        println!(
            "every row holds: {shown} is what this checkout builds{}, and every platform has its SBOM",
            key.as_ref().map_or_else(String::new, |key| format!(
                ", signed with the key {}",
                key.fingerprint()
            ))
        );
        return Ok(());
    }
    let commit = other_commit.map_or_else(String::new, |commit| {
        format!(" (the image was built from commit {commit}: `git checkout {commit}`)")
    });
    bail!(
        "{shown} does not verify: {} of {} rows do not hold ({}){commit}",
        failing.len(),
        rows.len(),
        failing
            .iter()
            .map(|row| row.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `REGISTRY/REPOSITORY` and the tag or digest to read.
fn parse(text: &str) -> Result<(String, String, String)> {
    let form = "write REGISTRY/REPOSITORY:TAG (or @sha256:…), e.g. ghcr.io/OWNER/pause:0.1.0";
    let reference = Reference::parse(text).map_err(|error| anyhow!("{error}: {form}"))?;
    let Some(registry) = reference.registry.clone() else {
        bail!("`{reference}` names no registry: {form}");
    };
    let Some(tag_or_digest) = reference.digest.clone().or(reference.tag.clone()) else {
        bail!("`{reference}` has no tag: {form}");
    };
    Ok((registry, reference.repository, tag_or_digest))
}

/// cosign.pub, read.
fn read_key(path: &std::path::Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --key {}", path.display()))?;
    PublicKey::from_pem(&text).map_err(|error| anyhow!("--key {}: {error:#}", path.display()))
}

/// The platform of the table an index entry names.
fn platform_of(descriptor: &Descriptor) -> Option<&'static Platform> {
    let named = descriptor.platform.as_ref()?;
    PLATFORMS
        .iter()
        .find(|platform| OciPlatform::from(*platform) == *named)
}

/// `sha256:0123456789ab`.
fn short(digest: &str) -> String {
    digest
        .chars()
        .take("sha256:".len() + SHORT_DIGEST)
        .collect()
}

/// The index's row: its digest against the rebuilt one, its signature.
fn index_row(
    session: &mut Session<'_>,
    digest: &str,
    data: &[u8],
    rebuilt: &Image,
    key: Option<&PublicKey>,
) -> Result<Row> {
    let mut details = Vec::new();
    let rebuilt_cell = if digest == rebuilt.index.digest {
        Cell::holds("yes")
    } else {
        details.push(format!(
            "index: registry {digest}, rebuilt {}: {}",
            rebuilt.index.digest,
            differences::documents(data, &rebuilt.index.data)
        ));
        Cell::fails("no: index")
    };
    let signature = signature_cell(session, key, digest, "index", &mut details)?;
    Ok(Row {
        name: "index".to_string(),
        digest: digest.to_string(),
        rebuilt: rebuilt_cell,
        signature,
        sbom: Cell::holds("-"),
        details,
    })
}

/// A platform's row: its manifest, config and layer against the rebuilt ones, its signature,
/// its SBOM.
fn platform_row(
    session: &mut Session<'_>,
    descriptor: &Descriptor,
    built: &PlatformImage,
    key: Option<&PublicKey>,
    pinned: &str,
) -> Result<Row> {
    let name = built.platform.name;
    let digest = &descriptor.digest;
    let mut details = Vec::new();
    let fail = |details: &mut Vec<String>, cell: &str, detail: String| {
        details.push(format!("{name}: {detail}"));
        Cell::fails(cell)
    };
    let Some(remote_manifest) = session.get_manifest(digest)? else {
        let rebuilt = fail(
            &mut details,
            "no: manifest missing",
            format!("the index lists {digest}, which the registry does not have"),
        );
        return Ok(Row {
            name: name.to_string(),
            digest: digest.clone(),
            rebuilt,
            signature: Cell::fails("-"),
            sbom: Cell::fails("-"),
            details,
        });
    };
    let parsed: Option<Manifest> = serde_json::from_slice(&remote_manifest.data).ok();
    let remote_layer = match parsed.as_ref().map(|manifest| manifest.layers.as_slice()) {
        Some([layer]) => Some((layer.digest.clone(), session.get_blob(&layer.digest)?)),
        _ => None,
    };

    let rebuilt = if *digest == built.manifest.digest {
        Cell::holds("yes")
    } else {
        match (&parsed, &remote_layer) {
            (Some(_), Some((layer_digest, layer_bytes))) if *layer_digest != built.layer.digest => {
                let what = differences::layers(layer_bytes, &built.layer.data);
                fail(
                    &mut details,
                    "no: layer",
                    format!(
                        "layer {layer_digest} in the registry, {} rebuilt: {what}",
                        built.layer.digest
                    ),
                )
            }
            (Some(manifest), Some(_)) if manifest.config.digest != built.config.digest => {
                let remote_config = session.get_blob(&manifest.config.digest)?;
                let what = differences::documents(&remote_config, &built.config.data);
                fail(
                    &mut details,
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
                    &mut details,
                    "no: manifest",
                    format!(
                        "manifest {digest} in the registry, {} rebuilt: {what}",
                        built.manifest.digest
                    ),
                )
            }
            _ => fail(
                &mut details,
                "no: manifest",
                format!(
                    "manifest {digest} is not an image manifest with one layer, as this \
                     checkout builds ({})",
                    remote_manifest.media_type
                ),
            ),
        }
    };
    let signature = signature_cell(session, key, digest, name, &mut details)?;
    let sbom = sbom_cell(
        session,
        digest,
        remote_layer.as_ref().map(|(_, bytes)| bytes.as_slice()),
        pinned,
        name,
        &mut details,
    )?;
    Ok(Row {
        name: name.to_string(),
        digest: digest.clone(),
        rebuilt,
        signature,
        sbom,
        details,
    })
}

/// The signature cell of `digest`: not checked without a key.
fn signature_cell(
    session: &mut Session<'_>,
    key: Option<&PublicKey>,
    digest: &str,
    name: &str,
    details: &mut Vec<String>,
) -> Result<Cell> {
    let Some(key) = key else {
        return Ok(Cell::holds("not checked"));
    };
    let tag = crate::sigstore::simple_signing::signature_tag(digest);
    Ok(match signatures::check(session, key, digest)? {
        Check::Verified => Cell::holds("ok"),
        Check::Missing => {
            details.push(format!(
                "{name}: no signature: the registry has no {tag}; sign with `cargo xtask push \
                 --sign-key cosign.key`"
            ));
            Cell::fails("missing")
        }
        Check::OtherKeys(count) => {
            details.push(format!(
                "{name}: {count} signature(s) under {tag}, none by the key {}",
                key.fingerprint()
            ));
            Cell::fails("not by this key")
        }
        Check::OtherDigest(named) => {
            details.push(format!(
                "{name}: the key's signature under {tag} is of {named}, another manifest: a \
                 signature copied from it"
            ));
            Cell::fails("names another digest")
        }
        Check::Unreadable(why) => {
            details.push(format!("{name}: {why}"));
            Cell::fails("unreadable")
        }
    })
}

/// The SBOM cell of the platform manifest `digest`, whose layer is `layer`: an SBOM among its
/// referrers whose file is the layer's `/pause` (SHA-256 and SHA-1) and whose compiler is the
/// pinned one.
fn sbom_cell(
    session: &mut Session<'_>,
    digest: &str,
    layer: Option<&[u8]>,
    pinned: &str,
    name: &str,
    details: &mut Vec<String>,
) -> Result<Cell> {
    let (listing, found) = referrers::find(session, digest, sbom::MEDIA_TYPE)?;
    let place = match &listing {
        Listing::Api => "the referrers API".to_string(),
        Listing::FallbackTag(tag) => format!("the tag {tag}"),
    };
    if found.is_empty() {
        details.push(format!(
            "{name}: no SBOM ({}) among the referrers of {digest} ({place}): push the layout \
             `cargo xtask image` wrote, which holds one per platform",
            sbom::MEDIA_TYPE
        ));
        return Ok(Cell::fails("missing"));
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
    for descriptor in &found {
        match sbom_problem(session, digest, descriptor, &files, pinned)? {
            None => {
                let via = match &listing {
                    Listing::Api => "ok (referrers API)",
                    Listing::FallbackTag(_) => "ok (fallback tag)",
                };
                return Ok(Cell::holds(via));
            }
            Some(why) => problem = why,
        }
    }
    details.push(format!("{name}: the SBOM found through {place}: {problem}"));
    Ok(Cell::fails(if problem.contains("rustc") {
        "other compiler"
    } else {
        "does not match"
    }))
}

/// What is wrong with the SBOM `descriptor` names, if anything.
fn sbom_problem(
    session: &mut Session<'_>,
    subject: &str,
    descriptor: &Descriptor,
    files: &[(String, Vec<u8>)],
    pinned: &str,
) -> Result<Option<String>> {
    let Some(artifact) = session.get_manifest(&descriptor.digest)? else {
        return Ok(Some(format!(
            "it lists {}, which the registry does not have",
            descriptor.digest
        )));
    };
    let Ok(artifact) = serde_json::from_slice::<Manifest>(&artifact.data) else {
        return Ok(Some(format!(
            "{} is not an image manifest",
            descriptor.digest
        )));
    };
    if artifact.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject) {
        return Ok(Some(format!(
            "{} does not name {subject} as its subject",
            descriptor.digest
        )));
    }
    let [layer] = artifact.layers.as_slice() else {
        return Ok(Some(format!(
            "{} has no single document",
            descriptor.digest
        )));
    };
    let document = session.get_blob(&layer.digest)?;
    let summary = match sbom::summary(&document) {
        Ok(summary) => summary,
        Err(error) => return Ok(Some(format!("{}: {error:#}", layer.digest))),
    };
    if files.is_empty() {
        return Ok(Some("the platform's layer cannot be read".to_string()));
    }
    for (path, data) in files {
        let Some(listed) = summary.files.iter().find(|file| file.name == *path) else {
            return Ok(Some(format!("it does not list {}", &path[1..])));
        };
        let sha256_hex = sha256(data)["sha256:".len()..].to_string();
        let sha1_hex = hex(&Sha1::digest(data));
        if listed.sha256.as_deref() != Some(sha256_hex.as_str())
            || listed.sha1.as_deref() != Some(sha1_hex.as_str())
        {
            return Ok(Some(format!(
                "its {} digests (SHA-256 {}) are not the layer's file's ({sha256_hex})",
                &path[1..],
                listed.sha256.as_deref().unwrap_or("absent")
            )));
        }
    }
    match summary.rustc.as_deref() {
        Some(version) if version == pinned => Ok(None),
        Some(version) => Ok(Some(format!(
            "it records rustc {version}, and rust-toolchain.toml pins {pinned}: the image was \
             built with another toolchain"
        ))),
        None => Ok(Some("it names no rustc".to_string())),
    }
}

/// The table, then what every failing cell means.
fn print_table(rows: &[Row], keyed: bool) {
    let header = [
        "platform",
        "digest",
        "rebuilt = registry",
        "signature",
        "SBOM",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            [
                row.name.clone(),
                short(&row.digest),
                row.rebuilt.text.clone(),
                row.signature.text.clone(),
                row.sbom.text.clone(),
            ]
        })
        .collect();
    let width = |column: usize| {
        cells
            .iter()
            .map(|row| row[column].chars().count())
            .chain(std::iter::once(header[column].len()))
            .max()
            .unwrap_or_default()
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |values: [&str; 5]| {
        values
            .iter()
            .zip(&widths)
            .map(|(value, width)| format!("{value:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header));
    for row in &cells {
        println!("{}", line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    if !keyed {
        println!("signatures not checked: give --key cosign.pub to check them");
    }
    // The platforms' details before the index's: a platform's blob is where a difference starts,
    // the index only lists the manifests that differ.
    let mut details = rows
        .iter()
        .skip(1)
        .chain(rows.first())
        .flat_map(|row| &row.details);
    if let Some(first) = details.next() {
        println!("first difference: {first}");
    }
    for detail in details {
        println!("{detail}");
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_reference_needs_a_registry_and_a_tag_or_digest() {
        let digest = format!("sha256:{}", "0".repeat(64));
        assert_eq!(
            parse("ghcr.io/o/pause:0.1.0").unwrap(),
            ("ghcr.io".into(), "o/pause".into(), "0.1.0".into())
        );
        assert_eq!(
            parse(&format!("docker.io/pause@{digest}")).unwrap(),
            ("docker.io".into(), "library/pause".into(), digest)
        );
        for (bad, why) in [
            ("pause:0.1.0", "names no registry"),
            ("ghcr.io/o/pause", "has no tag"),
        ] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(
                error.contains(why) && error.contains("REGISTRY/REPOSITORY:TAG"),
                "{error}"
            );
        }
    }
}
