//! SLSA Build Provenance v1 (`https://slsa.dev/provenance/v1`) of one platform image, as an
//! in-toto statement about its manifest: how `cargo xtask image` made it (the build type,
//! documented in `docs/build-type.md`), from what (the commit, the image definition, both lock
//! files, every crate linked into `/pause`, the compiler) and where (the builder).
//!
//! Pure, and free of wall-clock time: no `startedOn`/`finishedOn`, so the same build — same
//! commit, SOURCE_DATE_EPOCH, toolchain and builder — gives the same bytes, and two builders that
//! agree on the image also agree on everything but `runDetails`. What the environment says about
//! the builder is read once, by the image command, into a [`Builder`].

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::intoto::Statement;
use super::materials::{Compiler, Linked};
use crate::oci::blob::{Blob, digest_hex, is_sha256_digest};
use crate::platform::Platform;

/// The predicate type of SLSA provenance v1.
pub(crate) const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// What `buildDefinition.buildType` says: this project's `cargo xtask image`, version 1 of what
/// its parameters mean. The fragment is the document's heading for it.
pub(crate) const BUILD_TYPE: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/build-type.md#cargo-xtask-image-v1"
);
/// The builder of a build that ran anywhere but GitHub Actions: a machine nobody vouches for but
/// the holder of the signing key. The fragment is the document's heading for it.
pub(crate) const LOCAL_BUILDER: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/build-type.md#local-builds"
);
/// Where the image definition is, relative to the repository root.
pub(crate) const IMAGE_DEFINITION: &str = "image/image.toml";
/// The profile the shipped binary is built with (`build/pause.rs`).
const CARGO_PROFILE: &str = "release";
/// Where the Rust compiler's source is: `rustc -vV`'s `commit-hash` is a commit of it.
const RUST_SOURCE: &str = "git+https://github.com/rust-lang/rust";
/// A git commit's digest-set key (in-toto's `gitCommit`), and how many hex digits it has.
const GIT_COMMIT: &str = "gitCommit";
const GIT_COMMIT_HEX_DIGITS: usize = 40;
const SHA256: &str = "sha256";
/// The `name` of the compiler's resolved dependency.
const COMPILER_NAME: &str = "rustc";
/// The compiler dependency's annotation holding its version line.
const VERSION_ANNOTATION: &str = "version";
/// The variables GitHub Actions sets in every job, as its documentation names them.
const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
const GITHUB_WORKFLOW_REF: &str = "GITHUB_WORKFLOW_REF";
const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
const GITHUB_RUN_ATTEMPT: &str = "GITHUB_RUN_ATTEMPT";

/// Where the build ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Builder {
    /// `runDetails.builder.id`.
    pub(crate) id: String,
    /// `runDetails.metadata.invocationId`: which run, when the builder numbers them.
    pub(crate) invocation_id: Option<String>,
}

impl Builder {
    /// The builder the environment describes, `var` reading a variable: on GitHub Actions, the
    /// workflow file at the ref it ran from (`https://github.com/OWNER/REPO/.github/workflows/
    /// release.yml@refs/tags/v0.1.0` for a release) and the run's attempt; anywhere else
    /// [`LOCAL_BUILDER`]. These are the environment's words, not proof: the signature over the
    /// provenance is the key holder's (SLSA Build L1).
    pub(crate) fn from_environment(var: impl Fn(&str) -> Option<String>) -> Builder {
        let on_github = var(GITHUB_ACTIONS).as_deref() == Some("true");
        if let (true, Some(server), Some(workflow)) =
            (on_github, var(GITHUB_SERVER_URL), var(GITHUB_WORKFLOW_REF))
        {
            let invocation_id = match (
                var(GITHUB_REPOSITORY),
                var(GITHUB_RUN_ID),
                var(GITHUB_RUN_ATTEMPT),
            ) {
                (Some(repository), Some(run), Some(attempt)) => Some(format!(
                    "{server}/{repository}/actions/runs/{run}/attempts/{attempt}"
                )),
                _ => None,
            };
            return Builder {
                id: format!("{server}/{workflow}"),
                invocation_id,
            };
        }
        Builder {
            id: LOCAL_BUILDER.to_string(),
            invocation_id: None,
        }
    }
}

/// A lock file the build resolved crates from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lockfile {
    /// Relative to the repository root.
    pub(crate) path: String,
    /// `sha256:<hex>` of its bytes.
    pub(crate) digest: String,
}

