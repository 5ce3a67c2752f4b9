//! A platform's one layer: a tar holding exactly the binary, gzip-compressed with every byte of
//! the stream fixed (no timestamp, no file name, one compression level), so a rebuild gives the
//! same digest.

use std::io::Write;

use anyhow::Result;
use flate2::{Compression, GzBuilder};

use super::blob::{Blob, sha256};
use super::definition::File;
use super::tarball::{Owner, Tarball};

pub(crate) const MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// flate2's best compression: the layer is tiny, so the slowest level costs nothing.
const GZIP_LEVEL: u32 = 9;

pub(crate) struct Layer {
    /// The compressed layer, as stored and pushed.
    pub(crate) blob: Blob,
    /// The sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry.
    pub(crate) diff_id: String,
}

/// The layer holding `contents` at `file.path`, every entry stamped with `mtime`.
pub(crate) fn build(file: &File, contents: &[u8], mtime: u64) -> Result<Layer> {
    let mut tarball = Tarball::new(mtime);
    tarball.file(
        file.tar_path(),
        Owner {
            mode: file.mode,
            uid: file.uid,
            gid: file.gid,
        },
        contents,
    )?;
    let tar = tarball.finish()?;
    let diff_id = sha256(&tar);

    // GzBuilder writes mtime 0 and no name unless asked; the OS byte is fixed ("unknown").
    let mut gzip = GzBuilder::new().write(Vec::new(), Compression::new(GZIP_LEVEL));
    gzip.write_all(&tar)?;
    let compressed = gzip.finish()?;
    Ok(Layer {
        blob: Blob::new(MEDIA_TYPE, compressed),
        diff_id,
    })
}
