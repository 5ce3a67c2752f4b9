//! Facts about the machine this runs on, asked of the kernel and PATH directly.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::procfs;

/// Any of the execute bits.
const EXECUTABLE: u32 = 0o111;

/// Whether this process runs with root's privileges: its effective uid is 0.
pub fn is_root() -> bool {
    // `Uid:` lists the real, effective, saved and filesystem uids; privilege follows the effective one.
    procfs::status_field("self", "Uid")
        .is_some_and(|ids| ids.split_whitespace().nth(1) == Some("0"))
}

/// The executable file `name` in the first directory of PATH that has one, as a shell finds it:
/// a name with a slash in it is a path, taken as it is.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|path| is_executable(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & EXECUTABLE != 0)
}
