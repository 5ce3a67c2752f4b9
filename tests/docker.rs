//! The docker way, for real, without a Docker engine: the docker CLI and docker-compose talk to
//! podman's Docker API. `docker load` of our tarball, `docker run` of a pod anchored by pause
//! with `--net=container:` / `--pid=container:`, the same pod as a compose file, and
//! `docker stop` ending pause with exit code 0.

use std::path::PathBuf;
use std::time::Duration;

use pause_tests::docker_api::{self, DockerApi};
use pause_tests::podman::{self, Podman};
use pause_tests::process::wait_for;
use pause_tests::{Need, Platform, app_image, image, pod, ready};

/// The page the web containers serve.
const PAGE: &str = "hello from the docker way";
/// The page the compose file's web service serves.
const COMPOSE_PAGE: &str = "hello from compose";
/// The compose project the test runs the file as.
const PROJECT: &str = "pausetest";
/// How long the compose checker may take to log what it saw.
const SETTLE: Duration = Duration::from_secs(30);
/// The Docker engine's default grace period, in seconds. podman 4.3's Docker API records a
/// container's stop timeout as 0 when `docker run` leaves it out, and `docker stop` without `-t`
/// then kills at once (exit code 137); the anchor states the engine's default explicitly.
const GRACE_SECONDS: &str = "10";
/// The error podman gives `docker-compose down` when it removes the anchor before the
/// containers that joined it (the Docker engine allows that order; podman does not).
const DEPENDENTS_ERROR: &str = "has dependent containers";

fn needs() -> Vec<Need> {
    let mut needs = vec![Need::Root];
    needs.extend(docker_api::NEEDS);
    needs.extend(podman::NEEDS);
    needs.extend(app_image::NEEDS);
    needs
}

#[test]
fn docker_cli_and_compose_through_podman() {
    if !ready("docker::docker_cli_and_compose_through_podman", &needs()) {
        return;
    }
    let api = DockerApi::serve(Podman::offline());

    // The tarball's docker-archive half, read by a real Docker client.
    let loaded = api.docker(&["load", "--input", &image::archive().display().to_string()]);
    let pause = loaded
        .lines()
        .find_map(|line| line.strip_prefix("Loaded image: "))
        .unwrap_or_else(|| panic!("`docker load` named no image:\n{loaded}"))
        .trim()
        .to_string();
    let host = Platform::host().expect("a supported host platform");
    let inspected = api.docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Entrypoint}} {{.Config.User}} {{.Os}}/{{.Architecture}}",
        &pause,
    ]);
    assert_eq!(
        inspected.trim(),
        format!(
            "[\"/pause\"] {id}:{id} linux/{}",
            host.arch,
            id = pod::PAUSE_ID
        ),
        "`docker image inspect {pause}`"
    );

    let work = tempfile::tempdir().expect("creating a temp dir");
    let rootfs = app_image::rootfs_tar(work.path());
    api.docker(&[
        "import",
        &rootfs.display().to_string(),
        app_image::LOCAL_NAME,
    ]);
    let app = app_image::LOCAL_NAME;

    // The pod, by hand. Only loopback: the containers share the anchor's, and podman writes no
    // firewall rules.
    api.docker(&[
        "run",
        "--detach",
        "--name",
        "anchor",
        "--network",
        "none",
        "--stop-timeout",
        GRACE_SECONDS,
        &pause,
    ]);
    let joined = ["--net=container:anchor", "--pid=container:anchor"];
    let web = app_image::serve_page(PAGE);
    api.docker(
        &[
            &["run", "--detach", "--name", "web"][..],
            &joined,
            &[app, "/bin/sh", "-c", &web],
        ]
        .concat(),
    );
    let client = app_image::fetch_and_list();
    let ps = api.docker(
        &[
            &["run", "--rm", "--name", "client"][..],
            &joined,
            &[app, "/bin/sh", "-c", &client],
        ]
        .concat(),
    );
    assert!(
        ps.contains(PAGE),
        "the client did not get the page over localhost:\n{ps}"
    );
    pod::assert_shared_pid_namespace(&ps);
    let pid = api.docker(&["inspect", "--format", "{{.State.Pid}}", "anchor"]);
    pod::assert_runs_pause_as_its_user(pid.trim());

    // `docker stop` without -t: SIGTERM, and pause exits 0 within the grace period instead of
    // being killed when it ends (which would be 137).
    api.docker(&["stop", "anchor"]);
    let exit = api.docker(&["inspect", "--format", "{{.State.ExitCode}}", "anchor"]);
    assert_eq!(
        exit.trim(),
        "0",
        "the anchor's exit code after `docker stop anchor`"
    );
    api.docker(&["rm", "--force", "web"]);
    api.docker(&["rm", "--force", "anchor"]);

    // The same pod as a compose file.
    let compose_file: PathBuf = xtask::project::root()
        .join("tests")
        .join("compose")
        .join("compose.yaml");
    let env = [("PAUSE_IMAGE", pause.as_str()), ("APP_IMAGE", app)];
    let compose = |args: &[&str]| api.compose(&compose_file, PROJECT, &env, args);
    let up = compose(&["up", "--detach"]);
    assert!(
        up.status.success(),
        "docker-compose up failed:\n{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let mut logs = String::new();
    let seen = wait_for(SETTLE, || {
        logs = String::from_utf8_lossy(&compose(&["logs", "--no-color", "checker"]).stdout)
            .into_owned();
        (logs.contains(COMPOSE_PAGE) && logs.contains("/pause")).then_some(())
    });
    assert!(
        seen.is_some(),
        "the checker did not log the page and the pod's processes within {SETTLE:?}:\n{logs}"
    );
    pod::assert_shared_pid_namespace(
        &logs
            .lines()
            .map(|line| line.split_once('|').map_or(line, |(_, log)| log))
            .collect::<Vec<_>>()
            .join("\n"),
    );

    let stop = compose(&["stop"]);
    assert!(
        stop.status.success(),
        "docker-compose stop failed:\n{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let exit = api.docker(&[
        "inspect",
        "--format",
        "{{.State.ExitCode}}",
        &format!("{PROJECT}_pause_1"),
    ]);
    assert_eq!(
        exit.trim(),
        "0",
        "the pause service's exit code after `docker-compose stop`"
    );

    // `docker-compose down` removes containers in parallel; podman refuses to remove the anchor
    // while a container that joined it exists, so the first `down` may leave the anchor, and a
    // second one removes it.
    let down = compose(&["down"]);
    let stderr = String::from_utf8_lossy(&down.stderr);
    if stderr.contains(DEPENDENTS_ERROR) {
        let again = compose(&["down"]);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(
            again.status.success() && !stderr.contains("ERROR"),
            "a second docker-compose down failed:\n{stderr}"
        );
    } else {
        assert!(
            down.status.success() && !stderr.contains("ERROR"),
            "docker-compose down failed:\n{stderr}"
        );
    }
    let left = api.docker(&["ps", "--all", "--quiet"]);
    assert!(
        left.trim().is_empty(),
        "containers left after docker-compose down:\n{left}"
    );
}
