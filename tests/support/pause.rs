//! A running pause: as PID 1 of a fresh PID namespace (`unshare --pid --fork`), also under strace,
//! or as an ordinary process. It is stopped with SIGKILL on drop, so a failing test leaves nothing
//! behind.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use xtask::procfs;

use crate::process::{self, wait_exit, wait_for};

/// How long pause may take to start and block in its wait (qemu starts in well under a second).
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long pause may take to exit after SIGINT or SIGTERM.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// pause.c's words on SIGTERM and SIGINT, which ours repeats.
pub const TERMINATED: &str = "Shutting down, got signal: Terminated";
pub const INTERRUPTED: &str = "Shutting down, got signal: Interrupt";
/// unshare's options that make the command after them PID 1 of a new PID namespace, which ends
/// (everything in it killed) when unshare dies.
const PID1_OF_NEW_NAMESPACE: &[&str] = &["--pid", "--fork", "--kill-child", "--"];
/// The kernel function a task sleeps in while blocked in rt_sigtimedwait, as /proc/PID/wchan
/// names it: it is the same for native and qemu-emulated pause.
const SIGWAIT_WCHAN: &str = "do_sigtimedwait";

pub struct Pause {
    /// `unshare` for PID 1 (the outer one under strace), or pause (or its qemu) itself.
    outer: Child,
    /// The host PID of pause (or of the qemu running it).
    pid: u32,
}

impl Pause {
    /// Starts `argv` as PID 1 of a new PID namespace and waits until it blocks in its wait.
    pub fn start_as_pid1(argv: &[String]) -> Pause {
        let outer = spawn("unshare", PID1_OF_NEW_NAMESPACE, argv);
        Pause::below(outer, 1)
    }

    /// Starts [`traced_as_pid1`]'s command line and waits until pause blocks in its wait.
    pub fn start_traced_as_pid1(strace_options: &[&str], argv: &[String]) -> Pause {
        let traced = traced_as_pid1(strace_options, argv);
        let outer = spawn(&traced[0], &[], &traced[1..]);
        // unshare, then strace, then the inner unshare, then pause.
        Pause::below(outer, 3)
    }

    /// Starts `argv` as an ordinary process of this PID namespace and waits until it blocks.
    pub fn start(argv: &[String]) -> Pause {
        let outer = spawn(&argv[0], &[], &argv[1..]);
        let pid = outer.id();
        Pause::waiting(outer, pid)
    }

    /// Wraps an already spawned pause (`outer` is pause itself) and waits until it blocks.
    pub fn adopt(outer: Child) -> Pause {
        let pid = outer.id();
        Pause::waiting(outer, pid)
    }

    /// The pause `depth` generations below `outer`, once it blocks. It owns `outer` from the
    /// start: a start that fails (a panic here) kills everything it started, on drop.
    fn below(outer: Child, depth: usize) -> Pause {
        let mut pause = Pause { outer, pid: 0 };
        pause.pid = descendant(&mut pause.outer, depth);
        pause.wait_until_blocked();
        pause
    }

    fn waiting(outer: Child, pid: u32) -> Pause {
        let mut pause = Pause { outer, pid };
        pause.wait_until_blocked();
        pause
    }

