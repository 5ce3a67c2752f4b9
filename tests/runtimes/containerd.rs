//! Our image as the pod sandbox of containerd's CRI plugin, driven over the CRI gRPC API the way
//! kubelet drives it: containerd pulls `sandbox_image` (ours) from a local registry for
//! RunPodSandbox, two busybox containers join the pod, one fetches a page from the other over
//! localhost and sees pause as PID 1; stopping and removing the pod ends pause and leaves nothing.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use k8s_cri::v1::{
    ContainerConfig, ContainerFilter, ContainerMetadata, ContainerState, CreateContainerRequest,
    ExecSyncRequest, ImageSpec, LinuxContainerConfig, LinuxContainerSecurityContext,
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, ListContainersRequest,
    ListPodSandboxRequest, NamespaceMode, NamespaceOption, PodSandboxConfig, PodSandboxMetadata,
    PodSandboxState, PodSandboxStatusRequest, PullImageRequest, RemovePodSandboxRequest,
    RunPodSandboxRequest, StartContainerRequest, StopPodSandboxRequest, VersionRequest,
};
use pause_tests::process::wait_for;
use pause_tests::registry::docker_registry::{self, Registry};
use pause_tests::runtime::containerd::{self, Containerd};
use pause_tests::runtime::cri::Cri;
use pause_tests::runtime::{app_image, pod, turns};
use pause_tests::{Need, ready};

/// The tag our image gets in the test registry.
const TAG: &str = "containerd-test";
/// The CRI version containerd 1.6 serves and kubelet speaks.
const CRI_API_VERSION: &str = "v1";
/// How long an ExecSync may run inside the container, in seconds (a CRI field).
const EXEC_TIMEOUT_SECONDS: i64 = 30;
/// How long containerd may take to report the sandbox's exit and to let its shims go.
const SETTLE: Duration = Duration::from_secs(30);
/// The status containerd reports for a task killed by SIGKILL (128 + 9).
const KILLED_BY_SIGKILL: i64 = 137;
/// The page the web container serves.
const PAGE: &str = "hello over the pod localhost";

fn pod_namespaces() -> NamespaceOption {
    // The pod shares network, IPC and (as with shareProcessNamespace) PID namespaces: all held
    // by the sandbox, so pause is PID 1 of the pod.
    let pod = NamespaceMode::Pod as i32;
    NamespaceOption {
        network: pod,
        pid: pod,
        ipc: pod,
        ..Default::default()
    }
}

fn sandbox_config(name: &str, logs: &Path, cgroup_parent: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("pause-tests-{name}-uid"),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        log_directory: logs.display().to_string(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: format!("/{cgroup_parent}"),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(pod_namespaces()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container_config(name: &str, image: &str, command: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: image.into(),
            ..Default::default()
        }),
        command: command.iter().map(|arg| arg.to_string()).collect(),
        log_path: format!("{name}.log"),
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: Some(pod_namespaces()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// containerd's task events, as `ctr events` streams them, into a file; killed on drop.
struct Events {
    child: Child,
    file: tempfile::NamedTempFile,
}

impl Events {
    fn watch(containerd: &Containerd) -> Events {
        let file = tempfile::NamedTempFile::new().expect("creating an events file");
        let child = containerd
            .ctr_command(&["events"])
            .stdin(Stdio::null())
            .stdout(file.reopen().expect("reopening the events file"))
            .stderr(Stdio::null())
            .spawn()
            .expect("starting ctr events");
        Events { child, file }
    }

    /// The exit status containerd reported for the task of `container`, once it exited.
    fn exit_status(&self, container: &str) -> Option<i64> {
        let events = fs::read_to_string(self.file.path()).unwrap_or_default();
        let needle = format!("\"container_id\":\"{container}\"");
        let event = events
            .lines()
            .find(|line| line.contains("/tasks/exit") && line.contains(&needle))?;
        // The event is protobuf JSON, which leaves out zero values: no exit_status means 0.
        let status = event.split("\"exit_status\":").nth(1).map_or("0", |rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("0")
        });
        Some(status.parse().expect("a numeric exit status"))
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_pod_sandbox(cri: &Cri, config: &PodSandboxConfig) -> String {
    let request = RunPodSandboxRequest {
        config: Some(config.clone()),
        ..Default::default()
    };
    cri.call("RunPodSandbox", cri.runtime().run_pod_sandbox(request))
        .pod_sandbox_id
}

fn stop_and_remove(cri: &Cri, sandbox: &str) {
    let id = sandbox.to_string();
    cri.call(
        "StopPodSandbox",
        cri.runtime().stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.clone(),
        }),
    );
    cri.call(
        "RemovePodSandbox",
        cri.runtime()
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id }),
    );
}

