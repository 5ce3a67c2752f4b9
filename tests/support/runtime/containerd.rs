//! A private containerd with its CRI plugin, as a kubelet node runs it: root, state, socket,
//! runc's state and CNI config under a temp dir, `sandbox_image` = our image in a test registry
//! (plain HTTP through `certs.d/<host>/hosts.toml`), a CNI bridge for pod IPs, pods under a
//! cgroup parent named for this instance. Dropping it kills every task it still runs, stops it,
//! unmounts its snapshots and removes what it wrote on the host and can prove is its own: the
//! network namespaces, shim sockets and CNI results of the sandboxes it ran.

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use xtask::engine::mounts;
use xtask::engine::process::pids_mentioning;
use xtask::oci::blob::sha256;
use xtask::procfs;

use crate::deadline::{output_within, run_within};
use crate::process::{output_for_cleanup, spawn_logged, terminate, wait_for};
use crate::registry::docker_registry::Registry;
use crate::runtime::leftovers::HostDirs;
use crate::{Need, skip};

/// The shim containerd starts for each pod: `ctr` and the tests' event watcher name the same
/// socket, so shims are told apart by their program.
const SHIM: &str = "containerd-shim-runc-v2";

pub const NEEDS: &[Need] = &[
    Need::program("containerd", "containerd"),
    Need::program("ctr", "containerd"),
    Need::program(SHIM, "containerd"),
    Need::program("runc", "runc"),
    Need::program("ip", "iproute2"),
];
/// Where Debian's containernetworking-plugins installs the CNI plugins.
pub const CNI_BIN_DIR: &str = "/usr/lib/cni";
/// The CNI plugins the pod network uses.
const CNI_PLUGINS: &[&str] = &["bridge", "host-local", "loopback"];
/// The containerd namespace the CRI plugin keeps its containers, tasks and images in.
pub const NAMESPACE: &str = "k8s.io";
/// The name of the CNI network: CNI's result cache names its files after it.
const NETWORK_NAME: &str = "pause-tests";
/// The loopback network the CRI plugin attaches every sandbox to besides the configured one.
const CRI_LOOPBACK_NETWORK: &str = "cni-loopback";
/// The pod network: a private bridge and subnet for this test only.
const SUBNET: &str = "10.123.0.0/24";
/// How long containerd may take to serve its socket.
const STARTUP: Duration = Duration::from_secs(30);
/// How long containerd may take to exit after SIGTERM before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(10);
/// How long one `ctr` command may take.
const CTR_TIMEOUT: Duration = Duration::from_secs(30);
/// Where containerd 1.6 puts shim sockets, whatever its state dir: `<dir>/<sha256 of the
/// containerd address, namespace and shim id>`.
const SHIM_SOCKET_DIR: &str = "/run/containerd/s";
/// Where the CRI plugin pins sandbox network namespaces.
const NETNS_DIR: &str = "/run/netns";
/// Where CNI caches each attachment's result, as `<network>-<container id>-<interface>`.
const CNI_RESULTS_DIR: &str = "/var/lib/cni/results";

/// Makes instance names unique among the containerds this process runs at once.
static INSTANCES: AtomicUsize = AtomicUsize::new(0);

pub struct Containerd {
    child: Child,
    bridge: String,
    cgroup_parent: String,
    /// The sandboxes this containerd ran (recorded by [`Containerd::record_sandbox`]), with their
    /// network namespaces: what it may remove on the host.
    sandboxes: RefCell<Vec<(String, PathBuf)>>,
    dir: TempDir,
    /// Dropped last: removes the host directories it created once they are empty again.
    host: HostDirs,
}

