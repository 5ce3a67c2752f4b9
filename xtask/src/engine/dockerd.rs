//! A private Docker Engine, for the docker suite and the bench alike: Debian 12's `docker.io`
//! (dockerd 20.10 over Debian 12's containerd 1.6), or Debian unstable's (dockerd 28 over
//! unstable's containerd 2, as `cargo xtask test` unpacks them, see `tools::debian_unstable`),
//! with or without its containerd image store ([`Release`], [`ImageStore`]); Debian 12's runc
//! under both:
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
//! 1.6 and 2.1). Those directories go again when the last engine of this process stops, if this
//! process made them and they are empty.
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
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::engine::mounts;
use crate::engine::netns::NetworkNamespace;
use crate::engine::process::{
    kill_and_wait, output_within, pids_mentioning, spawn_logged, terminate,
};
use crate::host;
use crate::tools::debian_unstable;

/// Debian's docker.io: the engine.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
/// Debian's docker.io: the docker CLI of the same release as the engine. By full path: a newer
/// CLI earlier on PATH (some machines ship one in /usr/local/bin) must not change what is tested.
pub const DOCKER_CLI: &str = "/usr/bin/docker";
/// Debian's containerd, which docker.io depends on.
pub const CONTAINERD: &str = "/usr/bin/containerd";
/// Where the unstable packages put the engine, its CLI, containerd (and its shim) and compose v2,
/// under `debian_unstable::root()`: the same paths as Debian 12's, one tree over.
const UNPACKED_DOCKERD: &str = "usr/sbin/dockerd";
const UNPACKED_DOCKER_CLI: &str = "usr/bin/docker";
const UNPACKED_CONTAINERD: &str = "usr/bin/containerd";
/// The directories of the unpacked programs dockerd 28 and containerd 2 start by name:
/// docker-proxy, docker-init, containerd-shim-runc-v2. Put before the system's PATH, which still
/// gives them Debian 12's runc.
const UNPACKED_PROGRAM_DIRS: &[&str] = &["usr/sbin", "usr/bin"];
/// compose v2, the `docker compose` plugin of the docker CLI 28.
const UNPACKED_CLI_PLUGINS: &str = "usr/libexec/docker/cli-plugins";
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

/// The docker CLI's config directory (DOCKER_CONFIG), under the engine's.
const CLIENT_CONFIG: &str = "client-config";
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

/// The [`HOST_DIRS`] the engines of this process made, parents first, and how many of them run.
/// Engines run side by side (the docker suite runs both releases at once), and one may still hold
/// sockets in a directory another made: the last one to stop removes them.
struct HostDirsMade {
    made: Vec<&'static str>,
    engines: usize,
}

static HOST_DIRS_MADE: Mutex<HostDirsMade> = Mutex::new(HostDirsMade {
    made: Vec::new(),
    engines: 0,
});

impl HostDirsMade {
    /// Counts one more engine; makes the directories nobody has, before its daemons make them:
    /// create_dir fails if anyone else made one first, so only those made here are recorded.
    fn enter() {
        let mut shared = HOST_DIRS_MADE
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shared.engines += 1;
        for dir in HOST_DIRS {
            if std::fs::create_dir(dir).is_ok() {
                shared.made.push(dir);
            }
        }
    }

