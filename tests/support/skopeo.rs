//! skopeo as the suites run it. Run as root, skopeo writes its blob-info cache to
//! /var/lib/containers/cache whatever it is told, which would leave a directory on the host that
//! no test can prove is its own (podman and other runs use it too). So every skopeo of the suites
//! runs in a private mount namespace whose /var/lib is an empty tmpfs: the cache lives and dies
//! with that one command.

use std::process::Command;

use crate::Need;

/// skopeo itself, and unshare for its private mount namespace.
pub const SKOPEO: Need = Need::program("skopeo", "skopeo");
pub const UNSHARE: Need = Need::program("unshare", "util-linux");
/// What running skopeo this way takes.
pub const NEEDS: &[Need] = &[SKOPEO, UNSHARE];
/// Mounts the tmpfs over /var/lib in the namespace unshare made, then becomes skopeo.
const ISOLATED: &str = "mount -t tmpfs pause-tests-skopeo /var/lib && exec skopeo \"$@\"";

/// The command line that runs `skopeo args…` isolated, for [`crate::process::run`] and friends.
pub fn argv(args: &[impl AsRef<str>]) -> Vec<String> {
    let mut argv: Vec<String> = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
    argv.push(ISOLATED.to_string());
    argv.push("skopeo".to_string());
    argv.extend(args.iter().map(|arg| arg.as_ref().to_string()));
    argv
}

/// `skopeo`, isolated, arguments to follow.
pub fn command() -> Command {
    let argv = argv(&[] as &[&str]);
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}