/// Waits for containerd to report the exit of `sandbox`'s task; returns its status.
fn sandbox_exit(events: &Events, sandbox: &str) -> i64 {
    let exit = wait_for(SETTLE, || events.exit_status(sandbox)).unwrap_or_else(|| {
        panic!("containerd reported no exit of sandbox {sandbox} within {SETTLE:?}")
    });
    eprintln!("containerd reports that sandbox {sandbox} (pause) exited with status {exit}");
    exit
}

/// The CRI state of the sandbox and of each of its containers, as kubelet's relisting reads them.
fn pod_states(
    cri: &Cri,
    sandbox: &str,
) -> (Option<PodSandboxState>, Vec<(String, ContainerState)>) {
    let status = cri
        .call(
            "PodSandboxStatus",
            cri.runtime().pod_sandbox_status(PodSandboxStatusRequest {
                pod_sandbox_id: sandbox.to_string(),
                verbose: false,
            }),
        )
        .status
        .and_then(|status| PodSandboxState::try_from(status.state).ok());
    let containers = cri
        .call(
            "ListContainers",
            cri.runtime().list_containers(ListContainersRequest {
                filter: Some(ContainerFilter {
                    pod_sandbox_id: sandbox.to_string(),
                    ..Default::default()
                }),
            }),
        )
        .containers
        .into_iter()
        .map(|container| {
            let name = container.metadata.map(|m| m.name).unwrap_or(container.id);
            let state = ContainerState::try_from(container.state)
                .unwrap_or(ContainerState::ContainerUnknown);
            (name, state)
        })
        .collect();
    (status, containers)
}

/// Whether CRI reports the sandbox not ready and every container of it exited: the pod's PID
/// namespace ended with pause.
fn pod_ended(cri: &Cri, sandbox: &str) -> bool {
    let (sandbox, containers) = pod_states(cri, sandbox);
    sandbox == Some(PodSandboxState::SandboxNotready)
        && !containers.is_empty()
        && containers
            .iter()
            .all(|(_, state)| *state == ContainerState::ContainerExited)
}

/// The process a task runs, from `ctr tasks list` (columns TASK, PID, STATUS).
fn task_pid(containerd: &Containerd, task: &str) -> String {
    let tasks = containerd.ctr(&["tasks", "list"]);
    tasks
        .lines()
        .find_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            (columns.first() == Some(&task)).then(|| columns[1].to_string())
        })
        .unwrap_or_else(|| panic!("no task {task} in:\n{tasks}"))
}