    /// Counts one engine less; the last one removes the directories made here that are empty
    /// (something else may use them by now), children first.
    fn leave() {
        let mut shared = HOST_DIRS_MADE
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shared.engines -= 1;
        if shared.engines == 0 {
            for dir in std::mem::take(&mut shared.made).into_iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// Which Docker Engine, with which containerd and CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Debian 12's docker.io 20.10 over Debian 12's containerd 1.6, its CLI 20.10.
    V20_10,
    /// Debian unstable's docker.io 28 over unstable's containerd 2, the CLI 28 with compose v2 as
    /// its `docker compose` plugin.
    V28,
}

impl Release {
    /// dockerd.
    fn dockerd(self) -> PathBuf {
        self.program(DOCKERD, UNPACKED_DOCKERD)
    }

    /// The docker CLI of the same release.
    fn docker_cli(self) -> PathBuf {
        self.program(DOCKER_CLI, UNPACKED_DOCKER_CLI)
    }

    /// The containerd the engine runs on.
    fn containerd(self) -> PathBuf {
        self.program(CONTAINERD, UNPACKED_CONTAINERD)
    }

    fn program(self, debian_12: &str, unpacked: &str) -> PathBuf {
        match self {
            Release::V20_10 => PathBuf::from(debian_12),
            Release::V28 => debian_unstable::root().join(unpacked),
        }
    }
}

/// Where the engine keeps images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageStore {
    /// Its own graph driver (overlay2): the default of 20.10 and 28.
    GraphDriver,
    /// containerd's content store and snapshotter (daemon.json's
    /// `features.containerd-snapshotter`), which Docker 28 offers.
    Containerd,
}

pub struct Dockerd {
    release: Release,
    store: ImageStore,
    name: String,
    dir: PathBuf,
    netns: Option<NetworkNamespace>,
    containerd: Option<Child>,
    dockerd: Option<Child>,
    /// Whether this engine counts among the users of [`HOST_DIRS`] ([`HostDirsMade`]).
    uses_host_dirs: bool,
    stopped: bool,
}

impl Dockerd {
    /// Starts `release`'s containerd and dockerd, keeping images in `store`, in a new network
    /// namespace and waits until dockerd answers.
    pub fn start_with(release: Release, store: ImageStore) -> Result<Dockerd> {
        if release == Release::V20_10 && store == ImageStore::Containerd {
            bail!("Docker Engine 20.10 has no containerd image store");
        }
        for program in [release.dockerd(), release.docker_cli()] {
            if host::find_program(&program.display().to_string()).is_none() {
                match release {
                    Release::V20_10 => {
                        bail!(
                            "{} is missing: apt-get install {PACKAGE}",
                            program.display()
                        )
                    }
                    Release::V28 => bail!(
                        "{} is missing: cargo xtask test unpacks it from Debian unstable",
                        program.display()
                    ),
                }
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
            release,
            store,
            name,
            dir,
            netns: None,
            containerd: None,
            dockerd: None,
            uses_host_dirs: false,
            stopped: false,
        };
        // From here on, an error drops `engine`, which undoes whatever was done.
        HostDirsMade::enter();
        engine.uses_host_dirs = true;
        engine.write_configs()?;
        engine.netns = Some(NetworkNamespace::create(&engine.name)?);

        let config = engine.path("containerd.toml").into_os_string();
        let containerd_program = release.containerd();
        let containerd = engine.spawn(&containerd_program, &["--config".into(), config])?;
        let socket = engine.containerd_socket();
        wait_ready(
            engine.containerd.insert(containerd),
            &engine.dir,
            &containerd_program,
            || socket.exists(),
        )?;

        let dockerd_program = release.dockerd();
        let dockerd = engine.spawn(&dockerd_program, &engine.dockerd_args())?;
        let mut version = engine.docker();
        version.arg("version");
        let answers = || {
            output_within(&mut version, CLI_TIMEOUT).is_some_and(|output| output.status.success())
        };
        let child = engine.dockerd.insert(dockerd);
        wait_ready(child, &engine.dir, &dockerd_program, answers)?;
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
                self.path(CLIENT_CONFIG).display().to_string(),
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
        tail(&log_path(&self.dir, &self.release.dockerd()))
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
        if std::mem::take(&mut self.uses_host_dirs) {
            HostDirsMade::leave();
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
        let (root, state, opt) = (at("root"), at("state"), at("opt"));
        let socket = self.containerd_socket().display().to_string();
        // The CRI plugin is off, as in the containerd dockerd would start itself: dockerd does
        // not use it, and it would write CNI state on the host.
        let containerd_config = match self.release {
            Release::V20_10 => format!(
                "version = 2\n\
                 root = \"{root}\"\n\
                 state = \"{state}\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{socket}\"\n\
                 [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
            ),
            // containerd 2 splits the CRI into three plugins, and adds NRI, whose socket would
            // be /var/run/nri.
            Release::V28 => format!(
                "version = 3\n\
                 root = \"{root}\"\n\
                 state = \"{state}\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.cri.v1.images\", \
                 \"io.containerd.cri.v1.runtime\", \"io.containerd.nri.v1.nri\"]\n\
                 [grpc]\n  address = \"{socket}\"\n\
                 [plugins.'io.containerd.internal.v1.opt']\n  path = \"{opt}\"\n",
            ),
        };
        std::fs::write(self.path("containerd.toml"), containerd_config)?;
        let daemon = match (self.release, self.store) {
            // The trust key's path has no command-line flag in 20.10, only this key.
            (Release::V20_10, _) => serde_json::json!({
                "deprecated-key-path": self.path("key.json"),
            }),
            // 28 has no trust key any more, and refuses the key.
            (Release::V28, ImageStore::GraphDriver) => serde_json::json!({}),
            (Release::V28, ImageStore::Containerd) => serde_json::json!({
                "features": { "containerd-snapshotter": true },
            }),
        };
        std::fs::write(
            self.path("daemon.json"),
            serde_json::to_vec_pretty(&daemon)?,
        )?;
        // The CLI 28 finds compose v2 where the package put it: the system's plugin directories
        // have none (or another).
        if self.release == Release::V28 {
            let client = self.path(CLIENT_CONFIG);
            std::fs::create_dir(&client)?;
            let plugins = debian_unstable::root().join(UNPACKED_CLI_PLUGINS);
            let config = serde_json::json!({ "cliPluginsExtraDirs": [plugins] });
            std::fs::write(
                client.join("config.json"),
                serde_json::to_vec_pretty(&config)?,
            )?;
        }
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
    fn spawn(&self, program: &Path, args: &[OsString]) -> Result<Child> {
        let mut command = self.netns().command(program);
        command.args(args);
        if self.release == Release::V28 {
            let unpacked = debian_unstable::root();
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs: Vec<PathBuf> = UNPACKED_PROGRAM_DIRS
                .iter()
                .map(|dir| unpacked.join(dir))
                .collect();
            dirs.extend(std::env::split_paths(&path));
            command.env("PATH", std::env::join_paths(dirs)?);
        }
        spawn_logged(&mut command, &log_path(&self.dir, program))
            .with_context(|| format!("starting {}", program.display()))
    }

    /// The release's docker CLI, for callers that run it themselves with [`Dockerd::client_env`].
    pub fn docker_cli(&self) -> PathBuf {
        self.release.docker_cli()
    }

    /// The release's docker CLI for this engine, arguments to follow.
    pub fn docker(&self) -> Command {
        let mut command = Command::new(self.docker_cli());
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
    program: &Path,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + STARTUP;
    loop {
        if ready() {
            return Ok(());
        }
        let log = || tail(&log_path(dir, program));
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "{} exited at start ({status}):\n{}",
                program.display(),
                log()
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not answer within {STARTUP:?}:\n{}",
                program.display(),
                log()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// `<dir>/<program's file name>.log`.
fn log_path(dir: &Path, program: &Path) -> PathBuf {
    let name = program
        .file_name()
        .map_or_else(|| program.to_string_lossy(), |name| name.to_string_lossy());
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
