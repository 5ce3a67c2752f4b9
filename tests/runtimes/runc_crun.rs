//! Our image anchors a bare pod in the low-level runtimes a cluster uses, runc and crun, the way
//! containerd and CRI-O drive them: the anchor creates the pod's namespaces (net, pid, ipc, uts)
//! locked down as kubelet runs a sandbox (65535:65535, read-only rootfs, no capabilities), and app
//! containers join them by path (`/proc/<anchor>/ns/*`). Then the same on every foreign platform,
//! each image pulled from the multi-platform index and run through qemu registered in binfmt_misc.
//! The anchors come from a registry on loopback, as a node's come from a registry.

use std::fs;
use std::process::Child;
use std::time::Duration;

use pause_tests::process::wait_for;
use pause_tests::runtime::app_image::{fetch_and_list, serve_page};
use pause_tests::runtime::binfmt::{self, Binfmt};
use pause_tests::runtime::bundle::{Bundle, PAUSE_NEEDS, PauseSource};
use pause_tests::runtime::oci_runtime::Runtime;
use pause_tests::runtime::pod::{
    assert_emulated_pause_is_pid1, assert_runs_pause_as_its_user, assert_runs_under_emulator,
    assert_shared_pid_namespace,
};
use pause_tests::runtime::turns;
use pause_tests::{Need, PLATFORMS, Platform, ready};
use xtask::procfs;

/// The app containers are busybox.
const BUSYBOX: Need = Need::program("busybox", "busybox-static");
/// What the web container serves and the client must fetch.
const PAGE: &str = "served inside the pod";
/// How long a container may take to be running (under qemu too).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the client may take to fetch the page and list the pod's processes.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(40);
/// How long the pod may take to end after SIGTERM to its anchor, and its members to die.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How many orphans the pod makes at once.
const ORPHANS: usize = 5;
/// How long each orphan lives, in seconds: long enough to be seen with pause as its parent.
const ORPHAN_SECONDS: u32 = 2;
/// How long the orphans may take to appear, die and be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(15);

#[test]
fn runc_runs_a_bare_pod_anchored_by_pause() {
    let needs = [&[Need::Root, BUSYBOX][..], PAUSE_NEEDS, Runtime::RUNC_NEEDS].concat();
    if !ready("runc_crun::runc_runs_a_bare_pod_anchored_by_pause", &needs) {
        return;
    }
    let _turn = turns::take("runc_crun");
    bare_pod(Runtime::runc);
}

/// crun 1.8 refuses hosts with cgroup v1 controllers plus a cgroup2 mount ("cgroups in hybrid
/// mode not supported, drop all controllers from cgroupv2"), as this one has at
/// /sys/fs/cgroup/unified. The workaround, in [`Runtime::crun`]: crun starts containers from
/// `unshare -m --propagation private`, after unmounting /sys/fs/cgroup/unified there; the host
/// keeps its mount.
#[test]
fn crun_runs_a_bare_pod_anchored_by_pause() {
    let needs = [&[Need::Root, BUSYBOX][..], PAUSE_NEEDS, Runtime::CRUN_NEEDS].concat();
    if !ready("runc_crun::crun_runs_a_bare_pod_anchored_by_pause", &needs) {
        return;
    }
    let _turn = turns::take("runc_crun");
    bare_pod(Runtime::crun);
}

/// binfmt_misc entries that a killed run of the suite left (named for a pid that is gone) are
/// removed by the next guard; the ones of a live run stay.
#[test]
fn binfmt_entries_a_killed_run_left_are_removed() {
    if !ready(
        "runc_crun::binfmt_entries_a_killed_run_left_are_removed",
        &binfmt::needs(),
    ) {
        return;
    }
    let _turn = turns::take("runc_crun");
    let first = Binfmt::foreign();
    let abandoned = binfmt::register_as_a_killed_run();
    assert!(
        abandoned.exists(),
        "{} was not registered",
        abandoned.display()
    );
    let second = Binfmt::foreign();
    assert!(
        !abandoned.exists(),
        "{} survived the next guard",
        abandoned.display()
    );
    drop((first, second));
}

