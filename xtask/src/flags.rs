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
        /// Build pause for each platform into target/pause/<os>-<arch>[-<variant>]/pause.
        cmd build {
            /// Comma-separated platforms, e.g. linux/arm64,linux/arm/v7 (default: all six).
            optional --platform list: String
        }

        /// Build the multi-platform OCI image from image/image.toml with no container engine,
        /// the same bytes on every run. Writes DIR/oci, an OCI layout where REF is the
        /// multi-platform image and REF-linux-<arch>[-<variant>] each platform's alone, and
        /// DIR/pause.tar, an OCI archive and docker-archive in one (`podman load`, `docker load`,
        /// `ctr images import`, `skopeo copy oci-archive:`). Dates: SOURCE_DATE_EPOCH, default 0.
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

        /// Push an OCI layout with its exact digests: the blobs the registry lacks, each
        /// manifest, each platform's SBOM (listed by the referrers API, or under the fallback tag
        /// sha256-<hex>), with --sign-key cosign's signature of the index and of each platform
        /// manifest (tag sha256-<hex>.sig), and the index last under the tag. Prints the pushed
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

        /// Check a pushed image against this checkout: rebuild it with the date its index
        /// carries and compare every digest (index, manifests, configs, layers); with --key, check
        /// cosign's signature of the index and of every platform manifest; check that every
        /// platform has an SBOM naming its layer's /pause and the pinned compiler. Prints a table;
        /// fails unless every row holds, naming the first blob that differs and what differs.
        cmd verify {
            /// REGISTRY/REPOSITORY:TAG (or @sha256:...), e.g. ghcr.io/OWNER/pause:0.1.0.
            required reference: String
            /// cosign.pub: check the signatures with this public key.
            optional --key pem: PathBuf
            /// Log in as this user, with the password piped to standard input.
            optional --username user: String
            /// Read the password for --username from standard input.
            optional --password-stdin
            /// Plain HTTP even for a registry that is not on loopback.
            optional --insecure
            /// Trust this CA certificate (PEM) besides the system's.
            optional --ca-file pem: PathBuf
        }

        /// Write a cosign key pair: DIR/cosign.key (ECDSA P-256, encrypted with a password from
        /// COSIGN_PASSWORD or asked twice on the terminal; mode 0600) and DIR/cosign.pub, the files
        /// `cosign generate-key-pair` writes. Never overwrites them.
        cmd keygen {
            /// Where to write them (default: the current directory, as cosign does).
            optional --out dir: PathBuf
        }

        /// (root) The whole suite (tests/): installs missing Debian packages, builds the binaries
        /// and the image, runs every suite and lists the tests that skipped themselves (a failure
        /// under CI=true).
        cmd test {
            /// Passed on to the test binaries, as with `cargo test`: a name filter, or
            /// `-- --nocapture`.
            repeated args: OsString
        }

        /// rustfmt and clippy (warnings are errors) on both workspaces, pause for every platform:
        /// what CI checks before the suite.
        cmd lint {}

        /// (root) Ours against catatonit, tini and a C pause (glibc, musl): size, memory,
        /// start-up, orphan reaping; then what a pod costs with each anchor image in a private
        /// Docker Engine (image size, memory, docker run -d, docker stop); writes
        /// target/bench/results.md.
        cmd bench {}

        /// Print this help.
        cmd help {}
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

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::{Xtask, shown_error, split_assignments};

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