/// What the image command knows about the build beyond the materials every platform shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Build {
    /// The commit checked out (40 hex digits), if this is a git checkout.
    pub(crate) commit: Option<String>,
    /// Whether tracked files differed from that commit.
    pub(crate) uncommitted_changes: bool,
    /// `sha256:<hex>` of `image/image.toml`.
    pub(crate) definition: String,
    /// `pause/Cargo.lock` (the crates linked into the binary) and `Cargo.lock` (the xtask that
    /// writes the layer's tar and gzip and every document), in that order.
    pub(crate) lockfiles: Vec<Lockfile>,
    pub(crate) builder: Builder,
}

/// One platform image's provenance.
pub(crate) struct Subject<'a> {
    /// The repository the statement names its subject in (go-containerregistry's name).
    pub(crate) repository: &'a str,
    pub(crate) manifest: &'a Blob,
    pub(crate) platform: &'a Platform,
    /// The image definition's source repository (`org.opencontainers.image.source`).
    pub(crate) source: Option<&'a str>,
    /// SOURCE_DATE_EPOCH.
    pub(crate) epoch: u64,
    pub(crate) linked: &'a Linked,
    pub(crate) compiler: &'a Compiler,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Predicate {
    build_definition: BuildDefinition,
    run_details: RunDetails,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildDefinition {
    build_type: &'static str,
    external_parameters: ExternalParameters,
    internal_parameters: InternalParameters,
    resolved_dependencies: Vec<ResourceDescriptor>,
}

/// What the person building chose. Each field is a row of `docs/build-type.md`'s table (the
/// tidy test keeps the two in step).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
    platform: String,
    source_date_epoch: u64,
    image_definition: ImageDefinition,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    /// Written only when true: then the image is not the commit's alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    uncommitted_changes: bool,
}

#[derive(Serialize)]
struct ImageDefinition {
    path: &'static str,
    digest: BTreeMap<&'static str, String>,
}

/// What the build type fixes for a platform.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InternalParameters {
    rust_target: &'static str,
    cargo_profile: &'static str,
}