#[test]
fn every_foreign_platform_anchors_a_runc_pod() {
    let needs = [
        &[BUSYBOX][..],
        PAUSE_NEEDS,
        Runtime::RUNC_NEEDS,
        &binfmt::needs(),
    ]
    .concat();
    if !ready(
        "runc_crun::every_foreign_platform_anchors_a_runc_pod",
        &needs,
    ) {
        return;
    }
    let _turn = turns::take("runc_crun");
    let _binfmt = Binfmt::foreign();
    let source = PauseSource::start();
    let scratch = tempfile::tempdir().expect("a temp dir");
    // Declared after the bundles' dir, so dropped before it: containers go before their rootfs.
    let runtime = Runtime::runc();
    for platform in PLATFORMS.iter().filter(|platform| !platform.is_native()) {
        let name = platform.dir_name();
        let dir = scratch.path().join(&name);
        fs::create_dir(&dir).expect("a dir per platform");
        let mut pause = Bundle::pause(&dir, platform, &source);
        let (anchor, run) = runtime.run_attached(&format!("anchor-{name}"), pause.anchor());
        let pid = runtime.running_pid(&anchor, START_TIMEOUT);
        assert_runs_under_emulator(&pid.to_string(), platform);

        let mut lister = Bundle::busybox(&dir, "ps", runtime.program());
        lister.join(pid).args(&["ps", "-o", "pid,comm,args"]);
        let ps = runtime.run_to_end(&format!("ps-{name}"), &mut lister, CLIENT_TIMEOUT);
        let ps = String::from_utf8_lossy(&ps.stdout);
        assert_emulated_pause_is_pid1(&ps, platform);

        runtime.kill(&anchor, "TERM");
        assert_ends_with_exit_0(run, &pause, platform.name);
    }
}

