//! The real pause binary of every platform (natively or under qemu-user): version flags, PID 1,
//! signals, orphan reaping, and the shape of its ELF file.

use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::Duration;

use pause_tests::deadline::output_within;
use pause_tests::elf::{ET_EXEC, Elf, PF_W, PF_X, PT_DYNAMIC, PT_GNU_STACK, PT_INTERP};
use pause_tests::pause::{
    EXIT_TIMEOUT, INTERRUPTED, Pause, START_TIMEOUT, TERMINATED, traced_as_pid1,
};
use pause_tests::process::{self, wait_for};
use pause_tests::{Need, PLATFORMS, Platform, binary, launcher, ready, skip};
use xtask::build::pause::MAX_BINARY_BYTES;
use xtask::procfs;

/// The prerequisites for running one platform's binary at all.
fn runnable(test: &str, platform: &Platform) -> bool {
    let needs: Vec<Need> = Need::emulator(platform).into_iter().collect();
    ready(&format!("{test}[{}]", platform.name), &needs)
}

#[test]
fn version_flags_print_one_line_and_exit_zero() {
    let expected_prefix = format!("pause {}", env!("CARGO_PKG_VERSION"));
    for platform in PLATFORMS {
        if !runnable("behaviour::version_flags", platform) {
            continue;
        }
        for flag in ["-v", "-V", "--version"] {
            let mut argv = launcher(platform);
            argv.push(flag.to_string());
            let out = process::output(&argv);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{} {flag}: exit {}",
                platform.name,
                out.status
            );
            assert_eq!(
                stdout.lines().count(),
                1,
                "{} {flag}: {stdout:?}",
                platform.name
            );
            assert!(
                stdout.starts_with(&expected_prefix),
                "{} {flag}: {stdout:?}",
                platform.name
            );
            assert!(
                out.stderr.is_empty(),
                "{} {flag}: stderr {:?}",
                platform.name,
                out.stderr
            );
        }
    }
}

/// pause.c's warning when it is not PID 1.
const NOT_INIT_WARNING: &str = "Warning: pause should be the first process";
/// The signals pause must consume and survive: every one whose default action would end or stop
/// an ordinary process, plus a few that are ignored by default, sent to it as PID 1 and as an
/// ordinary process. The real-time signals go by number (34 is glibc's SIGRTMIN, 64 the last one):
/// procps' kill mistranslates the name RTMAX.
const IGNORED_SIGNALS: &[&str] = &[
    "HUP", "QUIT", "USR1", "USR2", "PIPE", "ALRM", "WINCH", "CONT", "TSTP", "TTIN", "TTOU", "URG",
    "IO", "PROF", "VTALRM", "XCPU", "XFSZ", "SYS", "TRAP", "34", "64",
];
/// How many orphans the storm makes; the issue asks for at least 2,000.
const ORPHANS: usize = 2_000;
/// How long reaping the whole storm may take (qemu included).
const STORM_TIMEOUT: Duration = Duration::from_secs(120);
/// The kernel function a task sleeps in while it opens a FIFO that nobody has opened for writing,
/// as /proc/PID/wchan names it.
const FIFO_OPEN_WCHAN: &str = "wait_for_partner";
/// How long after a signal pause is watched for a wrong reaction (exiting, stopping).
const SETTLE: Duration = Duration::from_millis(100);

/// What starting pause as PID 1 of a fresh PID namespace needs.
const AS_PID1: &[Need] = &[Need::Root, Need::program("unshare", "util-linux")];
/// What running pause as PID 1 under strace, with faults injected into its syscalls, needs.
const TRACED_AS_PID1: &[Need] = &[
    Need::Root,
    Need::program("unshare", "util-linux"),
    Need::program("strace", "strace"),
];
/// pause's line, and its exit status (`EXIT_NO_SIGNAL_WAIT`), when rt_sigtimedwait fails for good.
const CANNOT_WAIT: &str = "pause: rt_sigtimedwait failed: cannot wait for signals\n";
const EXIT_NO_SIGNAL_WAIT: i32 = 2;

