//! The Docker API without a Docker engine: `podman system service` on a unix socket under a
//! private podman's temp dir, and the real docker CLI and docker-compose pointed at it with
//! DOCKER_HOST. Dropping it stops the service, then the podman cleans up.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::Need;
use crate::deadline::{output_within, run_within};
use crate::podman::{COMMAND_TIMEOUT, Podman};
use crate::process::{signal, wait_exit, wait_for};

pub const NEEDS: &[Need] = &[
    Need::program("docker", "docker.io"),
    Need::program("docker-compose", "docker-compose"),
];
/// How long the service may take to answer the docker CLI.
const STARTUP: Duration = Duration::from_secs(30);
/// How long the service may take to exit after SIGTERM before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(10);

pub struct DockerApi {
    service: Child,
    host: String,
    /// Dropped after the service has stopped.
    podman: Podman,
}

impl DockerApi {
    /// Serves `podman`'s containers and images as the Docker API, with no idle timeout.
    pub fn serve(podman: Podman) -> DockerApi {
        let host = format!("unix://{}", podman.dir().join("docker.sock").display());
        let log = std::fs::File::create(podman.dir().join("service.log"))
            .expect("creating the service log");
        let service = podman
            .command(&["system", "service", "--time=0", &host])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("sharing the log file"))
            .stderr(log)
            .spawn()
            .expect("starting podman system service");
        let mut api = DockerApi {
            service,
            host,
            podman,
        };
        let ready = wait_for(STARTUP, || {
            if let Some(status) = api.service.try_wait().expect("polling the service") {
                panic!(
                    "podman system service exited at start ({status}):\n{}",
                    api.log()
                );
            }
            api.docker_output(&["version"])
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

    /// `unix://<socket>`, the DOCKER_HOST of the service.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The service's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.podman.dir().join("service.log")).unwrap_or_default()
    }

    /// Runs `docker args…` against the service; it must succeed. Returns its stdout.
    pub fn docker(&self, args: &[&str]) -> String {
        run_within(&mut self.client("docker", args), COMMAND_TIMEOUT)
    }

    /// Runs `docker args…` against the service, whatever its outcome.
    pub fn docker_output(&self, args: &[&str]) -> Output {
        output_within(&mut self.client("docker", args), COMMAND_TIMEOUT)
    }

    /// `docker-compose -f file -p project args…` against the service, with `env` for the file's
    /// variables, whatever its outcome.
    pub fn compose(
        &self,
        file: &Path,
        project: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        let mut command = self.client("docker-compose", &["--no-ansi", "--project-name", project]);
        command
            .arg("--file")
            .arg(file)
            .args(args)
            .envs(env.iter().copied());
        output_within(&mut command, COMMAND_TIMEOUT)
    }

    fn client(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command.args(args).env("DOCKER_HOST", &self.host);
        command
    }
}

impl Drop for DockerApi {
    fn drop(&mut self) {
        signal(self.service.id(), "TERM");
        if wait_exit(&mut self.service, SHUTDOWN).is_none() {
            let _ = self.service.kill();
            let _ = self.service.wait();
        }
    }
}
