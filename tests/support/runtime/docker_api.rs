//! podman's Docker API as the second engine of the docker suite, as podman users run the docker
//! CLI and docker-compose: `podman system service` on a unix socket under a private podman's temp
//! dir, in a network namespace of its own (like the real engine's, so that its bridge and firewall
//! rules never reach the host's network). Dropping it stops the service, resets the podman, kills
//! the exec monitors podman keeps for minutes, and deletes the namespace.

use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use xtask::engine::dockerd::DOCKER_CLI;
use xtask::engine::netns::NetworkNamespace;

use crate::Need;
use crate::deadline::output_within;
use crate::process::{spawn_logged, terminate, wait_for};
use crate::runtime::podman::{self, Podman};

pub const NEEDS: &[Need] = &[
    Need::program(DOCKER_CLI, "docker.io"),
    Need::program("ip", "iproute2"),
    Need::program("nsenter", "util-linux"),
];
/// Each service's network namespace is named with this prefix, the process id and a counter.
const NAME_PREFIX: &str = "pause-podman-api-";
/// How long the service may take to answer the docker CLI.
const STARTUP: Duration = Duration::from_secs(30);
/// How long the service may take to exit after SIGTERM before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(10);

/// Services started by this process so far: keeps the names of concurrent ones apart.
static STARTED: AtomicUsize = AtomicUsize::new(0);

pub struct DockerApi {
    service: Child,
    host: String,
    /// Taken in `drop`, after the service has stopped: it resets the podman.
    podman: Option<Podman>,
    /// Declared last: deleted once everything in it has gone.
    netns: NetworkNamespace,
}

impl DockerApi {
    /// Serves a fresh offline podman's containers and images as the Docker API, with no idle
    /// timeout, from a new network namespace.
    pub fn start() -> DockerApi {
        let name = format!(
            "{NAME_PREFIX}{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        );
        let netns = NetworkNamespace::create(&name).expect("creating the service's netns");
        let podman = Podman::offline().in_network_namespace(&netns.path());
        let host = format!("unix://{}", podman.dir().join("docker.sock").display());
        let service = spawn_logged(
            &mut podman.command(&["system", "service", "--time=0", &host]),
            &podman.dir().join("service.log"),
        )
        .expect("starting podman system service");
        let mut api = DockerApi {
            service,
            host,
            podman: Some(podman),
            netns,
        };
        let ready = wait_for(STARTUP, || {
            if let Some(status) = api.service.try_wait().expect("polling the service") {
                panic!(
                    "podman system service exited at start ({status}):\n{}",
                    api.log()
                );
            }
            let mut version = std::process::Command::new(DOCKER_CLI);
            version.envs(api.client_env()).arg("version");
            output_within(&mut version, podman::COMMAND_TIMEOUT)
                .status
                .success()
                .then_some(())
        });
        assert!(
            ready.is_some(),
            "the docker CLI got no answer from {} within {STARTUP:?}:\n{}",
            api.host,
            api.log()
        );
        api
    }

    /// The environment of a docker client of this service: DOCKER_HOST, and a DOCKER_CONFIG of
    /// its own (the user's ~/.docker is neither read nor written).
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DOCKER_HOST", self.host.clone()),
            (
                "DOCKER_CONFIG",
                self.dir().join("client-config").display().to_string(),
            ),
        ]
    }

    /// The podman's temp dir, which holds everything of the service's.
    pub fn dir(&self) -> &Path {
        self.podman
            .as_ref()
            .expect("the podman lives as long as the service")
            .dir()
    }

    /// The network namespace the service, its containers' bridge and firewall rules live in.
    pub fn netns(&self) -> &NetworkNamespace {
        &self.netns
    }

    /// The PID of the service.
    pub fn service_pid(&self) -> u32 {
        self.service.id()
    }

    /// The service's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("service.log")).unwrap_or_default()
    }
}

impl Drop for DockerApi {
    fn drop(&mut self) {
        terminate(&mut self.service, SHUTDOWN);
        let dir = self.dir().display().to_string();
        // Removes every container, image and network, and unmounts the storage.
        drop(self.podman.take());
        // podman 4.3 keeps the conmon of every `docker exec` for 5 minutes after it ended
        // (`--exit-delay 300`), and a reset leaves it: they name the temp dir in their argv.
        xtask::engine::process::kill_and_wait(&xtask::engine::process::pids_mentioning(&dir));
    }
}
