//! The pod anchor the docker way, exactly as users run it, against the real Docker Engine (a
//! private dockerd over its own containerd, in a network namespace of its own): Debian 12's
//! docker.io 20.10 (`docker_20_10::<recipe>`) and Debian unstable's 28 over containerd 2
//! (`docker_28::<recipe>`; `docker_28_containerd_store::` loads the image into its containerd
//! image store), and podman 4.3's Docker API (`podman_api::<recipe>`). Each engine is driven by
//! the docker CLI of its release (20.10 for podman) and Debian's docker-compose 1.29; Docker 28
//! also by compose v2 (`docker compose`). Every recipe runs on each; where the engines behave
//! differently, the recipe asserts each one's behaviour. Each test prints the versions it runs.
//! `<engine>::leaves_nothing_behind` stops an engine and looks for what it left.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use pause_tests::deadline::run_within;
use pause_tests::pause::{INTERRUPTED, TERMINATED, is_waiting, state};
use pause_tests::process::{run, wait_for};
use pause_tests::runtime::app_image::{self, BUSYBOX, WEB_PORT};
use pause_tests::runtime::docker_engine::{
    COMMAND_TIMEOUT, Compose, DOCKER_COMPOSE, Engine, Images, Kind,
};
use pause_tests::runtime::host_network::{self, HostNetwork};
use pause_tests::runtime::{pod, turns};
use pause_tests::{Need, Platform, binary};
use xtask::engine::process::pids_mentioning;
use xtask::procfs;

/// The page the web containers serve.
/// How podman names the network namespaces it pins for containers in /run/netns.
const PODMAN_NETNS_PREFIX: &str = "netns-";
const PAGE: &str = "hello from the docker way";
/// The page the compose file's web service serves.
const COMPOSE_PAGE: &str = "hello from compose";
/// The compose project the test runs the file as.
const PROJECT: &str = "pausetest";
/// How long containers may take to show what a test waits for.
const SETTLE: Duration = Duration::from_secs(30);
/// Docker's default grace period, in seconds: what podman's Docker API needs spelled out.
const GRACE_SECONDS: &str = "10";
/// What `docker stop` leaves a container that SIGKILL ended: 128 + 9.
const KILLED_EXIT_CODE: &str = "137";
/// The error podman gives `docker-compose down` when it removes the anchor before the
/// containers that joined it (the Docker engine allows that order; podman does not).
const DEPENDENTS_ERROR: &str = "has dependent containers";
/// How long the app containers that only hold a namespace idle, in seconds.
const IDLE_SECONDS: &str = "3600";
/// How long the orphan lives, in seconds, before it exits and waits to be reaped.
const ORPHAN_SECONDS: u64 = 2;
/// How long a reaping PID 1 may take to reap the exited orphan.
const REAP_GRACE: Duration = Duration::from_secs(5);
/// The POSIX shared-memory object one app container makes in the pod's /dev/shm, and its content.
const SHM_FILE: &str = "/dev/shm/pause-test";
const SHM_TOKEN: &str = "shared-by-the-pod";
/// What ipcmk prints before the id of the queue it made.
const QUEUE_MADE: &str = "Message queue id: ";

/// What the real Docker Engine writes on the host by default, and must not here (everything has
/// been pointed at its private directory): checked after it stops, when absent before.
const DOCKER_DEFAULT_PATHS: &[&str] = &[
    "/etc/docker/key.json",
    "/opt/containerd",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/run/docker.sock",
    "/run/docker.pid",
    "/run/containerd/containerd.sock",
    "/run/netns",
];
/// What rootful podman writes on the host: its fixture removes them.
const PODMAN_HOST_PATHS: &[&str] = &[
    "/run/containers",
    "/run/runc",
    "/var/lib/cni",
    "/var/lib/containers",
    "/run/netns",
];

/// Where the cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The recipes share one engine of each kind; `leaves_nothing_behind` runs alone, so that what it
/// finds on the host is its own engine's.
static SUITE: RwLock<()> = RwLock::new(());