/// Runs `check` for every platform this host can run, each with its own launcher.
fn each_platform(test: &str, check: impl Fn(&Platform, Vec<String>)) {
    for platform in PLATFORMS {
        if runnable(test, platform) {
            check(platform, launcher(platform));
        }
    }
}

/// This machine's own platform, for a test that runs only natively, if `needs` are met; otherwise
/// reports the skip and gives None.
fn native(test: &str, needs: &[Need]) -> Option<&'static Platform> {
    let Some(platform) = Platform::host() else {
        skip(
            test,
            &format!(
                "no pause platform runs natively on {}",
                std::env::consts::ARCH
            ),
            "run the suite on one of the platforms in xtask/src/platform.rs",
        );
        return None;
    };
    ready(test, needs).then_some(platform)
}

fn assert_clean_exit(platform: &Platform, status: ExitStatus, stderr: &str, message: &str) {
    assert_eq!(
        status.code(),
        Some(0),
        "{}: pause exited with {status}; stderr: {stderr}",
        platform.name
    );
    assert!(
        stderr.contains(message),
        "{}: expected {message:?} on stderr, got {stderr:?}",
        platform.name
    );
}

/// As PID 1 the kernel itself drops the signals that would take their default action, so surviving
/// them says little about pause; the SIGTERM at the end says more: natively, without the signal
/// mask, the kernel drops that one too, and pause never exits.
#[test]
fn as_pid1_survives_every_other_signal_then_exits_zero_on_sigterm() {
    if !ready("behaviour::survives_signals", AS_PID1) {
        return;
    }
    each_platform("behaviour::survives_signals", |platform, argv| {
        let pause = Pause::start_as_pid1(&argv);
        for signal in IGNORED_SIGNALS {
            pause.signal(signal);
            sleep(SETTLE);
            assert!(
                wait_for(START_TIMEOUT, || pause.is_waiting().then_some(())).is_some(),
                "{}: pause is no longer waiting after SIG{signal}",
                platform.name
            );
        }
        let (status, stderr) = pause.stop("TERM");
        assert_clean_exit(platform, status, &stderr, TERMINATED);
        assert!(
            !stderr.contains(NOT_INIT_WARNING),
            "{}: warned as PID 1: {stderr}",
            platform.name
        );
    });
}

/// Not PID 1 (a `hostPID` pod, `docker run --init`, a shell), the kernel applies every default
/// action, so here only the signal mask keeps pause alive and running: each signal must leave it
/// blocked in its wait, neither dead nor stopped. Natively a build without the mask dies of the
/// first SIGHUP. Under qemu-user it would not: qemu waits for the guest with the host's
/// rt_sigtimedwait, which takes any signal of the set, blocked by the guest or not; there the
/// test checks the rest (the wait, the SIGTERM).
#[test]
fn not_pid1_survives_every_other_signal_then_exits_zero_on_sigterm() {
    each_platform("behaviour::not_pid1_survives_signals", |platform, argv| {
        let pause = Pause::start(&argv);
        for signal in IGNORED_SIGNALS {
            pause.signal(signal);
            sleep(SETTLE);
            assert!(
                wait_for(START_TIMEOUT, || pause.is_waiting().then_some(())).is_some(),
                "{}: pause is no longer waiting after SIG{signal} (state {:?})",
                platform.name,
                pause.state()
            );
        }
        let (status, stderr) = pause.stop("TERM");
        assert_clean_exit(platform, status, &stderr, TERMINATED);
    });
}

