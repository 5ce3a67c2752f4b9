//! The command line, declared once with xflags: parsing, `--help` and the generated structs all
//! come from this declaration.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;
use xtask::commands::push::Login;
use xtask::registry;

xflags::xflags! {
    /// Builds, packages, pushes, tests and benchmarks pause.
    cmd xtask {
        /// Build pause for each platform into target/pause/.
        ///
        /// Each platform's binary goes to target/pause/<os>-<arch>[-<variant>]/pause.
        cmd build {
            /// Comma-separated platforms, e.g. linux/arm64,linux/arm/v7 (default: all six).
            optional --platform list: String
        }

        /// Build the multi-platform OCI image, the same bytes on every run.
        ///
        /// From image/image.toml, with no container engine. Writes DIR/oci, an OCI layout where
        /// REF is the multi-platform image and REF-linux-<arch>[-<variant>] each platform's alone,
        /// and DIR/pause.tar, an OCI archive and docker-archive in one (`podman load`, `docker
        /// load`, `ctr images import`, `skopeo copy oci-archive:`). Dates: SOURCE_DATE_EPOCH,
        /// default 0.
        cmd image {
            /// The name loaders store it under (default localhost/pause:<version>).
            optional --tag reference: String
            /// Comma-separated platforms (default: all six).
            optional --platform list: String
            /// Where to write oci/ and pause.tar (default target/image).
            optional --out dir: PathBuf
            /// Then push it to REGISTRY/REPOSITORY:TAG (the push options below need it).
            optional --push reference: String
            /// Log in as this user, with the password piped to standard input.
            optional --username user: String
            /// Read the password for --username from standard input.
            optional --password-stdin
            /// Plain HTTP even for a registry that is not on loopback.
            optional --insecure
            /// Trust this CA certificate (PEM) besides the system's.
            optional --ca-file pem: PathBuf
            /// Sign the index and every platform manifest with this cosign key (password from
            /// COSIGN_PASSWORD or the terminal).
            optional --sign-key key: PathBuf
            /// Print only the pushed REGISTRY/REPOSITORY:TAG@sha256:... on stdout, and nothing on
            /// stderr but errors.
            optional -q, --quiet
            /// Print what the push wrote as JSON on stdout, in place of the reference.
            optional --json
            /// Write what the push wrote as JSON to this file, once the push succeeded.
            optional --metadata-file file: PathBuf
        }

        /// Push the image to a registry, signed with --sign-key, the tag written last.
        ///
        /// Pushes an OCI layout with its exact digests: the blobs the registry lacks, each
        /// manifest the registry does not hold yet (asked with HEAD first), each platform's SBOM
        /// as a referrer (listed by the referrers API, or under the fallback tag sha256-<hex>).
        /// With --sign-key, what cosign 2 and cosign 3 read: cosign's signature of the index and
        /// of each platform manifest (tag sha256-<hex>.sig); each platform's SBOM and SLSA
        /// provenance as signed DSSE attestations (tag sha256-<hex>.att); and Sigstore bundles as
        /// referrers, one of the signature of the index and of each platform manifest, one of each
        /// attestation. The index goes last under the tag. Prints the pushed
        /// REGISTRY/REPOSITORY:TAG@sha256:... on stdout; on stderr what each write did, then the
        /// settings that pin it by digest for containerd, CRI-O and podman. Credentials:
        /// --username with the password on stdin, else REGISTRY_AUTH_FILE, podman's auth.json or
        /// docker's config.json ($DOCKER_CONFIG; auths, credHelpers, credsStore; Docker Hub by any
        /// of its names). Basic or token (Bearer) login. Loopback registries get plain HTTP.
        cmd push {
            /// REGISTRY/REPOSITORY:TAG, e.g. ghcr.io/OWNER/pause:0.1.0.
            required reference: String
            /// The layout to push (default target/image/oci).
            optional --layout dir: PathBuf
            /// Log in as this user, with the password piped to standard input.
            optional --username user: String
            /// Read the password for --username from standard input.
            optional --password-stdin
            /// Plain HTTP even for a registry that is not on loopback.
            optional --insecure
            /// Trust this CA certificate (PEM) besides the system's.
            optional --ca-file pem: PathBuf
            /// Sign the index and every platform manifest with this cosign key (password from
            /// COSIGN_PASSWORD or the terminal).
            optional --sign-key key: PathBuf
            /// Print only the pushed REGISTRY/REPOSITORY:TAG@sha256:... on stdout, and nothing on
            /// stderr but errors.
            optional -q, --quiet
            /// Print what the push wrote as JSON on stdout, in place of the reference.
            optional --json
            /// Write what the push wrote as JSON to this file, once the push succeeded.
            optional --metadata-file file: PathBuf
        }

        /// Check a pushed image against this checkout: digests, signatures, attestations.
        ///
        /// Rebuilds the image with the date its index carries and compares every digest (index,
        /// manifests, configs, layers); checks that every platform has an SBOM referrer naming its
        /// layer's /pause and the pinned compiler. With --key, checks with that key: cosign's
        /// signature of the index and of every platform manifest (.sig), the Sigstore bundle of
        /// that signature among their referrers, and each platform's SBOM and provenance
        /// attestations, as DSSE layers of sha256-<hex>.att and as bundle referrers (signed by the
        /// key, about that manifest, the SBOM the referrer's, the provenance naming this
        /// checkout's commit and compiler). Prints the table, a reference by digest per row and a
        /// legend on stdout (--json: one JSON document instead); each problem, in the table's
        /// order, and the verdict on stderr. Exits 1 unless every row holds.
        cmd verify {
            /// REGISTRY/REPOSITORY:TAG (or @sha256:...), e.g. ghcr.io/OWNER/pause:0.1.0.
            required reference: String
            /// cosign.pub: check the signatures with this public key.
            optional --key pem: PathBuf
            /// Print the result as one JSON document instead of the table (docs/verify.md).
            optional --json
            /// Show the digests in full in the table.
            optional --wide
            /// Log in as this user, with the password piped to standard input.
            optional --username user: String
            /// Read the password for --username from standard input.
            optional --password-stdin
            /// Plain HTTP even for a registry that is not on loopback.
            optional --insecure
            /// Trust this CA certificate (PEM) besides the system's.
            optional --ca-file pem: PathBuf
        }

        /// Write a cosign key pair: cosign.key and cosign.pub.
        ///
        /// DIR/cosign.key (ECDSA P-256, encrypted with a password from COSIGN_PASSWORD or asked
        /// twice on the terminal; mode 0600) and DIR/cosign.pub, the files `cosign
        /// generate-key-pair` writes. Never overwrites them.
        cmd keygen {
            /// Where to write them (default: the current directory, as cosign does).
            optional --out dir: PathBuf
        }

        /// (root) Run the whole suite (tests/), or the tests a filter names.
        ///
        /// Installs missing Debian packages, builds the binaries and the image, runs every suite
        /// and lists the tests that skipped themselves (a failure under CI=true).
        cmd test {
            /// Passed on to the test binaries, as with `cargo test`: a name filter, or
            /// `-- --nocapture`.
            repeated args: OsString
        }

        /// rustfmt and clippy on both workspaces, as CI runs them before the suite.
        ///
        /// Warnings are errors; pause is checked for every platform.
        cmd lint {}

        /// (root) Benchmark pause against catatonit, tini and a C pause.
        ///
        /// Ours against catatonit, tini and a C pause (glibc, musl): size, memory, start-up,
        /// orphan reaping; then what a pod costs with each anchor image in a private Docker Engine
        /// (image size, memory, docker run -d, docker stop); writes target/bench/results.md.
        cmd bench {}

        /// Print this list, or a command's help: cargo xtask help COMMAND.
        cmd help {
            /// The command whose arguments and options to print.
            optional command: String
        }
    }
}

