//! A private Docker Engine, as Debian's `docker.io` installs it (dockerd 20.10 over containerd and
//! runc), for the docker suite and the bench alike:
//!
//! - in a network namespace of its own, so that `docker0`, the bridges of user networks and the
//!   DOCKER iptables chains live and die with it instead of on the host;
//! - with every directory, socket and config under one fresh directory (data root, exec root, API
//!   socket, pidfile, daemon.json instead of /etc/docker/daemon.json, the trust key instead of
//!   /etc/docker/key.json), and the docker CLI's own config there too, not the user's ~/.docker;
//! - on a containerd of its own, started here with its root, state, socket and plugin directory
//!   (`/opt/containerd` otherwise) in that directory: left to itself, dockerd starts one that
//!   writes /opt/containerd, and it uses the system's containerd instead whenever
//!   /run/containerd/containerd.sock exists;
//! - with its containers' cgroups under a cgroup parent named after it, not `/docker`.
//!
//! What it still writes on the host whatever it is told: /run/docker/plugins (dockerd's plugin
//! sockets, a fixed path) and /run/containerd/s (the shims' sockets, a fixed path in containerd
//! 1.6). Those directories go again at the end if this engine made them and they are empty.
//!
//! [`Dockerd::stop`] (or dropping it, also while a failed test unwinds) removes every container,
//! stops dockerd and containerd, kills whatever process of its own is left (shims, container
//! processes), unmounts what is left under its directory, removes its cgroups, its network
//! namespace, the host directories above and its directory. It never panics.
//!
//! The daemons are started with `std::process::Command` rather than xshell: they outlive the call.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::engine::mounts;
use crate::engine::netns::NetworkNamespace;
use crate::engine::process::{
    kill_and_wait, output_within, pids_mentioning, spawn_logged, terminate,
};
use crate::host;

/// Debian's docker.io: the engine.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
/// Debian's docker.io: the docker CLI of the same release as the engine. By full path: a newer
/// CLI earlier on PATH (some machines ship one in /usr/local/bin) must not change what is tested.
pub const DOCKER_CLI: &str = "/usr/bin/docker";
/// Debian's containerd, which docker.io depends on.
pub const CONTAINERD: &str = "/usr/bin/containerd";
/// The package that provides [`DOCKERD`] and [`DOCKER_CLI`] (and pulls in containerd and runc).
const PACKAGE: &str = "docker.io";
/// Every private engine's network namespace, cgroup parent and directory are named with this
/// prefix, the process id and a counter.
const NAME_PREFIX: &str = "pause-dockerd-";
/// Directories dockerd and containerd create on the host whatever they are told, parents first.
pub const HOST_DIRS: &[&str] = &[
    "/run/docker",
    "/run/docker/plugins",
    "/run/containerd",
    "/run/containerd/s",
];
/// Where the cgroup hierarchies are mounted (v1 controllers, plus the cgroup2 `unified` mount).
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// How long containerd and dockerd may take to answer on their sockets (about 1 s here).
const STARTUP: Duration = Duration::from_secs(60);
/// How long dockerd and containerd may take to exit after SIGTERM.
const SHUTDOWN: Duration = Duration::from_secs(20);
/// How long one docker CLI call made by the fixture itself may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(120);
/// How often start-up and shutdown look again.
const POLL: Duration = Duration::from_millis(50);
/// How much of a daemon's log an error shows.
const LOG_TAIL_LINES: usize = 30;

/// Engines started by this process so far: keeps the names of concurrent ones apart.
static STARTED: AtomicUsize = AtomicUsize::new(0);

pub struct Dockerd {
    name: String,
    dir: PathBuf,
    netns: Option<NetworkNamespace>,
    containerd: Option<Child>,
    dockerd: Option<Child>,
    /// The [`HOST_DIRS`] this engine created before it started, parents first.
    made_host_dirs: Vec<&'static str>,
    stopped: bool,
}

