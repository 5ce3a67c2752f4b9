//! What runtimes write on the host outside the temp dirs we give them (podman's blob cache,
//! /run/netns, runc's and containerd's state roots, CNI's result cache): a guard notes which of
//! those paths are absent when a test starts and removes the ones that appeared when it ends.
//! Paths that were there before belong to someone else and stay.

use std::fs;
use std::path::Path;

pub struct HostPaths {
    created_by_us: Vec<&'static str>,
}

impl HostPaths {
    /// Notes which of `paths` do not exist yet.
    pub fn watch(paths: &[&'static str]) -> HostPaths {
        HostPaths { created_by_us: paths.iter().copied().filter(|path| !Path::new(path).exists()).collect() }
    }

    /// The watched paths that exist now although they did not when the test started.
    pub fn appeared(&self) -> Vec<&'static str> {
        self.created_by_us.iter().copied().filter(|path| Path::new(path).exists()).collect()
    }
}

impl Drop for HostPaths {
    fn drop(&mut self) {
        for path in self.appeared() {
            let _ = fs::remove_dir_all(path).or_else(|_| fs::remove_file(path));
        }
    }
}
