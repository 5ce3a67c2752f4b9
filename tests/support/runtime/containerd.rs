//! A private containerd with its CRI plugin, as a kubelet node runs it: Debian 12's containerd 1.6
//! (config version 2) or Debian unstable's containerd 2 (config version 3, the binaries
//! `cargo xtask test` unpacks under target/tools/debian-unstable; Debian 12's runc under both).
//! Root, state, socket, runc's state and CNI config under a temp dir, the sandbox image set by the
//! exact lines `cargo xtask push` printed for that containerd (our image in a test registry,
//! plain HTTP through `certs.d/<host>/hosts.toml`), a CNI bridge for pod IPs, pods under a
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
use xtask::engine::process::{kill_and_wait, pids_mentioning};
use xtask::oci::blob::sha256;
use xtask::procfs;
use xtask::tools::debian_unstable;

use crate::deadline::{output_within, run_within};
use crate::process::{output_for_cleanup, spawn_logged, terminate, wait_for};
use crate::registry::docker_registry::Registry;
use crate::runtime::leftovers::HostDirs;
use crate::{Need, image, ready, skip, xtask_cli};

/// The shim containerd starts for each pod: `ctr` and the tests' event watcher name the same
/// socket, so shims are told apart by their program.
const SHIM: &str = "containerd-shim-runc-v2";

/// What containerd 1.6 needs: Debian 12's packages.
pub const NEEDS: &[Need] = &[
    Need::program("containerd", "containerd"),
    Need::program("ctr", "containerd"),
    Need::program(SHIM, "containerd"),
    Need::program("runc", "runc"),
    Need::program("ip", "iproute2"),
];
/// What containerd 2 needs from Debian 12 besides its unpacked binaries: runc runs its pods.
const NEEDS_2: &[Need] = &[
    Need::program("runc", "runc"),
    Need::program("ip", "iproute2"),
];
/// The table of containerd 1.6's CRI plugin, which its sandbox setting opens: the config opens it
/// itself when a test starts no pod and so gives no setting.
const CRI_TABLE_V2: &str = "[plugins.\"io.containerd.grpc.v1.cri\"]\n";
/// Where the containerd packages put their programs, in target/tools/debian-unstable/root.
const UNPACKED_BIN: &str = "usr/bin";
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
/// Where containerd 1.6 and 2.1 put shim sockets, whatever their state dir: `<dir>/<sha256 of
/// the containerd address, namespace and shim id>`.
const SHIM_SOCKET_DIR: &str = "/run/containerd/s";
/// Where containerd 1.6's CRI plugin pins sandbox network namespaces (containerd 2's config here
/// puts them under its state dir).
const NETNS_DIR: &str = "/run/netns";
/// Where CNI caches each attachment's result, as `<network>-<container id>-<interface>`.
const CNI_RESULTS_DIR: &str = "/var/lib/cni/results";

/// The containerd a test drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Debian 12's containerd 1.6, config version 2: `sandbox_image`.
    V1_6,
    /// Debian unstable's containerd 2, config version 3: `pinned_images.sandbox`.
    V2,
}

impl Release {
    /// `containerd 1.6`, `containerd 2`: for messages.
    pub fn name(self) -> &'static str {
        match self {
            Release::V1_6 => "containerd 1.6",
            Release::V2 => "containerd 2",
        }
    }

    /// The comment `cargo xtask push` prints above this release's sandbox setting.
    fn push_heading(self) -> &'static str {
        match self {
            Release::V1_6 => "# containerd 1.x:",
            Release::V2 => "# containerd 2.x:",
        }
    }

    /// `containerd`, `ctr`: Debian 12's on PATH, or unstable's unpacked ones.
    fn program(self, name: &str) -> PathBuf {
        match self {
            Release::V1_6 => PathBuf::from(name),
            Release::V2 => debian_unstable::root().join(UNPACKED_BIN).join(name),
        }
    }

    /// Whether this release and the rest of what `test` needs are here: reports `test` skipped
    /// otherwise, and fails it when unstable served a containerd below the floor. Prints the
    /// version it runs.
    pub fn ready(self, test: &str, needs: &[Need]) -> bool {
        let mut all = needs.to_vec();
        all.extend(match self {
            Release::V1_6 => NEEDS,
            Release::V2 => NEEDS_2,
        });
        if !ready(test, &all) || !cni_ready(test) {
            return false;
        }
        if self == Release::V2 {
            match debian_unstable::installed() {
                Ok(Some(_)) => {}
                Ok(None) => {
                    skip(
                        test,
                        "needs containerd 2 from Debian unstable, unpacked under target/tools/debian-unstable",
                        "cargo xtask test (it downloads and unpacks it)",
                    );
                    return false;
                }
                Err(error) => panic!("{test}: {error:#}"),
            }
        }
        let version = run_within(
            Command::new(self.program("containerd")).arg("--version"),
            CTR_TIMEOUT,
        );
        eprintln!("{test} runs {}", version.trim());
        true
    }
}

/// The lines `cargo xtask push` printed to set a containerd's sandbox image, and the image they
/// name.
pub struct SandboxSetting {
    /// The table line and the key line, exactly as printed, each ending in a newline.
    pub text: String,
    /// The image reference the key holds.
    pub image: String,
}