/// in-toto's ResourceDescriptor, the fields used here, in its field order.
#[derive(Serialize)]
struct ResourceDescriptor {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    digest: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct RunDetails {
    builder: BuilderId,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
}

#[derive(Serialize)]
struct BuilderId {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    invocation_id: String,
}

/// The provenance statement of `subject`'s platform image, built as `build` says.
pub(crate) fn statement(subject: &Subject<'_>, build: &Build) -> Result<Statement> {
    let predicate = serde_json::to_vec(&predicate(subject, build))?;
    Statement::new(
        Some(subject.repository),
        &subject.manifest.digest,
        PREDICATE_TYPE,
        &predicate,
    )
}

fn predicate(subject: &Subject<'_>, build: &Build) -> Predicate {
    let source = (subject.source.is_some() || build.commit.is_some()).then(|| Source {
        repository: subject.source.map(str::to_string),
        commit: build.commit.clone(),
        uncommitted_changes: build.uncommitted_changes,
    });
    let mut dependencies = Vec::new();
    if let Some(commit) = &build.commit {
        dependencies.push(ResourceDescriptor {
            name: None,
            uri: subject.source.map(|source| format!("git+{source}")),
            digest: BTreeMap::from([(GIT_COMMIT, commit.clone())]),
            annotations: BTreeMap::new(),
        });
    }
    for lockfile in &build.lockfiles {
        dependencies.push(ResourceDescriptor {
            name: Some(lockfile.path.clone()),
            uri: None,
            digest: sha256_digest(&lockfile.digest),
            annotations: BTreeMap::new(),
        });
    }
    for linked in &subject.linked.crates {
        let checksum = linked
            .checksum
            .iter()
            .map(|checksum| (SHA256, checksum.clone()))
            .collect();
        dependencies.push(if linked.from_crates_io {
            ResourceDescriptor {
                name: None,
                uri: Some(format!("pkg:cargo/{}@{}", linked.name, linked.version)),
                digest: checksum,
                annotations: BTreeMap::new(),
            }
        } else {
            // Not from crates.io: no purl names it, and its source is the commit's.
            ResourceDescriptor {
                name: Some(linked.id()),
                uri: None,
                digest: checksum,
                annotations: BTreeMap::new(),
            }
        });
    }
    dependencies.push(compiler_dependency(subject.compiler));

    Predicate {
        build_definition: BuildDefinition {
            build_type: BUILD_TYPE,
            external_parameters: ExternalParameters {
                source,
                platform: subject.platform.name.to_string(),
                source_date_epoch: subject.epoch,
                image_definition: ImageDefinition {
                    path: IMAGE_DEFINITION,
                    digest: sha256_digest(&build.definition),
                },
            },
            internal_parameters: InternalParameters {
                rust_target: subject.platform.triple,
                cargo_profile: CARGO_PROFILE,
            },
            resolved_dependencies: dependencies,
        },
        run_details: RunDetails {
            builder: BuilderId {
                id: build.builder.id.clone(),
            },
            metadata: build
                .builder
                .invocation_id
                .clone()
                .map(|invocation_id| Metadata { invocation_id }),
        },
    }
}

/// The pinned toolchain: the rust-lang/rust commit `rustc -vV` names, and its version line as it
/// reports it.
fn compiler_dependency(compiler: &Compiler) -> ResourceDescriptor {
    let is_commit = compiler.commit_hash.len() == GIT_COMMIT_HEX_DIGITS
        && compiler.commit_hash.bytes().all(|b| b.is_ascii_hexdigit());
    let mut annotations = BTreeMap::from([
        (VERSION_ANNOTATION, compiler.version.clone()),
        ("host", compiler.host.clone()),
    ]);
    if let Some(llvm) = &compiler.llvm_version {
        annotations.insert("llvmVersion", llvm.clone());
    }
    ResourceDescriptor {
        name: Some(COMPILER_NAME.to_string()),
        uri: Some(RUST_SOURCE.to_string()),
        // A rustc built from a tarball reports `commit-hash: unknown`: then there is no digest.
        digest: if is_commit {
            BTreeMap::from([(GIT_COMMIT, compiler.commit_hash.clone())])
        } else {
            BTreeMap::new()
        },
        annotations,
    }
}

/// What a provenance claims that `cargo xtask verify` holds against the checkout: the build
/// type, the platform, the commit (as `source.commit` and as the source's `gitCommit`
/// dependency, which must agree) and the compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) build_type: String,
    pub(crate) platform: Option<String>,
    /// `externalParameters.source.commit`.
    pub(crate) commit: Option<String>,
    /// The `gitCommit` of the resolved dependency `git+<source.repository>`.
    pub(crate) source_dependency_commit: Option<String>,
    /// The compiler dependency's `version` annotation: `rustc -vV`'s first line.
    pub(crate) rustc_version: Option<String>,
    /// The compiler dependency's `gitCommit`: `rustc -vV`'s `commit-hash`.
    pub(crate) rustc_commit: Option<String>,
}

/// The parts of a predicate [`claims`] reads; everything else is passed over.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadPredicate {
    build_definition: ReadDefinition,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadDefinition {
    build_type: String,
    #[serde(default)]
    external_parameters: ReadExternal,
    #[serde(default)]
    resolved_dependencies: Vec<ReadDependency>,
}

#[derive(Default, Deserialize)]
struct ReadExternal {
    #[serde(default)]
    source: Option<ReadSource>,
    #[serde(default)]
    platform: Option<String>,
}

#[derive(Deserialize)]
struct ReadSource {
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    commit: Option<String>,
}

#[derive(Deserialize)]
struct ReadDependency {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    digest: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, serde_json::Value>,
}

/// Reads the claims of an SLSA provenance v1 predicate (a statement's `predicate`).
pub(crate) fn claims(predicate: &[u8]) -> Result<Claims> {
    let read: ReadPredicate = serde_json::from_slice(predicate)
        .context("it is not SLSA provenance v1 (no buildDefinition.buildType)")?;
    let definition = read.build_definition;
    let source = definition.external_parameters.source;
    let source_uri = source
        .as_ref()
        .and_then(|source| source.repository.as_ref())
        .map(|repository| format!("git+{repository}"));
    let source_dependency_commit = definition
        .resolved_dependencies
        .iter()
        .find(|dependency| dependency.uri.is_some() && dependency.uri == source_uri)
        .and_then(|dependency| dependency.digest.get(GIT_COMMIT).cloned());
    let compiler = definition
        .resolved_dependencies
        .iter()
        .find(|dependency| dependency.name.as_deref() == Some(COMPILER_NAME));
    Ok(Claims {
        build_type: definition.build_type,
        platform: definition.external_parameters.platform,
        commit: source.and_then(|source| source.commit),
        source_dependency_commit,
        rustc_version: compiler
            .and_then(|compiler| compiler.annotations.get(VERSION_ANNOTATION))
            .and_then(|version| version.as_str())
            .map(str::to_string),
        rustc_commit: compiler.and_then(|compiler| compiler.digest.get(GIT_COMMIT).cloned()),
    })
}

