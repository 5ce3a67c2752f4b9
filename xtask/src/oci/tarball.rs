//! Deterministic tar archives: every header field is set from the arguments, never from the
//! file system or the clock, so the same entries always give the same bytes.

use anyhow::Result;
use tar::{EntryType, Header};

/// Who owns an entry and what it may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
}

/// Directories in archives the xtask writes: root-owned, world-readable.
pub(crate) const DIRECTORY: Owner = Owner {
    mode: 0o755,
    uid: 0,
    gid: 0,
};
/// Plain data files in archives the xtask writes.
pub(crate) const DATA_FILE: Owner = Owner {
    mode: 0o644,
    uid: 0,
    gid: 0,
};

/// A tar archive built in memory, in the order entries are added.
pub(crate) struct Tarball {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl Tarball {
    /// Every entry gets modification time `mtime`.
    pub(crate) fn new(mtime: u64) -> Tarball {
        Tarball {
            builder: tar::Builder::new(Vec::new()),
            mtime,
        }
    }

    pub(crate) fn file(&mut self, path: &str, owner: Owner, data: &[u8]) -> Result<()> {
        let mut header = self.header(EntryType::Regular, owner, data.len() as u64);
        self.builder.append_data(&mut header, path, data)?;
        Ok(())
    }

    /// `path` ends with `/`.
    pub(crate) fn directory(&mut self, path: &str, owner: Owner) -> Result<()> {
        let mut header = self.header(EntryType::Directory, owner, 0);
        self.builder
            .append_data(&mut header, path, std::io::empty())?;
        Ok(())
    }

    /// The archive, with its end-of-archive blocks.
    pub(crate) fn finish(self) -> Result<Vec<u8>> {
        Ok(self.builder.into_inner()?)
    }

    fn header(&self, kind: EntryType, owner: Owner, size: u64) -> Header {
        let mut header = Header::new_ustar();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(owner.mode);
        header.set_uid(owner.uid);
        header.set_gid(owner.gid);
        header.set_mtime(self.mtime);
        header
    }
}
