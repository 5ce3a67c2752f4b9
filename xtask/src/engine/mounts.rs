//! The mount table as this process sees it (/proc/self/mountinfo): what a daemon left mounted under
//! its directory, and whether a directory is a mount point.

use std::path::{Path, PathBuf};

/// /proc/self/mountinfo's fifth field is the mount point.
const MOUNT_POINT_FIELD: usize = 4;

/// Every mount point at or below `dir`, deepest first: the order they can be unmounted in.
pub fn under(dir: &Path) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = all()
        .into_iter()
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    points.dedup();
    points
}

/// Whether `path` is a mount point.
pub(crate) fn is_mount_point(path: &Path) -> bool {
    all().iter().any(|point| point == path)
}

fn all() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(MOUNT_POINT_FIELD))
        .map(|point| PathBuf::from(unescape(point)))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in paths as `\` and three octal digits.
fn unescape(field: &str) -> String {
    const OCTAL_DIGITS: usize = 3;
    const OCTAL: u32 = 8;
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'\\')
            .then(|| field.get(index + 1..index + 1 + OCTAL_DIGITS))
            .flatten()
            .and_then(|digits| u8::from_str_radix(digits, OCTAL).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 1 + OCTAL_DIGITS;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape(r"/tmp/a\134b"), r"/tmp/a\b");
        assert_eq!(unescape("/run/netns"), "/run/netns");
    }
}
