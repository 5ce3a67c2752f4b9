//! What a push wrote, as one JSON document: what `push --json` prints and `--metadata-file FILE`
//! writes (on `push` and `image --push`), once every write succeeded. Each field is described in
//! docs/push-and-credentials.md; the suite checks each against what the registry holds after real
//! pushes (`tests/registry/push_output.rs`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::oci::artifact::Artifact;
use crate::oci::blob::Blob;
use crate::oci::descriptor::Descriptor;
use crate::oci::referrers::{Listed, Listing};

/// The pushed image and everything attached to it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metadata {
    /// `REGISTRY/REPOSITORY:TAG`, fully qualified (`docker.io/library/pause:0.1.0`).
    pub(crate) reference: String,
    /// The image index's digest: what the tag points at.
    pub(crate) digest: String,
    /// `REGISTRY/REPOSITORY@DIGEST`: the image as the nodes pin it.
    pub(crate) pinned: String,
    /// Each platform's manifest, in the index's order.
    pub(crate) manifests: Vec<PlatformManifest>,
    /// Each referrer the push attached (SBOMs; with a key, Sigstore bundles), pushed now or there
    /// already.
    pub(crate) referrers: Vec<Referrer>,
    /// Each `.sig` and `.att` tag the push wrote or found complete (with a key; else none).
    pub(crate) signatures: Vec<Tagged>,
    /// Each referrers fallback tag `sha256-<hex>` that lists the referrers of a manifest, on a
    /// registry without the referrers API (none on one with it).
    pub(crate) fallback_tags: Vec<Tagged>,
}

/// One platform's manifest.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlatformManifest {
    pub(crate) digest: String,
    /// As every command prints it: `linux/arm64`, `linux/arm/v7`.
    pub(crate) platform: String,
    /// The index entry's platform object, as the image spec spells it.
    pub(crate) os: String,
    pub(crate) architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) variant: Option<String>,
}

/// One referrer: an artifact manifest whose `subject` is a manifest of the image.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Referrer {
    pub(crate) digest: String,
    pub(crate) artifact_type: String,
    /// The digest of the manifest it is about: the index, or a platform's manifest.
    pub(crate) subject: String,
}

/// A tag and the digest of the manifest it holds.
#[derive(Debug, Serialize)]
pub(crate) struct Tagged {
    pub(crate) tag: String,
    pub(crate) digest: String,
}

/// What the registry holds after a push, as the push knows it: `stored` what each manifest
/// reference it wrote or found holds, `held` the `.sig` and `.att` tags as read before the push,
/// `listed` each subject's referrers listing as read before the attachments were written.
pub(crate) struct Held<'a> {
    pub(crate) stored: &'a BTreeMap<String, String>,
    pub(crate) held: &'a BTreeMap<String, Option<Blob>>,
    pub(crate) listed: &'a [Listed],
}

impl Held<'_> {
    /// The digest `tag` holds now: what the push wrote there, else what it held before.
    fn digest(&self, tag: &str, before: Option<&Blob>) -> Option<String> {
        self.stored
            .get(tag)
            .cloned()
            .or_else(|| before.map(|blob| blob.digest.clone()))
    }

    /// The `.sig` and `.att` tags among `tags`, with their digests.
    pub(crate) fn signatures(&self, tags: Vec<String>) -> Vec<Tagged> {
        tags.into_iter()
            .filter_map(|tag| {
                let before = self.held.get(&tag).and_then(Option::as_ref);
                let digest = self.digest(&tag, before)?;
                Some(Tagged { tag, digest })
            })
            .collect()
    }

    /// The fallback tags that list referrers, with their digests.
    pub(crate) fn fallback_tags(&self) -> Vec<Tagged> {
        self.listed
            .iter()
            .filter_map(|listed| {
                let Listing::FallbackTag(tag) = &listed.listing else {
                    return None;
                };
                let digest = self.digest(tag, listed.index.as_ref())?;
                Some(Tagged {
                    tag: tag.clone(),
                    digest,
                })
            })
            .collect()
    }
}

/// The entries of an index's `manifests`.
pub(crate) fn manifests(entries: &[Descriptor]) -> Vec<PlatformManifest> {
    entries
        .iter()
        .map(|entry| {
            let (platform, os, architecture, variant) = match &entry.platform {
                Some(named) => (
                    named.to_string(),
                    named.os.clone(),
                    named.architecture.clone(),
                    named.variant.clone(),
                ),
                None => Default::default(),
            };
            PlatformManifest {
                digest: entry.digest.clone(),
                platform,
                os,
                architecture,
                variant,
            }
        })
        .collect()
}

/// The referrers `artifacts`.
pub(crate) fn referrers(artifacts: &[&Artifact]) -> Vec<Referrer> {
    artifacts
        .iter()
        .map(|artifact| Referrer {
            digest: artifact.manifest.digest.clone(),
            artifact_type: artifact.artifact_type.clone(),
            subject: artifact.subject.digest.clone(),
        })
        .collect()
}

impl Metadata {
    /// The document, indented, with a final newline.
    pub(crate) fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain strings serialise") + "\n"
    }

    /// Writes the document to `path`, all at once: into `PATH.new-PID` beside it, then renamed
    /// over it, so that a reader never sees half of it and a failed write leaves what was there.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let shown = path.display();
        let mut scratch = path.as_os_str().to_owned();
        scratch.push(format!(".new-{}", std::process::id()));
        let scratch = PathBuf::from(scratch);
        // A new file only (O_EXCL, which follows no symlink): in a shared directory another user
        // may have put a link at the scratch path, and what it names is not ours to overwrite.
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&scratch)
            .with_context(|| {
                format!(
                    "cannot write --metadata-file {shown}: creating {}, which must not exist yet",
                    scratch.display()
                )
            })?;
        let written = (|| {
            let mut file = created;
            file.write_all(self.json().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&scratch, path)
        })();
        if written.is_err() {
            // Ours: made above.
            let _ = std::fs::remove_file(&scratch);
        }
        written.with_context(|| format!("cannot write --metadata-file {shown}"))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::Metadata;

    fn empty() -> Metadata {
        Metadata {
            reference: "127.0.0.1:5000/pause:t".into(),
            digest: "sha256:00".into(),
            pinned: "127.0.0.1:5000/pause@sha256:00".into(),
            manifests: Vec::new(),
            referrers: Vec::new(),
            signatures: Vec::new(),
            fallback_tags: Vec::new(),
        }
    }

    /// The file is replaced whole; a link planted at the scratch path is neither followed nor
    /// removed, and the file it names keeps its bytes.
    #[test]
    fn the_file_is_written_whole_and_a_planted_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metadata.json");
        std::fs::write(&file, "old").unwrap();
        empty().write(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), empty().json());

        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let scratch = dir
            .path()
            .join(format!("metadata.json.new-{}", std::process::id()));
        symlink(&victim, &scratch).unwrap();
        let error = empty().write(&file).unwrap_err();
        assert!(
            format!("{error:#}").contains("must not exist yet"),
            "{error:#}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(
            scratch.symlink_metadata().is_ok(),
            "the planted link was removed"
        );
    }
}
