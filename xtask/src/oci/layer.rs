//! A platform's one layer: a tar holding exactly the binary, gzip-compressed with every byte of
//! the stream fixed (no timestamp, no file name, one compression level), so a rebuild gives the
//! same digest.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};

use super::blob::{Blob, sha256};
use super::definition::File;
use super::tarball::{Owner, Tarball};

pub(crate) const MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The most a platform's compressed layer may weigh: `cargo xtask image` refuses to build a bigger
/// one, and a bigger one read from a registry is refused before it is inflated.
pub const MAX_LAYER_BYTES: u64 = 1_536;
/// The most a layer's tar may weigh once inflated. A layer holds one binary of at most the
/// build's 2,048-byte budget (`build::pause::MAX_BINARY_BYTES`) in a 512-byte header, padding
/// to 512 bytes and the 1,024-byte end: 4 KiB at most. 64 KiB leaves room to still say what
/// differs in a layer somewhat over budget; a gzip bomb stops there.
pub(crate) const MAX_TAR_BYTES: u64 = 64 << 10;

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

/// One entry of a layer as its tar header and data say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) path: String,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: u64,
    pub(crate) data: Vec<u8>,
}

/// The entries of a gzip-compressed layer, in order, and the digest of its tar (its diff ID):
/// what a comparison of two layers names when their compressed bytes differ. A layer over
/// [`MAX_LAYER_BYTES`] is refused unread, one inflating past [`MAX_TAR_BYTES`] as soon as it does.
pub(crate) fn read(compressed: &[u8]) -> Result<(Vec<Entry>, String)> {
    if compressed.len() as u64 > MAX_LAYER_BYTES {
        bail!(
            "the layer is {} bytes, over the {MAX_LAYER_BYTES}-byte limit of this image's \
             layers: not inflated",
            compressed.len()
        );
    }
    let mut tar = Vec::new();
    GzDecoder::new(compressed)
        .take(MAX_TAR_BYTES + 1)
        .read_to_end(&mut tar)
        .context("the layer is not a gzip stream")?;
    if tar.len() as u64 > MAX_TAR_BYTES {
        bail!(
            "the layer inflates to more than {MAX_TAR_BYTES} bytes, the limit of this image's layers' tars: a gzip bomb?"
        );
    }
    let mut entries = Vec::new();
    let mut archive = tar::Archive::new(tar.as_slice());
    for entry in archive.entries().context("the layer is not a tar")? {
        let mut entry = entry.context("the layer's tar is corrupt")?;
        let header = entry.header();
        let read = (|| -> std::io::Result<Entry> {
            Ok(Entry {
                path: entry.path()?.display().to_string(),
                mode: header.mode()?,
                uid: header.uid()?,
                gid: header.gid()?,
                mtime: header.mtime()?,
                data: Vec::new(),
            })
        })();
        let mut read = read.context("the layer's tar has a corrupt header")?;
        entry
            .read_to_end(&mut read.data)
            .context("the layer's tar is cut short")?;
        entries.push(read);
    }
    Ok((entries, sha256(&tar)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::{Entry, MAX_LAYER_BYTES, MAX_TAR_BYTES, build, read};
    use crate::oci::definition::File;

    #[test]
    fn a_layer_reads_back_as_its_one_file() {
        let file = File {
            path: "/pause".to_string(),
            mode: 0o755,
            uid: 0,
            gid: 0,
        };
        let layer = build(&file, b"\x7fELF", 1_700_000_000).unwrap();
        let (entries, diff_id) = read(&layer.blob.data).unwrap();
        assert_eq!(diff_id, layer.diff_id);
        assert_eq!(
            entries,
            [Entry {
                path: "pause".to_string(),
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: 1_700_000_000,
                data: b"\x7fELF".to_vec(),
            }]
        );
        assert!(read(b"not gzip").is_err());
    }

    /// A layer over the size limit is refused whatever it holds; one within it that inflates past
    /// the tar's limit (zeros compress a thousandfold) is refused once it does.
    #[test]
    fn bombs_are_refused() {
        let gzip = |zeros: u64| {
            let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
            gzip.write_all(&vec![0; zeros as usize]).unwrap();
            gzip.finish().unwrap()
        };
        let big = read(&vec![0; MAX_LAYER_BYTES as usize + 1]).unwrap_err();
        assert!(big.to_string().contains("1536-byte"), "{big}");
        let bomb = gzip(4 * MAX_TAR_BYTES);
        assert!(bomb.len() as u64 <= MAX_LAYER_BYTES, "{} bytes", bomb.len());
        let inflated = read(&bomb).unwrap_err();
        assert!(
            inflated.to_string().contains(&MAX_TAR_BYTES.to_string()),
            "{inflated}"
        );
    }
}
