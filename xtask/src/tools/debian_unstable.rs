//! The newer runtimes the suites run beside Debian 12's: containerd 2, Docker Engine 28, its CLI
//! and compose v2, as Debian's unstable suite packages them. Their binaries run on Debian 12 as
//! they are; unstable's runc does not (it needs a newer glibc), so Debian 12's runc stays the
//! runtime under both.
//!
//! They are fetched the ordinary way, without touching the system: `apt-get download` through a
//! private apt configuration (a sources list naming `unstable main` on the mirror the machine's
//! own sources use, its own lists and cache), then `dpkg -x` into
//! `target/tools/debian-unstable/root` (`project::tools_debian_unstable`). Nothing is installed:
//! the system's sources, its dpkg database and Debian 12's containerd and docker.io stay as they
//! are. Unstable moves, so whatever it serves is taken, its versions recorded and printed, and a
//! version below a floor is an error.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{named_file, project};

/// A package fetched from unstable, and the lowest version the suites accept.
pub struct Floor {
    pub package: &'static str,
    /// What it is, for messages.
    pub what: &'static str,
    /// The lowest major and minor version.
    pub at_least: (u32, u32),
}

/// The packages fetched, each with its floor.
pub const FLOORS: &[Floor] = &[
    Floor {
        package: "containerd",
        what: "containerd",
        at_least: (2, 1),
    },
    Floor {
        package: "docker.io",
        what: "Docker Engine",
        at_least: (28, 0),
    },
    Floor {
        package: "docker-cli",
        what: "the Docker CLI",
        at_least: (28, 0),
    },
    Floor {
        package: "docker-compose",
        what: "compose v2",
        at_least: (2, 30),
    },
];
/// The suite and component the private sources list names.
const SUITE: &str = "unstable";
const COMPONENT: &str = "main";
/// The programs the suites run from the unpacked tree: a record without them is not trusted.
pub const PROGRAMS: &[&str] = &[
    "usr/bin/containerd",
    "usr/bin/containerd-shim-runc-v2",
    "usr/bin/ctr",
    "usr/sbin/dockerd",
    "usr/bin/docker",
    "usr/libexec/docker/cli-plugins/docker-compose",
];
/// The record of what is unpacked: a line `package version` per package, written last.
const RECORD: &str = "versions";
/// The machine's apt sources, read to find its Debian mirror.
const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_PARTS: &str = "/etc/apt/sources.list.d";
/// The most of one sources file read: they are a few lines.
const MAX_SOURCES_BYTES: u64 = 1024 * 1024;

/// `target/tools/debian-unstable/root`: the packages unpacked, as `dpkg -x` lays them out.
pub fn root() -> PathBuf {
    project::tools_debian_unstable().join("root")
}

/// The versions unpacked, `(package, version)` in [`FLOORS`]' order, checked against the floors:
/// what a suite asks before it runs them. `None` when they are not unpacked; an error of one line
/// when one is below its floor.
pub fn installed() -> Result<Option<Vec<(String, String)>>> {
    let Some(versions) = recorded() else {
        return Ok(None);
    };
    check_floors(&versions)?;
    Ok(Some(versions))
}

/// Fetches and unpacks the packages unless the record says they are unpacked already, and prints
/// the versions; [`installed`] then checks them against the floors.
pub(crate) fn ensure(sh: &Shell) -> Result<()> {
    let versions = match recorded() {
        Some(versions) => versions,
        None => fetch(sh)?,
    };
    println!(
        "Debian {SUITE}: {} in {}",
        versions
            .iter()
            .map(|(package, version)| format!("{package} {version}"))
            .collect::<Vec<_>>()
            .join(", "),
        project::relative(&root()).display()
    );
    Ok(())
}

