//! What went into each pause binary besides its own source, as its SBOM records it: the crates
//! linked into it for its target, and the compiler. Parsed here from the tools' own answers —
//! `cargo metadata --filter-platform`'s resolve graph, `Cargo.lock`, `rustc -vV` — which
//! `cargo xtask image` asks once per build (`build/pause.rs`); everything here is pure, so the
//! same answers always give the same SBOM.
//!
//! What a binary links is its package's normal dependencies, followed transitively: build- and
//! dev-dependencies (and theirs) never reach it. `--filter-platform` has cargo drop the
//! dependencies whose `cfg(...)` does not hold for the target (with the target's RUSTFLAGS, so
//! rustix's `rustix_use_experimental_asm` counts); optional dependencies no feature enables are
//! not in the graph at all.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The `source` of crates from crates.io, in `Cargo.lock` and `cargo metadata`: the git index
/// and the sparse one name the same registry.
const CRATES_IO_SOURCES: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];
/// The only `cargo metadata` output format there is.
pub(crate) const METADATA_FORMAT: &str = "1";

/// The compiler, from `rustc -vV`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Compiler {
    /// The first line, as rustc reports itself: `rustc 1.95.0 (59807616e 2026-04-14)`.
    pub(crate) version: String,
    /// `1.95.0`.
    pub(crate) release: String,
    pub(crate) commit_hash: String,
    pub(crate) commit_date: String,
    /// The triple rustc itself runs on.
    pub(crate) host: String,
    pub(crate) llvm_version: Option<String>,
}

impl Compiler {
    /// Parses `rustc -vV`: a `rustc VERSION (HASH DATE)` line, then `key: value` lines.
    pub(crate) fn parse(text: &str) -> Result<Compiler> {
        let version = text
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("rustc "))
            .context("`rustc -vV` printed no `rustc VERSION` line: is rustc broken?")?
            .to_string();
        let fields: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|line| line.split_once(": "))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect();
        let field = |key: &str| -> Result<String> {
            fields
                .get(key)
                .map(|value| value.to_string())
                .with_context(|| format!("`rustc -vV` printed no `{key}:` line: is rustc broken?"))
        };
        Ok(Compiler {
            version,
            release: field("release")?,
            commit_hash: field("commit-hash")?,
            commit_date: field("commit-date")?,
            host: field("host")?,
            llvm_version: fields.get("LLVM version").map(|value| value.to_string()),
        })
    }
}

/// One crate in a binary's dependency graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Crate {
    pub(crate) name: String,
    pub(crate) version: String,
    /// The SPDX expression of Cargo.toml's `license`; `None` when the crate names only a
    /// `license-file`.
    pub(crate) license: Option<String>,
    /// `Cargo.lock`'s checksum: the sha256 of the `.crate` file the registry serves.
    pub(crate) checksum: Option<String>,
    /// Whether it comes from crates.io (so it has a download URL and a `pkg:cargo` purl there).
    pub(crate) from_crates_io: bool,
    /// The crates it links directly, as `name@version`, sorted.
    pub(crate) dependencies: Vec<String>,
}

impl Crate {
    /// `name@version`: unique in a graph (cargo allows one crate per name and version).
    pub(crate) fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A binary's package and everything linked into it for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Linked {
    /// The package the binary is built from (pause itself).
    pub(crate) root: Crate,
    /// The crates linked into it, sorted by name and version.
    pub(crate) crates: Vec<Crate>,
}

/// What every platform's binary was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Materials {
    pub(crate) compiler: Compiler,
    /// By Rust target triple.
    pub(crate) linked: BTreeMap<String, Linked>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    resolve: Option<Resolve>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