/// The anchor, a web server and a client in one pod; orphans; the pod's end.
fn bare_pod(new_runtime: fn() -> Runtime) {
    let source = PauseSource::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    // Declared after the bundles' dir, so dropped before it: containers go before their rootfs.
    let runtime = &new_runtime();
    let platform = Platform::host().expect("pause supports this machine's platform");
    let mut pause = Bundle::pause(dir.path(), platform, &source);
    let (anchor, run) = runtime.run_attached("anchor", pause.anchor());
    let pid = runtime.running_pid(&anchor, START_TIMEOUT);
    assert_runs_pause_as_its_user(&pid.to_string());
    assert_locked_down(pid);

    let mut web = Bundle::busybox(dir.path(), "web", runtime.program());
    web.join(pid).args(&["sh", "-c", &serve_page(PAGE)]);
    let web_id = runtime.run_detached("web", &mut web);
    let web_pid = runtime.running_pid(&web_id, START_TIMEOUT);

    let mut client = Bundle::busybox(dir.path(), "client", runtime.program());
    client.join(pid).args(&["sh", "-c", &fetch_and_list()]);
    let fetched = runtime.run_to_end("client", &mut client, CLIENT_TIMEOUT);
    let stdout = String::from_utf8_lossy(&fetched.stdout);
    assert!(
        fetched.status.success() && stdout.contains(PAGE),
        "{}: the client did not fetch the page over 127.0.0.1 ({}):\n{stdout}{}",
        runtime.program(),
        fetched.status,
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert_shared_pid_namespace(&stdout);

    orphans_are_reaped(runtime, &dir, pid);

    runtime.kill(&anchor, "TERM");
    assert_ends_with_exit_0(run, &pause, runtime.program());
    let web_gone = wait_for(STOP_TIMEOUT, || (!is_alive(web_pid)).then_some(()));
    assert!(
        web_gone.is_some(),
        "{}: the web server outlived the pod's anchor",
        runtime.program()
    );
}

/// A container makes orphans in the pod's PID namespace: they must become pause's children and,
/// once they exit, leave no zombie behind.
fn orphans_are_reaped(runtime: &Runtime, dir: &tempfile::TempDir, anchor_pid: u32) {
    let make = format!(
        "for i in $(seq {ORPHANS}); do (sleep {ORPHAN_SECONDS} &); done; sleep {}",
        ORPHAN_SECONDS * 2
    );
    let mut orphans = Bundle::busybox(dir.path(), "orphans", runtime.program());
    orphans.join(anchor_pid).args(&["sh", "-c", &make]);
    runtime.run_detached("orphans", &mut orphans);

    let pod = procfs::namespace(anchor_pid, "pid").expect("the anchor's PID namespace");
    let sleeping = |pid: &u32| procfs::comm(*pid).is_some_and(|name| name == "sleep");
    let adopted = wait_for(REAP_TIMEOUT, || {
        let orphans: Vec<u32> = processes_in(&pod)
            .into_iter()
            .filter(sleeping)
            .filter(|&pid| procfs::status_field(pid, "PPid") == Some(anchor_pid.to_string()))
            .collect();
        (orphans.len() == ORPHANS).then_some(orphans)
    });
    let adopted = adopted.unwrap_or_else(|| {
        panic!(
            "{}: the pod's {ORPHANS} orphans never all had pause ({anchor_pid}) as parent",
            runtime.program()
        )
    });
    let reaped = wait_for(REAP_TIMEOUT, || {
        adopted
            .iter()
            .all(|&pid| !procfs::exists(pid))
            .then_some(())
    });
    let zombies: Vec<u32> = processes_in(&pod)
        .into_iter()
        .filter(|&pid| procfs::state(pid) == Some('Z'))
        .collect();
    assert!(
        reaped.is_some() && zombies.is_empty(),
        "{}: orphans {adopted:?} were not all reaped; zombies in the pod: {zombies:?}",
        runtime.program()
    );
}

/// The anchor runs as kubelet asks: no capabilities at all, read-only rootfs.
fn assert_locked_down(pid: u32) {
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let capabilities = procfs::status_field(pid, set).expect("the anchor's status");
        assert!(
            capabilities.chars().all(|digit| digit == '0'),
            "the anchor keeps capabilities: {set} {capabilities}"
        );
    }
    let mounts = fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("the anchor's mounts");
    // mountinfo: id, parent, dev, root, mount point, options, ...; the last mount on / is the
    // one the process sees.
    let root_options = mounts
        .lines()
        .rev()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(4) == Some(&"/"))
        .map(|fields| fields[5].to_string())
        .expect("the anchor has a root mount");
    assert!(
        root_options.split(',').any(|option| option == "ro"),
        "the anchor's rootfs is writable: {root_options}"
    );
}

/// SIGTERM to pause ends the pod: the foreground `run` reports the container's exit status, which
/// must be 0 (a runtime reports 143 for a process killed by SIGTERM).
fn assert_ends_with_exit_0(mut run: Child, bundle: &Bundle, what: &str) {
    let status = pause_tests::process::wait_exit(&mut run, STOP_TIMEOUT);
    assert!(
        status.is_some_and(|status| status.code() == Some(0)),
        "{what}: the pod did not end with exit 0 after SIGTERM ({status:?}); the runtime said:\n{}",
        bundle.log()
    );
}

/// The host pids of the processes in PID namespace `namespace`.
fn processes_in(namespace: &std::path::Path) -> Vec<u32> {
    procfs::pids()
        .into_iter()
        .filter(|&pid| procfs::namespace(pid, "pid").as_deref() == Some(namespace))
        .collect()
}

/// Whether host process `pid` still runs (a zombie has ended).
fn is_alive(pid: u32) -> bool {
    procfs::state(pid).is_some_and(|state| state != 'Z')
}
