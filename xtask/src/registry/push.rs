//! Pushing an OCI layout to a registry with the exact bytes of every blob and manifest, so the
//! registry's digests equal the local ones, with each platform's SBOM attached and, when a key is
//! given, cosign's signatures of the index and of every platform manifest and their signed
//! attestations (the `.att` images of cosign 2, the Sigstore bundle referrers of cosign 3).
//!
//! The order, so that the tag only ever names a whole image and nothing of others' is lost:
//! 1. with a key, the signatures and attestations are made and merged with the `.sig` and `.att`
//!    manifests the registry holds (a wrong key password failed earlier, in `commands::push`; a
//!    malformed `.sig` or `.att` fails here, before any upload);
//! 2. the image's blobs (a HEAD each: what the registry has is not sent again), each platform
//!    manifest by digest, then the index by digest, untagged;
//! 3. the referrers of each manifest (its SBOM, and with a key its bundles): where the registry
//!    lists them (the API, or the fallback tag `sha256-<hex>`, read and merged for every subject
//!    before any is written), then their blobs, their manifests, and the extended fallback index;
//! 4. the `.sig` and `.att` images;
//! 5. the index under the tag, last: a failure anywhere before leaves no tag on a partial image,
//!    an unsigned one, or one whose SBOMs cannot be found.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use xshell::Shell;

use super::client::{ConnectOptions, Registry};
use super::credentials::{self, Credentials};
use super::referrers;
use super::session::{Access, Session};
use super::signatures;
use crate::attest::{intoto, sbom};
use crate::oci::artifact::Artifact;
use crate::oci::blob::Blob;
use crate::oci::descriptor::Descriptor;
use crate::oci::index::Index;
use crate::oci::layout::{self, Contents};
use crate::oci::manifest::Manifest;
use crate::oci::reference::Reference;
use crate::project;
use crate::sigstore::attestation::{self, Attestation};
use crate::sigstore::bundle;
use crate::sigstore::key::SigningKey;

/// How to push: from which layout, as whom, how to reach the registry, signed with which key. Its
/// `Debug` shows no password (see [`super::secret::Secret`]) and no key (only its public half's
/// fingerprint).
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub layout: PathBuf,
    /// `--username` with its password; otherwise the credentials stored in `auth_files`.
    pub login: Option<Credentials>,
    /// docker `config.json` / podman `auth.json` files to look in, first match wins.
    pub auth_files: Vec<PathBuf>,
    /// Plain HTTP even for a registry that is not on loopback.
    pub insecure: bool,
    /// A CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Sign the index and every platform manifest with this key (`--sign-key`), as cosign does.
    pub sign_key: Option<Arc<SigningKey>>,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            layout: project::layout_dir(&project::image_dir()),
            login: None,
            auth_files: credentials::default_files(),
            insecure: false,
            ca_file: None,
            sign_key: None,
        }
    }
}

/// What was pushed: `registry/repository:tag` and the digest the tag now points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    pub reference: String,
    /// `registry/repository`, fully qualified (`docker.io/library/pause`).
    pub name: String,
    pub digest: String,
}

impl PushedImage {
    /// `registry/repository@digest`: the image by its fully qualified name and digest, as nodes
    /// pin it (containerd keeps a sandbox image under exactly the name it was configured with).
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.name, self.digest)
    }
}

impl fmt::Display for PushedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.reference, self.digest)
    }
}

/// Pushes the image in `options.layout` to `reference` (`REGISTRY/REPOSITORY:TAG`), printing a
/// line per blob and manifest and the pushed reference with its digest at the end.
pub fn push(sh: &Shell, options: &PushOptions, reference: &str) -> Result<PushedImage> {
    let target = Target::parse(reference)?;
    let contents = layout::read(&options.layout)?;
    let login = match &options.login {
        Some(credentials) => Some(credentials.clone()),
        None => credentials::lookup(sh, &options.auth_files, &target.registry)?,
    };
    let connect = ConnectOptions {
        insecure: options.insecure,
        ca_file: options.ca_file.clone(),
    };
    let registry = Registry::connect(&target.registry, &connect, login)?;
    let mut session = Session::open(&registry, &target.repository, Access::Push)?;
    let pushed = send(
        &mut session,
        &target,
        &contents,
        options.sign_key.as_deref(),
    )?;
    println!("pushed {pushed}");
    Ok(pushed)
}

