//! The docker suite's engines behind one face: the real Docker Engine (a private dockerd, see
//! `xtask::engine::dockerd`: Debian 12's 20.10, and Debian unstable's 28 with its own image store
//! or containerd's) and podman's Docker API (see [`crate::runtime::docker_api`]), each in a
//! network namespace of its own. Each engine is driven by its docker CLI (28's for Docker 28,
//! Debian 12's 20.10 for the others) and a compose client ([`Compose`]): Debian 12's
//! docker-compose 1.29, and on Docker 28 also compose v2 as `docker compose`, all by full path.
//! The suite's recipes take an [`Engine`] and run the same commands against any; where the
//! engines differ, they ask its [`Kind`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use xtask::engine::dockerd::{DOCKER_CLI, Dockerd, ImageStore, Release};
use xtask::engine::netns::NetworkNamespace;

use crate::deadline::{output_within, run_within};
use crate::runtime::docker_api::{self, DockerApi};
use crate::runtime::{app_image, dockerd, podman};
use crate::{Need, image, ready};

/// Debian's docker-compose 1.29 (Python), by full path: a docker-compose v2 elsewhere on PATH
/// must not change what is tested.
pub const DOCKER_COMPOSE: &str = "/usr/bin/docker-compose";
/// How long one docker CLI or docker-compose command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// What `docker load` prints for each image it stored.
const LOADED: &str = "Loaded image: ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Docker Engine 20.10, Debian 12's docker.io.
    Docker20_10,
    /// Docker Engine 28 from Debian unstable, over containerd 2, with its own image store.
    Docker28,
    /// Docker Engine 28 with the containerd image store.
    Docker28ContainerdStore,
    /// podman 4.3's Docker API (`podman system service`).
    PodmanApi,
}

impl Kind {
    /// What a test report calls it: the suite's module of its tests.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Docker20_10 => "docker_20_10",
            Kind::Docker28 => "docker_28",
            Kind::Docker28ContainerdStore => "docker_28_containerd_store",
            Kind::PodmanApi => "podman_api",
        }
    }

    /// The Docker Engine release and image store, for the real engines.
    fn dockerd(self) -> Option<(Release, ImageStore)> {
        match self {
            Kind::Docker20_10 => Some((Release::V20_10, ImageStore::GraphDriver)),
            Kind::Docker28 => Some((Release::V28, ImageStore::GraphDriver)),
            Kind::Docker28ContainerdStore => Some((Release::V28, ImageStore::Containerd)),
            Kind::PodmanApi => None,
        }
    }

    /// Whether it is a real Docker Engine, of either release.
    pub fn is_docker(self) -> bool {
        self.dockerd().is_some()
    }

    /// Whether the engine and the rest of what `test` needs (`needs`) are here: reports `test`
    /// skipped otherwise, and fails it when Debian unstable served an engine below its floor.
    pub fn ready(self, test: &str, needs: &[Need]) -> bool {
        let mut all = vec![Need::Root];
        all.extend_from_slice(needs);
        match self.dockerd() {
            Some((Release::V20_10, _)) => all.extend(dockerd::NEEDS),
            Some((Release::V28, _)) => all.extend(dockerd::NEEDS_28),
            None => {
                all.extend(docker_api::NEEDS);
                all.extend(podman::NEEDS);
            }
        }
        if !ready(test, &all) {
            return false;
        }
        match self.dockerd() {
            Some((Release::V28, _)) => dockerd::unstable_ready(test),
            _ => true,
        }
    }
}

/// The compose client a recipe drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compose {
    /// Debian 12's docker-compose 1.29 (Python), a program of its own.
    V1_29,
    /// compose v2, the docker CLI 28's `docker compose` plugin.
    V2,
}

impl Compose {
    /// The container compose makes for `service` of `project`: 1.29 joins the parts with `_`,
    /// v2 with `-`.
    pub fn container(self, project: &str, service: &str) -> String {
        match self {
            Compose::V1_29 => format!("{project}_{service}_1"),
            Compose::V2 => format!("{project}-{service}-1"),
        }
    }
}

