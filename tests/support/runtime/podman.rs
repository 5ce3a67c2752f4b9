//! A private podman: its containers.conf, registries.conf and storage.conf under a temp dir, so
//! that a test neither sees nor touches the machine's containers and images. The infra image of
//! every pod is ours, from a test registry. Dropping it removes every pod, container and image
//! it made, unmounts its storage and deletes what podman wrote on the host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::Need;
use crate::deadline::run_within;
use crate::process::output_for_cleanup;
use crate::registry::docker_registry::Registry;
use crate::runtime::leftovers::{self, HostDirs};

pub const NEEDS: &[Need] = &[
    Need::program("podman", "podman"),
    Need::program("runc", "runc"),
    Need::program("conmon", "conmon"),
];
/// How long one podman command may take. Generous: podman 4.3 waits 20 s for conmon in some
/// paths (see `tests/pods/init-container.yaml`).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// Where rootful podman writes on the host whatever its configuration says: runc's state of each
/// container (podman gives runc no `--root`), the network namespaces it pins, CNI's address
/// allocations and results once a container is on a bridge network.
const HOST_DIRS: &[&str] = &["/run/runc", "/run/netns", "/var/lib/cni"];
/// The temp dir of every podman command: without it, the Docker API leaves the tarball of every
/// `docker import` in /var/tmp (`api_load.tar…`).
const SCRATCH_DIR: &str = "scratch";
/// The cgroups podman 4.3 (with the cgroupfs manager) puts its containers and conmons under, in
/// every hierarchy; the name is fixed, so they are shared with any other rootful podman.
const CGROUPS: &[&str] = &["libpod_parent", "libpod_parent/conmon"];
/// rlimits podman may set: the defaults ask for more than this machine's hard limits allow
/// (CAP_SYS_RESOURCE is missing), which fails with "error setting rlimit type 7".
const ULIMITS: &str = r#"["nofile=4096:4096", "nproc=4096:4096"]"#;

pub struct Podman {
    dir: TempDir,
    /// The network namespace every podman command runs in (`nsenter --net=`), if not the host's.
    netns: Option<PathBuf>,
    /// Declared after `dir`'s users: dropped last, once podman has cleaned up.
    _host: HostDirs,
}

impl Podman {
    /// A podman whose pods use `infra_image` (ours, in `registry`) as their infra container,
    /// running `/pause`, and which talks to `registry` over plain HTTP.
    pub fn new(registry: &Registry, infra_image: &str) -> Podman {
        let engine = format!("infra_image = \"{infra_image}\"\ninfra_command = \"/pause\"\n");
        let registries = format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            registry.host()
        );
        Podman::configure(&engine, &registries)
    }

    /// A podman that reaches no registry: its images are loaded or imported.
    pub fn offline() -> Podman {
        Podman::configure("", "")
    }

    /// Writes the configs: private storage and state, plus `engine` lines for containers.conf's
    /// `[engine]` table and `registries` for registries.conf.
    fn configure(engine: &str, registries: &str) -> Podman {
        let mut dirs: Vec<PathBuf> = HOST_DIRS.iter().map(PathBuf::from).collect();
        dirs.extend(
            CGROUPS
                .iter()
                .flat_map(|cgroup| leftovers::in_every_cgroup_hierarchy(cgroup)),
        );
        let host = HostDirs::create(&dirs, &[]);
        let dir = tempfile::Builder::new()
            .prefix("pause-podman-")
            .tempdir()
            .expect("creating a temp dir");
        let path = |name: &str| dir.path().join(name).display().to_string();
        // No `static_dir`: with it set, podman 4.3 waits 20 s for conmon after every container exit.
        let containers_conf = format!(
            "[containers]\ndefault_ulimits = {ULIMITS}\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = \"{events}\"\n\
             runtime = \"runc\"\ntmp_dir = \"{tmp}\"\n{engine}\
             [network]\nnetwork_config_dir = \"{networks}\"\n",
            events = path("events.log"),
            tmp = path("tmp"),
            networks = path("networks"),
        );
        let registries_conf = format!("unqualified-search-registries = []\n{registries}");
        let storage_conf = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            path("storage"),
            path("run")
        );
        for (name, text) in [
            ("containers.conf", containers_conf),
            ("registries.conf", registries_conf),
            ("storage.conf", storage_conf),
        ] {
            fs::write(dir.path().join(name), text).expect("writing a podman config");
        }
        fs::create_dir(dir.path().join(SCRATCH_DIR)).expect("creating podman's scratch dir");
        Podman {
            dir,
            netns: None,
            _host: host,
        }
    }

    /// Runs every podman command of this instance in the network namespace at `path`: the
    /// bridges and firewall rules of its networks go there instead of the host's.
    pub fn in_network_namespace(mut self, path: &Path) -> Podman {
        self.netns = Some(path.to_path_buf());
        self
    }

    /// The variables that point podman (and `podman system service`) at this instance's files.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        vec![
            ("CONTAINERS_CONF", path("containers.conf")),
            ("CONTAINERS_REGISTRIES_CONF", path("registries.conf")),
            ("CONTAINERS_STORAGE_CONF", path("storage.conf")),
            ("TMPDIR", path(SCRATCH_DIR)),
        ]
    }

    /// The temp dir this instance keeps its files in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = match &self.netns {
            Some(netns) => {
                let mut nsenter = Command::new("nsenter");
                nsenter
                    .arg(format!("--net={}", netns.display()))
                    .args(["--", "podman"]);
                nsenter
            }
            None => Command::new("podman"),
        };
        command.args(args).envs(self.env());
        command
    }

    /// Runs `podman args…`, which must succeed; returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        run_within(&mut self.command(args), COMMAND_TIMEOUT)
    }

    /// A container's field, through `podman inspect --format`.
    pub fn inspect(&self, container: &str, template: &str) -> String {
        self.run(&["inspect", "--format", template, container])
            .trim()
            .to_string()
    }

    /// Pulls `reference` and tags it `name`: an image preloaded on the node under a fixed name.
    pub fn preload(&self, reference: &str, name: &str) {
        self.run(&["pull", "--quiet", reference]);
        self.run(&["tag", reference, name]);
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Removes every pod, container (whatever joined what), image and volume a test, failed
        // or not, left behind, and unmounts the storage.
        let reset = output_for_cleanup(
            &mut self.command(&["system", "reset", "--force"]),
            COMMAND_TIMEOUT,
        );
        match reset {
            Some(reset) if reset.status.success() => {}
            Some(reset) => eprintln!(
                "cleanup `podman system reset` failed: {}",
                String::from_utf8_lossy(&reset.stderr)
            ),
            None => eprintln!("cleanup `podman system reset` did not finish"),
        }
    }
}
