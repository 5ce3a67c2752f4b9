//! Which Docker Engine the per-pod table ran on, as the running engine reports it (`docker version`
//! and `docker info`), not as the bench expects it: unstable moves, and its versions with it.

use std::fmt;

use anyhow::{Context, Result};

/// `docker version`'s template: the engine's version, then a line per component (`containerd
/// 2.1.9`, `runc 1.1.5`, `docker-init 0.19.0`; the first, `Engine`, repeats the version).
pub(crate) const VERSION_FORMAT: &str =
    "{{.Server.Version}}{{range .Server.Components}}\n{{.Name}} {{.Version}}{{end}}";
/// `docker info`'s template: how it stores images and places containers' cgroups.
pub(crate) const INFO_FORMAT: &str = "{{.Driver}} {{.CgroupDriver}} {{.CgroupVersion}}";

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Engine {
    pub(crate) version: String,
    pub(crate) containerd: String,
    pub(crate) runc: String,
    /// The storage driver: overlay2 for the engine's own image store.
    pub(crate) storage: String,
    pub(crate) cgroup_driver: String,
    pub(crate) cgroup_version: String,
}

impl Engine {
    /// Reads what the two templates above printed.
    pub(crate) fn parse(version: &str, info: &str) -> Result<Engine> {
        let mut lines = version.lines();
        let engine = lines
            .next()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .with_context(|| {
                format!("no server version in `docker version`'s output: {version}")
            })?;
        let components: Vec<(&str, &str)> = lines
            .filter_map(|line| line.trim().split_once(' '))
            .collect();
        let component = |name: &str| {
            components
                .iter()
                .find(|(found, _)| *found == name)
                .map(|(_, version)| version.trim().to_string())
                .with_context(|| format!("`docker version` names no {name}: {version}"))
        };
        let mut fields = info.split_whitespace().map(str::to_string);
        let mut field = |name: &str| {
            fields
                .next()
                .with_context(|| format!("`docker info` gives no {name}: {info}"))
        };
        Ok(Engine {
            version: engine.to_string(),
            containerd: component("containerd")?,
            runc: component("runc")?,
            storage: field("storage driver")?,
            cgroup_driver: field("cgroup driver")?,
            cgroup_version: field("cgroup version")?,
        })
    }
}

/// `Docker Engine 28.5.2 (containerd 2.1.9, runc 1.1.5; overlay2, cgroupfs, cgroup v1)`.
impl fmt::Display for Engine {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            out,
            "Docker Engine {} (containerd {}, runc {}; {}, {}, cgroup v{})",
            self.version,
            self.containerd,
            self.runc,
            self.storage,
            self.cgroup_driver,
            self.cgroup_version
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Engine;

    #[test]
    fn the_engine_names_itself_and_its_components() {
        let version = "28.5.2\nEngine 28.5.2\ncontainerd 2.1.9~ds1\nrunc 1.1.5+ds1\n\
                       docker-init 0.19.0\n";
        let engine = Engine::parse(version, "overlay2 cgroupfs 1\n").unwrap();
        assert_eq!(
            engine.to_string(),
            "Docker Engine 28.5.2 (containerd 2.1.9~ds1, runc 1.1.5+ds1; overlay2, cgroupfs, \
             cgroup v1)"
        );
    }

    #[test]
    fn a_missing_component_is_an_error_that_shows_what_was_read() {
        let error = Engine::parse("28.5.2\nEngine 28.5.2\nrunc 1.1.5\n", "overlay2 cgroupfs 1")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("`docker version` names no containerd: 28.5.2"));
        let error = Engine::parse("\ncontainerd 2.1.9\n", "")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("no server version"));
        let error = Engine::parse("28.5.2\ncontainerd 2.1.9\nrunc 1.1.5", "overlay2")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "`docker info` gives no cgroup driver: overlay2");
    }
}
