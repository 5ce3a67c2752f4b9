//! The image's definition, `image/image.toml`: entrypoint, user, the binary's place in the image
//! and the fixed annotations. Everything computed at build time is left out of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::project;

pub const CREATED: &str = "org.opencontainers.image.created";
pub const VERSION: &str = "org.opencontainers.image.version";
pub const REVISION: &str = "org.opencontainers.image.revision";
/// The annotations the build computes; the definition may not set them.
pub const COMPUTED_ANNOTATIONS: &[&str] = &[CREATED, VERSION, REVISION];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub entrypoint: Vec<String>,
    pub user: String,
    pub binary: File,
    /// Sorted by key, so that every manifest serialises them in the same order.
    pub annotations: BTreeMap<String, String>,
}

/// Where and how a file lands in the image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Absolute path inside the image, e.g. `/pause`.
    pub path: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

impl File {
    /// The path as a layer tar names it: relative to the root.
    pub fn tar_path(&self) -> &str {
        self.path.trim_start_matches('/')
    }
}

/// `image/image.toml`.
pub fn path() -> PathBuf {
    project::root().join("image").join("image.toml")
}

pub fn load() -> Result<Definition> {
    read(&path())
}

pub fn read(path: &Path) -> Result<Definition> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let definition: Definition = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid image definition", path.display()))?;
    definition
        .check()
        .with_context(|| format!("{}", path.display()))?;
    Ok(definition)
}

impl Definition {
    fn check(&self) -> Result<()> {
        if self.entrypoint.is_empty() {
            bail!("`entrypoint` is empty: give the command the container runs, e.g. [\"/pause\"]");
        }
        let tar_path = self.binary.tar_path();
        if !self.binary.path.starts_with('/') || tar_path.is_empty() || tar_path.contains("..") {
            bail!("`binary.path` must be an absolute path to a file, e.g. \"/pause\"");
        }
        if let Some(key) = self
            .annotations
            .keys()
            .find(|key| COMPUTED_ANNOTATIONS.contains(&key.as_str()))
        {
            bail!("annotation `{key}` is computed at build time: remove it from [annotations]");
        }
        Ok(())
    }
}
