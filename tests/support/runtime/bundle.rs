//! OCI runtime bundles (a rootfs and its config.json) for a bare pod: the anchor pulled from our
//! image's multi-platform index in a registry, and busybox app containers that join the anchor's namespaces.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::deadline::run_within;
use crate::registry::docker_registry::Registry;
use crate::runtime::app_image;
use crate::skopeo;
use crate::{Need, Platform};

/// What making the anchor's bundle needs beside the runtime: the registry it is pulled from,
/// skopeo to pull it, umoci to unpack it.
pub const PAUSE_NEEDS: &[Need] = &[
    Need::program("docker-registry", "docker-registry"),
    Need::program("umoci", "umoci"),
    skopeo::SKOPEO,
    skopeo::UNSHARE,
];
/// The namespaces that make a pod: the anchor creates them, the app containers join them. Each
/// container still gets its own mount namespace (its own rootfs).
const POD_NAMESPACES: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("network", "net"),
    ("ipc", "ipc"),
    ("uts", "uts"),
];
/// The pod's hostname, in the anchor's UTS namespace.
const POD_HOSTNAME: &str = "pod";
/// How long skopeo, umoci and `<runtime> spec` may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Our image in a registry on loopback, for the anchors to be pulled from as a node pulls them.
pub struct PauseSource {
    registry: Registry,
    reference: String,
}

impl PauseSource {
    /// Starts a registry and pushes the project's image (`cargo xtask image`'s layout) to it.
    pub fn start() -> PauseSource {
        let registry = Registry::start_plain();
        let reference = registry.push_project_image("pods");
        PauseSource {
            registry,
            reference,
        }
    }
}

/// A bundle directory and the config.json it gets when a runtime starts it.
pub struct Bundle {
    pub dir: PathBuf,
    config: Value,
}

impl Bundle {
    /// Our image for `platform`, pulled from `source`'s multi-platform index the way a runtime on
    /// that platform pulls it, and unpacked with umoci into `dir/pause`. umoci 0.4 cannot choose
    /// from an index ("tag is ambiguous"), so skopeo pulls the platform's image alone into a
    /// one-image layout.
    pub fn pause(dir: &Path, platform: &Platform, source: &PauseSource) -> Bundle {
        let single = dir.join("pause-image");
        let mut copy = skopeo::command();
        copy.args([
            "--override-os",
            xtask::platform::OS,
            "--override-arch",
            platform.arch,
        ]);
        if let Some(variant) = platform.variant {
            copy.args(["--override-variant", variant]);
        }
        run_within(
            copy.args(["copy", "--quiet"])
                .args(source.registry.skopeo_args("src"))
                .arg(format!("docker://{}", source.reference))
                .arg(format!("oci:{}:pause", single.display())),
            TOOL_TIMEOUT,
        );
        let bundle = dir.join("pause");
        run_within(
            Command::new("umoci")
                .arg("unpack")
                .arg("--image")
                .arg(format!("{}:pause", single.display()))
                .arg(&bundle),
            TOOL_TIMEOUT,
        );
        Bundle::read(bundle)
    }

    /// Busybox (`/bin/<applet>`) in `dir/<name>`, with the default config of `runtime spec`.
    pub fn busybox(dir: &Path, name: &str, runtime: &str) -> Bundle {
        let bundle = dir.join(name);
        fs::create_dir_all(&bundle).expect("creating a bundle");
        fs::rename(app_image::rootfs(&bundle), bundle.join("rootfs")).expect("placing the rootfs");
        run_within(
            Command::new(runtime)
                .arg("spec")
                .arg("--bundle")
                .arg(&bundle),
            TOOL_TIMEOUT,
        );
        let mut app = Bundle::read(bundle);
        // The apps write their files (the web server's page); only the anchor is read-only.
        app.config["root"]["readonly"] = json!(false);
        app
    }

    fn read(dir: PathBuf) -> Bundle {
        let text = fs::read(dir.join("config.json")).expect("reading config.json");
        let config = serde_json::from_slice(&text).expect("config.json is JSON");
        Bundle { dir, config }
    }

    /// Makes this the pod's anchor, locked down as kubelet runs the sandbox: fresh pod
    /// namespaces, read-only rootfs, no capabilities, no new privileges. The user stays the
    /// image's (65535:65535).
    pub fn anchor(&mut self) -> &mut Bundle {
        let namespaces: Vec<Value> = POD_NAMESPACES
            .iter()
            .map(|(kind, _)| json!({ "type": kind }))
            .chain([json!({ "type": "mount" })])
            .collect();
        let linux = &mut self.config["linux"];
        linux["namespaces"] = Value::Array(namespaces);
        let process = &mut self.config["process"];
        process["capabilities"] = json!({
            "bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []
        });
        process["noNewPrivileges"] = json!(true);
        self.config["root"]["readonly"] = json!(true);
        self.config["hostname"] = json!(POD_HOSTNAME);
        self
    }

    /// Makes this an app container of the pod anchored by host process `anchor_pid`: it joins
    /// the anchor's namespaces by path, as runtimes do for a pod's containers.
    pub fn join(&mut self, anchor_pid: u32) -> &mut Bundle {
        let namespaces: Vec<Value> = POD_NAMESPACES
            .iter()
            .map(|(kind, file)| json!({ "type": kind, "path": format!("/proc/{anchor_pid}/ns/{file}") }))
            .chain([json!({ "type": "mount" })])
            .collect();
        self.config["linux"]["namespaces"] = Value::Array(namespaces);
        // The hostname belongs to the pod's UTS namespace, which the anchor already set up.
        if let Some(config) = self.config.as_object_mut() {
            config.remove("hostname");
        }
        self
    }

    /// The container's command line.
    pub fn args(&mut self, args: &[&str]) -> &mut Bundle {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// Where the runtime started in the background writes what it and the container print.
    pub fn log_path(&self) -> PathBuf {
        self.dir.with_extension("log")
    }

    /// What the runtime and the container printed, so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Writes config.json for a detached, terminal-less start in cgroup `cgroups_path`.
    pub fn write(&mut self, cgroups_path: &str) {
        self.config["process"]["terminal"] = json!(false);
        self.config["linux"]["cgroupsPath"] = json!(cgroups_path);
        let text = serde_json::to_vec_pretty(&self.config).expect("serializing config.json");
        fs::write(self.dir.join("config.json"), text).expect("writing config.json");
    }
}