/// Whether the CNI plugins are installed; reports `test` as skipped otherwise.
pub fn cni_ready(test: &str) -> bool {
    let missing: Vec<&str> = CNI_PLUGINS
        .iter()
        .copied()
        .filter(|plugin| !Path::new(CNI_BIN_DIR).join(plugin).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip(
        test,
        &format!("needs the CNI plugins {missing:?} in {CNI_BIN_DIR}"),
        "apt-get install containernetworking-plugins",
    );
    false
}

impl Containerd {
    /// Starts containerd with `sandbox_image` (in `registry`) as the pods' sandbox image.
    pub fn start(registry: &Registry, sandbox_image: &str) -> Containerd {
        let instance = format!(
            "{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::Relaxed)
        );
        let cgroup_parent = format!("pause-tests-containerd-{instance}");
        let host = HostDirs::create(
            &[SHIM_SOCKET_DIR, NETNS_DIR, CNI_RESULTS_DIR],
            &[&cgroup_parent],
        );
        let dir = tempfile::Builder::new()
            .prefix("pause-containerd-")
            .tempdir()
            .expect("creating a temp dir");
        // Interface names are at most 15 bytes; the pid keeps concurrent runs apart.
        let bridge = format!("pause{}", std::process::id() % 1_000_000);
        write_config(dir.path(), registry, sandbox_image, &bridge);
        let child = spawn_logged(
            Command::new("containerd")
                .arg("--config")
                .arg(dir.path().join("config.toml")),
            &dir.path().join("containerd.log"),
        )
        .expect("starting containerd");
        let mut containerd = Containerd {
            child,
            bridge,
            cgroup_parent,
            sandboxes: RefCell::default(),
            dir,
            host,
        };
        containerd.wait_ready();
        containerd
    }

    /// The cgroup parent the test's pods must run under (`/` and this, in the sandbox config), so
    /// that their cgroups are this instance's to remove.
    pub fn cgroup_parent(&self) -> &str {
        &self.cgroup_parent
    }

    /// Notes a sandbox the test started, with the network namespace containerd made for it: the
    /// host paths that are then provably this test's. Returns that namespace's path.
    pub fn record_sandbox(&self, sandbox: &str) -> PathBuf {
        let info: Value = serde_json::from_str(&self.ctr(&["containers", "info", sandbox]))
            .expect("ctr containers info prints JSON");
        let namespace = info["Spec"]["linux"]["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|namespace| namespace["type"] == "network")
            .and_then(|namespace| namespace["path"].as_str())
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("sandbox {sandbox} has no network namespace path: {info}"));
        let socket = self.shim_socket(sandbox);
        assert!(
            socket.exists(),
            "no shim socket at {} for sandbox {sandbox}: containerd names them differently now, \
             and the fixture could not clean them up",
            socket.display()
        );
        self.sandboxes
            .borrow_mut()
            .push((sandbox.to_string(), namespace.clone()));
        namespace
    }

    /// The host entries of the recorded sandboxes that still exist: their network namespaces,
    /// shim sockets and CNI results. Empty once containerd cleaned up after them.
    pub fn sandbox_leftovers(&self) -> Vec<PathBuf> {
        self.sandboxes
            .borrow()
            .iter()
            .flat_map(|(sandbox, namespace)| {
                let result = |network: &str, interface: &str| {
                    Path::new(CNI_RESULTS_DIR).join(format!("{network}-{sandbox}-{interface}"))
                };
                [
                    namespace.clone(),
                    self.shim_socket(sandbox),
                    result(NETWORK_NAME, "eth0"),
                    result(CRI_LOOPBACK_NETWORK, "lo"),
                ]
            })
            .filter(|path| path.exists())
            .collect()
    }

    /// The host directories this instance created that still hold something.
    pub fn host_dirs_in_use(&self) -> Vec<PathBuf> {
        self.host.still_used()
    }

    /// The socket of the shim that serves `sandbox` (the CRI plugin groups a pod's containers in
    /// its sandbox's shim), named as containerd 1.6 names it.
    fn shim_socket(&self, sandbox: &str) -> PathBuf {
        let key = format!("{}/{NAMESPACE}/{sandbox}", self.socket().display());
        let digest = sha256(key.as_bytes());
        Path::new(SHIM_SOCKET_DIR).join(digest.trim_start_matches("sha256:"))
    }

    /// The CRI (and containerd) gRPC socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// Runs `ctr --address <socket> -n k8s.io args…`, which must succeed; returns its stdout.
    pub fn ctr(&self, args: &[&str]) -> String {
        run_within(&mut self.ctr_command(args), CTR_TIMEOUT)
    }

    /// `ctr` on this containerd's socket and the CRI namespace, not yet run.
    pub fn ctr_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("ctr");
        command
            .arg("--address")
            .arg(self.socket())
            .args(["--namespace", NAMESPACE])
            .args(args);
        command
    }

    /// Everything containerd logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// The shim processes serving this containerd: they outlive it unless their tasks are gone.
    pub fn shims(&self) -> Vec<u32> {
        pids_mentioning(&self.socket().display().to_string())
            .into_iter()
            .filter(|pid| procfs::exe(*pid).is_some_and(|exe| exe.ends_with(SHIM)))
            .collect()
    }

    fn wait_ready(&mut self) {
        let ready = wait_for(STARTUP, || {
            if let Some(status) = self.child.try_wait().expect("polling containerd") {
                panic!("containerd exited at start ({status}):\n{}", self.log());
            }
            let version = output_within(&mut self.ctr_command(&["version"]), CTR_TIMEOUT);
            version.status.success().then_some(())
        });
        assert!(
            ready.is_some(),
            "containerd did not serve {} within {STARTUP:?}:\n{}",
            self.socket().display(),
            self.log()
        );
    }

    /// Kills and deletes every task and container the CRI plugin still has, so that their shims exit.
    /// For `Drop`: never panics; a `ctr` that fails or hangs is given up on.
    fn remove_tasks(&self) {
        let quiet = |args: &[&str]| output_for_cleanup(&mut self.ctr_command(args), CTR_TIMEOUT);
        let listed = |args: &[&str]| {
            quiet(args).map_or_else(String::new, |out| {
                String::from_utf8_lossy(&out.stdout).into_owned()
            })
        };
        for task in listed(&["tasks", "list", "--quiet"]).split_whitespace() {
            quiet(&["tasks", "kill", "--signal", "SIGKILL", task]);
        }
        for container in listed(&["containers", "list", "--quiet"]).split_whitespace() {
            // The CRI plugin may delete an exited task itself first: "not found" is done too.
            let _ = wait_for(SHUTDOWN, || {
                let deleted = quiet(&["tasks", "delete", "--force", container])?;
                let gone = String::from_utf8_lossy(&deleted.stderr).contains("not found");
                (deleted.status.success() || gone).then_some(())
            });
            quiet(&["containers", "delete", container]);
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.remove_tasks();
        terminate(&mut self.child, SHUTDOWN);
        for shim in self.shims() {
            eprintln!("killing containerd shim {shim} left behind");
            let _ = Command::new("kill")
                .args(["-s", "KILL", &shim.to_string()])
                .status();
        }
        unmount_under(self.dir.path());
        // A sandbox that was never stopped through the CRI keeps its network namespace pinned, its
        // shim socket and its CNI result.
        for leftover in self.sandbox_leftovers() {
            let _ = Command::new("umount")
                .arg(&leftover)
                .stderr(Stdio::null())
                .status();
            if let Err(error) = fs::remove_file(&leftover) {
                eprintln!("cannot remove {}: {error}", leftover.display());
            }
        }
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .stderr(Stdio::null())
            .status();
    }
}

/// Unmounts whatever is still mounted under `dir` (snapshots, the sandboxes' /dev/shm), deepest
/// first, so that the temp dir can be deleted.
fn unmount_under(dir: &Path) {
    for point in mounts::under(dir) {
        let _ = Command::new("umount").arg("--lazy").arg(&point).status();
    }
}

fn write_config(dir: &Path, registry: &Registry, sandbox_image: &str, bridge: &str) {
    let path = |name: &str| dir.join(name).display().to_string();
    // restrict_oom_score_adj: this machine lacks CAP_SYS_RESOURCE, and runc fails to lower the
    // sandbox's oom_score_adj below 0 without it.
    let config = format!(
        r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    Root = "{runc_root}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{cni_conf}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{certs}"
"#,
        root = path("root"),
        state = path("state"),
        socket = path("containerd.sock"),
        opt = path("opt"),
        cni_conf = path("cni-conf"),
        certs = path("certs.d"),
        runc_root = path("runc"),
    );
    fs::write(dir.join("config.toml"), config).expect("writing the containerd config");
    let hosts = dir.join("certs.d").join(registry.host());
    fs::create_dir_all(&hosts).expect("creating certs.d");
    fs::write(
        hosts.join("hosts.toml"),
        format!("server = \"http://{}\"\n", registry.host()),
    )
    .expect("writing hosts.toml");
    // No gateway and no masquerading: the pod needs an address, not a way out, and nothing
    // lands in the host's iptables. host-local keeps its leases under the temp dir.
    let network = format!(
        r#"{{
  "cniVersion": "0.4.0",
  "name": "{NETWORK_NAME}",
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "{bridge}",
      "isGateway": false,
      "ipMasq": false,
      "ipam": {{ "type": "host-local", "ranges": [[{{ "subnet": "{SUBNET}" }}]], "dataDir": "{leases}" }}
    }}
  ]
}}
"#,
        leases = path("cni-leases"),
    );
    let conf_dir = dir.join("cni-conf");
    fs::create_dir_all(&conf_dir).expect("creating the CNI config dir");
    fs::write(conf_dir.join("10-pause-tests.conflist"), network).expect("writing the CNI config");
}