/// Checks `reference` as [`push`] will, before anything is built to push there.
pub fn check_target(reference: &str) -> Result<()> {
    Target::parse(reference).map(drop)
}

/// Where an image goes: `REGISTRY/REPOSITORY:TAG`, the registry always spelled out.
#[derive(Debug)]
struct Target {
    /// As users name it (Docker Hub's as `docker.io`): credentials are stored under this name,
    /// and messages use it.
    registry: String,
    repository: String,
    tag: String,
}

impl Target {
    fn parse(text: &str) -> Result<Target> {
        let form = "write REGISTRY/REPOSITORY:TAG, e.g. ghcr.io/OWNER/pause:0.1.0 or 127.0.0.1:5000/pause:dev";
        let reference = Reference::parse(text).map_err(|error| anyhow!("{error}: {form}"))?;
        let shown = || reference.to_string();
        if reference.digest.is_some() {
            bail!(
                "`{}` names a digest: a push needs a tag to point at the image; {form}",
                shown()
            );
        }
        let Some(registry) = reference.registry.clone() else {
            bail!("`{}` names no registry: {form}", shown());
        };
        let Some(tag) = reference.tag.clone() else {
            bail!("`{}` has no tag: {form}", shown());
        };
        Ok(Target {
            registry,
            repository: reference.repository,
            tag,
        })
    }
}

fn send(
    session: &mut Session<'_>,
    target: &Target,
    contents: &Contents,
    key: Option<&SigningKey>,
) -> Result<PushedImage> {
    let name = format!("{}/{}", target.registry, target.repository);
    let index: Index =
        serde_json::from_slice(&contents.index.data).context("reading the layout's image index")?;
    let subjects: Vec<&Blob> = std::iter::once(&contents.index)
        .chain(&contents.manifests)
        .collect();

    // 1. Every signature and attestation made, and merged with the registry's .sig and .att
    // manifests, before anything is written.
    let mut signed = Vec::new();
    let mut bundles = Vec::new();
    if let Some(key) = key {
        let attested = attestation::attestations(contents, &format!("{name}:{}", target.tag), key)?;
        for subject in &subjects {
            signed.push(signatures::plan(session, key, &name, &subject.digest)?);
            let about: Vec<&Attestation> = attested
                .iter()
                .filter(|attestation| attestation.subject_digest() == subject.digest)
                .collect();
            signed.extend(signatures::plan_attestations(
                session,
                &subject.digest,
                &about,
            )?);
        }
        for attestation in &attested {
            bundles.push(attestation.bundle_referrer()?);
        }
    }

    // 2. The image, untagged.
    for blob in &contents.blobs {
        if session.blob_exists(&blob.digest)? {
            println!(
                "blob {} {} bytes: skipped, already there",
                blob.digest,
                blob.data.len()
            );
            continue;
        }
        session.put_blob(blob)?;
        println!("blob {} {} bytes: uploaded", blob.digest, blob.data.len());
    }
    for (manifest, descriptor) in contents.manifests.iter().zip(&index.manifests) {
        session.put_manifest(&manifest.digest, manifest)?;
        println!(
            "manifest {}{} {} bytes: pushed",
            manifest.digest,
            platform_of(descriptor),
            manifest.data.len()
        );
    }
    session.put_manifest(&contents.index.digest, &contents.index)?;

    // 3. The referrers (each SBOM, and with a key each attestation's Sigstore bundle): every
    // subject's listing read and merged (now that the repository and the subjects exist, so that
    // a registry with the referrers API says so), then written.
    let attached = subjects
        .iter()
        .map(|subject| {
            // A provenance statement is never pushed unsigned, naming the repository the build
            // was tagged for: the signing push restates it for this one, in a bundle.
            let of_subject: Vec<&Artifact> = contents
                .referrers
                .iter()
                .filter(|artifact| artifact.artifact_type != intoto::MEDIA_TYPE)
                .chain(&bundles)
                .filter(|artifact| artifact.subject.digest == subject.digest)
                .collect();
            referrers::plan(session, &subject.digest, of_subject)
        })
        .collect::<Result<Vec<_>>>()?;
    for planned in attached
        .iter()
        .filter(|planned| !planned.artifacts.is_empty())
    {
        let listed = planned.push(session)?;
        let of = index
            .manifests
            .iter()
            .find(|descriptor| descriptor.digest == planned.subject)
            .map_or_else(|| " the index".to_string(), platform_of);
        for artifact in &planned.artifacts {
            println!(
                "{} {} of{of}: {}",
                describe_artifact(artifact),
                artifact.manifest.digest,
                if planned.already_listed(artifact) {
                    "already listed"
                } else {
                    "pushed"
                }
            );
        }
        println!("referrers of{of}: {listed}");
    }

    // 4. The .sig and .att images.
    for planned in &signed {
        let done = planned.push(session)?;
        println!("signature of {}: {done}", planned.digest);
    }

    // 5. The index last, under the tag: a failure before this leaves no tag on a partial image.
    session.put_manifest(&target.tag, &contents.index)?;
    println!(
        "index {} {} bytes: pushed as {}",
        contents.index.digest,
        contents.index.data.len(),
        target.tag
    );
    Ok(PushedImage {
        reference: format!("{name}:{}", target.tag),
        name,
        digest: contents.index.digest.clone(),
    })
}

