//! A running pause: as PID 1 of a fresh PID namespace (`unshare --pid --fork`), or as an ordinary
//! process. It is stopped with SIGKILL on drop, so a failing test leaves nothing behind.

use std::fs;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::process::{self, wait_exit, wait_for};

/// How long pause may take to start and block in its wait (qemu starts in well under a second).
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long pause may take to exit after SIGINT or SIGTERM.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// pause.c's words on SIGTERM and SIGINT, which ours repeats.
pub const TERMINATED: &str = "Shutting down, got signal: Terminated";
pub const INTERRUPTED: &str = "Shutting down, got signal: Interrupt";
/// The kernel function a task sleeps in while blocked in rt_sigtimedwait, as /proc/PID/wchan
/// names it: it is the same for native and qemu-emulated pause.
const SIGWAIT_WCHAN: &str = "do_sigtimedwait";

pub struct Pause {
    /// `unshare` for PID 1, or pause (or its qemu) itself.
    outer: Child,
    /// The host PID of pause (or of the qemu running it).
    pid: u32,
}

impl Pause {
    /// Starts `argv` as PID 1 of a new PID namespace and waits until it blocks in its wait.
    pub fn start_as_pid1(argv: &[String]) -> Pause {
        let outer = spawn("unshare", &["--pid", "--fork", "--kill-child", "--"], argv);
        let unshare = outer.id();
        let pid = wait_for(START_TIMEOUT, || children_of(unshare).first().copied())
            .unwrap_or_else(|| panic!("unshare ({unshare}) started no process"));
        Pause::waiting(outer, pid)
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

    fn waiting(outer: Child, pid: u32) -> Pause {
        let pause = Pause { outer, pid };
        assert!(
            wait_for(START_TIMEOUT, || pause.is_waiting().then_some(())).is_some(),
            "pause (pid {pid}) did not block in rt_sigtimedwait within {START_TIMEOUT:?}"
        );
        pause
    }

    pub fn pid(&self) -> u32 {
        self.pid
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
        let Ok(namespace) = fs::read_link(format!("/proc/{}/ns/pid", self.pid)) else {
            return Vec::new();
        };
        fs::read_dir("/proc")
            .expect("reading /proc")
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != self.pid)
            .filter(|pid| {
                fs::read_link(format!("/proc/{pid}/ns/pid")).ok().as_ref() == Some(&namespace)
            })
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
    let wchan = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    wchan.starts_with(SIGWAIT_WCHAN) && state(pid) == Some('S')
}

/// The children of a process, from its main thread's `children` list.
pub fn children_of(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|child| child.parse().ok())
        .collect()
}

/// The one-letter state of a process (`S`, `R`, `Z`, `T`, ...), if it exists.
pub fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces: the state follows its closing parenthesis.
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}
