//! Pushing an OCI layout to a registry with the exact bytes of every blob and manifest, so the
//! registry's digests equal the local ones. Blobs go first (a HEAD each: what the registry has is
//! not sent again), then each manifest by digest, and the index last under the tag, so a failure
//! never leaves the tag on a partial image.

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use oci_client::Reference as OciReference;
use oci_client::secrets::RegistryAuth;
use reqwest::header::HeaderValue;
use xshell::Shell;

use super::client::RegistryClient;
use super::credentials;
use super::error::{explain, is_auth_status, status};
use super::retry::retry;
use crate::oci::blob::Blob;
use crate::oci::index::Index;
use crate::oci::layout::{self, Contents};
use crate::oci::reference::Reference;
use crate::project;

/// How to push: from which layout, as whom, how to reach the registry.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub layout: PathBuf,
    /// `--username` with its password; otherwise the credentials stored in `auth_files`.
    pub login: Option<(String, String)>,
    /// docker `config.json` / podman `auth.json` files to look in, first match wins.
    pub auth_files: Vec<PathBuf>,
    /// Plain HTTP even for a registry that is not on loopback.
    pub insecure: bool,
    /// A CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            layout: project::layout_dir(&project::image_dir()),
            login: None,
            auth_files: credentials::default_files(),
            insecure: false,
            ca_file: None,
        }
    }
}

/// What was pushed: `registry/repository:tag` and the digest the tag now points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    pub reference: String,
    pub digest: String,
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
    let auth = match &options.login {
        Some((username, password)) => RegistryAuth::Basic(username.clone(), password.clone()),
        None => credentials::lookup(sh, &options.auth_files, &target.registry)?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let pushed = runtime.block_on(async {
        let client = RegistryClient::connect(
            &target.api_host,
            options.insecure,
            options.ca_file.as_deref(),
            &target.repository,
        )
        .await?;
        send(&client, &target, &contents, &auth).await
    })?;
    println!("pushed {pushed}");
    Ok(pushed)
}

/// Where an image goes: `REGISTRY/REPOSITORY:TAG`, the registry always spelled out.
#[derive(Debug)]
struct Target {
    /// As users name it: credentials are stored under this name, and messages use it.
    registry: String,
    /// Where its API answers (Docker Hub's differs from its name).
    api_host: String,
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
            api_host: reference.api_host().unwrap_or(&registry).to_string(),
            registry,
            repository: reference.repository,
            tag,
        })
    }
}

async fn send(
    client: &RegistryClient,
    target: &Target,
    contents: &Contents,
    auth: &RegistryAuth,
) -> Result<PushedImage> {
    let oci = &client.oci;
    oci.store_auth_if_needed(&target.api_host, auth).await;
    let tagged = OciReference::with_tag(
        target.api_host.clone(),
        target.repository.clone(),
        target.tag.clone(),
    );
    let failed =
        |error, doing: &str| anyhow!(explain(&error, &target.registry, &target.repository, doing));

    for blob in &contents.blobs {
        let doing = format!("checking blob {}", blob.digest);
        let present = retry(&doing, || oci.blob_exists(&tagged, &blob.digest))
            .await
            .map_err(|e| failed(e, &doing))?;
        if present {
            println!(
                "blob {} {} bytes: skipped, already there",
                blob.digest,
                blob.data.len()
            );
            continue;
        }
        let doing = format!("uploading blob {}", blob.digest);
        retry(&doing, || {
            oci.push_blob(&tagged, blob.data.clone(), &blob.digest)
        })
        .await
        .map_err(|e| failed(e, &doing))?;
        println!("blob {} {} bytes: uploaded", blob.digest, blob.data.len());
    }
    let index: Index =
        serde_json::from_slice(&contents.index.data).context("reading the layout's image index")?;
    for (manifest, descriptor) in contents.manifests.iter().zip(&index.manifests) {
        let by_digest = tagged.clone_with_digest(manifest.digest.clone());
        put_manifest(client, &by_digest, manifest, target).await?;
        let platform = descriptor
            .platform
            .as_ref()
            .map_or_else(String::new, |platform| format!(" {platform}"));
        println!(
            "manifest {}{platform} {} bytes: pushed",
            manifest.digest,
            manifest.data.len()
        );
    }
    put_manifest(client, &tagged, &contents.index, target).await?;
    println!(
        "index {} {} bytes: pushed as {}",
        contents.index.digest,
        contents.index.data.len(),
        target.tag
    );
    Ok(PushedImage {
        reference: format!("{}/{}:{}", target.registry, target.repository, target.tag),
        digest: contents.index.digest.clone(),
    })
}

/// PUTs a manifest's exact bytes (oci-client's typed push would re-serialise them and change the
/// digest) and checks that the registry stored it under the local digest.
async fn put_manifest(
    client: &RegistryClient,
    to: &OciReference,
    manifest: &Blob,
    target: &Target,
) -> Result<()> {
    let doing = format!("pushing manifest {}", manifest.digest);
    let content_type = HeaderValue::from_str(&manifest.media_type).with_context(|| {
        format!(
            "{doing}: media type `{}` is not a valid header",
            manifest.media_type
        )
    })?;
    let pushed = retry(&doing, || {
        client
            .oci
            .push_manifest_raw(to, manifest.data.clone(), content_type.clone())
    })
    .await;
    let location = pushed.map_err(|error| {
        let line = explain(&error, &target.registry, &target.repository, &doing);
        match status(&error) {
            Some(code) if (400..500).contains(&code) && !is_auth_status(code) => anyhow!(
                "{line}: the registry rejected the manifest; check that it accepts OCI image indexes, \
                 and rebuild the layout with `cargo xtask image`"
            ),
            _ => anyhow!(line),
        }
    })?;
    // The registry names what it stored in the Location it answers with: a different digest would
    // mean the pushed bytes were altered on the way.
    if let Some(stored) = location
        .rsplit('/')
        .next()
        .filter(|last| last.starts_with("sha256:"))
        && stored != manifest.digest
    {
        bail!(
            "{doing}: {} stored it as {stored}: a proxy altered the manifest on the way; push without it",
            client.host
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn a_push_needs_a_registry_a_repository_and_a_tag() {
        let target = Target::parse("docker.io/pause:t").unwrap();
        assert_eq!(
            (
                target.registry.as_str(),
                target.api_host.as_str(),
                target.repository.as_str()
            ),
            ("docker.io", "registry-1.docker.io", "library/pause")
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