#[test]
fn cri_pod_with_our_sandbox_image() {
    let test = "containerd::cri_pod_with_our_sandbox_image";
    let mut needs = vec![Need::Root];
    needs.extend(containerd::NEEDS);
    needs.extend(docker_registry::NEEDS);
    needs.extend(app_image::NEEDS);
    if !ready(test, &needs) || !containerd::cni_ready(test) {
        return;
    }
    let _turn = turns::take("containerd");
    let registry = Registry::start_plain();
    let pause = registry.push_project_image(TAG);
    let work = tempfile::tempdir().expect("creating a temp dir");
    let app = app_image::push(&registry, work.path());
    let containerd = Containerd::start(&registry, &pause);
    let cri = Cri::connect(&containerd.socket());

    let version = cri.call("Version", cri.runtime().version(VersionRequest::default()));
    assert_eq!(version.runtime_name, "containerd");
    assert_eq!(version.runtime_api_version, CRI_API_VERSION);

    // kubelet pulls the app image; the sandbox image containerd pulls by itself.
    let pulled = cri.call(
        "PullImage",
        cri.images().pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: app.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    );
    assert!(
        pulled.image_ref.starts_with("sha256:"),
        "PullImage returned {pulled:?}"
    );

    let logs = work.path().join("pod-logs");
    fs::create_dir_all(&logs).expect("creating the pod log dir");
    let config = sandbox_config("pause-pod", &logs, containerd.cgroup_parent());
    let sandbox = run_pod_sandbox(&cri, &config);
    let network_namespace = containerd.record_sandbox(&sandbox);
    let status = cri
        .call(
            "PodSandboxStatus",
            cri.runtime().pod_sandbox_status(PodSandboxStatusRequest {
                pod_sandbox_id: sandbox.clone(),
                verbose: false,
            }),
        )
        .status
        .expect("a sandbox status");
    assert_eq!(
        status.state,
        PodSandboxState::SandboxReady as i32,
        "sandbox state"
    );
    let ip = status.network.map(|network| network.ip).unwrap_or_default();
    assert!(
        ip.starts_with("10.123.0."),
        "the pod got no address from the CNI bridge: {ip:?}"
    );
    let images = containerd.ctr(&["images", "list", "--quiet"]);
    assert!(
        images.lines().any(|image| image == pause),
        "containerd did not pull {pause}:\n{images}"
    );
    pod::assert_runs_pause_as_its_user(&task_pid(&containerd, &sandbox));

    let mut containers = HashMap::new();
    let web_command = app_image::serve_page(PAGE);
    for (name, command) in [
        ("web", vec!["/bin/sh", "-c", &web_command]),
        ("client", vec!["/bin/sleep", "3600"]),
    ] {
        let id = cri
            .call(
                "CreateContainer",
                cri.runtime().create_container(CreateContainerRequest {
                    pod_sandbox_id: sandbox.clone(),
                    config: Some(container_config(name, &app, &command)),
                    sandbox_config: Some(config.clone()),
                }),
            )
            .container_id;
        cri.call(
            "StartContainer",
            cri.runtime().start_container(StartContainerRequest {
                container_id: id.clone(),
            }),
        );
        containers.insert(name, id);
    }

    let exec = cri.call(
        "ExecSync",
        cri.runtime().exec_sync(ExecSyncRequest {
            container_id: containers["client"].clone(),
            cmd: vec!["/bin/sh".into(), "-c".into(), app_image::fetch_and_list()],
            timeout: EXEC_TIMEOUT_SECONDS,
        }),
    );
    let stdout = String::from_utf8_lossy(&exec.stdout);
    assert_eq!(
        exec.exit_code,
        0,
        "ExecSync failed: {stdout}{}",
        String::from_utf8_lossy(&exec.stderr)
    );
    assert!(
        stdout.contains(PAGE),
        "the client did not get the page over localhost:\n{stdout}"
    );
    pod::assert_shared_pid_namespace(&stdout);

    // SIGTERM, what a runtime sends to stop a container gracefully: pause exits 0, and the pod's
    // PID namespace, and with it every container, ends with it.
    let events = Events::watch(&containerd);
    containerd.ctr(&["tasks", "kill", "--signal", "SIGTERM", &sandbox]);
    assert_eq!(
        sandbox_exit(&events, &sandbox),
        0,
        "pause's exit status on SIGTERM in containerd"
    );
    // kubelet stops a pod once its relisting (PLEG) sees the exits; stopping earlier races
    // containerd 1.6 shutting down the pod's shim as its last task goes ("ttrpc: closed").
    let ended = wait_for(SETTLE, || pod_ended(&cri, &sandbox).then_some(()));
    assert!(
        ended.is_some(),
        "the containers outlived pause, or CRI never reported it: {:?}",
        pod_states(&cri, &sandbox)
    );
    stop_and_remove(&cri, &sandbox);

    // StopPodSandbox on a running sandbox: containerd's CRI plugin does not signal pause
    // gracefully but kills the sandbox task with SIGKILL at once (`stopSandboxContainer` in
    // containerd's sandbox_stop.go; kubelet stops the app containers gracefully before), so the
    // status containerd reports is 137 whatever the pause image, registry.k8s.io/pause too.
    let stopped = run_pod_sandbox(
        &cri,
        &sandbox_config("stopped-pod", &logs, containerd.cgroup_parent()),
    );
    let stopped_namespace = containerd.record_sandbox(&stopped);
    pod::assert_runs_pause_as_its_user(&task_pid(&containerd, &stopped));
    cri.call(
        "StopPodSandbox",
        cri.runtime().stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: stopped.clone(),
        }),
    );
    assert_eq!(
        sandbox_exit(&events, &stopped),
        KILLED_BY_SIGKILL,
        "the sandbox's exit status after StopPodSandbox"
    );
    cri.call(
        "RemovePodSandbox",
        cri.runtime().remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: stopped,
        }),
    );

    let sandboxes = cri
        .call(
            "ListPodSandbox",
            cri.runtime()
                .list_pod_sandbox(ListPodSandboxRequest::default()),
        )
        .items;
    assert!(
        sandboxes.is_empty(),
        "sandboxes left after RemovePodSandbox: {sandboxes:?}"
    );
    let left = cri
        .call(
            "ListContainers",
            cri.runtime()
                .list_containers(ListContainersRequest::default()),
        )
        .containers;
    assert!(
        left.is_empty(),
        "containers left after RemovePodSandbox: {left:?}"
    );
    for listing in [
        ["tasks", "list", "--quiet"],
        ["containers", "list", "--quiet"],
    ] {
        let out = containerd.ctr(&listing);
        assert!(
            out.trim().is_empty(),
            "`ctr {}` after RemovePodSandbox:\n{out}",
            listing.join(" ")
        );
    }
    let shims = wait_for(SETTLE, || containerd.shims().is_empty().then_some(()));
    assert!(
        shims.is_some(),
        "containerd shims still running after RemovePodSandbox: {:?}",
        containerd.shims()
    );
    for namespace in [&network_namespace, &stopped_namespace] {
        assert!(
            !namespace.exists(),
            "a sandbox's network namespace {} is left",
            namespace.display()
        );
    }
    let leftovers = containerd.sandbox_leftovers();
    assert!(
        leftovers.is_empty(),
        "the sandbox left on the host: {leftovers:?}"
    );
    let in_use = containerd.host_dirs_in_use();
    assert!(
        in_use.is_empty(),
        "host directories this test created still hold something: {in_use:?}"
    );
}