/// The tests of one engine: every recipe, and the leftovers check.
macro_rules! engine_tests {
    ($module:ident, $kind:expr, [$($recipe:ident),+ $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $recipe() {
                    super::run_recipe($kind, stringify!($recipe), super::$recipe);
                }
            )+

            #[test]
            fn leaves_nothing_behind() {
                super::leaves_nothing_behind($kind);
            }
        }
    };
}

engine_tests!(
    docker_20_10,
    super::Kind::Docker20_10,
    [
        load_and_inspect,
        pod_on_the_default_bridge,
        ipc_shared_with_the_anchor,
        stop_and_kill,
        compose_pod_with_docker_compose_1_29,
        orphans_reaped
    ]
);
engine_tests!(
    docker_28,
    super::Kind::Docker28,
    [
        load_and_inspect,
        pod_on_the_default_bridge,
        ipc_shared_with_the_anchor,
        stop_and_kill,
        compose_pod_with_docker_compose_1_29,
        compose_pod_with_compose_v2,
        orphans_reaped
    ]
);
// What changes with the containerd image store is the image, not the containers.
engine_tests!(
    docker_28_containerd_store,
    super::Kind::Docker28ContainerdStore,
    [load_and_inspect]
);
engine_tests!(
    podman_api,
    super::Kind::PodmanApi,
    [
        load_and_inspect,
        pod_on_the_default_bridge,
        ipc_shared_with_the_anchor,
        stop_and_kill,
        compose_pod_with_docker_compose_1_29,
        orphans_reaped
    ]
);

/// What the recipes need beside the engine.
fn needs() -> Vec<Need> {
    let mut needs = app_image::NEEDS.to_vec();
    needs.extend(host_network::NEEDS);
    needs.extend([
        Need::program(DOCKER_COMPOSE, "docker-compose"),
        Need::program("ipcmk", "util-linux"),
    ]);
    needs
}

fn run_recipe(kind: Kind, recipe: &str, body: fn(&Engine)) {
    let test = format!("docker::{}::{recipe}", kind.name());
    if !kind.ready(&test, &needs()) {
        return;
    }
    let _turn = turns::take("docker");
    let _sharing = SUITE.read().unwrap_or_else(PoisonError::into_inner);
    // Dropped before the guard: the last test out stops the engine.
    let engine = Engine::shared(kind);
    eprintln!("{test} runs {}", engine.versions());
    body(&engine);
}

/// What `docker load` of `pause.tar` stores, as observed on each engine.
#[derive(Debug, PartialEq, Eq)]
enum Loaded {
    /// The host's platform only, from the docker-archive's manifest.json: the image's ID is its
    /// config's digest, and its size the bytes of its layer's files (the binary).
    HostPlatform,
    /// The whole OCI index, every platform: the image's ID is the index's digest, its size the
    /// bytes of the content the host's platform uses (index, manifest, config, compressed layer).
    EveryPlatform,
}

fn loaded(kind: Kind) -> Loaded {
    match kind {
        Kind::Docker28ContainerdStore => Loaded::EveryPlatform,
        Kind::Docker20_10 | Kind::Docker28 | Kind::PodmanApi => Loaded::HostPlatform,
    }
}

/// The image as built, from the OCI layout `pause.tar` holds: the index's digest and size, and
/// the host platform's manifest size, config digest and the sizes of its config and layers.
struct Built {
    index: String,
    index_size: u64,
    config: String,
    host_content_size: u64,
}

