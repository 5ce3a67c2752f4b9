//! Secrets never reach a child process, the screen or a terminal left broken: the variables a CI
//! job signs and pushes with are gone from every program the xtask starts (strace shows each
//! `execve` with its environment); a password typed into a reference or onto `--password-stdin=`
//! is refused without any piece of it printed; Ctrl-C at keygen's password prompt leaves the
//! terminal echoing again.

use std::path::Path;

use pause_tests::registry::{self, REPOSITORY, Registry};
use pause_tests::xtask_cli::{self, PASSWORD_VAR, Said};
use pause_tests::{Need, PLATFORMS, ready};

/// The key's password, and two more secrets a release job holds, each recognisable in a trace.
const COSIGN_PASSWORD: &str = "cosign-pw-Vh3q8Zt";
const SECRET_VARIABLES: [(&str, &str); 3] = [
    (PASSWORD_VAR, COSIGN_PASSWORD),
    ("COSIGN_PRIVATE_KEY", "private-key-Jx6w2Rn"),
    ("GITHUB_TOKEN", "ghs_token-Pm4k9Yd"),
];
const STRACE: Need = Need::program("strace", "strace");

/// The platform the tests build alone: the host's own, the fastest.
fn native_platform() -> &'static str {
    PLATFORMS
        .iter()
        .find(|platform| platform.is_native())
        .expect("the host is one of the platforms")
        .name
}

/// `image --push --sign-key` under `strace -f`: every program the xtask starts (cargo, rustc,
/// build scripts, git) is exec'd with an environment that holds none of the three secrets.
#[test]
fn no_child_of_a_signing_push_inherits_a_secret() {
    let mut needs = registry::NEEDS.to_vec();
    needs.push(STRACE);
    if !ready("no_child_of_a_signing_push_inherits_a_secret", &needs) {
        return;
    }
    let registry = Registry::start_plain();
    let dir = tempfile::tempdir().expect("a temp dir");
    let (key, _) = xtask_cli::key_pair(&dir.path().join("keys"), COSIGN_PASSWORD);
    let trace = dir.path().join("execve.trace");
    let out = dir.path().join("image").display().to_string();
    let reference = registry.reference(&format!("{REPOSITORY}:secrets"));
    let trace_arg = trace.display().to_string();
    let said = xtask_cli::run_under(
        &[
            "strace",
            "-f",
            "--seccomp-bpf",
            "-qq",
            "-e",
            "trace=execve",
            "-v",
            "-s",
            "4096",
            "-o",
            &trace_arg,
        ],
        &[
            "image",
            "--platform",
            native_platform(),
            "--out",
            &out,
            "--push",
            &reference,
            "--sign-key",
            &key,
        ],
        &SECRET_VARIABLES,
    );
    assert!(said.success, "the signing push failed:\n{}", said.all());
    let trace = std::fs::read_to_string(&trace).expect("reading strace's log");
    let execs: Vec<&str> = trace
        .lines()
        .filter(|line| line.contains("execve("))
        .collect();
    // The first is strace starting the xtask, which is given the secrets on purpose.
    let (own, children) = execs
        .split_first()
        .expect("strace logged the xtask's execve");
    for (name, value) in SECRET_VARIABLES {
        assert!(
            own.contains(&format!("\"{name}={value}\"")),
            "the trace does not show the xtask's own environment (so it could show no child's): {own}"
        );
    }
    assert!(
        children.iter().any(|line| line.contains("/cargo\"")),
        "the xtask started no cargo (so the test shows nothing):\n{trace}"
    );
    let leaks: Vec<String> = children
        .iter()
        .filter_map(|line| {
            let names: Vec<&str> = SECRET_VARIABLES
                .iter()
                .filter(|(_, value)| line.contains(value))
                .map(|(name, _)| *name)
                .collect();
            // The program: the line up to the end of execve's first argument.
            let program = line.split(", [").next().unwrap_or(line);
            (!names.is_empty()).then(|| format!("{program} got {}", names.join(", ")))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "{} of {} programs the xtask started got a secret in their environment:\n{}",
        leaks.len(),
        children.len(),
        leaks.join("\n")
    );
}

/// Passwords holding each character that ends a part of a reference or a URL.
const PASSWORDS: [&str; 3] = ["Kq7/Wz9@Rt4:Mv2%Hb8", "s3cr@et@Lp6", "Qe5%2FYu8/Fs1:"];
/// A loopback port nothing listens on: were a reference taken, the command would fail there.
const CLOSED_REGISTRY: &str = "127.0.0.1:9";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The pieces of `password` a message could quote: the parts of three or more characters
/// between `/`, `@`, `:` and `%`, and the whole.
fn pieces(password: &str) -> Vec<&str> {
    const SHORTEST: usize = 3;
    password
        .split(['/', '@', ':', '%'])
        .filter(|piece| piece.len() >= SHORTEST)
        .chain([password])
        .collect()
}

/// The run failed with one line on stderr, nothing on stdout, and no piece of `password`.
fn assert_refused_quietly(said: &Said, case: &str, password: &str, names: &[&str]) {
    let line = said.error_line(case);
    assert!(
        said.stdout.is_empty() && said.stderr.lines().count() == 1,
        "{case}: not one line:\n{}",
        said.all()
    );
    for piece in pieces(password) {
        assert!(
            !said.all().contains(piece),
            "{case}: the output holds `{piece}` of the password:\n{}",
            said.all()
        );
    }
    xtask_cli::assert_names(&line, names);
}

/// `push`, `verify` and `image --push` refuse a reference carrying a password, and a password
/// typed onto `--password-stdin=`, in one line that holds no piece of it.
#[test]
fn passwords_typed_into_a_command_line_are_refused_unquoted() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("image").display().to_string();
    let platform = native_platform();
    for password in PASSWORDS {
        for reference in [
            format!("bob:{password}@{CLOSED_REGISTRY}/pause:1"),
            format!("https://bob:{password}@{CLOSED_REGISTRY}/pause:1"),
            format!("{password}@{CLOSED_REGISTRY}/pause:1"),
            format!("bob:{password}@{CLOSED_REGISTRY}/pause@{DIGEST}"),
        ] {
            for args in [
                vec!["push", &reference],
                vec!["verify", &reference],
                vec![
                    "image",
                    "--platform",
                    platform,
                    "--out",
                    &out,
                    "--push",
                    &reference,
                ],
            ] {
                let said = xtask_cli::run(&args, &[]);
                let case = format!("{} with a password in the reference", args[0]);
                assert_refused_quietly(&said, &case, password, &["credentials", "--username"]);
            }
        }
        let reference = format!("{CLOSED_REGISTRY}/pause:1");
        let flag = format!("--password-stdin={password}");
        for args in [
            vec!["push", &reference, "--username", "bob", &flag],
            vec!["verify", &reference, "--username", "bob", &flag],
            vec!["image", "--push", &reference, "--username", "bob", &flag],
        ] {
            let said = xtask_cli::run(&args, &[]);
            let case = format!("{} --password-stdin=PASSWORD", args[0]);
            assert_refused_quietly(
                &said,
                &case,
                password,
                &["--password-stdin", "takes no value"],
            );
        }
    }
    assert!(
        !Path::new(&out).exists(),
        "a refused image --push built the image first"
    );
}
