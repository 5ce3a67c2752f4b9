//! A platform's image configuration (OCI image-spec `config.md`): what runs, as whom, on which
//! platform, from which layer.

use anyhow::Result;
use serde::Serialize;

use super::blob::Blob;
use super::definition::Definition;
use super::descriptor::OciPlatform;
use crate::platform::Platform;

pub(crate) const MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

const ROOTFS_TYPE: &str = "layers";

/// Fields serialise in declaration order; the platform's fields sit at the top level, as the spec
/// puts them.
#[derive(Serialize)]
struct ImageConfig<'a> {
    created: &'a str,
    #[serde(flatten)]
    platform: OciPlatform,
    config: RunConfig<'a>,
    rootfs: RootFs<'a>,
    history: [History<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig<'a> {
    user: &'a str,
    entrypoint: &'a [String],
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: [&'a str; 1],
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
    created_by: &'a str,
}

/// The config for `platform`'s image, whose one layer has uncompressed digest `diff_id`.
pub(crate) fn build(
    definition: &Definition,
    platform: &Platform,
    diff_id: &str,
    created: &str,
) -> Result<Blob> {
    let created_by = format!(
        "cargo xtask image: {} for {}",
        definition.binary.path, platform.name
    );
    let config = ImageConfig {
        created,
        platform: OciPlatform::from(platform),
        config: RunConfig {
            user: &definition.user,
            entrypoint: &definition.entrypoint,
        },
        rootfs: RootFs {
            kind: ROOTFS_TYPE,
            diff_ids: [diff_id],
        },
        history: [History {
            created,
            created_by: &created_by,
        }],
    };
    Blob::json(MEDIA_TYPE, &config)
}