/// A seccomp profile recorded from pause.c (which never calls rt_sigtimedwait) makes every call
/// fail with EPERM: pause must say so once and exit with its own status, not retry forever at
/// 100% CPU. strace plays the profile: the one native platform is enough, the loop is the same
/// code everywhere.
#[test]
fn as_pid1_exits_with_its_status_when_rt_sigtimedwait_is_refused() {
    let Some(platform) = native("behaviour::sigwait_refused", TRACED_AS_PID1) else {
        return;
    };
    let options = [
        "-o",
        "/dev/null",
        "-e",
        "trace=rt_sigtimedwait",
        "-e",
        "inject=rt_sigtimedwait:error=EPERM",
    ];
    let traced = traced_as_pid1(&options, &launcher(platform));
    let out = output_within(Command::new(&traced[0]).args(&traced[1..]), EXIT_TIMEOUT);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (Some(EXIT_NO_SIGNAL_WAIT), CANNOT_WAIT),
        "{}: exit status and stderr",
        platform.name
    );
}

/// An interrupted wait (EINTR, as after a stop and continue under a debugger) is retried: pause
/// goes back to waiting and still ends with 0 on SIGTERM.
#[test]
fn as_pid1_retries_an_interrupted_rt_sigtimedwait() {
    let Some(platform) = native("behaviour::sigwait_interrupted", TRACED_AS_PID1) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a temp dir");
    let log = scratch.path().join("strace.log");
    let options = [
        "-o",
        log.to_str().expect("temp paths are UTF-8"),
        "-e",
        "trace=rt_sigtimedwait",
        "-e",
        "inject=rt_sigtimedwait:error=EINTR:when=1",
    ];
    let (status, stderr) = Pause::start_traced_as_pid1(&options, &launcher(platform)).stop("TERM");
    assert_clean_exit(platform, status, &stderr, TERMINATED);
    let calls = fs::read_to_string(&log).expect("reading strace's log");
    assert!(
        calls.contains("EINTR") && calls.contains("(INJECTED)"),
        "{}: strace injected no EINTR: {calls}",
        platform.name
    );
}

#[test]
fn as_pid1_sigint_exits_zero_with_message() {
    if !ready("behaviour::sigint", AS_PID1) {
        return;
    }
    each_platform("behaviour::sigint", |platform, argv| {
        let (status, stderr) = Pause::start_as_pid1(&argv).stop("INT");
        assert_clean_exit(platform, status, &stderr, INTERRUPTED);
    });
}

#[test]
fn not_pid1_warns_and_still_serves() {
    each_platform("behaviour::not_pid1", |platform, argv| {
        let (status, stderr) = Pause::start(&argv).stop("TERM");
        assert_clean_exit(platform, status, &stderr, NOT_INIT_WARNING);
        assert!(stderr.contains(TERMINATED), "{}: {stderr}", platform.name);
    });
}