/// What the record lists, when it names every package and the programs are there.
fn recorded() -> Option<Vec<(String, String)>> {
    let record = fs::read_to_string(project::tools_debian_unstable().join(RECORD)).ok()?;
    let listed: Vec<(String, String)> = record
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(package, version)| (package.to_string(), version.to_string()))
        .collect();
    let versions = FLOORS
        .iter()
        .map(|floor| {
            listed
                .iter()
                .find(|(package, _)| package == floor.package)
                .cloned()
        })
        .collect::<Option<Vec<_>>>()?;
    let root = root();
    PROGRAMS
        .iter()
        .all(|program| root.join(program).is_file())
        .then_some(versions)
}

/// One line naming every package below its floor, if any is.
fn check_floors(versions: &[(String, String)]) -> Result<()> {
    let below: Vec<String> = FLOORS
        .iter()
        .zip(versions)
        .filter(|(floor, (_, version))| {
            major_minor(version).is_none_or(|found| found < floor.at_least)
        })
        .map(|(floor, (package, version))| {
            let (major, minor) = floor.at_least;
            format!(
                "{} {version} (package {package}), below {major}.{minor}",
                floor.what
            )
        })
        .collect();
    if below.is_empty() {
        return Ok(());
    }
    bail!(
        "Debian {SUITE} serves {}: the suites need at least those versions",
        below.join("; ")
    )
}

/// The major and minor version of a Debian version (`1:2.1.9+ds1-5` is 2.1).
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let upstream = version.split_once(':').map_or(version, |(_, rest)| rest);
    let mut numbers = upstream.split('.').map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    Some((numbers.next()??, numbers.next()??))
}

/// Downloads the packages through the private apt configuration and unpacks them; returns what
/// it unpacked.
fn fetch(sh: &Shell) -> Result<Vec<(String, String)>> {
    let dir = project::tools_debian_unstable();
    let mirror = system_mirror()?;
    for sub in ["lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let sources = dir.join("sources.list");
    fs::write(&sources, format!("deb {mirror} {SUITE} {COMPONENT}\n"))
        .with_context(|| format!("writing {}", sources.display()))?;
    // Only these sources, lists and cache: the system's sources (SourceParts) are not read, and
    // its lists and package cache are not written.
    let options: Vec<String> = [
        format!("Dir::Etc::SourceList={}", sources.display()),
        "Dir::Etc::SourceParts=/dev/null".to_string(),
        format!("Dir::State::Lists={}", dir.join("lists").display()),
        format!("Dir::Cache={}", dir.join("cache").display()),
    ]
    .into_iter()
    .flat_map(|option| ["-o".to_string(), option])
    .collect();
    let packages: Vec<&str> = FLOORS.iter().map(|floor| floor.package).collect();
    let names = packages.join(" ");
    println!(
        "fetching {names} from {mirror} {SUITE} into {} (apt-get download, dpkg -x; nothing is installed)",
        project::relative(&dir).display()
    );
    let update_options = &options;
    cmd!(sh, "apt-get {update_options...} -qq update")
        .run()
        .with_context(|| format!("apt-get update of {mirror} {SUITE}"))?;
    let debs = dir.join("debs");
    remove_if_present(&debs)?;
    fs::create_dir_all(&debs).with_context(|| format!("creating {}", debs.display()))?;
    {
        let _in_debs = sh.push_dir(&debs);
        cmd!(sh, "apt-get {options...} -qq download {packages...}")
            .run()
            .with_context(|| format!("apt-get download of {names} from {SUITE}"))?;
    }
    // Unpacked beside the old tree, which is replaced only once all of it is there.
    let staging = dir.join("root.new");
    remove_if_present(&staging)?;
    let mut unpacked = Vec::new();
    for entry in fs::read_dir(&debs).with_context(|| format!("listing {}", debs.display()))? {
        let deb = entry?.path();
        let field = |name: &str| {
            cmd!(sh, "dpkg-deb --field {deb} {name}")
                .quiet()
                .read()
                .with_context(|| format!("reading {name} of {}", deb.display()))
        };
        let (package, version) = (field("Package")?, field("Version")?);
        cmd!(sh, "dpkg --extract {deb} {staging}")
            .quiet()
            .run()
            .with_context(|| format!("unpacking {}", deb.display()))?;
        unpacked.push((package, version));
    }
    let versions = FLOORS
        .iter()
        .map(|floor| {
            unpacked
                .iter()
                .find(|(package, _)| package == floor.package)
                .cloned()
                .with_context(|| format!("apt-get download fetched no {}", floor.package))
        })
        .collect::<Result<Vec<_>>>()?;
    let root = root();
    remove_if_present(&root)?;
    fs::rename(&staging, &root).with_context(|| format!("renaming to {}", root.display()))?;
    let record: String = versions
        .iter()
        .map(|(package, version)| format!("{package} {version}\n"))
        .collect();
    fs::write(dir.join(RECORD), record).context("writing the record of the versions")?;
    Ok(versions)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The URI of the machine's Debian mirror: the first source of a release's own suite
/// (`bookworm`, not `bookworm-security` or `bookworm-updates`), in the order apt reads them.
fn system_mirror() -> Result<String> {
    let mut files = vec![PathBuf::from(SOURCES_LIST)];
    if let Ok(entries) = fs::read_dir(SOURCES_PARTS) {
        let mut parts: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.extension()
                    .is_some_and(|ext| ext == "list" || ext == "sources")
            })
            .collect();
        parts.sort();
        files.extend(parts);
    }
    for file in &files {
        let Ok(bytes) = named_file::read(file, MAX_SOURCES_BYTES) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let found = if file.extension().is_some_and(|ext| ext == "sources") {
            mirror_in_deb822(&text)
        } else {
            mirror_in_one_line(&text)
        };
        if let Some(mirror) = found {
            return Ok(mirror);
        }
    }
    bail!(
        "no Debian release suite (a `deb` source of e.g. bookworm) in {SOURCES_LIST} or \
         {SOURCES_PARTS}: the mirror to fetch {SUITE}'s packages from is unknown"
    )
}