/// ` linux/arm/v7` for a descriptor with a platform, else nothing.
fn platform_of(descriptor: &Descriptor) -> String {
    descriptor
        .platform
        .as_ref()
        .map_or_else(String::new, |platform| format!(" {platform}"))
}

/// `sbom` for an SPDX document, `bundle (PREDICATE TYPE)` for a Sigstore bundle, otherwise the
/// artifact type itself.
fn describe_artifact(artifact: &Artifact) -> String {
    match artifact.artifact_type.as_str() {
        sbom::MEDIA_TYPE => "sbom".to_string(),
        bundle::MEDIA_TYPE => {
            let predicate = serde_json::from_slice::<Manifest>(&artifact.manifest.data)
                .ok()
                .and_then(|manifest| {
                    manifest
                        .annotations
                        .get(bundle::PREDICATE_TYPE_ANNOTATION)
                        .cloned()
                })
                .unwrap_or_default();
            format!("bundle ({predicate})")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{PushOptions, Target};
    use crate::registry::credentials::Credentials;
    use crate::sigstore::encrypted::Cost;
    use crate::sigstore::key::SigningKey;

    #[test]
    fn the_options_debug_shows_no_password_and_no_key() {
        let key = SigningKey::generate().unwrap();
        let sealed = key.to_key_file_at(b"pw", Cost::Legacy).unwrap();
        let fingerprint = key.public_key().fingerprint();
        let options = PushOptions {
            login: Some(Credentials::new("bob", "hunter2")),
            sign_key: Some(Arc::new(key)),
            ..PushOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("bob"),
            "{shown}"
        );
        assert!(
            shown.contains(&fingerprint),
            "the key by its public half: {shown}"
        );
        let body: String = sealed
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        assert!(!shown.contains(&body[..32]), "{shown}");
    }

    #[test]
    fn a_push_needs_a_registry_a_repository_and_a_tag() {
        let target = Target::parse("docker.io/pause:t").unwrap();
        assert_eq!(
            (target.registry.as_str(), target.repository.as_str()),
            ("docker.io", "library/pause")
        );
        for (reference, cause) in [
            ("pause:0.1.0", "names no registry"),
            ("127.0.0.1:5000/pause", "has no tag"),
            ("127.0.0.1:5000/Pause:0.1.0", "malformed repository"),
            ("127.0.0.1:5000/pause@sha256:0123", "malformed digest"),
            (
                "127.0.0.1:5000/pause@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "names a digest",
            ),
        ] {
            let error = Target::parse(reference).expect_err(reference).to_string();
            assert!(error.contains(cause), "{reference}: {error}");
            assert!(
                error.contains("REGISTRY/REPOSITORY:TAG"),
                "{reference}: {error}"
            );
            assert!(!error.contains('\n'), "{reference}: {error}");
        }
    }
}
