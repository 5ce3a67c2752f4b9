//! An OCI runtime CLI (runc or crun) whose state and cgroups belong to one test: `--root` under a
//! temp dir, cgroups under a parent named for the test, every container force-deleted on drop
//! (also when the test fails) and the cgroup parent and any host state dir it made removed.

use std::cell::RefCell;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::Need;
use crate::deadline::{output_within, run_within};
use crate::process::{output_for_cleanup, spawn_logged, wait_exit, wait_for};
use crate::runtime::bundle::Bundle;
use crate::runtime::leftovers::HostDirs;

/// How long a runtime command (`run -d`, `state`, `kill`, `delete`) may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// crun 1.8 refuses hybrid cgroups ("cgroups in hybrid mode not supported, drop all controllers
/// from cgroupv2") when it sees the cgroup2 `unified` mount beside the v1 hierarchies, whatever the
/// cgroup manager. So crun starts containers from a private mount namespace in which that mount is
/// gone; the host keeps it. `list`, `state`, `kill` and `delete` work without this.
const CRUN_HIDING_UNIFIED: &str = "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun \"$@\"";

/// Makes names unique among runtimes alive in this process at once (tests run in parallel).
static INSTANCES: AtomicUsize = AtomicUsize::new(0);

pub struct Runtime {
    /// `runc` or `crun`: for `spec`, `state`, `kill`, `delete`.
    program: &'static str,
    /// The command line that starts containers.
    launcher: Vec<String>,
    /// `--root`: the runtime's state.
    state: TempDir,
    /// Names containers and their cgroups apart from other tests'.
    prefix: String,
    /// Every container started, by id, with the log of the runtime that started it.
    containers: RefCell<Vec<(String, PathBuf)>>,
    /// Removes the cgroups named with `prefix`.
    _host: HostDirs,
}

impl Runtime {
    pub const RUNC_NEEDS: &[Need] = &[Need::program("runc", "runc")];
    pub const CRUN_NEEDS: &[Need] = &[
        Need::program("crun", "crun"),
        Need::program("unshare", "util-linux"),
    ];

    pub fn runc() -> Runtime {
        Runtime::new("runc", vec!["runc".into()])
    }

    /// crun, started through the wrapper that hides the cgroup2 mount ([`CRUN_HIDING_UNIFIED`]).
    pub fn crun() -> Runtime {
        let launcher = [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            CRUN_HIDING_UNIFIED,
            "crun",
        ];
        Runtime::new("crun", launcher.map(String::from).to_vec())
    }

    fn new(program: &'static str, launcher: Vec<String>) -> Runtime {
        let prefix = format!(
            "pause-tests-{program}-{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::Relaxed)
        );
        Runtime {
            program,
            launcher,
            state: tempfile::tempdir().expect("creating the runtime's state dir"),
            _host: HostDirs::create(&[] as &[&str], &[&prefix]),
            prefix,
            containers: RefCell::default(),
        }
    }

    pub fn program(&self) -> &'static str {
        self.program
    }

    /// Starts `bundle` as container `name` in the background; returns its id. What it prints
    /// goes to [`Bundle::log`].
    pub fn run_detached(&self, name: &str, bundle: &mut Bundle) -> String {
        let id = self.create(name, bundle);
        let mut run = self.logged(&id, bundle, &["--detach"]);
        let status = wait_exit(&mut run, COMMAND_TIMEOUT);
        assert!(
            status.is_some_and(|status| status.success()),
            "`{} run --detach {id}` failed ({status:?}):\n{}",
            self.program,
            bundle.log()
        );
        id
    }

    /// Runs `bundle` as container `name` in the foreground, as `<runtime> run` without `-d`: the
    /// child exits with the container's exit status once it ends. What it prints goes to
    /// [`Bundle::log`].
    pub fn run_attached(&self, name: &str, bundle: &mut Bundle) -> (String, Child) {
        let id = self.create(name, bundle);
        let child = self.logged(&id, bundle, &[]);
        (id, child)
    }

    fn logged(&self, id: &str, bundle: &Bundle, flags: &[&str]) -> Child {
        spawn_logged(&mut self.start(id, bundle, flags), &bundle.log_path())
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.program))
    }

    /// Runs `bundle` as container `name` to its end within `timeout`; returns what it printed.
    pub fn run_to_end(&self, name: &str, bundle: &mut Bundle, timeout: Duration) -> Output {
        let id = self.create(name, bundle);
        output_within(&mut self.start(&id, bundle, &[]), timeout)
    }

    fn create(&self, name: &str, bundle: &mut Bundle) -> String {
        let id = format!("{}-{name}", self.prefix);
        bundle.write(&format!("/{}/{name}", self.prefix));
        self.containers
            .borrow_mut()
            .push((id.clone(), bundle.log_path()));
        id
    }

    /// `<launcher> --root <state> run [flags] --bundle <dir> <id>`: flags go before the id, the
    /// runtimes stop reading flags at the first argument.
    fn start(&self, id: &str, bundle: &Bundle, flags: &[&str]) -> Command {
        let (program, args) = self.launcher.split_first().expect("a launcher");
        let mut command = Command::new(program);
        command
            .args(args)
            .arg("--root")
            .arg(self.state.path())
            .arg("run")
            .args(flags)
            .arg("--bundle")
            .arg(&bundle.dir)
            .arg(id);
        command
    }

    fn command(&self) -> Command {
        let mut command = Command::new(self.program);
        command.arg("--root").arg(self.state.path());
        command
    }

    /// `<runtime> state`: the container's status and host pid; None while it does not exist.
    pub fn state(&self, id: &str) -> Option<Value> {
        let out = output_within(self.command().args(["state", id]), COMMAND_TIMEOUT);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("state is JSON"))
    }

    /// The host pid of container `id` once it runs; panics, showing what the runtime printed,
    /// if it stopped instead or is not running by `timeout`.
    pub fn running_pid(&self, id: &str, timeout: Duration) -> u32 {
        let status = wait_for(timeout, || {
            let state = self.state(id)?;
            match state["status"].as_str()? {
                "running" | "stopped" => Some(state),
                _ => None,
            }
        });
        status
            .as_ref()
            .filter(|state| state["status"] == "running")
            .and_then(|state| u32::try_from(state["pid"].as_u64()?).ok())
            .unwrap_or_else(|| {
                panic!(
                    "{} container {id} is not running after {timeout:?} ({status:?}); it printed:\n{}",
                    self.program,
                    self.log(id)
                )
            })
    }

    /// What the runtime that started container `id` in the background printed.
    fn log(&self, id: &str) -> String {
        let containers = self.containers.borrow();
        let log = containers
            .iter()
            .find(|(started, _)| started == id)
            .map(|(_, log)| log);
        log.and_then(|log| fs::read_to_string(log).ok())
            .unwrap_or_default()
    }

    /// `<runtime> kill <id> <signal>`.
    pub fn kill(&self, id: &str, signal: &str) {
        run_within(self.command().args(["kill", id, signal]), COMMAND_TIMEOUT);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for (id, _) in self.containers.borrow().iter().rev() {
            // A container that ended and was deleted by its foreground `run` is simply absent.
            let deleted = output_for_cleanup(
                self.command().args(["delete", "--force", id]),
                COMMAND_TIMEOUT,
            );
            if deleted.is_none() {
                eprintln!("`{} delete --force {id}` did not finish", self.program);
            }
        }
    }
}