/// Pushes the project's image to `registry` as `pause:tag` with `cargo xtask push`, as a user
/// does, and takes the lines it printed for `release` from its output, unchanged: the one place
/// that knows where and how the push prints them.
pub fn push_sandbox_setting(registry: &Registry, tag: &str, release: Release) -> SandboxSetting {
    let reference = registry.reference(&format!("pause:{tag}"));
    let said = xtask_cli::push_layout(&reference, &image::layout(), None, "");
    // The settings are the push's progress, on stderr; stdout holds only the pushed reference.
    let mut lines = said
        .stderr
        .lines()
        .skip_while(|line| !line.starts_with(release.push_heading()))
        .skip(1)
        .take_while(|line| !line.starts_with('#') && !line.is_empty());
    let (Some(table), Some(key)) = (lines.next(), lines.next()) else {
        panic!(
            "the push printed no {} setting under `{}`:\n{}",
            release.name(),
            release.push_heading(),
            said.all()
        );
    };
    let image = key
        .split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("no quoted image in the push's `{key}`"))
        .to_string();
    SandboxSetting {
        text: format!("{table}\n{key}\n"),
        image,
    }
}

/// Makes instance names unique among the containerds this process runs at once.
static INSTANCES: AtomicUsize = AtomicUsize::new(0);

pub struct Containerd {
    release: Release,
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
    /// Starts `release` with `sandbox` (an image in `registry`) setting the pods' sandbox image;
    /// `None` for a test that starts no pod, which leaves the release's default.
    pub fn start(
        release: Release,
        registry: &Registry,
        sandbox: Option<&SandboxSetting>,
    ) -> Containerd {
        let number = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let instance = format!("{}-{number}", std::process::id());
        let cgroup_parent = format!("pause-tests-containerd-{instance}");
        let host = HostDirs::create(
            &[SHIM_SOCKET_DIR, NETNS_DIR, CNI_RESULTS_DIR],
            &[&cgroup_parent],
        );
        let dir = tempfile::Builder::new()
            .prefix("pause-containerd-")
            .tempdir()
            .expect("creating a temp dir");
        // Interface names are at most 15 bytes; the pid and the instance keep concurrent runs apart.
        let bridge = format!("pause{}-{}", std::process::id() % 1_000_000, number % 1000);
        let setting = sandbox.map(|sandbox| sandbox.text.as_str());
        let config = match release {
            Release::V1_6 => config_v2(dir.path(), setting.unwrap_or(CRI_TABLE_V2)),
            Release::V2 => config_v3(dir.path(), setting.unwrap_or_default()),
        };
        fs::write(dir.path().join("config.toml"), config).expect("writing the containerd config");
        write_registry_and_network(dir.path(), registry, &bridge);
        let mut command = Command::new(release.program("containerd"));
        command.arg("--config").arg(dir.path().join("config.toml"));
        if release == Release::V2 {
            // The unpacked shim first, then Debian 12's runc and the rest, from PATH.
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![debian_unstable::root().join(UNPACKED_BIN)];
            dirs.extend(std::env::split_paths(&path));
            command.env("PATH", std::env::join_paths(dirs).expect("a PATH"));
        }
        let child = spawn_logged(&mut command, &dir.path().join("containerd.log"))
            .expect("starting containerd");
        let mut containerd = Containerd {
            release,
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
    /// its sandbox's shim), named as containerd 1.6 and 2.1 name it.
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
        let mut command = Command::new(self.release.program("ctr"));
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

    /// The sandbox (the `-id`) each running shim of this containerd serves.
    pub fn shim_sandboxes(&self) -> Vec<String> {
        self.shims()
            .into_iter()
            .filter_map(|shim| {
                let args = procfs::args(shim)?;
                let id = args.iter().position(|arg| arg == "-id")?;
                args.get(id + 1).cloned()
            })
            .collect()
    }

    /// Ends the shim of `sandbox` that containerd let go of without shutting it down (containerd
    /// 2 does, about one time in three, when a sandbox's task is killed outside the CRI:
    /// containerd/containerd#10421), and removes its socket: both provably this test's.
    pub fn end_abandoned_shim(&self, sandbox: &str) {
        let shims: Vec<u32> = self
            .shims()
            .into_iter()
            .filter(|&shim| {
                procfs::args(shim).is_some_and(|args| args.iter().any(|arg| arg == sandbox))
            })
            .collect();
        kill_and_wait(&shims);
        let socket = self.shim_socket(sandbox);
        if socket.exists() {
            fs::remove_file(&socket)
                .unwrap_or_else(|error| panic!("removing {}: {error}", socket.display()));
        }
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

/// containerd 1.6's configuration (version 2), `sandbox` the lines the push printed for it: its
/// table is the CRI plugin's, which the other settings continue.
fn config_v2(dir: &Path, sandbox: &str) -> String {
    let path = |name: &str| dir.join(name).display().to_string();
    // restrict_oom_score_adj: this machine lacks CAP_SYS_RESOURCE, and runc fails to lower the
    // sandbox's oom_score_adj below 0 without it.
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
{sandbox}  restrict_oom_score_adj = true
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
    )
}

/// containerd 2's configuration (version 3), `sandbox` the lines the push printed for it: a table
/// of its own. The network namespaces are pinned under the state dir, not /run/netns, and NRI,
/// which would listen on a socket in /var/run/nri, is off.
fn config_v3(dir: &Path, sandbox: &str) -> String {
    let path = |name: &str| dir.join(name).display().to_string();
    format!(
        r#"version = 3
root = "{root}"
state = "{state}"
[grpc]
  address = "{socket}"
{sandbox}[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = "{certs}"
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  Root = "{runc_root}"
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ["{CNI_BIN_DIR}"]
  conf_dir = "{cni_conf}"
[plugins.'io.containerd.nri.v1.nri']
  disable = true
"#,
        root = path("root"),
        state = path("state"),
        socket = path("containerd.sock"),
        cni_conf = path("cni-conf"),
        certs = path("certs.d"),
        runc_root = path("runc"),
    )
}

/// The registry's plain-HTTP host entry and the pod network, the same for both releases.
fn write_registry_and_network(dir: &Path, registry: &Registry, bridge: &str) {
    let path = |name: &str| dir.join(name).display().to_string();
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
