//! Our image as the infra container of podman pods: `podman pod create --infra-image`, and
//! `podman kube play` of the multi-container Pods in `tests/pods/`, with `infra_image` set in
//! containers.conf; and every foreign platform's image as a pod's infra container under qemu.
//! All of them pull pause and the busybox app image from a real local registry.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pause_tests::process::wait_for;
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::runtime::binfmt::{self, Binfmt};
use pause_tests::runtime::podman::{self, Podman};
use pause_tests::runtime::turns::{self, Turn};
use pause_tests::runtime::{app_image, pod};
use pause_tests::{Need, PLATFORMS, ready};

/// One podman scenario at a time: they share /run/runc and /run/netns, which the last one out
/// cleans up.
static SERIAL: Mutex<()> = Mutex::new(());
/// The tag our image gets in the test registry.
const TAG: &str = "podman-test";
/// How long a pod's containers may take to show what the test waits for.
const SETTLE: Duration = Duration::from_secs(30);
/// The grace period `podman pod stop` gives pause before SIGKILL.
const STOP_GRACE_SECONDS: &str = "10";

fn needs() -> Vec<Need> {
    let mut needs = vec![Need::Root];
    needs.extend(podman::NEEDS);
    needs.extend(docker_registry::NEEDS);
    needs.extend(app_image::NEEDS);
    needs
}

/// A registry holding our image and the app image, and a podman whose infra image is ours.
struct Setup {
    podman: Podman,
    pause: String,
    app: String,
    _registry: Registry,
    /// Last, so held until everything above is gone.
    _turn: Turn,
}

/// One test at a time gets the setup; `None` (the test reported itself skipped) if `test` cannot
/// run here.
fn begin(test: &str, extra: &[Need]) -> Option<(MutexGuard<'static, ()>, Setup)> {
    if !ready(test, &[needs(), extra.to_vec()].concat()) {
        return None;
    }
    let serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Some((serial, setup()))
}

fn setup() -> Setup {
    let turn = turns::take("podman");
    let registry = Registry::start_plain();
    let pause = registry.push_project_image(TAG);
    let work = tempfile::tempdir().expect("creating a temp dir");
    let app = app_image::push(&registry, work.path());
    let podman = Podman::new(&registry, &pause);
    Setup {
        podman,
        pause,
        app,
        _registry: registry,
        _turn: turn,
    }
}

/// Waits until `container`'s log contains every one of `needles`; returns the log.
fn wait_for_log(podman: &Podman, container: &str, needles: &[&str]) -> String {
    let mut log = String::new();
    let found = wait_for(SETTLE, || {
        log = podman.run(&["logs", container]);
        needles
            .iter()
            .all(|needle| log.contains(needle))
            .then_some(())
    });
    assert!(
        found.is_some(),
        "{container}'s log lacks {needles:?} after {SETTLE:?}:\n{log}"
    );
    log
}

/// The infra container of `pod`.
fn infra(podman: &Podman, pod: &str) -> String {
    podman
        .run(&["pod", "inspect", "--format", "{{.InfraContainerID}}", pod])
        .trim()
        .to_string()
}

/// Asserts that `pod`'s infra container is our image running `/pause`. (Podman starts infra
/// containers as root whatever the image's user; the CRI and docker suites check that the
/// image's 65535:65535 is honoured where it applies.)
fn assert_infra_is_ours(podman: &Podman, pod: &str, pause: &str) {
    let infra = infra(podman, pod);
    assert_eq!(
        podman.inspect(&infra, "{{.ImageName}}"),
        pause,
        "{pod}'s infra image"
    );
    pod::assert_runs_pause(&podman.inspect(&infra, "{{.State.Pid}}"));
}

/// Creates pod `name` (with `options`, such as `--share`) whose infra container runs our image.
fn create_pod(podman: &Podman, name: &str, options: &[&str], pause: &str) {
    let create = [
        "pod",
        "create",
        "--infra-image",
        pause,
        "--infra-command",
        "/pause",
    ];
    podman.run(&[&create[..], options, &["--name", name]].concat());
}

/// Stops pod `name` as `podman pod stop` does (SIGTERM to pause, then the grace period) and
/// asserts that pause exited 0 well within it.
fn assert_stops_with_exit_0(podman: &Podman, name: &str) {
    let infra = infra(podman, name);
    podman.run(&["pod", "stop", "--time", STOP_GRACE_SECONDS, name]);
    assert_eq!(
        podman.inspect(&infra, "{{.State.ExitCode}}"),
        "0",
        "{name}: pause's exit code after `podman pod stop`"
    );
}

/// Creates pod `name` (with `share` options) on our infra image, starts a web server in it and a
/// client that fetches the page over localhost and lists the processes it sees; returns that list.
fn web_and_client_pod(
    podman: &Podman,
    name: &str,
    share: &[&str],
    pause: &str,
    app: &str,
) -> String {
    let page = "hello from the web container";
    create_pod(
        podman,
        name,
        &[&["--network", "none"][..], share].concat(),
        pause,
    );
    let web = app_image::serve_page(page);
    podman.run(&[
        "run",
        "-d",
        "--pod",
        name,
        "--name",
        &format!("{name}-web"),
        app,
        "/bin/sh",
        "-c",
        &web,
    ]);
    let client = app_image::fetch_and_list();
    let ps = podman.run(&["run", "--rm", "--pod", name, app, "/bin/sh", "-c", &client]);
    assert!(
        ps.contains(page),
        "{name}: the client did not get the page over localhost:\n{ps}"
    );
    ps
}

