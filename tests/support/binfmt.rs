//! qemu registered in binfmt_misc for every foreign platform, so that runtimes run foreign
//! images as if they were native. Debian's qemu-user-static ships one entry per architecture in
//! /usr/lib/binfmt.d; their `F` flag makes the kernel open the interpreter at registration, so
//! no qemu is needed inside the container's rootfs.
//!
//! binfmt_misc is one table for the whole kernel, shared by every test thread: the first
//! [`Binfmt::foreign`] guard registers what is missing, the last one to drop unregisters exactly
//! that (and unmounts binfmt_misc if it mounted it). Entries that were there before stay.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::deadline::run_within;
use crate::process::status_within;
use crate::{Need, PLATFORMS};

/// Where binfmt_misc is mounted.
const MOUNT_POINT: &str = "/proc/sys/fs/binfmt_misc";
/// Where Debian's qemu-user-static keeps its registrations, as `<entry>.conf`.
const CONF_DIR: &str = "/usr/lib/binfmt.d";
/// What unregisters an entry, written to its file.
const UNREGISTER: &str = "-1";
/// How long mount and umount may take.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(10);

/// What using the guard needs: root, and the emulator of every foreign platform.
pub fn needs() -> Vec<Need> {
    std::iter::once(Need::Root)
        .chain(PLATFORMS.iter().filter_map(Need::emulator))
        .chain([Need::program("mount", "mount")])
        .collect()
}

/// Registrations this process made, and how many guards use them.
struct Table {
    users: usize,
    registered: Vec<PathBuf>,
    mounted: bool,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    users: 0,
    registered: Vec::new(),
    mounted: false,
});

/// While alive, every platform in the table runs here, natively or through qemu.
pub struct Binfmt(());

impl Binfmt {
    /// Registers qemu for each foreign platform that has no entry yet; panics naming the entry
    /// the kernel refused.
    pub fn foreign() -> Binfmt {
        let mut table = TABLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if table.users == 0 {
            if !Path::new(MOUNT_POINT).join("register").exists() {
                run_within(
                    Command::new("mount").args(["-t", "binfmt_misc", "binfmt_misc", MOUNT_POINT]),
                    MOUNT_TIMEOUT,
                );
                table.mounted = true;
            }
            for platform in PLATFORMS.iter().filter(|platform| !platform.is_native()) {
                let name = entry_name(platform.qemu);
                let entry = Path::new(MOUNT_POINT).join(name);
                if entry.exists() {
                    continue;
                }
                let conf = Path::new(CONF_DIR).join(format!("{name}.conf"));
                let rule = fs::read(&conf).unwrap_or_else(|error| {
                    panic!(
                        "cannot read {}: {error}; apt-get install qemu-user-static",
                        conf.display()
                    )
                });
                fs::write(Path::new(MOUNT_POINT).join("register"), rule).unwrap_or_else(|error| {
                    panic!("binfmt_misc refused {}: {error}", conf.display())
                });
                table.registered.push(entry);
            }
        }
        table.users += 1;
        Binfmt(())
    }
}

impl Drop for Binfmt {
    fn drop(&mut self) {
        let mut table = TABLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        table.users -= 1;
        if table.users > 0 {
            return;
        }
        for entry in table.registered.drain(..) {
            if let Err(error) = fs::write(&entry, UNREGISTER) {
                eprintln!("cannot unregister {}: {error}", entry.display());
            }
        }
        if std::mem::take(&mut table.mounted) {
            let unmounted = status_within(Command::new("umount").arg(MOUNT_POINT), MOUNT_TIMEOUT);
            if !unmounted.is_some_and(|status| status.success()) {
                eprintln!("cannot unmount {MOUNT_POINT}");
            }
        }
    }
}

/// `qemu-aarch64`: the binfmt_misc entry (and conf file) for an emulator `qemu-aarch64-static`.
fn entry_name(emulator: &str) -> &str {
    emulator.strip_suffix("-static").unwrap_or(emulator)
}
