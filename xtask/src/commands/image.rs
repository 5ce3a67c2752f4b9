//! `cargo xtask image`: the multi-platform OCI image of this checkout, written to
//! `target/image/` or `--out DIR`. `build::image` builds, checks and writes it (`cargo xtask
//! test` builds it the same way); `main.rs` pushes it afterwards when `--push` is given.

use anyhow::Result;
use xshell::Shell;

use crate::build::image;
pub use crate::build::image::{Options, default_tag};

pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    image::run(sh, options)
}
