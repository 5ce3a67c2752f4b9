//! The xtask binary's `push` run as a user runs it, with the machine's stored logins out of
//! reach, and what it printed: one `error:` line, no secret, the node settings pinned by digest
//! (on stderr, with the progress).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use pause_tests::deadline::output_within_reading;
use pause_tests::registry::private_network::PrivateNetwork;

/// How long one run of the xtask's command line may take against a registry on loopback.
pub(crate) const COMMAND_LINE_TIMEOUT: Duration = Duration::from_secs(120);

/// What one run of the xtask binary printed.
pub(crate) struct Said {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Said {
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the run failed with exactly one `error:` line, which it returns.
    pub(crate) fn one_error_line(&self, case: &str) -> String {
        assert!(!self.success, "{case}: the push succeeded:\n{}", self.all());
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("error: "),
            "{case}: not one `error:` line:\n{}",
            self.stderr
        );
        lines[0].to_string()
    }
}

/// Runs `xtask push ARGS` (inside `network` if given) with `password` piped to stdin and the
/// machine's stored credentials out of reach: HOME and DOCKER_CONFIG point into `dir` unless
/// `env` sets them, and REGISTRY_AUTH_FILE and XDG_RUNTIME_DIR are unset.
pub(crate) fn xtask_push(
    xtask: &Path,
    dir: &Path,
    network: Option<&PrivateNetwork>,
    args: &[&str],
    password: Option<&str>,
    env: &[(&str, String)],
) -> Said {
    let mut command = match network {
        Some(network) => network.command(&xtask.display().to_string()),
        None => Command::new(xtask),
    };
    command
        .arg("push")
        .args(args)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"));
    for (name, value) in env {
        command.env(name, value);
    }
    let stdin = match password {
        Some(password) => {
            let file = dir.join("password-stdin");
            fs::write(&file, format!("{password}\n")).expect("writing the password");
            Stdio::from(fs::File::open(&file).expect("opening the password"))
        }
        None => Stdio::null(),
    };
    let out = output_within_reading(&mut command, stdin, COMMAND_LINE_TIMEOUT);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Said {
        success: out.status.success(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// The secrets of a login: the password and the base64 `user:password` of a Basic header or a
/// docker config's `auth`.
pub(crate) fn login_secrets(user: &str, password: &str) -> Vec<String> {
    use base64::Engine;
    vec![
        password.to_string(),
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")),
    ]
}

/// Asserts that nothing `case` printed holds any of `secrets`, nor any of `tokens` (whole, or
/// their signature: what makes a JWT usable).
pub(crate) fn assert_no_secret(case: &str, said: &Said, secrets: &[String], tokens: &[String]) {
    let printed = said.all();
    let signatures = tokens
        .iter()
        .filter_map(|token| token.rsplit('.').next().map(str::to_string));
    for secret in secrets
        .iter()
        .cloned()
        .chain(tokens.iter().cloned())
        .chain(signatures)
    {
        assert!(
            !printed.contains(&secret),
            "{case}: the push printed a secret:\n{printed}"
        );
    }
}

/// The pinned lines a push prints for the nodes' runtimes (in `printed`, its stderr), each naming
/// `name@digest`.
pub(crate) fn assert_prints_node_settings(case: &str, printed: &str, name: &str, digest: &str) {
    let pinned = format!("\"{name}@{digest}\"");
    for (section, key) in [
        ("[plugins.\"io.containerd.grpc.v1.cri\"]", "sandbox_image"),
        (
            "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
            "sandbox",
        ),
        ("[crio.image]", "pause_image"),
        ("[engine]", "infra_image"),
    ] {
        assert!(
            printed.lines().any(|line| line.trim() == section),
            "{case}: no `{section}` line:\n{printed}"
        );
        let setting = format!("{key} = {pinned}");
        assert!(
            printed.lines().any(|line| line.trim() == setting),
            "{case}: no `{setting}` line:\n{printed}"
        );
    }
}
