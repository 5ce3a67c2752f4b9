//! The app containers' image: Debian's busybox-static with a symlink per applet, one layer, made
//! from a rootfs tarball. Pods need something beside pause to run (a web server, a client, a
//! shell with `ps`), and busybox is all of them in one static binary.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::Need;
use crate::deadline::run_within;
use crate::registry::docker_registry::Registry;
use crate::skopeo;

/// The static busybox the image is made of.
pub const BUSYBOX: &str = "/bin/busybox";
/// What building and pushing the image needs.
pub const NEEDS: &[Need] = &[
    Need::program("busybox", "busybox-static"),
    Need::program("tar", "tar"),
    skopeo::SKOPEO,
    skopeo::UNSHARE,
];
/// Where the image goes in a test registry.
pub const REPOSITORY_AND_TAG: &str = "busybox:1";
/// The name the Pod YAMLs in `tests/pods/` use, with `imagePullPolicy: Never`: the image is
/// preloaded on the node, as air-gapped clusters do it.
pub const LOCAL_NAME: &str = "localhost/pause-tests/busybox:1";
/// The port the app's web server listens on, inside the pod.
pub const WEB_PORT: u16 = 8080;
/// How long tar and skopeo may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Writes the image's rootfs as the directory `dir/busybox-rootfs`: `/bin/busybox` and
/// `/bin/<applet>` symlinks to it.
pub fn rootfs(dir: &Path) -> PathBuf {
    let rootfs = dir.join("busybox-rootfs");
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin).expect("creating the rootfs");
    fs::copy(BUSYBOX, bin.join("busybox")).expect("copying busybox");
    let applets = run_within(Command::new(BUSYBOX).arg("--list"), TOOL_TIMEOUT);
    for applet in applets.lines().filter(|applet| *applet != "busybox") {
        symlink("busybox", bin.join(applet)).expect("linking an applet");
    }
    rootfs
}

/// Writes the image's rootfs ([`rootfs`]) as `dir/busybox-rootfs.tar`.
pub fn rootfs_tar(dir: &Path) -> PathBuf {
    let rootfs = rootfs(dir);
    let tarball = dir.join("busybox-rootfs.tar");
    run_within(
        Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tarball)
            .arg("."),
        TOOL_TIMEOUT,
    );
    tarball
}

/// Builds the image in `dir` and pushes it to `registry` with skopeo's tarball transport;
/// returns the reference to pull.
pub fn push(registry: &Registry, dir: &Path) -> String {
    let tarball = rootfs_tar(dir);
    let reference = registry.reference(REPOSITORY_AND_TAG);
    run_within(
        skopeo::command()
            .args(["copy", "--quiet"])
            .args(registry.skopeo_args("dest"))
            .arg(format!("tarball:{}", tarball.display()))
            .arg(format!("docker://{reference}")),
        TOOL_TIMEOUT,
    );
    reference
}

/// A shell command for the web container: serve `page` as `/` on [`WEB_PORT`] until stopped.
pub fn serve_page(page: &str) -> String {
    assert!(
        !page.contains('\''),
        "the page goes into single quotes: {page:?}"
    );
    format!(
        "mkdir -p /www && echo '{page}' > /www/index.html && exec /bin/httpd -f -p {WEB_PORT} -h /www"
    )
}

/// How many times the client tries to fetch the page while the web server starts, 0.2 s apart.
const FETCH_ATTEMPTS: u32 = 100;

/// A shell command that fetches `/` from the web container over localhost (retrying while it
/// starts, failing after [`FETCH_ATTEMPTS`]), then lists the pod's processes.
pub fn fetch_and_list() -> String {
    format!(
        "i=0; until /bin/wget -qO- http://127.0.0.1:{WEB_PORT}/; do \
         i=$((i+1)); [ $i -lt {FETCH_ATTEMPTS} ] || exit 1; /bin/sleep 0.2; done; /bin/ps -o pid,args"
    )
}
