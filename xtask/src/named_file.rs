//! A file the user names (a key, a CA bundle, a docker or podman config): read whole, but never
//! more than the caller's bound, wherever the path leads (`/dev/zero`, a huge file, a device).
//! Pipes work (`--key <(…)`): unlike a layout's blobs, such a file need not be a regular one.

use std::fs::File;
use std::io::{self, ErrorKind, Read};
use std::path::Path;

/// The bytes of `path`, at most `max`; a longer file is an error of kind `FileTooLarge` that
/// reads "more than MAX bytes".
pub(crate) fn read(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_at_most(File::open(path)?, max)
}

/// What `reader` holds, at most `max` bytes: it is read one byte past the bound, never further,
/// and more than `max` is the error [`read`] gives.
pub(crate) fn read_at_most(reader: impl Read, max: u64) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    reader.take(max.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Err(io::Error::new(
            ErrorKind::FileTooLarge,
            format!("more than {max} bytes"),
        ));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;
    use std::path::Path;

    #[test]
    fn an_endless_file_is_read_up_to_the_bound() {
        let error = super::read(Path::new("/dev/zero"), 4096).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::FileTooLarge);
        assert_eq!(error.to_string(), "more than 4096 bytes");
        assert_eq!(super::read(Path::new("/dev/null"), 0).unwrap(), b"");
    }
}
