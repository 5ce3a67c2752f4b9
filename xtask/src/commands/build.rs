//! `cargo xtask build`: the pause binary for each platform (`build::pause` compiles them), and a
//! table of their sizes and paths.

use anyhow::Result;
use xshell::Shell;

use crate::build::pause;
use crate::platform::Platform;
use crate::project;

pub fn run(sh: &Shell, platforms: &[&'static Platform]) -> Result<()> {
    let binaries = pause::build(sh, platforms, false)?;
    println!("{:<16} {:>6}  path", "platform", "bytes");
    for binary in &binaries {
        println!(
            "{:<16} {:>6}  {}",
            binary.platform.name,
            binary.bytes,
            project::relative(&binary.path).display()
        );
    }
    Ok(())
}
