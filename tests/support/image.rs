//! The image artifacts `cargo xtask image` writes, as the suites find them.

use std::path::PathBuf;

/// `target/image/oci`: the OCI layout; a missing one is a failure naming the command that builds it.
pub fn layout() -> PathBuf {
    present(xtask::project::layout_dir(&xtask::project::image_dir()))
}

/// `target/image/pause.tar`: the OCI archive that is also a docker-archive.
pub fn archive() -> PathBuf {
    present(xtask::project::archive_path(&xtask::project::image_dir()))
}

fn present(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask image` (or the whole suite, `cargo xtask test`)",
        path.display()
    );
    path
}
