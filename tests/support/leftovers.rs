//! What runtimes write on the host outside the temp dirs we give them, and how a test takes back
//! exactly its own part of it.
//!
//! Directories such as /run/netns or /run/containerd/s are shared with whatever else runs on the
//! machine, so nothing is removed for merely having appeared during a test. Instead a guard
//! creates the directories a runtime will write into, recording each one it really created (a
//! concurrent creator makes `mkdir` fail, so it is never recorded), and at the end removes those
//! with `rmdir`, which only succeeds once they are empty again: the fixture first removes the
//! entries it can prove are its own (a name with the test's prefix, a path a runtime reported for
//! our sandbox). Cgroups are removed only when their name carries the test's prefix.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Where the cgroup hierarchies are mounted (v1 controllers, plus the cgroup2 `unified` mount).
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

pub struct HostDirs {
    /// Directories this guard created, parents before children.
    created: Vec<PathBuf>,
    /// Cgroups named with the test's prefix, in every hierarchy.
    cgroups: Vec<PathBuf>,
}

impl HostDirs {
    /// Creates each of `dirs` (and its missing parents), recording the ones this call created;
    /// `cgroups` are names carrying the test's prefix, removed from every hierarchy at the end.
    pub fn create(dirs: &[&str], cgroups: &[&str]) -> HostDirs {
        let mut created = Vec::new();
        for dir in dirs {
            let mut path = PathBuf::new();
            for component in Path::new(dir).components() {
                path.push(component);
                match fs::create_dir(&path) {
                    Ok(()) => created.push(path.clone()),
                    Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
                    Err(error) => panic!("cannot create {}: {error}", path.display()),
                }
            }
        }
        let hierarchies: Vec<PathBuf> = fs::read_dir(CGROUP_ROOT)
            .map(|entries| {
                entries
                    .filter_map(|entry| Some(entry.ok()?.path()))
                    .collect()
            })
            .unwrap_or_default();
        let cgroups = cgroups
            .iter()
            .flat_map(|name| {
                assert!(
                    name.starts_with("pause-tests"),
                    "cgroup {name} does not carry the test prefix"
                );
                hierarchies
                    .iter()
                    .map(move |hierarchy| hierarchy.join(name))
            })
            .collect();
        HostDirs { created, cgroups }
    }

    /// The directories this guard created that still hold something: what the test failed to
    /// take back (an empty list once the fixture cleaned up).
    pub fn still_used(&self) -> Vec<PathBuf> {
        let holds_others = |dir: &PathBuf| {
            fs::read_dir(dir).is_ok_and(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|entry| !self.created.contains(&entry.path()))
            })
        };
        self.created
            .iter()
            .filter(|dir| holds_others(dir))
            .cloned()
            .collect()
    }
}

impl Drop for HostDirs {
    fn drop(&mut self) {
        for cgroup in &self.cgroups {
            if cgroup.exists()
                && let Err(error) = remove_cgroup(cgroup)
            {
                eprintln!("cannot remove cgroup {}: {error}", cgroup.display());
            }
        }
        for dir in self.created.iter().rev() {
            match fs::remove_dir(dir) {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::NotFound => {}
                // Someone else's entries (or ours the fixture could not remove) are in it.
                Err(error) => eprintln!("leaving {} in place: {error}", dir.display()),
            }
        }
    }
}

// The guard that podman's and the registry's fixtures still use until they move to `HostDirs`.

pub const BLOB_INFO_CACHE: &[&str] = &["/var/lib/containers/cache", "/var/lib/containers"];

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
