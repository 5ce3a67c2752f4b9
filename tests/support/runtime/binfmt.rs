//! qemu registered in binfmt_misc for every foreign platform, so that runtimes run foreign
//! images as if they were native. Debian's qemu-user-static ships one rule per architecture in
//! /usr/lib/binfmt.d; their `F` flag makes the kernel open the interpreter at registration, so
//! no qemu is needed inside the container's rootfs.
//!
//! binfmt_misc is one table for the whole kernel. Our entries are registered under names of our
//! own, `pause-tests-<pid>-qemu-<arch>`, never touching an entry someone else made: a later run
//! recognises entries a killed run left (their pid is gone) and removes them. Registration is
//! all or nothing: if the kernel refuses one rule, the ones already registered are removed
//! before the test fails. Within this process the guards share the entries: the first
//! [`Binfmt::foreign`] registers them, the last one dropped removes them (and unmounts
//! binfmt_misc if it mounted it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::deadline::run_within;
use crate::process::output_for_cleanup;
use crate::{Need, PLATFORMS};

/// Where binfmt_misc is mounted.
const MOUNT_POINT: &str = "/proc/sys/fs/binfmt_misc";
/// Where Debian's qemu-user-static keeps its rules, as `<entry>.conf`.
const CONF_DIR: &str = "/usr/lib/binfmt.d";
/// What unregisters an entry, written to its file.
const UNREGISTER: &str = "-1";
/// How long mount and umount may take.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(10);
/// The start of every entry name this suite registers; the pid and the emulator follow.
const PREFIX: &str = "pause-tests-";

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
    /// Registers our qemu entry for each foreign platform; panics naming the rule the kernel
    /// refused, having removed the entries it had registered.
    pub fn foreign() -> Binfmt {
        let mut table = TABLE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if table.users == 0 && !Path::new(MOUNT_POINT).join("register").exists() {
            run_within(
                Command::new("mount").args(["-t", "binfmt_misc", "binfmt_misc", MOUNT_POINT]),
                MOUNT_TIMEOUT,
            );
            table.mounted = true;
        }
        remove_abandoned();
        if table.users == 0 {
            for platform in PLATFORMS.iter().filter(|platform| !platform.is_native()) {
                match register(platform.qemu, std::process::id()) {
                    Ok(entry) => table.registered.push(entry),
                    Err(error) => {
                        unregister_all(&mut table);
                        panic!("{error}");
                    }
                }
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
        if table.users == 0 {
            unregister_all(&mut table);
        }
    }
}

/// Registers an entry as a run killed before it could unregister would have left it, named for a
/// pid that no process has (above the kernel's PID_MAX_LIMIT); returns its path. For the test
/// that the next guard removes it. Call it while a guard holds binfmt_misc mounted.
pub fn register_as_a_killed_run() -> PathBuf {
    const NO_SUCH_PID: u32 = 4_194_304;
    let emulator = PLATFORMS
        .iter()
        .find(|platform| !platform.is_native())
        .expect("a foreign platform")
        .qemu;
    register(emulator, NO_SUCH_PID).unwrap_or_else(|error| panic!("{error}"))
}

/// Registers Debian's rule for `emulator` under our own entry name for process `pid`; returns
/// the entry's path.
fn register(emulator: &str, pid: u32) -> Result<PathBuf, String> {
    let debian_name = emulator.strip_suffix("-static").unwrap_or(emulator);
    let conf = Path::new(CONF_DIR).join(format!("{debian_name}.conf"));
    let rule = fs::read_to_string(&conf).map_err(|error| {
        format!(
            "cannot read {}: {error}; apt-get install qemu-user-static",
            conf.display()
        )
    })?;
    // `:name:type:offset:magic:mask:interpreter:flags`; the first character is the delimiter.
    let delimiter = rule
        .chars()
        .next()
        .ok_or(format!("{} is empty", conf.display()))?;
    let mut fields: Vec<&str> = rule.trim_end().split(delimiter).collect();
    let name = format!("{PREFIX}{pid}-{debian_name}");
    if fields.len() < 3 {
        return Err(format!("{} is not a binfmt_misc rule", conf.display()));
    }
    fields[1] = &name;
    fs::write(
        Path::new(MOUNT_POINT).join("register"),
        fields.join(&delimiter.to_string()),
    )
    .map_err(|error| format!("binfmt_misc refused {} as {name}: {error}", conf.display()))?;
    Ok(Path::new(MOUNT_POINT).join(name))
}

/// Removes the entries this process registered, and unmounts binfmt_misc if it mounted it.
fn unregister_all(table: &mut Table) {
    for entry in table.registered.drain(..) {
        if let Err(error) = fs::write(&entry, UNREGISTER) {
            eprintln!("cannot unregister {}: {error}", entry.display());
        }
    }
    if std::mem::take(&mut table.mounted) {
        let unmounted = output_for_cleanup(Command::new("umount").arg(MOUNT_POINT), MOUNT_TIMEOUT);
        if !unmounted.is_some_and(|out| out.status.success()) {
            eprintln!("cannot unmount {MOUNT_POINT}");
        }
    }
}

/// Removes entries a killed run of this suite left: ours by name, theirs by a pid that is gone.
fn remove_abandoned() {
    let Ok(entries) = fs::read_dir(MOUNT_POINT) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !xtask::procfs::exists(pid) {
            eprintln!("removing binfmt_misc entry {name}, left by a run that was killed");
            let _ = fs::write(entry.path(), UNREGISTER);
        }
    }
}
