//! `cargo xtask`: build, package, push, test and benchmark pause. See `cargo xtask help`.

mod bench;
mod flags;

use anyhow::Result;
use xshell::Shell;
use xtask::build;
use xtask::image;
use xtask::platform::{PLATFORMS, Platform};
use xtask::push::{self, PushOptions};

use crate::flags::Flags;

const USAGE: &str = "\
cargo xtask <command> [options]

commands:
  build [--platform LIST]   build pause for each platform (default: all six) into
                            target/pause/<os>-<arch>[-<variant>]/pause
  bench                     (root) ours against catatonit, tini and a C pause (glibc, musl):
                            size, memory, start-up, orphan reaping; writes
                            target/bench/results.md
  image [--tag REF] [--platform LIST] [--out DIR]
                            build the multi-platform OCI image from image/image.toml, with no
                            container engine, the same bytes on every run:
                            DIR/oci       OCI layout: REF is the multi-platform image, and
                                          REF-linux-<arch>[-<variant>] each platform's alone
                                          (`skopeo inspect oci:DIR/oci:REF`, `umoci unpack
                                          --image DIR/oci:REF-linux-amd64 bundle`)
                            DIR/pause.tar OCI archive and docker-archive in one: `podman load`,
                                          `docker load`, `ctr images import` and `skopeo copy
                                          oci-archive:` store it as REF (docker: host platform)
                            --tag REF     default localhost/pause:<version>: the name docker,
                                          podman and containerd show after a load
                            --out DIR     default target/image
                            Dates (config, layer mtime): SOURCE_DATE_EPOCH, default 0 (1970).
                            --push REGISTRY/REPOSITORY:TAG
                                          then push it (takes push's options too)
  test [FILTER...]          the whole suite (tests/): installs missing Debian packages (as
                            root), builds the binaries and the image, runs every suite and
                            lists the tests that skipped themselves (a failure under CI=true);
                            FILTER and later arguments go to the test binaries
  push REGISTRY/REPOSITORY:TAG [--layout DIR] [--username U --password-stdin]
       [--insecure] [--ca-file CA.pem]
                            push an OCI layout (default target/image/oci) with its exact
                            digests: blobs the registry lacks, each manifest, the index
                            last under the tag. Credentials: --username with the password
                            on stdin, else REGISTRY_AUTH_FILE, podman's auth.json or
                            docker's config.json ($DOCKER_CONFIG; auths, credHelpers,
                            credsStore). Loopback registries get plain HTTP; others only
                            with --insecure. --ca-file trusts one more CA.
  help                      this text

--platform takes a comma-separated list, e.g. linux/arm64,linux/arm/v7.";

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let mut flags = Flags::new(args.collect());
    let sh = Shell::new()?;
    sh.change_dir(xtask::project::root());
    match command.as_str() {
        "build" => {
            let platforms = platforms(&mut flags)?;
            flags.finish(USAGE)?;
            build::run(&sh, &platforms)?;
        }
        "image" => {
            let options = image::Options {
                platforms: platforms(&mut flags)?,
                tag: flags.value("--tag")?.unwrap_or_else(image::default_tag),
                out: match flags.value("--out")? {
                    Some(dir) => std::path::absolute(dir)?,
                    None => image::default_out(),
                },
            };
            let push_to = flags.value("--push")?;
            let push_options = push_options(&mut flags, image::layout_dir(&options.out))?;
            flags.finish(USAGE)?;
            image::run(&sh, &options)?;
            if let Some(reference) = push_to {
                push::push(&sh, &push_options, &reference)?;
            }
        }
        "push" => {
            let layout = match flags.value("--layout")? {
                Some(dir) => std::path::absolute(dir)?,
                None => push::default_layout(),
            };
            let options = push_options(&mut flags, layout)?;
            let Some(reference) = flags.positional() else {
                anyhow::bail!(
                    "push needs the image's destination, REGISTRY/REPOSITORY:TAG\n\n{USAGE}"
                );
            };
            flags.finish(USAGE)?;
            push::push(&sh, &options, &reference)?;
        }
        "bench" => {
            flags.finish(USAGE)?;
            bench::run(&sh)?;
        }
        "test" => xtask::test::run(&sh, &flags.rest())?,
        "help" | "--help" | "-h" => println!("{USAGE}"),
        "" => anyhow::bail!("no command given\n\n{USAGE}"),
        other => anyhow::bail!("unknown command `{other}`\n\n{USAGE}"),
    }
    Ok(())
}

/// The options `push` and `image --push` share; reads the password from stdin when asked to.
fn push_options(flags: &mut Flags, layout: std::path::PathBuf) -> Result<PushOptions> {
    let username = flags.value("--username")?;
    let login = match (username, flags.switch("--password-stdin")) {
        (Some(username), true) => Some((username, xtask::auth::password_from_stdin()?)),
        (None, false) => None,
        (Some(_), false) => anyhow::bail!(
            "--username needs --password-stdin, with the password piped to standard input"
        ),
        (None, true) => anyhow::bail!("--password-stdin needs --username U"),
    };
    Ok(PushOptions {
        layout,
        login,
        insecure: flags.switch("--insecure"),
        ca_file: flags.value("--ca-file")?.map(std::path::PathBuf::from),
        ..PushOptions::default()
    })
}

/// `--platform LIST`, or every platform.
fn platforms(flags: &mut Flags) -> Result<Vec<&'static Platform>> {
    match flags.value("--platform")? {
        Some(list) => Platform::parse_list(&list).map_err(anyhow::Error::msg),
        None => Ok(PLATFORMS.iter().collect()),
    }
}
