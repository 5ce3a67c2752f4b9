//! `cargo xtask`: build, package, push, test and benchmark pause. See `cargo xtask help`.

mod bench;
mod flags;

use anyhow::Result;
use xshell::Shell;
use xtask::platform::{PLATFORMS, Platform};
use xtask::build;
use xtask::image;

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
            flags.finish(USAGE)?;
            image::run(&sh, &options)?;
        }
        "bench" => {
            flags.finish(USAGE)?;
            bench::run(&sh)?;
        }
        "help" | "--help" | "-h" => println!("{USAGE}"),
        "" => anyhow::bail!("no command given\n\n{USAGE}"),
        other => anyhow::bail!("unknown command `{other}`\n\n{USAGE}"),
    }
    Ok(())
}

/// `--platform LIST`, or every platform.
fn platforms(flags: &mut Flags) -> Result<Vec<&'static Platform>> {
    match flags.value("--platform")? {
        Some(list) => Platform::parse_list(&list).map_err(anyhow::Error::msg),
        None => Ok(PLATFORMS.iter().collect()),
    }
}