struct Resolve {
    root: Option<String>,
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

/// `kind` is `null` for a normal dependency, `"build"` or `"dev"` otherwise.
#[derive(Deserialize)]
struct DepKind {
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<Locked>,
}

#[derive(Deserialize)]
struct Locked {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

/// The crates linked into the root package's binary: `metadata` is `cargo metadata
/// --format-version 1 --filter-platform TRIPLE` of that package's workspace, `lockfile` the text
/// of its `Cargo.lock`.
pub(crate) fn linked(metadata: &[u8], lockfile: &str) -> Result<Linked> {
    let metadata: Metadata =
        serde_json::from_slice(metadata).context("`cargo metadata` printed no valid metadata")?;
    let lockfile: Lockfile = toml::from_str(lockfile).context("Cargo.lock is not valid TOML")?;
    let checksums: BTreeMap<(&str, &str, Option<&str>), &str> = lockfile
        .package
        .iter()
        .filter_map(|locked| {
            let checksum = locked.checksum.as_deref()?;
            Some((
                (
                    locked.name.as_str(),
                    locked.version.as_str(),
                    locked.source.as_deref(),
                ),
                checksum,
            ))
        })
        .collect();
    let packages: BTreeMap<&str, &Package> = metadata
        .packages
        .iter()
        .map(|package| (package.id.as_str(), package))
        .collect();
    let Some(resolve) = &metadata.resolve else {
        bail!("`cargo metadata` resolved no dependencies: it was run with --no-deps");
    };
    let Some(root) = resolve.root.as_deref() else {
        bail!("`cargo metadata` names no root package: run it on pause/Cargo.toml");
    };
    let nodes: BTreeMap<&str, &Node> = resolve
        .nodes
        .iter()
        .map(|node| (node.id.as_str(), node))
        .collect();
    let normal_deps = |id: &str| -> Result<Vec<&str>> {
        let node = nodes
            .get(id)
            .with_context(|| format!("`cargo metadata` lists {id} but not its dependencies"))?;
        Ok(node
            .deps
            .iter()
            .filter(|dep| dep.dep_kinds.iter().any(|kind| kind.kind.is_none()))
            .map(|dep| dep.pkg.as_str())
            .collect())
    };
    let describe = |id: &str| -> Result<Crate> {
        let package = packages
            .get(id)
            .with_context(|| format!("`cargo metadata` resolves {id} but does not describe it"))?;
        let mut dependencies = normal_deps(id)?
            .into_iter()
            .map(|dep| {
                let dep = packages
                    .get(dep)
                    .with_context(|| format!("`cargo metadata` does not describe {dep}"))?;
                Ok(format!("{}@{}", dep.name, dep.version))
            })
            .collect::<Result<Vec<_>>>()?;
        dependencies.sort();
        Ok(Crate {
            name: package.name.clone(),
            version: package.version.clone(),
            license: package.license.as_deref().map(spdx_expression),
            checksum: checksums
                .get(&(
                    package.name.as_str(),
                    package.version.as_str(),
                    package.source.as_deref(),
                ))
                .map(|checksum| checksum.to_string()),
            from_crates_io: package
                .source
                .as_deref()
                .is_some_and(|source| CRATES_IO_SOURCES.contains(&source)),
            dependencies,
        })
    };

    let mut seen = BTreeSet::new();
    let mut pending = normal_deps(root)?;
    while let Some(id) = pending.pop() {
        if seen.insert(id) {
            pending.extend(normal_deps(id)?);
        }
    }
    let mut crates = seen.into_iter().map(describe).collect::<Result<Vec<_>>>()?;
    crates.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(Linked {
        root: describe(root)?,
        crates,
    })
}

/// Cargo.toml's `license` as an SPDX expression: cargo still accepts the old `MIT/Apache-2.0`
/// for `MIT OR Apache-2.0`.
fn spdx_expression(license: &str) -> String {
    license
        .split('/')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" OR ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Compiler, Linked, linked};

    pub(crate) const RUSTC_VV: &str = "rustc 1.95.0 (59807616e 2026-04-14)\n\
        binary: rustc\n\
        commit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860\n\
        commit-date: 2026-04-14\n\
        host: x86_64-unknown-linux-gnu\n\
        release: 1.95.0\n\
        LLVM version: 22.1.2\n";

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    /// A graph shaped like pause's: the binary links `lib`, which links `leaf` for every target;
    /// `tool` is only a build-dependency of `lib`, and `helper` only `tool`'s.
    pub(crate) fn metadata() -> String {
        let package = |name: &str, version: &str, license: &str| {
            serde_json::json!({
                "id": format!("{CRATES_IO}#{name}@{version}"),
                "name": name, "version": version, "license": license, "source": CRATES_IO,
            })
        };
        let dep = |name: &str, version: &str, kind: Option<&str>| {
            serde_json::json!({
                "name": name, "pkg": format!("{CRATES_IO}#{name}@{version}"),
                "dep_kinds": [{"kind": kind, "target": null}],
            })
        };
        let root = "path+file:///somewhere/pause#0.1.0";
        serde_json::json!({
            "packages": [
                {"id": root, "name": "pause", "version": "0.1.0", "license": "Apache-2.0", "source": null},
                package("lib", "1.1.6", "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"),
                package("leaf", "2.0.0", "MIT/Apache-2.0"),
                package("tool", "0.3.0", "MIT"),
                package("helper", "0.1.0", "MIT"),
            ],
            "resolve": {
                "root": root,
                "nodes": [
                    {"id": root, "deps": [dep("lib", "1.1.6", None)]},
                    {"id": format!("{CRATES_IO}#lib@1.1.6"), "deps": [
                        dep("leaf", "2.0.0", None), dep("tool", "0.3.0", Some("build"))]},
                    {"id": format!("{CRATES_IO}#leaf@2.0.0"), "deps": []},
                    {"id": format!("{CRATES_IO}#tool@0.3.0"), "deps": [dep("helper", "0.1.0", None)]},
                    {"id": format!("{CRATES_IO}#helper@0.1.0"), "deps": []},
                ],
            },
        })
        .to_string()
    }

    pub(crate) fn lockfile() -> String {
        ["lib@1.1.6", "leaf@2.0.0", "tool@0.3.0", "helper@0.1.0"]
            .iter()
            .map(|id| {
                let (name, version) = id.split_once('@').unwrap();
                format!(
                    "[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n\
                     source = \"{CRATES_IO}\"\nchecksum = \"{}\"\n",
                    format!("{name}{version}").repeat(8)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n[[package]]\nname = \"pause\"\nversion = \"0.1.0\"\n"
    }

    pub(crate) fn sample() -> Linked {
        linked(metadata().as_bytes(), &lockfile()).expect("parses")
    }

    #[test]
    fn only_normal_dependencies_are_linked() {
        let linked = sample();
        assert_eq!(linked.root.id(), "pause@0.1.0");
        assert_eq!(linked.root.dependencies, ["lib@1.1.6"]);
        assert!(!linked.root.from_crates_io);
        let ids: Vec<String> = linked.crates.iter().map(|c| c.id()).collect();
        assert_eq!(ids, ["leaf@2.0.0", "lib@1.1.6"], "no build-dependency");
        let lib = &linked.crates[1];
        assert_eq!(lib.dependencies, ["leaf@2.0.0"]);
        assert_eq!(lib.checksum.as_deref(), Some("lib1.1.6".repeat(8).as_str()));
        assert!(lib.from_crates_io);
    }

    #[test]
    fn old_slash_licenses_become_spdx_expressions() {
        let linked = sample();
        assert_eq!(
            linked.crates[0].license.as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            linked.crates[1].license.as_deref(),
            Some("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT")
        );
    }

    #[test]
    fn rustc_vv_is_read_field_by_field() {
        let compiler = Compiler::parse(RUSTC_VV).unwrap();
        assert_eq!(compiler.version, "rustc 1.95.0 (59807616e 2026-04-14)");
        assert_eq!(compiler.release, "1.95.0");
        assert_eq!(compiler.commit_date, "2026-04-14");
        assert_eq!(compiler.llvm_version.as_deref(), Some("22.1.2"));
        let error = Compiler::parse("rustc 1.95.0\n").unwrap_err().to_string();
        assert!(error.contains("release"), "{error}");
        let error = Compiler::parse("release: 1.95.0\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("rustc VERSION"), "{error}");
    }
}