enum Backend {
    Dockerd(Dockerd),
    Podman(DockerApi),
}

/// The images every recipe uses, loaded once per engine.
pub struct Images {
    /// Ours, as `docker load` named it.
    pub pause: String,
    /// The busybox app image, imported from a rootfs tarball.
    pub app: &'static str,
}

/// What an engine is made of on the host, to look for after it has stopped.
pub struct Footprint {
    /// The directory holding all its state.
    pub dir: PathBuf,
    /// Its network namespace, under /run/netns.
    pub netns: PathBuf,
    /// Its daemons' PIDs.
    pub daemon_pids: Vec<u32>,
    /// The cgroup parent of its containers, when it is the engine's alone.
    pub cgroup_parent: Option<String>,
}

pub struct Engine {
    kind: Kind,
    backend: Backend,
    images: OnceLock<Images>,
}

/// The engine of each kind that the tests running at the moment share.
static SHARED: [Mutex<Weak<Engine>>; 4] = [const { Mutex::new(Weak::new()) }; 4];

impl Engine {
    /// A new engine of `kind`, for one test alone.
    pub fn start(kind: Kind) -> Engine {
        let backend = match kind.dockerd() {
            Some((release, store)) => Backend::Dockerd(
                Dockerd::start_with(release, store).unwrap_or_else(|error| panic!("{error:#}")),
            ),
            None => Backend::Podman(DockerApi::start()),
        };
        Engine {
            kind,
            backend,
            images: OnceLock::new(),
        }
    }

    /// The engine of `kind` that the tests running now share: one starts with the first of them
    /// and stops when the last one drops it, also when a test fails (Rust's test harness has no
    /// suite teardown, so a static engine would never stop).
    pub fn shared(kind: Kind) -> Arc<Engine> {
        let slot = &SHARED[kind as usize];
        let mut current = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = current.upgrade() {
            return engine;
        }
        let engine = Arc::new(Engine::start(kind));
        *current = Arc::downgrade(&engine);
        engine
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The environment of a docker client of this engine (DOCKER_HOST, DOCKER_CONFIG).
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        match &self.backend {
            Backend::Dockerd(dockerd) => dockerd.client_env(),
            Backend::Podman(api) => api.client_env(),
        }
    }

    /// The engine's network namespace: its bridges, its containers' addresses.
    pub fn netns(&self) -> &NetworkNamespace {
        match &self.backend {
            Backend::Dockerd(dockerd) => dockerd.netns(),
            Backend::Podman(api) => api.netns(),
        }
    }

    /// `program` to be run on the host side of the engine's network: in its namespace.
    pub fn in_netns(&self, program: &str) -> Command {
        self.netns().command(program)
    }

    /// The docker CLI for this engine, arguments to follow: the engine's own release's for
    /// Docker Engine, Debian 12's for podman.
    pub fn docker_command(&self, args: &[&str]) -> Command {
        let mut command = match &self.backend {
            Backend::Dockerd(dockerd) => dockerd.docker(),
            Backend::Podman(api) => {
                let mut command = Command::new(DOCKER_CLI);
                command.envs(api.client_env());
                command
            }
        };
        command.args(args);
        command
    }

    /// What runs: the engine and its components, and the docker CLI, as `docker version` says.
    pub fn versions(&self) -> String {
        let template = "{{.Server.Version}} ({{range $i, $c := .Server.Components}}\
                        {{if $i}}, {{end}}{{$c.Name}} {{$c.Version}}{{end}}), \
                        docker CLI {{.Client.Version}}";
        self.docker(&["version", "--format", template])
            .trim()
            .to_string()
    }

    /// Runs `docker args…`, which must succeed; returns its stdout.
    pub fn docker(&self, args: &[&str]) -> String {
        run_within(&mut self.docker_command(args), COMMAND_TIMEOUT)
    }

