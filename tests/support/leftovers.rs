//! What runtimes write on the host outside the temp dirs we give them (podman's blob cache,
//! /run/netns, runc's and containerd's state roots, CNI's result cache, cgroup parents): a guard
//! notes which of those paths are absent when a test starts and removes the ones that appeared
//! when it ends. Paths that were there before belong to someone else and stay.

use std::fs;
use std::path::{Path, PathBuf};

/// Where skopeo and podman, run as root, keep their blob-info cache whatever they are told.
pub const BLOB_INFO_CACHE: &[&str] = &["/var/lib/containers/cache", "/var/lib/containers"];
/// Where the cgroup hierarchies are mounted (v1 controllers, plus the cgroup2 `unified` mount).
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

pub struct HostPaths {
    created_by_us: Vec<PathBuf>,
}

impl HostPaths {
    /// Notes which of `paths`, and of the cgroups named `cgroups` in every hierarchy, do not
    /// exist yet.
    pub fn watch(paths: &[&str], cgroups: &[&str]) -> HostPaths {
        let hierarchies: Vec<PathBuf> = fs::read_dir(CGROUP_ROOT)
            .map(|entries| {
                entries
                    .filter_map(|entry| Some(entry.ok()?.path()))
                    .collect()
            })
            .unwrap_or_default();
        let cgroup_paths = cgroups.iter().flat_map(|name| {
            hierarchies
                .iter()
                .map(move |hierarchy| hierarchy.join(name))
        });
        let created_by_us = paths
            .iter()
            .map(PathBuf::from)
            .chain(cgroup_paths)
            .filter(|path| !path.exists())
            .collect();
        HostPaths { created_by_us }
    }

    /// The watched paths that exist now although they did not when the test started.
    pub fn appeared(&self) -> Vec<&Path> {
        self.created_by_us
            .iter()
            .map(PathBuf::as_path)
            .filter(|path| path.exists())
            .collect()
    }
}

impl Drop for HostPaths {
    fn drop(&mut self) {
        for path in self.appeared() {
            let removed = if path.starts_with(CGROUP_ROOT) {
                remove_cgroup(path)
            } else if path.is_dir() {
                fs::remove_dir_all(path)
            } else {
                fs::remove_file(path)
            };
            if let Err(error) = removed {
                eprintln!("cannot remove {} left on the host: {error}", path.display());
            }
        }
    }
}

/// A cgroup and its children, deepest first: cgroupfs removes a cgroup with rmdir (its control
/// files go with it), and only once it holds no process.
fn remove_cgroup(path: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            remove_cgroup(&entry.path())?;
        }
    }
    fs::remove_dir(path)
}
