//! The image artifacts `cargo xtask image` writes, as the suites find them.

use std::path::PathBuf;

/// `target/image/oci`: the OCI layout; a missing one is a failure naming the command that builds it.
pub fn layout() -> PathBuf {
    present(xtask::image::layout_dir(&xtask::image::default_out()))
}

/// `target/image/pause.tar`: the OCI archive that is also a docker-archive.
pub fn archive() -> PathBuf {
    present(xtask::image::archive_path(&xtask::image::default_out()))
}

fn present(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask image` (or the whole suite, `cargo xtask test`)",
        path.display()
    );
    path
}