#[test]
fn pod_create_with_our_infra_image() {
    let Some((_serial, setup)) = begin("podman::pod_create_with_our_infra_image", &[]) else {
        return;
    };
    let (podman, pause, app) = (&setup.podman, &setup.pause, &setup.app);

    // Default sharing (net, ipc, uts): two containers reach each other on localhost.
    web_and_client_pod(podman, "shared-net", &[], pause, app);
    assert_infra_is_ours(podman, "shared-net", pause);

    // Sharing the PID namespace too: pause is PID 1 and every container sees the others.
    let ps = web_and_client_pod(
        podman,
        "shared-pid",
        &["--share", "net,ipc,uts,pid"],
        pause,
        app,
    );
    pod::assert_shared_pid_namespace(&ps);
    assert_infra_is_ours(podman, "shared-pid", pause);

    assert_stops_with_exit_0(podman, "shared-pid");
}

/// The Pod YAMLs, as Kubernetes users write them.
fn pod_yaml(name: &str) -> String {
    let path: PathBuf = xtask::project::root()
        .join("tests")
        .join("pods")
        .join(format!("{name}.yaml"));
    assert!(path.is_file(), "{} is missing", path.display());
    path.display().to_string()
}

#[test]
fn kube_play_multi_container_pods() {
    let Some((_serial, setup)) = begin("podman::kube_play_multi_container_pods", &[]) else {
        return;
    };
    let (podman, pause, app) = (&setup.podman, &setup.pause, &setup.app);
    podman.preload(app, app_image::LOCAL_NAME);
    let pods = [
        "sidecar",
        "emptydir",
        "share-process-namespace",
        "init-container",
    ];
    for pod in pods {
        // No network: the pods' containers still share the loopback of the infra container's
        // network namespace, and nothing is written to the host's iptables.
        podman.run(&["kube", "play", "--network", "none", &pod_yaml(pod)]);
        assert_infra_is_ours(podman, pod, pause);
    }

    // A sidecar reaches the app over localhost.
    wait_for_log(podman, "sidecar-sidecar", &["hello from web"]);

    // Two containers share an emptyDir volume, mounted at different paths.
    wait_for_log(podman, "emptydir-reader", &["written by writer"]);

    // shareProcessNamespace: pause is PID 1 and the containers see each other's processes.
    let ps = wait_for_log(podman, "share-process-namespace-shell", &["sleep 3601"]);
    pod::assert_pause_is_pid1(&ps);

    // The init container ran to completion, successfully, before the app container started: the
    // app found the file the init container writes after a 2 s sleep. (Its recorded FinishedAt is
    // no witness: podman 4.3 stamps it when its cleanup process handles the exit, which the
    // comment in init-container.yaml shows can come later than the app's start.)
    let app_log = wait_for_log(podman, "init-container-app", &["prepared by init"]);
    assert!(
        !app_log.contains("config missing"),
        "the app started before its init container finished:\n{app_log}"
    );
    assert_eq!(
        podman.inspect("init-container-prepare", "{{.State.ExitCode}}"),
        "0"
    );

    for pod in pods {
        podman.run(&["kube", "down", &pod_yaml(pod)]);
    }
    let left = podman.run(&["ps", "--all", "--quiet"]);
    assert!(
        left.trim().is_empty(),
        "`podman kube down` left containers behind:\n{left}"
    );
}

/// Every foreign platform's image, pulled from the registry's multi-platform index for that
/// platform (`podman pull --arch --variant`), anchors a podman pod under qemu registered in
/// binfmt_misc: pause is PID 1 of the pod, and `podman pod stop` ends it with exit 0.
#[test]
fn every_foreign_platform_anchors_a_podman_pod() {
    let test = "podman::every_foreign_platform_anchors_a_podman_pod";
    let Some((_serial, setup)) = begin(test, &binfmt::needs()) else {
        return;
    };
    let (podman, pause, app) = (&setup.podman, &setup.pause, &setup.app);
    let _binfmt = Binfmt::foreign();
    for platform in PLATFORMS.iter().filter(|platform| !platform.is_native()) {
        let mut pull = vec!["pull", "--quiet", "--arch", platform.arch];
        pull.extend(
            platform
                .variant
                .iter()
                .flat_map(|variant| ["--variant", *variant]),
        );
        pull.push(pause);
        podman.run(&pull);
        let name = format!("pod-{}", platform.dir_name());
        create_pod(
            podman,
            &name,
            &["--network", "none", "--share", "net,ipc,uts,pid"],
            pause,
        );
        podman.run(&["pod", "start", &name]);
        let infra = infra(podman, &name);
        pod::assert_runs_under_emulator(&podman.inspect(&infra, "{{.State.Pid}}"), platform);
        let ps = ["ps", "-o", "pid,comm,args"];
        let ps = podman.run(&[&["run", "--rm", "--pod", &name, app][..], &ps].concat());
        pod::assert_emulated_pause_is_pid1(&ps, platform);
        assert_stops_with_exit_0(podman, &name);
        podman.run(&["pod", "rm", &name]);
        podman.run(&["rmi", pause]);
    }
}
