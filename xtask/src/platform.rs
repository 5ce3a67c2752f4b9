//! The platform table: the one place that says which platforms exist and how each is built, named
//! in OCI and run under emulation. Everything else (build, image, tests, bench) reads it.

/// One Linux platform pause is built and shipped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// `linux/arm/v7`: the spelling of `--platform` in docker, podman, containerd and this xtask.
    /// arm64 leaves out its default variant `v8`, as containerd's normalisation does.
    pub name: &'static str,
    /// The Rust target triple. pause uses no libc, so the gnu triples serve every platform: they
    /// are the ones rustup ships for all six.
    pub triple: &'static str,
    /// OCI `architecture` (GOARCH spelling).
    pub arch: &'static str,
    /// OCI `variant`, where the image spec defines one for the architecture.
    pub variant: Option<&'static str>,
    /// The qemu-user-static program (Debian's name) that runs this platform's binaries on another
    /// host; without `-static`, the binfmt_misc entry registered for it.
    pub qemu: &'static str,
    /// `std::env::consts::ARCH` on a host that runs this platform's binaries natively.
    pub rust_arch: &'static str,
}

pub const OS: &str = "linux";

pub const PLATFORMS: &[Platform] = &[
    Platform {
        name: "linux/amd64",
        triple: "x86_64-unknown-linux-gnu",
        arch: "amd64",
        variant: None,
        qemu: "qemu-x86_64-static",
        rust_arch: "x86_64",
    },
    Platform {
        name: "linux/arm64",
        triple: "aarch64-unknown-linux-gnu",
        arch: "arm64",
        variant: Some("v8"),
        qemu: "qemu-aarch64-static",
        rust_arch: "aarch64",
    },
    Platform {
        name: "linux/arm/v7",
        triple: "armv7-unknown-linux-gnueabihf",
        arch: "arm",
        variant: Some("v7"),
        qemu: "qemu-arm-static",
        rust_arch: "arm",
    },
    Platform {
        name: "linux/ppc64le",
        triple: "powerpc64le-unknown-linux-gnu",
        arch: "ppc64le",
        variant: None,
        qemu: "qemu-ppc64le-static",
        rust_arch: "powerpc64",
    },
    Platform {
        name: "linux/s390x",
        triple: "s390x-unknown-linux-gnu",
        arch: "s390x",
        variant: None,
        qemu: "qemu-s390x-static",
        rust_arch: "s390x",
    },
    Platform {
        name: "linux/riscv64",
        triple: "riscv64gc-unknown-linux-gnu",
        arch: "riscv64",
        variant: None,
        qemu: "qemu-riscv64-static",
        rust_arch: "riscv64",
    },
];

impl Platform {
    /// `linux-arm-v7`: the platform's directory under `target/pause/`.
    pub fn dir_name(&self) -> String {
        self.name.replace('/', "-")
    }

    /// Whether this host's CPU runs the platform's binaries without qemu.
    pub fn is_native(&self) -> bool {
        std::env::consts::ARCH == self.rust_arch
    }

    /// Looks up `linux/arm64`; also accepts the name without `linux/` and arm64's `linux/arm64/v8`.
    pub fn find(name: &str) -> Option<&'static Platform> {
        let name = name.strip_prefix("linux/").unwrap_or(name);
        PLATFORMS.iter().find(|platform| {
            let short = &platform.name[OS.len() + 1..];
            let with_variant = platform
                .variant
                .map(|variant| format!("{}/{variant}", platform.arch));
            name == short || with_variant.as_deref() == Some(name)
        })
    }

    /// Parses a comma-separated `--platform` list; the error names the platforms there are, and
    /// the ones the unknown name may have meant.
    pub fn parse_list(list: &str) -> Result<Vec<&'static Platform>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                Platform::find(name).ok_or_else(|| {
                    let meant = Platform::meant(name);
                    let guess = match meant.as_slice() {
                        [] => String::new(),
                        names => format!(" (did you mean {}?)", names.join(" or ")),
                    };
                    format!(
                        "unknown platform `{name}`{guess}: choose from {}",
                        all_names()
                    )
                })
            })
            .collect()
    }

    /// The platforms an unknown `name` may mean: its architecture with another variant or none
    /// (`linux/arm`, `linux/arm64/v9`) or in another spelling (Rust's and the kernel's `x86_64`,
    /// `aarch64`, the triples' `armv7`); failing that, the names fewest typos away, one or two
    /// (`linux/amd46`).
    fn meant(name: &str) -> Vec<&'static str> {
        const MAX_TYPOS: usize = 2;
        let name = name.to_ascii_lowercase();
        let short = name.strip_prefix("linux/").unwrap_or(&name);
        let arch = short.split('/').next().unwrap_or_default();
        let same_arch: Vec<&'static str> = PLATFORMS
            .iter()
            .filter(|platform| {
                let triple_arch = platform.triple.split('-').next().unwrap_or_default();
                [platform.arch, platform.rust_arch, triple_arch].contains(&arch)
            })
            .map(|platform| platform.name)
            .collect();
        if !same_arch.is_empty() {
            return same_arch;
        }
        let typos = |platform: &Platform| edit_distance(short, &platform.name[OS.len() + 1..]);
        let fewest = PLATFORMS.iter().map(typos).min().unwrap_or_default();
        PLATFORMS
            .iter()
            .filter(|platform| fewest <= MAX_TYPOS && typos(platform) == fewest)
            .map(|platform| platform.name)
            .collect()
    }

    /// The platform of the machine running this program, if pause supports it.
    pub fn host() -> Option<&'static Platform> {
        PLATFORMS.iter().find(|platform| platform.is_native())
    }
}

/// `linux/amd64, linux/arm64/v8, ...` for messages.
pub fn all_names() -> String {
    PLATFORMS
        .iter()
        .map(|platform| platform.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fewest single-character insertions, deletions and substitutions that turn `a` into `b`
/// (Levenshtein's distance), for guessing what a mistyped name meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // The distances from a's prefix read so far to each prefix of b.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{Platform, edit_distance};

    #[test]
    fn an_unknown_platform_names_what_it_may_have_meant() {
        for (typed, meant) in [
            ("linux/arm", "(did you mean linux/arm/v7?)"),
            ("linux/arm/v6", "(did you mean linux/arm/v7?)"),
            ("arm64/v9", "(did you mean linux/arm64?)"),
            ("linux/x86_64", "(did you mean linux/amd64?)"),
            ("aarch64", "(did you mean linux/arm64?)"),
            ("linux/amd46", "(did you mean linux/amd64?)"),
            ("linux/ppc64", "(did you mean linux/ppc64le?)"),
        ] {
            let error = Platform::parse_list(typed).unwrap_err();
            assert!(
                error.starts_with(&format!("unknown platform `{typed}` {meant}: choose from ")),
                "{error}"
            );
        }
        let error = Platform::parse_list("linux/mips64le").unwrap_err();
        assert!(
            error.starts_with("unknown platform `linux/mips64le`: choose from linux/amd64,"),
            "{error}"
        );
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("amd64", "amd64"), 0);
        assert_eq!(edit_distance("amd46", "amd64"), 2);
        assert_eq!(edit_distance("", "arm"), 3);
        assert_eq!(edit_distance("s390", "s390x"), 1);
        assert_eq!(edit_distance("riscv", "s390x"), 5);
    }
}