impl Dockerd {
    /// Starts containerd and dockerd in a new network namespace and waits until dockerd answers.
    pub fn start() -> Result<Dockerd> {
        for program in [DOCKERD, DOCKER_CLI] {
            if host::find_program(program).is_none() {
                bail!("{program} is missing: apt-get install {PACKAGE}");
            }
        }
        let name = format!(
            "{NAME_PREFIX}{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&name);
        // create_dir, not create_dir_all: a directory that exists already is not ours to use.
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut engine = Dockerd {
            name,
            dir,
            netns: None,
            containerd: None,
            dockerd: None,
            made_host_dirs: Vec::new(),
            stopped: false,
        };
        // From here on, an error drops `engine`, which undoes whatever was done.
        // Made here, before the daemons make them: create_dir fails if anyone else made one
        // first, so only the ones this engine made are recorded, and removed at the end.
        engine.made_host_dirs = HOST_DIRS
            .iter()
            .copied()
            .filter(|dir| std::fs::create_dir(dir).is_ok())
            .collect();
        engine.write_configs()?;
        engine.netns = Some(NetworkNamespace::create(&engine.name)?);

        let config = engine.path("containerd.toml").into_os_string();
        let containerd = engine.spawn(CONTAINERD, &["--config".into(), config])?;
        let socket = engine.containerd_socket();
        wait_ready(
            engine.containerd.insert(containerd),
            &engine.dir,
            CONTAINERD,
            || socket.exists(),
        )?;

        let dockerd = engine.spawn(DOCKERD, &engine.dockerd_args())?;
        let client = engine.client_env();
        let answers = || {
            output_within(
                Command::new(DOCKER_CLI).envs(client.clone()).arg("version"),
                CLI_TIMEOUT,
            )
            .is_some_and(|output| output.status.success())
        };
        wait_ready(
            engine.dockerd.insert(dockerd),
            &engine.dir,
            DOCKERD,
            answers,
        )?;
        Ok(engine)
    }

    /// The name of the network namespace and the cgroup parent, and of the directory.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory holding everything of this engine's.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The network namespace the daemons, bridges and firewall rules live in.
    pub fn netns(&self) -> &NetworkNamespace {
        self.netns
            .as_ref()
            .expect("a started engine has its network namespace")
    }

    /// `unix://<dir>/docker.sock`.
    fn host(&self) -> String {
        format!("unix://{}", self.path("docker.sock").display())
    }

    /// The environment of a docker client (the CLI, docker-compose) of this engine: DOCKER_HOST,
    /// and DOCKER_CONFIG so that the user's ~/.docker (credential helpers, contexts) is neither
    /// read nor written.
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DOCKER_HOST", self.host()),
            (
                "DOCKER_CONFIG",
                self.path("client-config").display().to_string(),
            ),
        ]
    }

    /// What the kernel charges a container's memory cgroup now, in bytes (the container by full
    /// id): memory.usage_in_bytes under cgroup v1, memory.current under cgroup2.
    pub(crate) fn memory_usage(&self, container_id: &str) -> Option<u64> {
        let root = Path::new(CGROUP_ROOT);
        let v1 = root.join("memory").join(&self.name).join(container_id);
        let v2 = root.join(&self.name).join(container_id);
        [v1.join("memory.usage_in_bytes"), v2.join("memory.current")]
            .iter()
            .find_map(|file| std::fs::read_to_string(file).ok()?.trim().parse().ok())
    }

    /// The PIDs of dockerd and containerd, while they run.
    pub fn daemon_pids(&self) -> Vec<u32> {
        [&self.dockerd, &self.containerd]
            .into_iter()
            .flatten()
            .map(Child::id)
            .collect()
    }

    /// The last lines of dockerd's log.
    pub fn log(&self) -> String {
        tail(&log_path(&self.dir, DOCKERD))
    }

    /// Removes every container, stops the daemons and undoes everything the engine did on the
    /// host (see the module's documentation). Never panics; a second call does nothing. Returns
    /// what could not be undone.
    pub fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let mut problems = Vec::new();
        let dockerd_runs = self
            .dockerd
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)));
        if dockerd_runs && let Err(error) = self.remove_all_containers() {
            problems.push(format!("{error:#}"));
        }
        // dockerd first: it stops what still runs, then leaves its containerd alone.
        for child in [self.dockerd.as_mut(), self.containerd.as_mut()]
            .into_iter()
            .flatten()
        {
            terminate(child, SHUTDOWN);
        }
        // Left only when the daemons did not get to remove them: container processes, then the
        // shims (which have left containerd's process tree, but name its socket in their argv).
        self.kill_container_processes();
        kill_and_wait(&pids_mentioning(&self.dir.display().to_string()));
        for point in mounts::under(&self.dir) {
            let unmounted = output_within(
                Command::new("umount").arg("--lazy").arg(&point),
                CLI_TIMEOUT,
            );
            if !unmounted.is_some_and(|output| output.status.success()) {
                problems.push(format!("cannot unmount {}", point.display()));
            }
        }
        if let Err(error) = self.remove_cgroups() {
            problems.push(error);
        }
        if let Some(netns) = self.netns.as_mut()
            && let Err(error) = netns.delete()
        {
            problems.push(format!("{error:#}"));
        }
        // Another engine may use them by now: only empty ones go, children first.
        for dir in self.made_host_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            problems.push(format!("cannot remove {}: {error}", self.dir.display()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!(
                "the private dockerd {} left something behind:\n{}",
                self.name,
                problems.join("\n")
            )
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn containerd_socket(&self) -> PathBuf {
        self.path("containerd").join("containerd.sock")
    }

    fn write_configs(&self) -> Result<()> {
        let containerd = self.path("containerd");
        let at = |name: &str| containerd.join(name).display().to_string();
        // The CRI plugin is off, as in the containerd dockerd would start itself: dockerd does
        // not use it, and it would write CNI state on the host.
        let containerd_config = format!(
            "version = 2\n\
             root = \"{root}\"\n\
             state = \"{state}\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{socket}\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
            root = at("root"),
            state = at("state"),
            socket = self.containerd_socket().display(),
            opt = at("opt"),
        );
        std::fs::write(self.path("containerd.toml"), containerd_config)?;
        // The trust key's path has no command-line flag in 20.10, only this key.
        let daemon = serde_json::json!({
            "deprecated-key-path": self.path("key.json"),
        });
        std::fs::write(
            self.path("daemon.json"),
            serde_json::to_vec_pretty(&daemon)?,
        )?;
        Ok(())
    }

    fn dockerd_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut flag = |name: &str, value: &dyn AsRef<OsStr>| {
            args.push(name.into());
            args.push(value.as_ref().to_os_string());
        };
        flag("--config-file", &self.path("daemon.json"));
        flag("--containerd", &self.containerd_socket());
        flag("--data-root", &self.path("data"));
        flag("--exec-root", &self.path("exec"));
        flag("--host", &self.host());
        flag("--pidfile", &self.path("dockerd.pid"));
        // Absolute: runc puts a relative parent under its own cgroup in each hierarchy, wherever
        // the caller happened to be (here, a sandbox's memory cgroup), not at the top.
        flag("--cgroup-parent", &format!("/{}", self.name));
        args
    }

    /// Starts `program` in the engine's network namespace, its output in [`log_path`].
    fn spawn(&self, program: &str, args: &[OsString]) -> Result<Child> {
        spawn_logged(
            self.netns().command(program).args(args),
            &log_path(&self.dir, program),
        )
        .with_context(|| format!("starting {program}"))
    }

    /// [`DOCKER_CLI`] for this engine, arguments to follow.
    fn docker(&self) -> Command {
        let mut command = Command::new(DOCKER_CLI);
        command.envs(self.client_env());
        command
    }

    fn remove_all_containers(&self) -> Result<()> {
        let listed = output_within(self.docker().args(["ps", "--all", "--quiet"]), CLI_TIMEOUT)
            .context("docker ps did not finish")?;
        let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let removed = output_within(
            self.docker()
                .args(["rm", "--force", "--volumes"])
                .args(&ids),
            CLI_TIMEOUT,
        )
        .context("docker rm did not finish")?;
        if !removed.status.success() {
            bail!(
                "docker rm --force failed: {}",
                String::from_utf8_lossy(&removed.stderr).trim()
            );
        }
        Ok(())
    }

    /// The cgroup parent's directory in every hierarchy.
    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        cgroups_named(&self.name)
    }

    fn kill_container_processes(&self) {
        let mut pids = Vec::new();
        for dir in self.cgroup_dirs() {
            for cgroup in subtree(&dir) {
                let procs =
                    std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
                pids.extend(
                    procs
                        .lines()
                        .filter_map(|pid| pid.trim().parse::<u32>().ok()),
                );
            }
        }
        pids.sort_unstable();
        pids.dedup();
        kill_and_wait(&pids);
    }

    /// cgroupfs removes a cgroup with rmdir (its control files go with it), children first.
    fn remove_cgroups(&self) -> Result<(), String> {
        let mut left = Vec::new();
        for dir in self.cgroup_dirs() {
            for cgroup in subtree(&dir).into_iter().rev() {
                if let Err(error) = std::fs::remove_dir(&cgroup) {
                    left.push(format!(
                        "cannot remove the cgroup {}: {error}",
                        cgroup.display()
                    ));
                }
            }
        }
        if left.is_empty() {
            Ok(())
        } else {
            Err(left.join("\n"))
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            eprintln!("cleanup: {error:#}");
        }
    }
}