/// The registry options push, image --push and verify each declare (xflags cannot share a group
/// of flags between commands), gathered into one by [`registry_flags`].
pub(crate) struct RegistryFlags {
    pub(crate) login: Login,
    pub(crate) insecure: bool,
    pub(crate) ca_file: Option<PathBuf>,
}

/// One command's registry flags, as the one group.
pub(crate) fn registry_flags(
    username: Option<String>,
    password_stdin: bool,
    insecure: bool,
    ca_file: Option<PathBuf>,
) -> RegistryFlags {
    RegistryFlags {
        login: Login {
            username,
            password_stdin,
        },
        insecure,
        ca_file,
    }
}

impl RegistryFlags {
    /// The options these flags give: with `--username`, the password is read from standard input
    /// now.
    pub(crate) fn options(&self) -> Result<registry::Options> {
        Ok(registry::Options {
            login: self.login.credentials()?,
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
            ..registry::Options::default()
        })
    }

    /// The first of these flags given, for a command line that gives them without a registry.
    pub(crate) fn first_given(&self) -> Option<&'static str> {
        [
            ("--username", self.login.username.is_some()),
            ("--password-stdin", self.login.password_stdin),
            ("--insecure", self.insecure),
            ("--ca-file", self.ca_file.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

/// The arguments as xflags takes them: `--name=value` split into `--name value`, as users type it
/// (`--platform=linux/arm64`). A value typed onto an unknown flag (`--password=...`) then never
/// reaches an error message: xflags names the flag it does not know, not the whole argument.
pub(crate) fn split_assignments(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut split = Vec::new();
    let mut after_double_dash = false;
    for arg in args {
        match arg.to_str() {
            Some("--") => {
                after_double_dash = true;
                split.push(arg);
            }
            Some(text) if !after_double_dash && text.starts_with("--") && text.contains('=') => {
                let (name, value) = text.split_once('=').expect("contains `=`");
                split.push(name.into());
                split.push(value.into());
            }
            _ => split.push(arg),
        }
    }
    split
}

/// xflags' `message` about the command line `typed`, unless it quotes a value typed after `=`:
/// `--password-stdin=TOKEN` reaches xflags as the switch and an argument it does not expect, and
/// would be answered with `unexpected argument: "TOKEN"`. Such a value may be a password; the
/// message then names the flag alone.
pub(crate) fn shown_error(message: &str, typed: &[OsString]) -> String {
    let assignments = typed
        .iter()
        .map_while(|arg| arg.to_str().filter(|arg| *arg != "--"))
        .filter(|arg| arg.starts_with("--"))
        .filter_map(|arg| arg.split_once('='));
    for (name, value) in assignments {
        // How xflags quotes an argument, and a flag.
        if message.contains(&format!("{value:?}")) || message.contains(&format!("`{value}`")) {
            return format!(
                "{name} takes no value (what followed `=` is not shown): write {name} alone"
            );
        }
    }
    message.to_string()
}

/// What `cargo xtask --help` prints: the commands, one a line with the first paragraph of its
/// help, as crane, cosign and docker list theirs; the rest of each command's help is behind
/// `cargo xtask COMMAND --help`.
pub(crate) fn listing() -> String {
    let help = xflags_help();
    let sections = sections(&help);
    let width = sections
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or_default();
    let mut text = format!(
        "Usage: cargo xtask COMMAND [OPTIONS]\n\n{}\n\nCommands:\n",
        {
            let root = help.lines().skip(1);
            summary(&root.collect::<Vec<_>>().join("\n"))
        }
    );
    for (name, body) in &sections {
        text += &format!("  {name:width$}  {}\n", summary(body));
    }
    text += "\nOptions:\n";
    text += "  -h, --help     Print this list\n";
    text += "  -V, --version  Print the xtask's version, the checkout's commit and the pinned toolchain\n";
    text += "\nRun `cargo xtask COMMAND --help` for a command's arguments and options.";
    text
}

/// The whole help of `command` (`cargo xtask push --help`, `cargo xtask help push`): its usage
/// line, then its section of xflags' help; None for a command there is not.
pub(crate) fn command_help(command: &str) -> Option<String> {
    let help = xflags_help();
    let (name, body) = sections(&help)
        .into_iter()
        .find(|(name, _)| *name == command)?;
    let mut usage = format!("Usage: cargo xtask {name}");
    for arg in arguments(body) {
        usage += &format!(" {arg}");
    }
    if body.lines().any(|line| line.trim() == "OPTIONS:") {
        usage += " [OPTIONS]";
    }
    let body: Vec<&str> = body
        .lines()
        .map(|line| line.strip_prefix("  ").unwrap_or(line))
        .collect();
    Some(format!("{usage}\n\n{}", body.join("\n").trim_end()))
}

/// The one line a command line xflags refuses (`message`) is answered with, `typed` the
/// arguments as typed: an unknown command named as such, a missing argument with the form it
/// takes, `--password` pointed to `--password-stdin`, and the help to read.
pub(crate) fn usage_error(message: &str, typed: &[OsString]) -> String {
    let help = xflags_help();
    let sections = sections(&help);
    let first = typed
        .first()
        .and_then(|arg| arg.to_str())
        .filter(|arg| !arg.starts_with('-'));
    let command = first.and_then(|first| sections.iter().find(|(name, _)| *name == first));
    if let (Some(first), None) = (first, command) {
        return format!("unknown command `{first}`: see `cargo xtask --help`");
    }
    let message = shown_error(message, typed);
    let missing = message
        .strip_prefix("flag is required: `")
        .and_then(|rest| rest.strip_suffix('`'))
        .filter(|name| !name.starts_with('-'));
    let takes_password = command.is_some_and(|(_, body)| body.contains("--password-stdin"));
    let line = match (missing, command) {
        (Some(name), Some((_, body))) => {
            let form = argument_doc(body, name).unwrap_or_default();
            format!("missing argument <{name}>: {}", form.trim_end_matches('.'))
        }
        _ if takes_password
            && ["unexpected flag: `--password`", "unexpected flag: `-p`"]
                .contains(&message.as_str()) =>
        {
            "there is no --password (a password typed on the command line shows in `ps` and the \
             shell's history): pipe it to --password-stdin, with --username U"
                .to_string()
        }
        _ => message,
    };
    match command {
        Some((name, _)) => format!("{line}: see `cargo xtask {name} --help`"),
        None => format!("{line}: see `cargo xtask --help`"),
    }
}

/// The help xflags makes of the declaration above: every command's, one after another.
fn xflags_help() -> String {
    Xtask::from_vec(vec!["--help".into()])
        .expect_err("--help is an error in xflags")
        .to_string()
}

/// Each command's section of xflags' help: its name, and the text under its `xtask NAME`
/// heading, indented by two.
fn sections(help: &str) -> Vec<(&str, &str)> {
    const HEADING: &str = "\nxtask ";
    help.match_indices(HEADING)
        .map(|(start, _)| {
            let rest = &help[start + HEADING.len()..];
            let section = rest.find(HEADING).map_or(rest, |end| &rest[..end]);
            section.split_once('\n').unwrap_or((section, ""))
        })
        .collect()
}

/// The first paragraph of a section's text, on one line.
fn summary(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A section's arguments as its usage line writes them (`<reference>`, `[command]`,
/// `<args>...`): the lines of its `ARGS:` block indented by four.
fn arguments(body: &str) -> Vec<&str> {
    body.lines()
        .skip_while(|line| line.trim() != "ARGS:")
        .take_while(|line| line.trim() != "OPTIONS:")
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| line.starts_with(['<', '[']))
        .collect()
}

/// The first line of the help of the argument `name` in a section.
fn argument_doc<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let mut lines = body.lines().map(str::trim);
    lines.find(|line| line.trim_matches(['<', '>', '[', ']', '.']) == name)?;
    lines.next()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::{Xtask, command_help, listing, shown_error, split_assignments};

    /// What the command line `args` is refused with.
    fn refusal(args: &[&str]) -> String {
        let typed: Vec<OsString> = args.iter().map(OsString::from).collect();
        let error = Xtask::from_vec(split_assignments(typed.iter().cloned()))
            .expect_err("refused")
            .to_string();
        shown_error(&error, &typed)
    }

    #[test]
    fn a_value_typed_onto_a_switch_is_never_quoted() {
        for value in ["Kq7/Wz9@Rt4:Mv2%Hb8", "", "--flag-like", "with \"quotes\""] {
            for args in [
                vec!["push", "r/p:1", "--username", "bob"],
                vec!["verify", "r/p:1"],
                vec!["image", "--push", "r/p:1"],
            ] {
                let flag = format!("--password-stdin={value}");
                let args = [args, vec![&flag]].concat();
                let error = refusal(&args);
                assert!(
                    error.starts_with("--password-stdin takes no value"),
                    "{args:?}: {error}"
                );
                assert!(value.is_empty() || !error.contains(value), "{error}");
            }
        }
        let error = refusal(&["push", "r/p:1", "--insecure=yes"]);
        assert!(error.starts_with("--insecure takes no value"), "{error}");
    }

    #[test]
    fn the_listing_gives_each_command_one_short_line() {
        const WIDTH: usize = 100;
        let listing = listing();
        for command in [
            "build", "image", "push", "verify", "keygen", "test", "lint", "bench", "help",
        ] {
            let lines = listing
                .lines()
                .filter(|line| line.starts_with(&format!("  {command} ")));
            assert_eq!(lines.count(), 1, "{command}:\n{listing}");
            assert!(command_help(command).is_some(), "{command}");
        }
        for line in listing.lines() {
            assert!(line.chars().count() <= WIDTH, "longer than {WIDTH}: {line}");
        }
    }

    #[test]
    fn other_refusals_are_xflags_own() {
        assert_eq!(
            refusal(&["push", "r/p:1", "--password=hunter2"]),
            "unexpected flag: `--password`"
        );
        assert_eq!(
            refusal(&["push", "r/p:1", "extra"]),
            r#"unexpected argument: "extra""#
        );
    }
}
