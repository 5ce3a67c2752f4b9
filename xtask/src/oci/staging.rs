//! Scratch paths beside a file or directory being replaced: `.NAME.new-PID`, on the same file
//! system, so that moving one into place is a single atomic rename. A writer killed halfway leaves
//! its scratch path behind; the next writer removes it: only a name of exactly that form, with a
//! pid written as the process id prints (no sign, no leading zero) and no process of that id
//! running. Anything else beside the destination (a user's `.oci.bak-20240101`) is never touched.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::procfs;

/// The middle of a scratch name: what it is for.
const PURPOSE: &str = "new";

/// A scratch path for replacing `destination`; removed (whatever it then holds) when dropped.
pub(crate) struct Staging {
    pub(crate) path: PathBuf,
}

impl Staging {
    /// A fresh scratch path beside `destination`, creating its parent directory, after removing
    /// what stopped writers left there.
    pub(crate) fn beside(destination: &Path) -> Result<Staging> {
        let parent = destination
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = destination
            .file_name()
            .with_context(|| format!("{} has no file name", destination.display()))?
            .to_string_lossy();
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let prefix = format!(".{name}.{PURPOSE}-");
        remove_abandoned(parent, &prefix)?;
        let path = parent.join(format!("{prefix}{}", std::process::id()));
        remove(&path)?;
        Ok(Staging { path })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = remove(&self.path);
    }
}

/// Removes the entries of `dir` named exactly `<prefix><pid>` whose process no longer runs.
fn remove_abandoned(dir: &Path, prefix: &str) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(prefix))
            .and_then(|pid| pid.parse::<u32>().ok().filter(|id| id.to_string() == pid))
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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::Staging;

    /// Only `.NAME.new-PID` of a process gone is a stopped writer's: a backup named like it, a
    /// pid spelled another way and a running writer's scratch stay.
    #[test]
    fn only_a_stopped_writers_exact_scratch_name_is_removed() {
        let scratch = tempfile::tempdir().unwrap();
        // No process has pid 4194304 (above the kernel's PID_MAX_LIMIT); pid 1 always runs.
        let kept = [
            ".oci.bak-20240101",
            ".oci.old-4194304",
            ".oci.new-04194304",
            ".oci.new-+4194304",
            ".oci.new-1",
            ".oci.new-4194304.tmp",
        ];
        for name in kept.iter().chain(&[".oci.new-4194304"]) {
            fs::create_dir_all(scratch.path().join(name).join("blobs")).unwrap();
        }
        let staging = Staging::beside(&scratch.path().join("oci")).unwrap();
        for name in kept {
            assert!(scratch.path().join(name).exists(), "{name} was removed");
        }
        assert!(!scratch.path().join(".oci.new-4194304").exists());
        drop(staging);
    }
}
