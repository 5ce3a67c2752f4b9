//! A private containerd with its CRI plugin, as a kubelet node runs it: root, state, socket and
//! CNI config under a temp dir, `sandbox_image` = our image in a test registry (plain HTTP through
//! `certs.d/<host>/hosts.toml`), a CNI bridge for pod IPs. Dropping it kills every task it still
//! runs, stops it, unmounts its snapshots and deletes what it wrote on the host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::deadline::{output_within, run_within};
use crate::leftovers::HostPaths;
use crate::process::{signal, wait_exit, wait_for};
use crate::registry::Registry;
use crate::{Need, skip};

pub const NEEDS: &[Need] = &[
    Need::program("containerd", "containerd"),
    Need::program("ctr", "containerd"),
    Need::program("containerd-shim-runc-v2", "containerd"),
    Need::program("runc", "runc"),
    Need::program("ip", "iproute2"),
];
/// Where Debian's containernetworking-plugins installs the CNI plugins.
pub const CNI_BIN_DIR: &str = "/usr/lib/cni";
/// The CNI plugins the pod network uses.
const CNI_PLUGINS: &[&str] = &["bridge", "host-local", "loopback"];
/// The containerd namespace the CRI plugin keeps its containers, tasks and images in.
pub const NAMESPACE: &str = "k8s.io";
/// The cgroup parent the test's pods run under, removed afterwards.
pub const CGROUP_PARENT: &str = "pause-tests";
/// The pod network: a private bridge and subnet for this test only.
const SUBNET: &str = "10.123.0.0/24";
/// How long containerd may take to serve its socket.
const STARTUP: Duration = Duration::from_secs(30);
/// How long containerd may take to exit after SIGTERM before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(10);
/// How long one `ctr` command may take.
const CTR_TIMEOUT: Duration = Duration::from_secs(30);
/// What containerd writes on the host whatever its configuration says: shim sockets and runc
/// state under /run/containerd, network namespaces, CNI's result cache.
const HOST_PATHS: &[&str] = &["/run/containerd", "/run/netns", "/var/lib/cni"];

pub struct Containerd {
    child: Child,
    bridge: String,
    /// The network namespaces that existed before: the ones the CRI plugin adds are ours.
    namespaces_before: Vec<String>,
    dir: TempDir,
    _host: HostPaths,
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
        let host = HostPaths::watch(HOST_PATHS, &[CGROUP_PARENT]);
        let dir = tempfile::Builder::new()
            .prefix("pause-containerd-")
            .tempdir()
            .expect("creating a temp dir");
        // Interface names are at most 15 bytes; the pid keeps concurrent runs apart.
        let bridge = format!("pause{}", std::process::id() % 1_000_000);
        write_config(dir.path(), registry, sandbox_image, &bridge);
        let log = fs::File::create(dir.path().join("containerd.log"))
            .expect("creating the containerd log");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("sharing the log file"))
            .stderr(log)
            .spawn()
            .expect("starting containerd");
        let namespaces_before = network_namespaces();
        let mut containerd = Containerd {
            child,
            bridge,
            namespaces_before,
            dir,
            _host: host,
        };
        containerd.wait_ready();
        containerd
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
        let socket = self.socket().display().to_string();
        fs::read_dir("/proc")
            .expect("reading /proc")
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let args: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).collect();
                args.first()
                    .is_some_and(|program| program.ends_with(b"containerd-shim-runc-v2"))
                    && args
                        .windows(2)
                        .any(|pair| pair[0] == b"-address" && pair[1] == socket.as_bytes())
            })
            .collect()
    }

    /// The network namespaces in /run/netns that appeared since containerd started.
    pub fn new_network_namespaces(&self) -> Vec<String> {
        network_namespaces()
            .into_iter()
            .filter(|name| !self.namespaces_before.contains(name))
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
    fn remove_tasks(&self) {
        let quiet = |args: &[&str]| output_within(&mut self.ctr_command(args), CTR_TIMEOUT);
        let tasks =
            String::from_utf8_lossy(&quiet(&["tasks", "list", "--quiet"]).stdout).into_owned();
        for task in tasks.split_whitespace() {
            quiet(&["tasks", "kill", "--signal", "SIGKILL", task]);
        }
        let containers =
            String::from_utf8_lossy(&quiet(&["containers", "list", "--quiet"]).stdout).into_owned();
        for container in containers.split_whitespace() {
            // The CRI plugin may delete an exited task itself first: "not found" is done too.
            let _ = wait_for(SHUTDOWN, || {
                let deleted = quiet(&["tasks", "delete", "--force", container]);
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
        signal(self.child.id(), "TERM");
        if wait_exit(&mut self.child, SHUTDOWN).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for shim in self.shims() {
            eprintln!("killing containerd shim {shim} left behind");
            let _ = Command::new("kill")
                .args(["-s", "KILL", &shim.to_string()])
                .status();
        }
        unmount_under(self.dir.path());
        // A sandbox that was never stopped through the CRI keeps its network namespace pinned.
        for namespace in self.new_network_namespaces() {
            let path = Path::new(NETNS_DIR).join(namespace);
            let _ = Command::new("umount").arg(&path).status();
            let _ = fs::remove_file(&path);
        }
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .stderr(Stdio::null())
            .status();
    }
}

/// Where CNI-managed network namespaces are pinned.
const NETNS_DIR: &str = "/run/netns";

fn network_namespaces() -> Vec<String> {
    fs::read_dir(NETNS_DIR)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Unmounts whatever is still mounted under `dir` (snapshots, the sandboxes' /dev/shm), deepest
/// first, so that the temp dir can be deleted.
fn unmount_under(dir: &Path) {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    let mut mounts: Vec<&str> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| Path::new(point).starts_with(dir))
        .collect();
    mounts.sort_by_key(|point| std::cmp::Reverse(point.len()));
    for point in mounts {
        let _ = Command::new("umount").args(["--lazy", point]).status();
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
  "name": "pause-tests",
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