/// Whether `suite` is a release's own suite: not `-security`, `-updates` or `/updates`.
fn is_release_suite(suite: &str) -> bool {
    !suite.is_empty() && !suite.contains(['-', '/'])
}

/// The first URI of a `deb` stanza of a release suite, in deb822 format (`*.sources`).
fn mirror_in_deb822(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
        };
        let enabled = field("Enabled").is_none_or(|value| value != "no");
        let deb = field("Types")?.split_whitespace().any(|kind| kind == "deb");
        let release = field("Suites")?.split_whitespace().any(is_release_suite);
        let uri = field("URIs")?.split_whitespace().next()?.to_string();
        (enabled && deb && release).then_some(uri)
    })
}

/// The URI of the first `deb` line of a release suite, in one-line format (`sources.list`).
fn mirror_in_one_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        if words.next()? != "deb" {
            return None;
        }
        let mut uri = words.next()?;
        if uri.starts_with('[') {
            // Options: `[arch=amd64 signed-by=...]`, up to the word ending in `]`.
            while !uri.ends_with(']') {
                uri = words.next()?;
            }
            uri = words.next()?;
        }
        is_release_suite(words.next()?).then(|| uri.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::{major_minor, mirror_in_deb822, mirror_in_one_line};

    #[test]
    fn versions_read_as_debian_writes_them() {
        assert_eq!(major_minor("2.1.9+ds1-5"), Some((2, 1)));
        assert_eq!(major_minor("28.5.2+dfsg4-5"), Some((28, 5)));
        assert_eq!(major_minor("1:2.40.3-3"), Some((2, 40)));
        assert_eq!(major_minor("28~rc1"), None);
    }

    #[test]
    fn the_mirror_is_the_release_suites_source() {
        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian-security\n\
                      Suites: bookworm-security\nComponents: main\n\n\
                      Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian\n\
                      Suites: bookworm bookworm-updates\nComponents: main\n";
        assert_eq!(
            mirror_in_deb822(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        let one_line = "# deb http://old.example/debian bookworm main\n\
                        deb http://security.debian.org/debian-security bookworm-security main\n\
                        deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_in_one_line(one_line).as_deref(),
            Some("http://mirror.example/debian")
        );
    }
}