fn built(host: &Platform) -> Built {
    let layout = pause_tests::image::layout();
    let read = |path: PathBuf| -> serde_json::Value {
        let text = fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        serde_json::from_slice(&text).expect("JSON in the layout")
    };
    let blob = |digest: &str| {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        read(layout.join("blobs").join("sha256").join(hex))
    };
    let size = |descriptor: &serde_json::Value| descriptor["size"].as_u64().expect("a size");
    let outer = read(layout.join("index.json"));
    let entry = &outer["manifests"][0];
    let index = entry["digest"].as_str().expect("the index's digest");
    let host_manifest = blob(index)["manifests"]
        .as_array()
        .expect("the index's manifests")
        .iter()
        .find(|manifest| manifest["platform"]["architecture"] == host.arch)
        .cloned()
        .expect("the host's manifest in the index");
    let manifest = blob(host_manifest["digest"].as_str().expect("a digest"));
    let layers: u64 = manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(size)
        .sum();
    Built {
        index: index.to_string(),
        index_size: size(entry),
        config: manifest["config"]["digest"]
            .as_str()
            .expect("the config's digest")
            .to_string(),
        host_content_size: size(&host_manifest) + size(&manifest["config"]) + layers,
    }
}

/// `docker load` names the image as built, and `docker image inspect` shows pause's entrypoint,
/// user and platform; the image's ID, size and platforms are what the engine's store makes of
/// the tarball ([`Loaded`]).
fn load_and_inspect(engine: &Engine) {
    // Docker reads the name from the tarball's manifest.json (RepoTags), or with the containerd
    // store and podman from index.json (org.opencontainers.image.ref.name): the tarball carries
    // the same name in both.
    let pause = engine.load_pause();
    assert_eq!(
        pause,
        xtask::build::image::default_tag(),
        "the name `docker load` gave"
    );
    let host = Platform::host().expect("a supported host platform");
    let inspected = engine.docker(&[
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
    let built = built(host);
    let loaded = loaded(engine.kind());
    let id = engine.docker(&["image", "inspect", "--format", "{{.Id}}", &pause]);
    let expected_id = match loaded {
        Loaded::HostPlatform => &built.config,
        Loaded::EveryPlatform => &built.index,
    };
    assert_eq!(
        id.trim(),
        expected_id,
        "the image's ID: {loaded:?} expected"
    );
    if engine.kind().is_docker() {
        let size = engine.docker(&["image", "inspect", "--format", "{{.Size}}", &pause]);
        let expected = match loaded {
            Loaded::HostPlatform => fs::metadata(binary(host)).expect("the host's binary").len(),
            Loaded::EveryPlatform => built.index_size + built.host_content_size,
        };
        assert_eq!(
            size.trim(),
            expected.to_string(),
            "the image's size as Docker reports it: {loaded:?} expected"
        );
    }
    // The CLI 28 inspects one platform of an image (`--platform`); 20.10's cannot.
    if matches!(
        engine.kind(),
        Kind::Docker28 | Kind::Docker28ContainerdStore
    ) {
        for platform in pause_tests::PLATFORMS {
            let inspected = engine.docker_output(&[
                "image",
                "inspect",
                "--platform",
                platform.name,
                "--format",
                "{{.Os}}/{{.Architecture}}",
                &pause,
            ]);
            let stored = inspected.status.success()
                && String::from_utf8_lossy(&inspected.stdout).trim()
                    == format!("linux/{}", platform.arch);
            let expected = loaded == Loaded::EveryPlatform || platform == host;
            assert_eq!(
                stored,
                expected,
                "{} stored: {loaded:?} expected; docker image inspect --platform said:\n{}{}",
                platform.name,
                String::from_utf8_lossy(&inspected.stdout),
                String::from_utf8_lossy(&inspected.stderr)
            );
        }
    }
}

/// The pod by hand: the anchor on the engine's default bridge, a web server and a client joining
/// its network and PID namespaces. The client reaches the server on localhost and sees /pause as
/// PID 1, running as 65535; the host side of the bridge reaches the server on the anchor's address.
fn pod_on_the_default_bridge(engine: &Engine) {
    let Images { pause, app } = engine.images();
    let anchor = "bridge-anchor";
    // No --network: the engine's default bridge gives the pod its address, as a CNI bridge does.
    engine.docker(&["run", "--detach", "--name", anchor, pause]);
    let joined = [
        format!("--net=container:{anchor}"),
        format!("--pid=container:{anchor}"),
    ];
    let joined = [joined[0].as_str(), joined[1].as_str()];
    let web = app_image::serve_page(PAGE);
    engine.docker(
        &[
            &["run", "--detach", "--name", "bridge-web"][..],
            &joined,
            &[app, "/bin/sh", "-c", &web],
        ]
        .concat(),
    );
    let client = app_image::fetch_and_list();
    let ps = engine.docker(
        &[
            &["run", "--rm"][..],
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
    let users =
        engine.docker(&[&["run", "--rm"][..], &joined, &[app], pod::PS_WITH_USERS].concat());
    pod::assert_pause_is_pid1_as_its_user(&users);
    pod::assert_runs_pause_as_its_user(&engine.pid(anchor).to_string());

    let address = engine.inspect(anchor, "{{.NetworkSettings.IPAddress}}");
    assert!(
        !address.is_empty(),
        "the anchor has no address on the default bridge"
    );
    // The host's side of the bridge (the engine's network namespace): what a node reaches a pod
    // by. The client has fetched the page already, so the server listens.
    let url = format!("http://{address}:{WEB_PORT}/");
    let page = run_within(
        engine.in_netns(BUSYBOX).args(["wget", "-qO-", &url]),
        COMMAND_TIMEOUT,
    );
    assert!(
        page.contains(PAGE),
        "the host side of the bridge got no page from {url}: {page}"
    );

    // Joiners first: podman refuses to remove a container others joined.
    engine.docker(&["rm", "--force", "bridge-web"]);
    engine.docker(&["rm", "--force", anchor]);
}

/// The anchor holds the pod's IPC namespace (`--ipc=shareable`); app containers that join it
/// (`--ipc=container:`) share its System V objects and its /dev/shm, and a container with its own
/// IPC namespace sees neither.
///
/// System V: the writer container's IPC namespace gets a message queue, and the reader container
/// lists it in /proc/sysvipc/msg, which shows the reader's own IPC namespace: the two share the
/// kernel's IPC namespace. busybox has neither ipcmk nor ipcs, so the queue is made by util-linux's
/// ipcmk from the host, entered into the writer's IPC namespace with nsenter, as a process of the
/// writer would make it.
///
/// POSIX shared memory (shm_open) is a file in /dev/shm, which the kernel's IPC namespace does not
/// cover: what makes it shared is that the engine mounts the anchor's /dev/shm into every container
/// that joins its IPC. The file the writer makes there shows that mount is shared.
fn ipc_shared_with_the_anchor(engine: &Engine) {
    let Images { pause, app } = engine.images();
    let anchor = "ipc-anchor";
    engine.docker(&[
        "run",
        "--detach",
        "--name",
        anchor,
        "--ipc=shareable",
        pause,
    ]);
    let joined = format!("--ipc=container:{anchor}");
    let writer = "ipc-writer";
    let write = format!("echo {SHM_TOKEN} > {SHM_FILE} && exec /bin/sleep {IDLE_SECONDS}");
    engine.docker(&[
        "run", "--detach", "--name", writer, &joined, app, "/bin/sh", "-c", &write,
    ]);
    let writer_pid = engine.pid(writer);
    // Once it runs sleep, it has written the file.
    let wrote = wait_for(SETTLE, || {
        (procfs::comm(writer_pid)? == "sleep").then_some(())
    });
    assert!(wrote.is_some(), "the writer did not get to its sleep");
    let namespace = |pid: u32| procfs::namespace(pid, "ipc").expect("an IPC namespace");
    assert_eq!(
        namespace(writer_pid),
        namespace(engine.pid(anchor)),
        "the writer is not in the anchor's IPC namespace"
    );

    let in_writer = format!("--ipc=/proc/{writer_pid}/ns/ipc");
    let made = run(&["nsenter", &in_writer, "ipcmk", "--queue"]);
    let id = made
        .trim()
        .strip_prefix(QUEUE_MADE)
        .unwrap_or_else(|| panic!("ipcmk made no queue: {made}"));
    let queues = run(&["nsenter", &in_writer, "cat", "/proc/sysvipc/msg"]);
    let key = queue_key(&queues, id)
        .unwrap_or_else(|| panic!("queue {id} is not in its own namespace:\n{queues}"));

    let look = format!("/bin/cat {SHM_FILE}; /bin/cat /proc/sysvipc/msg");
    let seen = engine.docker(&["run", "--rm", &joined, app, "/bin/sh", "-c", &look]);
    assert!(
        seen.contains(SHM_TOKEN),
        "a container that joined the anchor's IPC does not see the writer's {SHM_FILE}:\n{seen}"
    );
    assert_eq!(
        queue_key(&seen, id).as_deref(),
        Some(key.as_str()),
        "a container that joined the anchor's IPC does not see the writer's message queue:\n{seen}"
    );
    // The control: the same look from an IPC namespace of its own.
    let private =
        engine.docker_output(&["run", "--rm", "--ipc=private", app, "/bin/sh", "-c", &look]);
    let private = String::from_utf8_lossy(&private.stdout);
    assert!(
        !private.contains(SHM_TOKEN) && queue_key(&private, id).is_none(),
        "a container with a private IPC namespace sees the pod's objects:\n{private}"
    );

    engine.docker(&["rm", "--force", writer]);
    engine.docker(&["rm", "--force", anchor]);
}

/// The key of the System V message queue `id` in /proc/sysvipc/msg's table (key, msqid, ...).
fn queue_key(table: &str, id: &str) -> Option<String> {
    table.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 1 && fields[1] == id).then(|| fields[0].to_string())
    })
}

/// `docker stop` with the engine's default grace period (no `-t`) and `docker kill -s INT` end
/// pause with exit code 0 and its shutdown line in `docker logs`. podman 4.3's Docker API gives a
/// container created without `--stop-timeout` no grace period at all: `docker stop` kills it at
/// once (137, no shutdown line); with `--stop-timeout 10` at `docker run` it behaves as Docker.
fn stop_and_kill(engine: &Engine) {
    let pause = &engine.images().pause;
    let start = |name: &str, options: &[&str]| {
        engine.docker(
            &[
                &["run", "--detach", "--name", name],
                options,
                &[pause.as_str()],
            ]
            .concat(),
        );
        // Signalled before it blocks them, PID 1 of a namespace would ignore them.
        let pid = engine.pid(name);
        assert!(
            wait_for(SETTLE, || is_waiting(pid).then_some(())).is_some(),
            "{name}'s pause did not block in its wait"
        );
    };
    let outcome = |name: &str| {
        (
            engine.inspect(name, "{{.State.ExitCode}}"),
            engine.logs(name),
        )
    };

    start("signals-stop", &[]);
    engine.docker(&["stop", "signals-stop"]);
    let (exit, logs) = outcome("signals-stop");
    match engine.kind() {
        Kind::Docker20_10 | Kind::Docker28 | Kind::Docker28ContainerdStore => {
            assert_eq!(exit, "0", "exit code after `docker stop`; logs:\n{logs}");
            assert!(
                logs.contains(TERMINATED),
                "`docker logs` after `docker stop`:\n{logs}"
            );
        }
        Kind::PodmanApi => {
            assert_eq!(
                exit, KILLED_EXIT_CODE,
                "podman's Docker API no longer kills at once on `docker stop` without a stop \
                 timeout: drop the quirk from docs/runtimes.md; logs:\n{logs}"
            );
            assert!(
                !logs.contains(TERMINATED),
                "pause got SIGTERM after all:\n{logs}"
            );
            start("signals-stop-timeout", &["--stop-timeout", GRACE_SECONDS]);
            engine.docker(&["stop", "signals-stop-timeout"]);
            let (exit, logs) = outcome("signals-stop-timeout");
            assert_eq!(exit, "0", "exit code after `docker stop`; logs:\n{logs}");
            assert!(
                logs.contains(TERMINATED),
                "`docker logs` after `docker stop`:\n{logs}"
            );
        }
    }

    start("signals-int", &[]);
    engine.docker(&["kill", "--signal", "INT", "signals-int"]);
    let exited = wait_for(SETTLE, || {
        (engine.inspect("signals-int", "{{.State.Status}}") == "exited").then_some(())
    });
    assert!(exited.is_some(), "pause did not exit after SIGINT");
    let (exit, logs) = outcome("signals-int");
    assert_eq!(
        exit, "0",
        "exit code after `docker kill -s INT`; logs:\n{logs}"
    );
    assert!(
        logs.contains(INTERRUPTED),
        "`docker logs` after SIGINT:\n{logs}"
    );

    for name in ["signals-stop", "signals-stop-timeout", "signals-int"] {
        let _ = engine.docker_output(&["rm", "--force", name]);
    }
}

fn compose_pod_with_docker_compose_1_29(engine: &Engine) {
    compose_pod(engine, Compose::V1_29);
}

fn compose_pod_with_compose_v2(engine: &Engine) {
    compose_pod(engine, Compose::V2);
}

/// The compose file of `tests/compose/` through `client`: `up` starts the pod, the checker logs
/// the page and /pause as PID 1, `stop` ends pause with exit code 0, and `down` removes every
/// container and network of the project (in one run on Docker; podman may refuse the anchor
/// while its joiners still exist, and a second run removes it).
fn compose_pod(engine: &Engine, client: Compose) {
    eprintln!("compose client: {}", engine.compose_version(client));
    let Images { pause, app } = engine.images();
    let compose_file: PathBuf = xtask::project::root()
        .join("tests")
        .join("compose")
        .join("compose.yaml");
    let env = [("PAUSE_IMAGE", pause.as_str()), ("APP_IMAGE", *app)];
    let compose = |args: &[&str]| engine.compose(client, &compose_file, PROJECT, &env, args);
    let stderr =
        |output: &std::process::Output| String::from_utf8_lossy(&output.stderr).into_owned();

    let up = compose(&["up", "--detach"]);
    assert!(
        up.status.success(),
        "docker-compose up failed:\n{}",
        stderr(&up)
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
    // compose prefixes each line with `<service> | `.
    let ps: Vec<&str> = logs
        .lines()
        .map(|line| line.split_once('|').map_or(line, |(_, log)| log))
        .collect();
    pod::assert_shared_pid_namespace(&ps.join("\n"));

    let stop = compose(&["stop"]);
    assert!(
        stop.status.success(),
        "docker-compose stop failed:\n{}",
        stderr(&stop)
    );
    let service = client.container(PROJECT, "pause");
    let exit = engine.inspect(&service, "{{.State.ExitCode}}");
    let pause_logs = engine.logs(&service);
    assert_eq!(
        exit, "0",
        "exit code after `docker-compose stop`:\n{pause_logs}"
    );
    assert!(
        pause_logs.contains(TERMINATED),
        "pause's log:\n{pause_logs}"
    );

    let down = compose(&["down"]);
    let first = stderr(&down);
    match engine.kind() {
        Kind::Docker20_10 | Kind::Docker28 | Kind::Docker28ContainerdStore => assert!(
            down.status.success() && !first.contains("ERROR"),
            "docker-compose down failed:\n{first}"
        ),
        Kind::PodmanApi if first.contains(DEPENDENTS_ERROR) => {
            let again = compose(&["down"]);
            let second = stderr(&again);
            assert!(
                again.status.success() && !second.contains("ERROR"),
                "a second docker-compose down failed:\n{second}"
            );
        }
        Kind::PodmanApi => assert!(
            down.status.success() && !first.contains("ERROR"),
            "docker-compose down failed:\n{first}"
        ),
    }
    let label = format!("label=com.docker.compose.project={PROJECT}");
    for listing in [&["ps", "--all"][..], &["network", "ls"], &["volume", "ls"]] {
        let left = engine.docker(&[listing, &["--quiet", "--filter", &label]].concat());
        assert!(
            left.trim().is_empty(),
            "docker {} lists the project's after docker-compose down:\n{left}",
            listing.join(" ")
        );
    }
}

/// What became of an orphan reparented to the anchor.
#[derive(Debug, PartialEq, Eq)]
enum Fate {
    Reaped,
    LeftZombie,
}

/// A container that joined the anchor's PID namespace forks a child and lets it go (`(sleep &)`):
/// the orphan is reparented to the anchor, PID 1 of the namespace, as in a Kubernetes pod with
/// `shareProcessNamespace`. When it exits, pause reaps it. The control shows the check can fail:
/// with busybox `sleep` as the anchor, a PID 1 that never waits, the exited orphan stays a zombie.
fn orphans_reaped(engine: &Engine) {
    let Images { pause, app } = engine.images();
    assert_eq!(orphan_fate(engine, "orphans", &[pause]), Fate::Reaped);
    assert_eq!(
        orphan_fate(
            engine,
            "orphans-control",
            &[app, "/bin/sleep", IDLE_SECONDS]
        ),
        Fate::LeftZombie,
        "the control anchor (busybox sleep as PID 1) reaped the orphan: the check proves nothing"
    );
}

/// Runs `anchor_image_and_command` as a pod's anchor and an app that orphans a child in its PID
/// namespace; tells whether the anchor reaped the child once it exited.
fn orphan_fate(engine: &Engine, name: &str, anchor_image_and_command: &[&str]) -> Fate {
    let anchor = format!("{name}-anchor");
    let app_name = format!("{name}-app");
    engine.docker(
        &[
            &["run", "--detach", "--name", &anchor],
            anchor_image_and_command,
        ]
        .concat(),
    );
    let anchor_pid = engine.pid(&anchor);
    let orphaning = format!("(/bin/sleep {ORPHAN_SECONDS} &); exec /bin/sleep {IDLE_SECONDS}");
    let joined = format!("--pid=container:{anchor}");
    let app = engine.images().app;
    engine.docker(&[
        "run", "--detach", "--name", &app_name, &joined, app, "/bin/sh", "-c", &orphaning,
    ]);
    let (orphan, reaped) = pod::orphan_reaped(
        anchor_pid,
        SETTLE,
        Duration::from_secs(ORPHAN_SECONDS) + REAP_GRACE,
    )
    .unwrap_or_else(|| panic!("{name}: no orphan was reparented to the anchor ({anchor_pid})"));
    let fate = if reaped {
        Fate::Reaped
    } else {
        assert_eq!(
            state(orphan),
            Some('Z'),
            "{name}: the orphan {orphan} neither exited nor was reaped"
        );
        Fate::LeftZombie
    };
    engine.docker(&["rm", "--force", &app_name]);
    engine.docker(&["rm", "--force", &anchor]);
    fate
}

/// A fresh engine runs a pod on its bridge; stopped with the pod still running, it leaves nothing:
/// no process of its own (daemons, shims or conmons, the containers' processes), no network
/// namespace, bridge, firewall rule or forwarding change on the host, no mount or file under its
/// directory, no cgroup, none of the host paths it writes by default. While it runs, the only
/// change to the host's network is its namespace's name.
fn leaves_nothing_behind(kind: Kind) {
    let test = format!("docker::{}::leaves_nothing_behind", kind.name());
    if !kind.ready(&test, &needs()) {
        return;
    }
    let _turn = turns::take("docker");
    let _alone = SUITE.write().unwrap_or_else(PoisonError::into_inner);
    let host_paths: Vec<&str> = if kind.is_docker() {
        [DOCKER_DEFAULT_PATHS, xtask::engine::dockerd::HOST_DIRS].concat()
    } else {
        PODMAN_HOST_PATHS.to_vec()
    };
    let absent: Vec<&str> = host_paths
        .iter()
        .copied()
        .filter(|path| !Path::new(path).exists())
        .collect();
    let network_before = HostNetwork::now();

    let engine = Engine::start(kind);
    eprintln!("{test} runs {}", engine.versions());
    let footprint = engine.footprint();
    let Images { pause, app } = engine.images();
    engine.docker(&["run", "--detach", "--name", "leftovers-anchor", pause]);
    let web = app_image::serve_page(PAGE);
    engine.docker(&[
        "run",
        "--detach",
        "--name",
        "leftovers-web",
        "--net=container:leftovers-anchor",
        "--pid=container:leftovers-anchor",
        app,
        "/bin/sh",
        "-c",
        &web,
    ]);
    let containers: Vec<(u32, u64)> = ["leftovers-anchor", "leftovers-web"]
        .iter()
        .map(|name| {
            let pid = engine.pid(name);
            (pid, procfs::start_time(pid).expect("a running container"))
        })
        .collect();

    // The checks below look where the engine is: while it runs, they find it.
    assert!(
        footprint.netns.exists(),
        "the engine has no network namespace"
    );
    // Namespaces aside: the engine's own, and podman names its containers' too. After the stop,
    // none may be left.
    let engine_netns = footprint
        .netns
        .file_name()
        .expect("a network namespace path")
        .to_string_lossy()
        .into_owned();
    // podman also pins each container's namespace under a name of its own making.
    let namespaces: &[&str] = if kind.is_docker() {
        &[&engine_netns]
    } else {
        &[&engine_netns, PODMAN_NETNS_PREFIX]
    };
    let mut changed = network_before.added_in(&HostNetwork::now(), namespaces);
    changed.retain(|change| !change.starts_with(host_network::NAMESPACE));
    assert!(
        changed.is_empty(),
        "the running engine changed the host's network:\n{}",
        changed.join("\n")
    );
    let bridges = run_within(
        engine
            .in_netns("ip")
            .args(["-o", "link", "show", "type", "bridge"]),
        COMMAND_TIMEOUT,
    );
    assert!(
        !bridges.trim().is_empty(),
        "no bridge in the engine's namespace"
    );
    let dir = footprint.dir.display().to_string();
    assert!(
        !xtask::engine::mounts::under(&footprint.dir).is_empty(),
        "nothing mounted under {dir} while containers run"
    );
    assert!(
        !pids_mentioning(&dir).is_empty(),
        "no process names {dir} while the engine runs"
    );

    drop(engine);

    let mut left = Vec::new();
    left.extend(
        pids_mentioning(&dir)
            .into_iter()
            .map(|pid| format!("process {pid}: {}", command_line(pid))),
    );
    left.extend(
        footprint
            .daemon_pids
            .iter()
            .filter(|&&pid| procfs::exists(pid))
            .map(|pid| format!("daemon {pid}: {}", command_line(*pid))),
    );
    left.extend(
        containers
            .iter()
            .filter(|(pid, started)| procfs::start_time(*pid) == Some(*started))
            .map(|(pid, _)| format!("container process {pid}: {}", command_line(*pid))),
    );
    if footprint.netns.exists() {
        left.push(format!("network namespace {}", footprint.netns.display()));
    }
    left.extend(
        xtask::engine::mounts::under(&footprint.dir)
            .into_iter()
            .map(|point| format!("mount {}", point.display())),
    );
    if footprint.dir.exists() {
        left.push(format!("directory {dir}"));
    }
    if let Some(parent) = &footprint.cgroup_parent {
        left.extend(
            cgroups_anywhere(parent)
                .into_iter()
                .map(|cgroup| format!("cgroup {}", cgroup.display())),
        );
    }
    left.extend(network_before.added_in(&HostNetwork::now(), namespaces));
    left.extend(
        absent
            .iter()
            .filter(|path| Path::new(path).exists())
            .map(|path| format!("host path {path}")),
    );
    assert!(
        left.is_empty(),
        "the stopped {} left behind:\n{}",
        kind.name(),
        left.join("\n")
    );
}

/// Every cgroup called `name`, at any depth of any hierarchy: a cgroup parent given as a relative
/// path lands under the cgroup of the process that made it, not at the top.
fn cgroups_anywhere(name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::from(CGROUP_ROOT)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // Not through symlinks: `cpu` and `cpuacct` link to `cpu,cpuacct`.
            if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            if entry.file_name() == name {
                found.push(entry.path());
            } else {
                pending.push(entry.path());
            }
        }
    }
    found
}

fn command_line(pid: u32) -> String {
    procfs::args(pid).unwrap_or_default().join(" ")
}
