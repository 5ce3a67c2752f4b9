//! Scratch paths beside a file or directory being replaced: `.NAME.PURPOSE-PID`, on the same file
//! system, so that moving one into place is a single atomic rename. A writer killed halfway leaves
//! its scratch path behind; the next writer removes every one whose process is gone.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::procfs;

/// A scratch path for replacing `destination`; removed (whatever it then holds) when dropped.
pub(crate) struct Staging {
    pub(crate) path: PathBuf,
}

impl Staging {
    /// A fresh scratch path beside `destination`, creating its parent directory, after removing
    /// what dead writers left there.
    pub(crate) fn beside(destination: &Path, purpose: &str) -> Result<Staging> {
        let parent = destination
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = destination
            .file_name()
            .with_context(|| format!("{} has no file name", destination.display()))?
            .to_string_lossy();
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        remove_abandoned(parent, &format!(".{name}."))?;
        let path = parent.join(format!(".{name}.{purpose}-{}", std::process::id()));
        remove(&path)?;
        Ok(Staging { path })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = remove(&self.path);
    }
}

/// Removes the entries of `dir` named `<prefix><purpose>-<pid>` whose process no longer runs.
fn remove_abandoned(dir: &Path, prefix: &str) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(prefix))
            .and_then(|rest| rest.rsplit_once('-'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !procfs::exists(pid) {
            remove(&entry.path()).with_context(|| {
                format!(
                    "removing {}, left by a build that was stopped",
                    entry.path().display()
                )
            })?;
        }
    }
    Ok(())
}

/// Removes a file or a directory tree; absent is fine.
fn remove(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}
