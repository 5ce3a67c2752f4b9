//! The orphan storm: the peer runs as PID 1 of a fresh PID namespace (`unshare --pid --fork`),
//! `bench/orphan_storm.c` joins that namespace (`nsenter --pid`), forks ORPHANS children that exit
//! at once and stay unreaped, then exits itself: all of them are reparented to the peer as zombies
//! in one go. Timed from the spawner's release until the peer is back to the children it had before
//! (zombies are children until reaped), as its /proc/PID/task/PID/children shows.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::procfs;

pub(crate) const ORPHANS: u64 = 10_000;
/// Long enough for every peer to come to rest before the storm (tini's own wait times out at 1 s).
const SETTLE: Duration = Duration::from_millis(300);
/// How often the peer's children are listed while it drains. Listing holds the kernel's tasklist
/// lock, which reaping needs too: often enough for a drain of tens of milliseconds, rarely enough
/// not to slow it down.
const POLL: Duration = Duration::from_millis(1);
/// A peer still holding zombies after this long does not reap them.
const GIVE_UP: Duration = Duration::from_secs(60);

pub(crate) fn drain_time(orphan_storm: &Path, command: &[PathBuf]) -> Result<Duration> {
    let namespace = Namespace::start(command)?;
    let pid = namespace.init_pid()?;
    std::thread::sleep(SETTLE);
    let before = children(pid)?;

    let mut spawner = Command::new("nsenter")
        .arg(format!("--target={pid}"))
        .args(["--pid", "--"])
        .arg(orphan_storm)
        .arg(ORPHANS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the orphan storm with nsenter")?;
    let mut ready = String::new();
    BufReader::new(spawner.stdout.take().expect("piped")).read_line(&mut ready)?;
    if ready.trim() != "ready" {
        let _ = spawner.wait();
        bail!("the orphan storm's spawner failed before forking {ORPHANS} children (see above)");
    }

    let start = Instant::now();
    drop(spawner.stdin.take());
    if !spawner.wait()?.success() {
        bail!("the orphan storm's spawner failed (see above)");
    }
    while children(pid)? != before {
        if start.elapsed() > GIVE_UP {
            bail!(
                "{} still has children left from the storm after {GIVE_UP:?}",
                command[0].display()
            );
        }
        std::thread::sleep(POLL);
    }
    Ok(start.elapsed())
}

/// The pids of a process's children, zombies included, as listed by the kernel.
fn children(pid: u32) -> Result<Vec<u32>> {
    procfs::children(pid).with_context(|| format!("process {pid} (the peer under test) is gone"))
}

/// `unshare --pid --fork --kill-child PEER`: killing unshare kills the peer, which takes the whole
/// namespace with it, also when the bench fails half-way.
struct Namespace(Child);

impl Namespace {
    fn start(command: &[PathBuf]) -> Result<Namespace> {
        let child = Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child"])
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting unshare")?;
        Ok(Namespace(child))
    }

    /// The host pid of the namespace's PID 1: unshare's only child.
    fn init_pid(&self) -> Result<u32> {
        let unshare = self.0.id();
        let start = Instant::now();
        loop {
            if let Some(&pid) = children(unshare)?.first() {
                return Ok(pid);
            }
            if start.elapsed() > GIVE_UP {
                bail!("unshare started no process");
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
