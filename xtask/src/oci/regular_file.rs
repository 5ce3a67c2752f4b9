//! Reading a file that outside input names (a layout's `index.json` names its blobs; an `--out`
//! directory holds whatever its user put there): only a regular file is read, never more than the
//! caller's bound. It is opened with `O_NOFOLLOW` (a symbolic link is refused, not followed) and
//! `O_NONBLOCK` (opening a FIFO returns at once instead of waiting for a writer), then `fstat`ed,
//! so that a device, a FIFO or a socket is refused before a byte is read, and a file longer than
//! the bound is refused by its size; the read itself stops one byte past the bound, in case the
//! file grows meanwhile.

use std::fmt;
use std::fs::{File, FileType};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::named_file;

/// Why a file was not read. Its `Display` completes a sentence that starts with the file's path.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// It could not be opened or read: absent, not permitted, an I/O error.
    Unreadable(io::Error),
    /// A directory, FIFO, device, socket or symbolic link: named.
    NotRegular(&'static str),
    /// It holds more than the bound, in bytes.
    Longer(u64),
}

impl Refusal {
    /// Whether the file does not exist.
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Refusal::Unreadable(error) if error.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unreadable(error) => write!(f, "cannot be read ({error})"),
            Refusal::NotRegular(kind) => write!(f, "is a {kind}, not a regular file"),
            Refusal::Longer(limit) => write!(f, "holds more than {limit} bytes"),
        }
    }
}

/// The bytes of the regular file at `path`, which may hold at most `limit` of them.
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, Refusal> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = File::from(
        rustix::fs::open(path, flags, Mode::empty()).map_err(|errno| {
            if errno == Errno::LOOP {
                Refusal::NotRegular("symbolic link")
            } else {
                Refusal::Unreadable(errno.into())
            }
        })?,
    );
    let meta = file.metadata().map_err(Refusal::Unreadable)?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular(kind(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(Refusal::Longer(limit));
    }
    // Read bounded all the same: the file may grow between fstat and read.
    named_file::read_at_most(file, limit).map_err(|error| match error.kind() {
        io::ErrorKind::FileTooLarge => Refusal::Longer(limit),
        _ => Refusal::Unreadable(error),
    })
}

/// What a file that is not a regular one is, in words.
fn kind(kind: FileType) -> &'static str {
    if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::{Refusal, read};

    #[test]
    fn only_a_regular_file_within_the_bound_is_read() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("file");
        fs::write(&file, b"12345").unwrap();
        assert_eq!(read(&file, 5).unwrap(), b"12345");
        assert!(matches!(read(&file, 4), Err(Refusal::Longer(4))));

        let link = scratch.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let fifo = scratch.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        for (path, kind) in [
            (&link, "symbolic link"),
            (&fifo, "FIFO"),
            (&scratch.path().to_path_buf(), "directory"),
        ] {
            let refusal = read(path, 5).unwrap_err();
            assert!(
                refusal.to_string().contains(kind),
                "{}: {refusal}",
                path.display()
            );
        }
        assert!(read(std::path::Path::new("/dev/zero"), 5).is_err());
        assert!(
            read(&scratch.path().join("absent"), 5)
                .unwrap_err()
                .is_missing()
        );
    }
}
