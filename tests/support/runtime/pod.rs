//! What a pod anchored by pause looks like, seen from one of its containers (`ps -o pid,args`)
//! and from the host (/proc of the anchor process). The runtime suites share these checks.

use std::time::Duration;

use crate::Platform;
use crate::pause::children_of;
use crate::process::wait_for;
use crate::runtime::app_image::WEB_PORT;
use xtask::procfs;

/// The uid and gid our image runs pause as, the same as registry.k8s.io/pause.
pub const PAUSE_ID: &str = "65535";

/// Asserts that `ps -o pid,args` output shows pause as PID 1.
pub fn assert_pause_is_pid1(ps: &str) {
    assert!(
        ps.lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>() == ["1", "/pause"]),
        "PID 1 of the pod is not /pause:\n{ps}"
    );
}

/// What lists a pod's processes with their users, inside one of its containers.
pub const PS_WITH_USERS: &[&str] = &["/bin/ps", "-o", "pid,user,args"];

/// Asserts that [`PS_WITH_USERS`] output shows pause as PID 1 running as the image's user.
pub fn assert_pause_is_pid1_as_its_user(ps: &str) {
    assert!(
        ps.lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>() == ["1", PAUSE_ID, "/pause"]),
        "PID 1 of the pod is not /pause running as {PAUSE_ID}:\n{ps}"
    );
}

/// Asserts that `ps -o pid,args` output shows pause as PID 1 and the web container's server
/// beside it: the containers share the anchor's PID namespace.
pub fn assert_shared_pid_namespace(ps: &str) {
    assert_pause_is_pid1(ps);
    let server = format!("httpd -f -p {WEB_PORT}");
    assert!(
        ps.contains(&server),
        "the web server is not visible in the pod's PID namespace:\n{ps}"
    );
}

/// Asserts that `ps -o pid,comm,args` output shows the emulated pause as PID 1. Under qemu, `args`
/// shows the emulator's command line (binfmt_misc runs the interpreter with the program's path),
/// while `comm` is the program's own name; both must name /pause.
pub fn assert_emulated_pause_is_pid1(ps: &str, platform: &Platform) {
    let first = ps
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"1"));
    assert!(
        first.as_ref().is_some_and(
            |fields| fields.get(1) == Some(&"pause") && fields[2..].contains(&"/pause")
        ),
        "{}: PID 1 of the pod is not /pause:\n{ps}",
        platform.name
    );
}

/// Asserts that host process `pid` is the qemu of `platform`: the anchor is that platform's
/// image, run through binfmt_misc.
pub fn assert_runs_under_emulator(pid: &str, platform: &Platform) {
    let exe = procfs::exe(pid.parse().expect("a pid")).expect("reading the anchor's executable");
    assert!(
        exe.ends_with(platform.qemu),
        "{}: the anchor runs {} instead of the platform's image under {}",
        platform.name,
        exe.display(),
        platform.qemu
    );
}

/// Asserts that host process `pid` is `/pause`.
pub fn assert_runs_pause(pid: &str) {
    let args =
        procfs::args(pid.parse().expect("a pid")).expect("reading the anchor's command line");
    assert_eq!(args, ["/pause"], "the anchor process {pid}");
}

/// Asserts that host process `pid` is `/pause` running as the image's 65535:65535.
pub fn assert_runs_pause_as_its_user(pid: &str) {
    assert_runs_pause(pid);
    for field in ["Uid", "Gid"] {
        let ids = procfs::status_field(pid, field).expect("reading the anchor's status");
        assert!(
            ids.split_whitespace().all(|id| id == PAUSE_ID),
            "the anchor runs as {field} {ids}"
        );
    }
}

/// The orphan an app container left in the pod's PID namespace, a `sleep` whose parent exited:
/// waits up to `settle` for it to be reparented to the anchor (host pid `anchor`), then up to
/// `reap_within` for it to leave the anchor's children. Returns the orphan and whether it left
/// (the anchor reaped it); `None` if no orphan was reparented to the anchor.
pub fn orphan_reaped(anchor: u32, settle: Duration, reap_within: Duration) -> Option<(u32, bool)> {
    let orphan = wait_for(settle, || {
        children_of(anchor)
            .into_iter()
            .find(|&child| procfs::comm(child).is_some_and(|name| name == "sleep"))
    })?;
    let reaped = wait_for(reap_within, || {
        (!children_of(anchor).contains(&orphan)).then_some(())
    });
    Some((orphan, reaped.is_some()))
}
