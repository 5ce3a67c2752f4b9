//! What every push module starts from and checks: the project's layout pushed with the library's
//! `push` to Debian's docker-registry, the tag's index read back by skopeo (not our code), a
//! failed push's one line.

use std::fmt::{Debug, Display};

use pause_tests::image::layout as project_layout;
use pause_tests::layout::Layout;
use pause_tests::process::{output, run};
use pause_tests::registry::docker_registry::{self, REPOSITORY, Registry};
use pause_tests::skopeo;
use pause_tests::{Need, PLATFORMS};
use xshell::Shell;
use xtask::commands::push::{PushOptions, PushedImage, push};
use xtask::oci::blob::sha256;
use xtask::oci::descriptor::OciPlatform;

pub(crate) const USER: &str = "pause-ci";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) fn needs(extra: &[Need]) -> Vec<Need> {
    let mut needs = docker_registry::NEEDS.to_vec();
    needs.extend_from_slice(skopeo::NEEDS);
    needs.extend_from_slice(extra);
    needs
}

/// What a push of the project's layout must put in a registry.
pub(crate) struct Local {
    /// The image index's digest: the registry's must be the same.
    pub(crate) index_digest: String,
    /// Configs and layers, and the SBOMs' documents and empty config: the blobs a first push
    /// uploads.
    pub(crate) blobs: usize,
}

pub(crate) fn local_image() -> Local {
    let layout = Layout::open(&project_layout());
    Local {
        index_digest: layout.index_digest(),
        blobs: layout.pushed_blob_count(),
    }
}

pub(crate) fn push_to(
    registry: &Registry,
    options: &PushOptions,
    tag: &str,
) -> Result<PushedImage, impl Display + Debug> {
    push(
        &Shell::new().expect("a shell"),
        options,
        None,
        &registry.reference(&format!("{REPOSITORY}:{tag}")),
    )
}

/// The digest of what `tag` points at in the registry, and the platforms its index lists, as
/// skopeo (not our code) reads them.
fn remote_index(registry: &Registry, host: &str, tag: &str) -> (String, Vec<OciPlatform>) {
    let mut args = vec!["inspect".to_string(), "--raw".to_string()];
    args.extend(registry.skopeo_args(""));
    args.push(format!("docker://{host}/{REPOSITORY}:{tag}"));
    let raw = run(&skopeo::argv(&args));
    let index: serde_json::Value = serde_json::from_str(&raw).expect("skopeo prints the index");
    let platforms = index["manifests"]
        .as_array()
        .expect("an image index lists manifests")
        .iter()
        .map(|entry| {
            serde_json::from_value(entry["platform"].clone()).expect("each manifest has a platform")
        })
        .collect();
    (sha256(raw.as_bytes()), platforms)
}

/// Asserts the tag holds the local image: same index digest, all six platforms.
pub(crate) fn assert_holds_local_image(registry: &Registry, host: &str, tag: &str, local: &Local) {
    let (digest, platforms) = remote_index(registry, host, tag);
    assert_eq!(
        digest, local.index_digest,
        "the registry's digest for {tag} differs from the layout's"
    );
    let expected: Vec<OciPlatform> = PLATFORMS.iter().map(OciPlatform::from).collect();
    assert_eq!(platforms, expected, "platforms of {tag}");
}

/// Whether `tag` exists, asked with skopeo; only "manifest unknown" counts as absent.
pub(crate) fn tag_exists(registry: &Registry, tag: &str) -> bool {
    let mut args = vec!["inspect".to_string(), "--raw".to_string()];
    args.extend(registry.skopeo_args(""));
    args.push(format!(
        "docker://{}",
        registry.reference(&format!("{REPOSITORY}:{tag}"))
    ));
    let out = output(&skopeo::argv(&args));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("manifest unknown"),
        "skopeo inspect {tag}: {stderr}"
    );
    out.status.success()
}

/// The error's one line, as `cargo xtask` prints it; asserts it is one line naming `cause` and `fix`.
pub(crate) fn one_line_error(
    result: Result<PushedImage, impl Display>,
    cause: &str,
    fix: &str,
) -> String {
    let Err(error) = result else {
        panic!("the push should fail")
    };
    let error = format!("{error:#}");
    assert!(!error.contains('\n'), "not one line: {error}");
    assert!(
        error.contains(cause),
        "the error does not name the cause `{cause}`: {error}"
    );
    assert!(
        error.contains(fix),
        "the error does not name the fix `{fix}`: {error}"
    );
    error
}
