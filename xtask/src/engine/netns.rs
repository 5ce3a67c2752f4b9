//! A network namespace of our own, for a daemon whose bridges and firewall rules must never touch
//! the host's network: `ip netns add` names it under /run/netns, `nsenter --net=` runs programs in
//! it, and deleting it takes every interface and iptables rule in it along (once the last process
//! in it has gone).
//!
//! Not `ip netns exec`: it remounts /sys for the namespace, which hides the cgroup v1 mounts
//! (dockerd then fails with "Devices cgroup isn't mounted"). `nsenter --net=` changes nothing else.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::engine::mounts;
use crate::engine::process::output_within;

/// Where `ip netns` keeps named namespaces. On first use it makes the directory a (shared) bind
/// mount of itself, so that the namespaces mounted in it propagate to every mount namespace.
const NETNS_DIR: &str = "/run/netns";
/// How long `ip` and `umount` may take when cleaning up.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// This process's namespaces that exist now, and whether we made /run/netns for the first of them
/// (`ip netns add` then makes it a bind mount): it goes again once the last of ours is deleted, if
/// nobody else's is in it.
static OURS: Mutex<Ours> = Mutex::new(Ours {
    live: 0,
    made_netns_dir: false,
});

struct Ours {
    live: usize,
    made_netns_dir: bool,
}

pub struct NetworkNamespace {
    name: String,
    deleted: bool,
}

impl NetworkNamespace {
    /// Creates the namespace `name`, with its loopback up.
    pub fn create(name: &str) -> Result<NetworkNamespace> {
        let sh = Shell::new()?;
        {
            let mut ours = OURS.lock().unwrap_or_else(PoisonError::into_inner);
            if ours.live == 0 {
                // Made here rather than by `ip netns add`: create_dir fails if anyone else made
                // it first, so it is recorded as ours only when it is.
                ours.made_netns_dir = std::fs::create_dir(NETNS_DIR).is_ok();
            }
            cmd!(sh, "ip netns add {name}")
                .quiet()
                .run()
                .with_context(|| format!("creating the network namespace {name}"))?;
            ours.live += 1;
        }
        let namespace = NetworkNamespace {
            name: name.to_string(),
            deleted: false,
        };
        let status = namespace
            .command("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .context("running ip in the new network namespace")?;
        if !status.success() {
            bail!("cannot bring up the loopback of the network namespace {name}");
        }
        Ok(namespace)
    }

    /// `/run/netns/<name>`: what `nsenter --net=` and `ip netns` take.
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }

    /// `program` to be run inside the namespace (through `nsenter --net=`), arguments to follow.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net={}", self.path().display()))
            .arg("--")
            .arg(program);
        command
    }

    /// Removes the namespace's name; the namespace itself, with its interfaces and firewall
    /// rules, ends when its last process has. Then /run/netns, if ours made it and it is empty.
    /// Never panics; a second call does nothing.
    pub fn delete(&mut self) -> Result<()> {
        if self.deleted {
            return Ok(());
        }
        let deleted = output_within(
            Command::new("ip").args(["netns", "delete", &self.name]),
            TOOL_TIMEOUT,
        );
        match deleted {
            Some(output) if output.status.success() || !self.path().exists() => {}
            Some(output) => bail!(
                "ip netns delete {} failed: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            None => bail!("ip netns delete {} did not finish", self.name),
        }
        self.deleted = true;
        let mut ours = OURS.lock().unwrap_or_else(PoisonError::into_inner);
        ours.live -= 1;
        if ours.live == 0 && ours.made_netns_dir {
            remove_netns_dir_if_empty();
        }
        Ok(())
    }
}

impl Drop for NetworkNamespace {
    fn drop(&mut self) {
        if let Err(error) = self.delete() {
            eprintln!("cleanup: {error:#}");
        }
    }
}

/// Another user of `ip netns` may have added a namespace meanwhile: then the directory stays.
fn remove_netns_dir_if_empty() {
    let dir = Path::new(NETNS_DIR);
    let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if !empty {
        return;
    }
    if mounts::is_mount_point(dir) {
        let _ = output_within(Command::new("umount").arg(dir), TOOL_TIMEOUT);
    }
    let _ = std::fs::remove_dir(dir);
}
