//! The image's assembly from the binaries and the build's materials: every platform's layer,
//! config and manifest, the index over them, and each platform's SBOM and SLSA provenance
//! (`attest`) attached to its manifest. No I/O, so the same inputs always give the same bytes.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::attest::intoto::PREDICATE_TYPE_ANNOTATION;
use crate::attest::materials::Materials;
use crate::attest::provenance::{self, Build};
use crate::attest::sbom::{self, Subject};
use crate::oci::artifact;
use crate::oci::definition::{CREATED, Definition, LICENSES, REVISION, SOURCE, VERSION};
use crate::oci::image::{Image, PlatformImage};
use crate::oci::reference::Reference;
use crate::oci::{config, index, layer, manifest, timestamp};
use crate::platform::Platform;

/// What the image is built from besides the binaries.
pub(crate) struct Inputs<'a> {
    pub(crate) definition: &'a Definition,
    pub(crate) tag: &'a str,
    /// SOURCE_DATE_EPOCH: the date of every document and file.
    pub(crate) epoch: u64,
    /// The commit built, for the revision annotation.
    pub(crate) revision: Option<&'a str>,
    /// The compiler and the crates each platform's binary links, for the SBOMs; `None` for
    /// binaries this project did not build (the bench's C peers), which get none.
    pub(crate) materials: Option<&'a Materials>,
    /// What the build was made from and where it ran, for the provenance (with `materials`).
    pub(crate) build: Option<&'a Build>,
}