    fn wait_until_blocked(&mut self) {
        let waiting = wait_for(START_TIMEOUT, || {
            assert_running(&mut self.outer);
            self.is_waiting().then_some(())
        });
        assert!(
            waiting.is_some(),
            "pause (pid {}) did not block in rt_sigtimedwait within {START_TIMEOUT:?}",
            self.pid
        );
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// pause's one-letter state (`S`, `T`, `Z`, ...), or None once it is gone.
    pub fn state(&self) -> Option<char> {
        state(self.pid)
    }

    /// Whether pause is alive and blocked waiting for signals (not stopped, not a zombie).
    pub fn is_waiting(&self) -> bool {
        is_waiting(self.pid)
    }

    /// Sends `signal` (a name such as `HUP`) to pause.
    pub fn signal(&self, signal: &str) {
        process::signal(self.pid, signal);
    }

    /// pause's children: the orphans reparented to it, live or zombie.
    pub fn children(&self) -> Vec<u32> {
        children_of(self.pid)
    }

    /// The other processes of pause's PID namespace, as (pid, state) pairs.
    pub fn namespace_members(&self) -> Vec<(u32, char)> {
        let Some(namespace) = procfs::namespace(self.pid, "pid") else {
            return Vec::new();
        };
        procfs::pids()
            .into_iter()
            .filter(|&pid| pid != self.pid)
            .filter(|&pid| procfs::namespace(pid, "pid").as_ref() == Some(&namespace))
            .filter_map(|pid| Some((pid, state(pid)?)))
            .collect()
    }

    /// Sends `signal` and waits for the exit: the status (of unshare, which passes on its child's)
    /// and everything pause wrote to stderr.
    pub fn stop(mut self, signal: &str) -> (ExitStatus, String) {
        self.signal(signal);
        let status = wait_exit(&mut self.outer, EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("pause did not exit within {EXIT_TIMEOUT:?} of SIG{signal}"));
        let mut stderr = String::new();
        self.outer
            .stderr
            .take()
            .expect("stderr is piped")
            .read_to_string(&mut stderr)
            .expect("reading pause's stderr");
        (status, stderr)
    }
}

impl Drop for Pause {
    fn drop(&mut self) {
        // After a normal stop both have exited and these do nothing.
        let _ = self.outer.kill();
        let _ = self.outer.wait();
    }
}

/// The command line that runs `argv` as PID 1 of a new PID namespace under `strace -f` with
/// `strace_options` (what to inject, where to log). strace is PID 1 of a namespace of its own, so
/// that killing the outermost process (an unshare) ends strace, pause and everything between:
/// killing strace alone would let pause run on, untraced.
pub fn traced_as_pid1(strace_options: &[&str], argv: &[String]) -> Vec<String> {
    ["unshare"]
        .iter()
        .chain(PID1_OF_NEW_NAMESPACE)
        .chain(&["strace", "-f", "-qq"])
        .chain(strace_options)
        .chain(&["unshare"])
        .chain(PID1_OF_NEW_NAMESPACE)
        .map(|arg| arg.to_string())
        .chain(argv.iter().cloned())
        .collect()
}

fn spawn(program: &str, options: &[&str], argv: &[String]) -> Child {
    Command::new(program)
        .args(options)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {program}: {error}"))
}

/// Whether host process `pid` (a pause) is alive and blocked waiting for signals (not stopped, not
/// a zombie): from then on it answers SIGTERM and SIGINT.
pub fn is_waiting(pid: u32) -> bool {
    procfs::wchan(pid).starts_with(SIGWAIT_WCHAN) && state(pid) == Some('S')
}

/// The process `depth` generations below `outer` (each generation's newest child), once the
/// whole line exists. The line is walked anew at every look: a parent may also have short-lived
/// children (strace forks probes of the kernel's ptrace features before it starts its tracee), and
/// a child that ended without a child of its own is no ancestor.
fn descendant(outer: &mut Child, depth: usize) -> u32 {
    // Ok(the process at `depth`), or Err(the deepest generation found so far).
    let line = |root: u32| -> Result<u32, u32> {
        (0..depth).try_fold(root, |parent, _| {
            children_of(parent).last().copied().ok_or(parent)
        })
    };
    wait_for(START_TIMEOUT, || {
        assert_running(outer);
        line(outer.id()).ok()
    })
    .unwrap_or_else(|| {
        let deepest = line(outer.id()).unwrap_or_else(|deepest| deepest);
        // What the deepest process is doing instead says which step hung, should this happen.
        panic!(
            "{deepest} ({:?}, state {:?}, in {:?}) started no process within {START_TIMEOUT:?}",
            procfs::args(deepest).unwrap_or_default(),
            procfs::state(deepest),
            procfs::wchan(deepest)
        )
    })
}

/// Fails at once, with what pause said, if `outer` has exited: pause gave up before it blocked.
fn assert_running(outer: &mut Child) {
    if let Some(status) = outer.try_wait().expect("waiting on a child") {
        let mut stderr = String::new();
        if let Some(mut pipe) = outer.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        panic!("pause exited ({status}) before it blocked in its wait; stderr: {stderr:?}");
    }
}

/// The children of a process, zombies included; none once it is gone.
pub fn children_of(pid: u32) -> Vec<u32> {
    procfs::children(pid).unwrap_or_default()
}

pub use xtask::procfs::state;
