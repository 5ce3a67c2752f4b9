//! What runtimes write on the host outside the temp dirs we give them, and how a test takes back
//! exactly its own part of it.
//!
//! Directories such as /run/netns, /run/runc or podman's `libpod_parent` cgroups are shared with
//! whatever else runs on the machine, so nothing is removed for merely having appeared during a
//! test. Instead a guard creates the directories a runtime will write into, and a directory counts
//! as ours only if our `mkdir` made it (a concurrent creator makes it fail). The fixtures of this
//! process share those directories through one table: the last guard to let go of one removes it
//! with `rmdir`, which only succeeds once it is empty again — after the fixture removed the
//! entries it can prove are its own (a name with the test's prefix, a path a runtime reported for
//! our sandbox). Cgroups named with the test's prefix are removed whole.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the cgroup hierarchies are mounted (v1 controllers, plus the cgroup2 `unified` mount).
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// A file only the root of a cgroup2 hierarchy has.
const CGROUP2_MARKER: &str = "cgroup.controllers";
/// The prefix every cgroup a guard removes whole must carry.
const TEST_PREFIX: &str = "pause-tests";

/// A shared directory: whether this process created it, and how many guards use it.
struct Shared {
    created_here: bool,
    users: usize,
}

static TABLE: Mutex<BTreeMap<PathBuf, Shared>> = Mutex::new(BTreeMap::new());

pub struct HostDirs {
    /// Every directory this guard uses, parents before children.
    dirs: Vec<PathBuf>,
    /// Cgroups named with the test's prefix, in every hierarchy.
    cgroups: Vec<PathBuf>,
}

impl HostDirs {
    /// Makes sure each of `dirs` (and its parents) exists, creating what is missing and noting
    /// what this process created; `cgroups` are names carrying the test's prefix, removed from
    /// every hierarchy at the end.
    pub fn create(dirs: &[impl AsRef<Path>], cgroups: &[&str]) -> HostDirs {
        let mut table = TABLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut used = Vec::new();
        for dir in dirs {
            let mut path = PathBuf::new();
            for component in dir.as_ref().components() {
                path.push(component);
                if used.contains(&path) {
                    continue;
                }
                let shared = table.entry(path.clone()).or_insert_with(|| Shared {
                    created_here: match fs::create_dir(&path) {
                        Ok(()) => true,
                        Err(error) if error.kind() == ErrorKind::AlreadyExists => false,
                        Err(error) => panic!("cannot create {}: {error}", path.display()),
                    },
                    users: 0,
                });
                shared.users += 1;
                used.push(path.clone());
            }
        }
        let cgroups = cgroups
            .iter()
            .flat_map(|name| {
                assert!(
                    name.starts_with(TEST_PREFIX),
                    "cgroup {name} does not carry the test prefix"
                );
                in_every_cgroup_hierarchy(name)
            })
            .collect();
        HostDirs {
            dirs: used,
            cgroups,
        }
    }

    /// The directories this process created for this guard that still hold something other than
    /// directories it created itself: what the test failed to take back, if nobody else uses them.
    pub fn still_used(&self) -> Vec<PathBuf> {
        let table = TABLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let created = |path: &Path| table.get(path).is_some_and(|shared| shared.created_here);
        self.dirs
            .iter()
            .filter(|dir| created(dir))
            .filter(|dir| {
                fs::read_dir(dir).is_ok_and(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .any(|entry| !created(&entry.path()))
                })
            })
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
        let mut table = TABLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for dir in self.dirs.iter().rev() {
            let Some(shared) = table.get_mut(dir) else {
                continue;
            };
            shared.users -= 1;
            if shared.users > 0 {
                continue;
            }
            let created_here = shared.created_here;
            table.remove(dir);
            if !created_here {
                continue;
            }
            match fs::remove_dir(dir) {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::NotFound => {}
                // Someone else's entries (or ours the fixture could not remove) are in it.
                Err(error) => eprintln!("leaving {} in place: {error}", dir.display()),
            }
        }
    }
}

/// `name` under each cgroup hierarchy mounted here: one per v1 controller (and cgroup2's
/// `unified` beside them), or the one cgroup2 hierarchy of a host without v1.
pub fn in_every_cgroup_hierarchy(name: &str) -> Vec<PathBuf> {
    let root = Path::new(CGROUP_ROOT);
    if root.join(CGROUP2_MARKER).exists() {
        return vec![root.join(name)];
    }
    fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(|entry| Some(entry.ok()?.path()))
                .filter(|hierarchy| hierarchy.is_dir())
                .map(|hierarchy| hierarchy.join(name))
                .collect()
        })
        .unwrap_or_default()
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