/// Builds every document of the image from the binaries, in the order given.
pub(crate) fn assemble(
    inputs: &Inputs<'_>,
    binaries: &[(&'static Platform, Vec<u8>)],
) -> Result<Image> {
    let definition = inputs.definition;
    let created = timestamp::rfc3339(inputs.epoch);
    let annotations = annotations(definition, &created, inputs.revision);
    let name = image_name(inputs.tag)?;
    let repository = Reference::parse(inputs.tag)
        .map_err(|error| anyhow::anyhow!("the tag {error}"))?
        .repository_name();
    let source = definition.annotations.get(SOURCE).map(String::as_str);
    let mut platforms = Vec::new();
    for (platform, binary) in binaries {
        let layer = layer::build(&definition.binary, binary, inputs.epoch)?;
        let config = config::build(definition, platform, &layer.diff_id, &created)?;
        let manifest = manifest::build(&config, &layer.blob, &annotations)?;
        let mut sbom = None;
        let mut provenance = None;
        if let Some(materials) = inputs.materials {
            let linked = materials.linked.get(platform.triple).with_context(|| {
                format!(
                    "no list of the crates linked for {}: the build's materials must cover every platform built",
                    platform.triple
                )
            })?;
            let subject = Subject {
                name: &name,
                version: &annotations[VERSION],
                platform,
                manifest: &manifest,
                path: &definition.binary.path,
                file: binary,
                created: &created,
                license: definition.annotations.get(LICENSES).map(String::as_str),
                source,
                revision: inputs.revision,
            };
            let document = sbom::document(&subject, linked, &materials.compiler)?;
            sbom = Some(artifact::attach(
                manifest.descriptor(),
                document,
                &format!("{name}-{}.spdx.json", platform.dir_name()),
                BTreeMap::from([(CREATED.to_string(), created.clone())]),
            )?);
            if let Some(build) = inputs.build {
                let subject = provenance::Subject {
                    repository: &repository,
                    manifest: &manifest,
                    platform,
                    source,
                    epoch: inputs.epoch,
                    linked,
                    compiler: &materials.compiler,
                };
                let statement = provenance::statement(&subject, build)?;
                provenance = Some(artifact::attach(
                    manifest.descriptor(),
                    statement.blob(),
                    &format!("{name}-{}.provenance.json", platform.dir_name()),
                    BTreeMap::from([
                        (CREATED.to_string(), created.clone()),
                        (
                            PREDICATE_TYPE_ANNOTATION.to_string(),
                            provenance::PREDICATE_TYPE.to_string(),
                        ),
                    ]),
                )?);
            }
        }
        platforms.push(PlatformImage {
            platform,
            layer: layer.blob,
            config,
            manifest,
            sbom,
            provenance,
        });
    }
    let index = index::build(
        platforms
            .iter()
            .map(PlatformImage::manifest_descriptor)
            .collect(),
        &annotations,
    )?;
    Ok(Image {
        tag: inputs.tag.to_string(),
        index,
        platforms,
    })
}

/// `pause` for `localhost/pause:0.1.0`: the last component of the image's repository, as purl
/// names an OCI image.
fn image_name(tag: &str) -> Result<String> {
    let reference = Reference::parse(tag).map_err(|error| anyhow::anyhow!("the tag {error}"))?;
    Ok(reference
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(&reference.repository)
        .to_string())
}

/// The definition's annotations plus the computed ones.
fn annotations(
    definition: &Definition,
    created: &str,
    revision: Option<&str>,
) -> BTreeMap<String, String> {
    let mut annotations = definition.annotations.clone();
    annotations.insert(CREATED.to_string(), created.to_string());
    annotations.insert(VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string());
    if let Some(revision) = revision {
        annotations.insert(REVISION.to_string(), revision.to_string());
    }
    annotations
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Image, Inputs, assemble};
    use crate::attest::materials::tests::{RUSTC_VV, sample};
    use crate::attest::materials::{Compiler, Materials};
    use crate::oci::definition::Definition;
    use crate::platform::{PLATFORMS, Platform};

    pub(crate) const TAG: &str = "localhost/pause:0.1.0";

    /// The project's image definition.
    pub(crate) fn definition() -> Definition {
        Definition::parse(include_str!("../../../image/image.toml")).expect("image/image.toml")
    }

    /// Stand-in materials: every platform links the same sample graph.
    pub(crate) fn materials() -> Materials {
        Materials {
            compiler: Compiler::parse(RUSTC_VV).expect("parses"),
            linked: PLATFORMS
                .iter()
                .map(|platform| (platform.triple.to_string(), sample()))
                .collect(),
        }
    }

    /// An image of `binaries` (stand-ins for the real ones: the documents do not care what the
    /// bytes are) dated `epoch`.
    pub(crate) fn image_of(binaries: &[(&'static Platform, Vec<u8>)], epoch: u64) -> Image {
        let definition = definition();
        let materials = materials();
        let build = crate::attest::provenance::tests::build();
        let inputs = Inputs {
            definition: &definition,
            tag: TAG,
            epoch,
            revision: Some("0123456789ab"),
            materials: Some(&materials),
            build: Some(&build),
        };
        assemble(&inputs, binaries).expect("assembles")
    }

    /// Every platform, each with a few distinct bytes as its binary.
    pub(crate) fn every_platform(epoch: u64) -> Image {
        let binaries: Vec<_> = PLATFORMS
            .iter()
            .map(|platform| {
                (
                    platform,
                    format!("\x7fELF for {}", platform.name).into_bytes(),
                )
            })
            .collect();
        image_of(&binaries, epoch)
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes() {
        let (first, second) = (every_platform(0), every_platform(0));
        assert_eq!(first.index, second.index);
        assert!(first.blobs().eq(second.blobs()));
        assert!(first.referrers().eq(second.referrers()), "the SBOMs too");
        assert_ne!(
            every_platform(1).index.digest,
            first.index.digest,
            "the date is an input"
        );
    }

    /// Each platform's SBOM is attached to that platform's manifest, dated as the image, and
    /// describes that platform's binary; no SBOM is reachable from the index.
    #[test]
    fn every_platform_has_its_own_sbom() {
        let image = every_platform(1_700_000_000);
        for built in &image.platforms {
            let sbom = built.sbom.as_ref().expect("an SBOM per platform");
            let manifest: serde_json::Value = serde_json::from_slice(&sbom.manifest.data).unwrap();
            assert_eq!(
                manifest["subject"]["digest"],
                built.manifest.digest.as_str()
            );
            assert_eq!(
                manifest["annotations"]["org.opencontainers.image.created"],
                "2023-11-14T22:13:20Z"
            );
            let document: serde_json::Value = serde_json::from_slice(&sbom.layer.data).unwrap();
            assert_eq!(document["creationInfo"]["created"], "2023-11-14T22:13:20Z");
            assert_eq!(
                document["packages"][0]["externalRefs"][0]["referenceLocator"],
                super::sbom::image_purl("pause", &built.manifest.digest, built.platform.arch)
            );
            assert!(!String::from_utf8_lossy(&image.index.data).contains(&sbom.manifest.digest));
        }
    }

    /// Each platform's provenance is an in-toto statement about that platform's manifest, named
    /// after the tag's repository, attached to it with its predicate type.
    #[test]
    fn every_platform_has_its_own_provenance() {
        let image = every_platform(1_700_000_000);
        for built in &image.platforms {
            let attached = built
                .provenance
                .as_ref()
                .expect("a provenance per platform");
            assert_eq!(attached.artifact_type, "application/vnd.in-toto+json");
            assert_eq!(attached.subject.digest, built.manifest.digest);
            let manifest: serde_json::Value =
                serde_json::from_slice(&attached.manifest.data).unwrap();
            assert_eq!(
                manifest["annotations"]["in-toto.io/predicate-type"],
                "https://slsa.dev/provenance/v1"
            );
            let statement = crate::attest::intoto::Statement::parse(&attached.layer.data).unwrap();
            assert_eq!(statement.subject_digest(), built.manifest.digest);
            assert_eq!(statement.subject_name(), Some("localhost/pause"));
            let predicate: serde_json::Value =
                serde_json::from_slice(statement.predicate()).unwrap();
            assert_eq!(
                predicate["buildDefinition"]["externalParameters"]["platform"],
                built.platform.name
            );
            assert_eq!(
                predicate["buildDefinition"]["externalParameters"]["sourceDateEpoch"],
                1_700_000_000
            );
        }
    }

    /// A binary this project did not build (the bench's C peers) gets an image and no SBOM.
    #[test]
    fn without_materials_there_is_no_sbom() {
        let definition = definition();
        let inputs = Inputs {
            definition: &definition,
            tag: TAG,
            epoch: 0,
            revision: None,
            materials: None,
            build: None,
        };
        let image = assemble(&inputs, &[(&PLATFORMS[0], b"binary".to_vec())]).expect("assembles");
        assert!(image.platforms[0].sbom.is_none());
        assert!(image.platforms[0].provenance.is_none());
        assert_eq!(image.referrers().count(), 0);
    }

    /// Without SOURCE_DATE_EPOCH the image is dated at the Unix epoch: config and history.
    #[test]
    fn epoch_zero_dates_everything_1970() {
        let image = image_of(&[(&PLATFORMS[0], b"binary".to_vec())], 0);
        let config: serde_json::Value =
            serde_json::from_slice(&image.platforms[0].config.data).unwrap();
        assert_eq!(config["created"], "1970-01-01T00:00:00Z");
        assert_eq!(config["history"][0]["created"], "1970-01-01T00:00:00Z");
    }
}