/// Zombies pause inherits when it starts (exec'd by a process that had children) come with no
/// SIGCHLD still to arrive: pause must reap them before it first waits. perl, PID 1 of a fresh
/// namespace, forks a child that exits at once, waits until it is a zombie (without reaping it:
/// perl, unlike a shell, leaves SIGCHLD alone, so the kernel discards the signal) and execs pause.
#[test]
fn as_pid1_reaps_the_zombies_it_starts_with() {
    let needs = [AS_PID1, &[Need::program("perl", "perl-base")]].concat();
    if !ready("behaviour::inherited_zombie", &needs) {
        return;
    }
    // /proc is the host's, where the child goes by its host PID: /proc/thread-self names it.
    let script = r#"use POSIX ();
my $child = fork // die "fork: $!";
POSIX::_exit(0) if $child == 0;
sub field { open my $file, '<', $_[0] or return ''; (split ' ', <$file>)[$_[1]] // '' }
my $zombie = field('/proc/thread-self/children', 0);
1 until field("/proc/$zombie/stat", 2) eq 'Z';
exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!";"#;
    each_platform("behaviour::inherited_zombie", |platform, argv| {
        let with_zombie: Vec<String> = ["perl", "-e", script]
            .into_iter()
            .map(String::from)
            .chain(argv)
            .collect();
        let pause = Pause::start_as_pid1(&with_zombie);
        let reaped = wait_for(SETTLE, || {
            pause.namespace_members().is_empty().then_some(())
        });
        assert!(
            reaped.is_some(),
            "{}: left in pause's namespace (pid, state): {:?}",
            platform.name,
            pause.namespace_members()
        );
        let (status, stderr) = pause.stop("TERM");
        assert_clean_exit(platform, status, &stderr, TERMINATED);
    });
}

/// An orphan storm: a process inside pause's namespace starts [`ORPHANS`] children, each blocked
/// opening a FIFO, and exits, so the kernel hands all of them to pause. Once pause holds every one,
/// the FIFO is opened and closed: they all exit at once, and their SIGCHLDs coalesce.
#[test]
fn as_pid1_reaps_an_orphan_storm_leaving_no_zombie() {
    let needs = [AS_PID1, &[Need::program("nsenter", "util-linux")]].concat();
    if !ready("behaviour::orphan_storm", &needs) {
        return;
    }
    each_platform("behaviour::orphan_storm", |platform, argv| {
        let scratch = tempfile::Builder::new()
            .prefix("orphan-storm")
            .tempdir()
            .expect("a temp dir");
        let fifo = scratch.path().join("release");
        process::run(&["mkfifo", fifo.to_str().expect("temp paths are UTF-8")]);
        let pause = Pause::start_as_pid1(&argv);

        let pid = pause.pid().to_string();
        // The orphans must not hold the spawner's stdout and stderr (the test reads those to the
        // end), and each blocks opening the FIFO before any redirection after it would apply.
        let spawner = format!(
            "exec >/dev/null 2>&1; i=0; while [ $i -lt {ORPHANS} ]; do read line < \"$1\" & i=$((i + 1)); done"
        );
        let fifo_arg = fifo.display().to_string();
        process::run(&[
            "nsenter", "--target", &pid, "--pid", "--", "sh", "-c", &spawner, "sh", &fifo_arg,
        ]);
        // Adopted is not enough: an orphan that opens the FIFO only after the writer has come and
        // gone would block for good (under load, some do).
        let blocked_orphans = || {
            let children = pause.children();
            let blocked = children
                .iter()
                .filter(|child| procfs::wchan(**child) == FIFO_OPEN_WCHAN)
                .count();
            (children.len(), blocked)
        };
        let ready = wait_for(STORM_TIMEOUT, || {
            (blocked_orphans() == (ORPHANS, ORPHANS)).then_some(())
        });
        let (adopted, blocked) = blocked_orphans();
        assert!(
            ready.is_some(),
            "{}: {blocked} of {ORPHANS} orphans blocked opening the FIFO, {adopted} adopted",
            platform.name
        );

        // Opening for writing and closing again gives every blocked reader end-of-file at once.
        drop(
            OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("opening the FIFO for writing"),
        );
        let drained = wait_for(STORM_TIMEOUT, || {
            pause.namespace_members().is_empty().then_some(())
        });
        let left = pause.namespace_members();
        let zombies = left.iter().filter(|(_, state)| *state == 'Z').count();
        assert!(
            drained.is_some(),
            "{}: {} processes left in the namespace, {zombies} of them zombies",
            platform.name,
            left.len()
        );
        // The last zombie can be gone a moment before pause is back in its wait.
        assert!(
            wait_for(START_TIMEOUT, || pause.is_waiting().then_some(())).is_some(),
            "{}: pause did not go back to waiting after the storm",
            platform.name
        );
        let (status, stderr) = pause.stop("TERM");
        assert_clean_exit(platform, status, &stderr, TERMINATED);
    });
}

/// Linux 5.18 and later turn an empty argv into `[""]`; older kernels pass argc == 0 through. Either
/// way pause must start and wait. Natively this is a real `execve` with an empty argv; under qemu
/// (which always passes the guest an argv[0]) it is the `[""]` the kernel would make.
#[test]
fn empty_argv_starts_and_waits() {
    each_platform("behaviour::empty_argv", |platform, argv| {
        let pause = if platform.is_native() {
            Pause::adopt(spawn_with_empty_argv(&argv[0]))
        } else {
            let emulated = [argv[0].clone(), "-0".into(), String::new(), argv[1].clone()];
            Pause::start(&emulated)
        };
        let (status, stderr) = pause.stop("TERM");
        assert_clean_exit(platform, status, &stderr, TERMINATED);
    });
}

/// Spawns `program` with `execve(program, {NULL}, envp)`.
fn spawn_with_empty_argv(program: &str) -> Child {
    let path = CString::new(program).expect("paths have no NUL");
    let mut command = Command::new(program);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec this only calls execve, which is async-signal-safe, with
    // pointers that outlive the call; it returns only on failure, which is then reported.
    unsafe {
        command.pre_exec(move || {
            let argv: [*const libc::c_char; 1] = [std::ptr::null()];
            libc::execve(path.as_ptr(), argv.as_ptr(), [std::ptr::null()].as_ptr());
            Err(std::io::Error::last_os_error())
        })
    };
    command.spawn().expect("execve with an empty argv")
}

/// Static, no interpreter, nothing writable and executable, a non-executable stack, stripped, the
/// right machine, and within the size budget.
#[test]
fn elf_is_static_stripped_and_small() {
    for platform in PLATFORMS {
        let path = binary(platform);
        let bytes = std::fs::read(&path).expect("reading the binary");
        let elf = Elf::parse(&bytes);
        let name = platform.name;
        let (machine, is_64, big_endian) = expected_machine(platform);
        assert_eq!(
            (elf.machine, elf.is_64, elf.big_endian),
            (machine, is_64, big_endian),
            "{name}: wrong ELF machine"
        );
        assert_eq!(elf.file_type, ET_EXEC, "{name}: not a non-PIE executable");
        assert!(
            !elf.has_segment(PT_INTERP),
            "{name}: has an interpreter (dynamically linked)"
        );
        assert!(
            !elf.has_segment(PT_DYNAMIC),
            "{name}: has a dynamic section"
        );
        assert!(
            elf.segments
                .iter()
                .all(|segment| segment.flags & (PF_W | PF_X) != PF_W | PF_X),
            "{name}: a segment is writable and executable: {:?}",
            elf.segments
        );
        let stack = elf
            .segments
            .iter()
            .find(|segment| segment.kind == PT_GNU_STACK);
        assert!(
            stack.is_some_and(|stack| stack.flags & PF_X == 0),
            "{name}: executable or unmarked stack"
        );
        assert!(
            !elf.sections
                .iter()
                .any(|section| section == ".symtab" || section.starts_with(".debug")),
            "{name}: not stripped: {:?}",
            elf.sections
        );
        assert!(
            bytes.len() as u64 <= MAX_BINARY_BYTES,
            "{name}: {} bytes, over the {MAX_BINARY_BYTES}-byte budget",
            bytes.len()
        );
    }
}

/// (e_machine, 64-bit, big-endian) for each architecture, from the ELF specification's numbers.
fn expected_machine(platform: &Platform) -> (u16, bool, bool) {
    const EM_PPC64: u16 = 21;
    const EM_S390: u16 = 22;
    const EM_ARM: u16 = 40;
    const EM_X86_64: u16 = 62;
    const EM_AARCH64: u16 = 183;
    const EM_RISCV: u16 = 243;
    match platform.arch {
        "amd64" => (EM_X86_64, true, false),
        "arm64" => (EM_AARCH64, true, false),
        "arm" => (EM_ARM, false, false),
        "ppc64le" => (EM_PPC64, true, false),
        "s390x" => (EM_S390, true, true),
        "riscv64" => (EM_RISCV, true, false),
        other => panic!("no expected ELF machine for {other}: add it here"),
    }
}