fn sha256_digest(digest: &str) -> BTreeMap<&'static str, String> {
    debug_assert!(is_sha256_digest(digest), "{digest}");
    BTreeMap::from([(SHA256, digest_hex(digest).to_string())])
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::Value;

    use super::{
        BUILD_TYPE, Build, Builder, Claims, LOCAL_BUILDER, Lockfile, PREDICATE_TYPE, Subject,
        claims, statement,
    };
    use crate::attest::materials::Compiler;
    use crate::attest::materials::tests::{RUSTC_VV, sample};
    use crate::oci::blob::{Blob, sha256};
    use crate::platform::PLATFORMS;

    pub(crate) const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    /// A build of [`COMMIT`] on this machine.
    pub(crate) fn build() -> Build {
        Build {
            commit: Some(COMMIT.to_string()),
            uncommitted_changes: false,
            definition: sha256(b"image.toml"),
            lockfiles: vec![
                Lockfile {
                    path: "pause/Cargo.lock".to_string(),
                    digest: sha256(b"pause lock"),
                },
                Lockfile {
                    path: "Cargo.lock".to_string(),
                    digest: sha256(b"xtask lock"),
                },
            ],
            builder: Builder::from_environment(|_| None),
        }
    }

    /// The predicate of a sample build for arm/v7, as JSON.
    pub(crate) fn sample_predicate(build: &Build) -> Value {
        let manifest = Blob::new(crate::oci::manifest::MEDIA_TYPE, b"{}".to_vec());
        let compiler = Compiler::parse(RUSTC_VV).unwrap();
        let linked = sample();
        let subject = Subject {
            repository: "localhost/pause",
            manifest: &manifest,
            platform: &PLATFORMS[2],
            source: Some("https://github.com/pause-rs/pause"),
            epoch: 1_700_000_000,
            linked: &linked,
            compiler: &compiler,
        };
        let statement = statement(&subject, build).unwrap();
        assert_eq!(statement.subject_digest(), manifest.digest);
        assert_eq!(statement.subject_name(), Some("localhost/pause"));
        assert_eq!(statement.predicate_type(), PREDICATE_TYPE);
        serde_json::from_slice(statement.predicate()).unwrap()
    }

    #[test]
    fn the_provenance_says_what_was_built_from_what_and_where() {
        let predicate = sample_predicate(&build());
        let definition = &predicate["buildDefinition"];
        assert_eq!(definition["buildType"], BUILD_TYPE);
        assert!(BUILD_TYPE.starts_with("https://github.com/pause-rs/pause/"));
        let external = &definition["externalParameters"];
        assert_eq!(
            external["source"],
            serde_json::json!({"repository": "https://github.com/pause-rs/pause", "commit": COMMIT}),
            "no uncommittedChanges when there are none"
        );
        assert_eq!(external["platform"], "linux/arm/v7");
        assert_eq!(external["sourceDateEpoch"], 1_700_000_000);
        assert_eq!(external["imageDefinition"]["path"], "image/image.toml");
        assert_eq!(
            external["imageDefinition"]["digest"]["sha256"],
            &sha256(b"image.toml")[7..]
        );
        assert_eq!(
            definition["internalParameters"]["rustTarget"],
            "armv7-unknown-linux-gnueabihf"
        );
        let dependencies = definition["resolvedDependencies"].as_array().unwrap();
        assert_eq!(
            dependencies[0],
            serde_json::json!({"uri": "git+https://github.com/pause-rs/pause", "digest": {"gitCommit": COMMIT}})
        );
        assert_eq!(dependencies[1]["name"], "pause/Cargo.lock");
        assert_eq!(dependencies[2]["name"], "Cargo.lock");
        let crates: Vec<&Value> = dependencies
            .iter()
            .filter(|d| {
                d["uri"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("pkg:cargo/"))
            })
            .collect();
        assert_eq!(
            crates
                .iter()
                .map(|d| d["uri"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["pkg:cargo/leaf@2.0.0", "pkg:cargo/lib@1.1.6"],
            "every linked crate, no build-dependency"
        );
        assert_eq!(crates[1]["digest"]["sha256"], "lib1.1.6".repeat(8));
        let rustc = dependencies.last().unwrap();
        assert_eq!(rustc["name"], "rustc");
        assert_eq!(
            rustc["digest"]["gitCommit"],
            "59807616e1fa2540724bfbac14d7976d7e4a3860"
        );
        assert_eq!(
            rustc["annotations"]["version"],
            "rustc 1.95.0 (59807616e 2026-04-14)"
        );
        assert_eq!(
            predicate["runDetails"],
            serde_json::json!({"builder": {"id": LOCAL_BUILDER}}),
            "no invocation off GitHub, and never a time"
        );
    }

    #[test]
    fn the_same_build_gives_the_same_bytes_and_changes_show() {
        assert_eq!(sample_predicate(&build()), sample_predicate(&build()));
        let dirty = Build {
            uncommitted_changes: true,
            ..build()
        };
        assert_eq!(
            sample_predicate(&dirty)["buildDefinition"]["externalParameters"]["source"]["uncommittedChanges"],
            true
        );
        let no_git = Build {
            commit: None,
            ..build()
        };
        let predicate = sample_predicate(&no_git);
        assert_eq!(
            predicate["buildDefinition"]["resolvedDependencies"][0]["name"], "pause/Cargo.lock",
            "no commit, no gitCommit dependency"
        );
    }

    #[test]
    fn the_builder_is_the_workflow_run_on_github_and_this_machine_elsewhere() {
        let github = |name: &str| -> Option<String> {
            Some(
                match name {
                    "GITHUB_ACTIONS" => "true",
                    "GITHUB_SERVER_URL" => "https://github.com",
                    "GITHUB_WORKFLOW_REF" => {
                        "o/pause/.github/workflows/release.yml@refs/tags/v0.1.0"
                    }
                    "GITHUB_REPOSITORY" => "o/pause",
                    "GITHUB_RUN_ID" => "42",
                    "GITHUB_RUN_ATTEMPT" => "1",
                    _ => return None,
                }
                .to_string(),
            )
        };
        assert_eq!(
            Builder::from_environment(github),
            Builder {
                id: "https://github.com/o/pause/.github/workflows/release.yml@refs/tags/v0.1.0"
                    .to_string(),
                invocation_id: Some(
                    "https://github.com/o/pause/actions/runs/42/attempts/1".to_string()
                ),
            }
        );
        let predicate = sample_predicate(&Build {
            builder: Builder::from_environment(github),
            ..build()
        });
        assert_eq!(
            predicate["runDetails"]["metadata"]["invocationId"],
            "https://github.com/o/pause/actions/runs/42/attempts/1"
        );
        // GITHUB_* variables without GITHUB_ACTIONS=true are not GitHub Actions.
        let pretend = |name: &str| (name != "GITHUB_ACTIONS").then(|| github(name)).flatten();
        assert_eq!(Builder::from_environment(pretend).id, LOCAL_BUILDER);
    }

    /// A self-built rustc reports `commit-hash: unknown`: the dependency has no digest then.
    #[test]
    fn a_compiler_without_a_commit_has_no_digest() {
        let compiler = Compiler::parse(&RUSTC_VV.replace(
            "commit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860",
            "commit-hash: unknown",
        ))
        .unwrap();
        let dependency = serde_json::to_value(super::compiler_dependency(&compiler)).unwrap();
        assert!(dependency["digest"].is_null(), "{dependency}");
        assert_eq!(dependency["uri"], "git+https://github.com/rust-lang/rust");
    }

    /// What verify reads back is what the build wrote: the commit twice, the compiler, the
    /// platform; a predicate without a build type is not provenance.
    #[test]
    fn the_claims_read_back_what_was_written() {
        let predicate = serde_json::to_vec(&sample_predicate(&build())).unwrap();
        assert_eq!(
            claims(&predicate).unwrap(),
            Claims {
                build_type: BUILD_TYPE.to_string(),
                platform: Some("linux/arm/v7".to_string()),
                commit: Some(COMMIT.to_string()),
                source_dependency_commit: Some(COMMIT.to_string()),
                rustc_version: Some("rustc 1.95.0 (59807616e 2026-04-14)".to_string()),
                rustc_commit: Some("59807616e1fa2540724bfbac14d7976d7e4a3860".to_string()),
            }
        );
        let no_git = serde_json::to_vec(&sample_predicate(&Build {
            commit: None,
            ..build()
        }))
        .unwrap();
        let read = claims(&no_git).unwrap();
        assert_eq!((read.commit, read.source_dependency_commit), (None, None));
        let error = format!("{:#}", claims(br#"{"buildDefinition":{}}"#).unwrap_err());
        assert!(error.contains("not SLSA provenance"), "{error}");
    }
}