/// The cgroups called `name` at the top of every hierarchy: under each v1 controller's mount
/// (`/sys/fs/cgroup/memory/<name>`, ...) and of the `unified` cgroup2 mount here, or right under
/// /sys/fs/cgroup where cgroup2 is all there is (GitHub's runners). Each hierarchy once: some v1
/// mounts are links to a shared one (`cpu` → `cpu,cpuacct`).
pub fn cgroups_named(name: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(CGROUP_ROOT);
    let mut hierarchies: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.path().canonicalize().ok())
                .collect()
        })
        .unwrap_or_default();
    hierarchies.push(root);
    hierarchies.sort();
    hierarchies.dedup();
    let mut cgroups: Vec<PathBuf> = hierarchies
        .into_iter()
        .map(|hierarchy| hierarchy.join(name))
        .filter(|cgroup| cgroup.is_dir())
        .collect();
    cgroups.dedup();
    cgroups
}

/// `dir` and every directory below it, parents before children.
fn subtree(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    let mut index = 0;
    while index < all.len() {
        if let Ok(entries) = std::fs::read_dir(&all[index]) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                    all.push(entry.path());
                }
            }
        }
        index += 1;
    }
    all
}

/// Polls `ready` until it holds, failing with the daemon's log if the daemon exits or [`STARTUP`]
/// passes.
fn wait_ready(
    child: &mut Child,
    dir: &Path,
    program: &str,
    ready: impl Fn() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + STARTUP;
    loop {
        if ready() {
            return Ok(());
        }
        let log = || tail(&log_path(dir, program));
        if let Ok(Some(status)) = child.try_wait() {
            bail!("{program} exited at start ({status}):\n{}", log());
        }
        if Instant::now() >= deadline {
            bail!("{program} did not answer within {STARTUP:?}:\n{}", log());
        }
        std::thread::sleep(POLL);
    }
}

/// `<dir>/<program's file name>.log`.
fn log_path(dir: &Path, program: &str) -> PathBuf {
    let name = Path::new(program)
        .file_name()
        .map_or_else(|| program.into(), |name| name.to_string_lossy());
    dir.join(format!("{name}.log"))
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo xtask test` installs the prerequisites: the engine's packages must be among them, or
    /// a fresh CI machine has no engine and the docker suite skips.
    #[test]
    fn the_engine_is_a_prerequisite() {
        for package in [PACKAGE, "containerd"] {
            assert!(
                crate::tools::packages::PACKAGES
                    .iter()
                    .any(|(name, _)| *name == package),
                "{package} is not in prerequisites::PACKAGES"
            );
        }
    }
}