    /// Runs `docker args…`, whatever its outcome.
    pub fn docker_output(&self, args: &[&str]) -> Output {
        output_within(&mut self.docker_command(args), COMMAND_TIMEOUT)
    }

    /// A container's field, through `docker inspect --format`.
    pub fn inspect(&self, container: &str, template: &str) -> String {
        self.docker(&["inspect", "--format", template, container])
            .trim()
            .to_string()
    }

    /// The host PID of a container's first process.
    pub fn pid(&self, container: &str) -> u32 {
        let pid = self.inspect(container, "{{.State.Pid}}");
        pid.parse()
            .unwrap_or_else(|_| panic!("{container} has no process: State.Pid is {pid:?}"))
    }

    /// `docker logs`: what the container wrote on stdout, then on stderr (the CLI passes each to
    /// its own).
    pub fn logs(&self, container: &str) -> String {
        let out = self.docker_output(&["logs", container]);
        assert!(
            out.status.success(),
            "docker logs {container} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// `client`'s command, before its own arguments: `docker-compose`, or `docker compose` with
    /// this engine's CLI.
    fn compose_command(&self, client: Compose) -> Command {
        match client {
            Compose::V1_29 => {
                let mut command = Command::new(DOCKER_COMPOSE);
                command.envs(self.client_env());
                command
            }
            Compose::V2 => self.docker_command(&["compose"]),
        }
    }

    /// `client`'s version, as it prints it.
    pub fn compose_version(&self, client: Compose) -> String {
        let mut command = self.compose_command(client);
        command.arg("version");
        run_within(&mut command, COMMAND_TIMEOUT).trim().to_string()
    }

    /// `docker-compose` or `docker compose` `-f file -p project args…` against this engine,
    /// with `env` for the file's variables, whatever its outcome.
    pub fn compose(
        &self,
        client: Compose,
        file: &Path,
        project: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        let mut command = self.compose_command(client);
        command
            .args(["--ansi", "never", "--project-name", project, "--file"])
            .arg(file)
            .args(args)
            .envs(env.iter().copied());
        output_within(&mut command, COMMAND_TIMEOUT)
    }

    /// `docker load` of `target/image/pause.tar`: the name it gave the image.
    pub fn load_pause(&self) -> String {
        let loaded = self.docker(&["load", "--input", &image::archive().display().to_string()]);
        loaded
            .lines()
            .find_map(|line| line.strip_prefix(LOADED))
            .unwrap_or_else(|| panic!("`docker load` named no image:\n{loaded}"))
            .trim()
            .to_string()
    }

    /// Our image and the app image, loaded into the engine by the first test that asks.
    pub fn images(&self) -> &Images {
        self.images.get_or_init(|| {
            let pause = self.load_pause();
            let work = tempfile::tempdir().expect("creating a temp dir");
            let rootfs = app_image::rootfs_tar(work.path());
            self.docker(&[
                "import",
                &rootfs.display().to_string(),
                app_image::LOCAL_NAME,
            ]);
            Images {
                pause,
                app: app_image::LOCAL_NAME,
            }
        })
    }

    /// Where its state, namespace, daemons and cgroups are.
    pub fn footprint(&self) -> Footprint {
        match &self.backend {
            Backend::Dockerd(dockerd) => Footprint {
                dir: dockerd.dir().to_path_buf(),
                netns: dockerd.netns().path(),
                daemon_pids: dockerd.daemon_pids(),
                cgroup_parent: Some(dockerd.name().to_string()),
            },
            Backend::Podman(api) => Footprint {
                dir: api.dir().to_path_buf(),
                netns: api.netns().path(),
                daemon_pids: vec![api.service_pid()],
                // libpod_parent, shared by every rootful podman with the cgroupfs manager.
                cgroup_parent: None,
            },
        }
    }

    /// The engine's own log, for failure messages.
    pub fn log(&self) -> String {
        match &self.backend {
            Backend::Dockerd(dockerd) => dockerd.log(),
            Backend::Podman(api) => api.log(),
        }
    }
}
