//! A push to a registry without authentication: the registry ends up with the layout's exact
//! digests and all six platforms, and a second push sends no blob; a manifest the registry
//! refuses, an address where nothing listens and a missing layout each fail with one line naming
//! the fix, and leave no tag.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use pause_tests::image::layout as project_layout;
use pause_tests::layout::EditedLayout;
use pause_tests::ready;
use pause_tests::registry::docker_registry::{REPOSITORY, Registry};
use xshell::Shell;
use xtask::commands::push::{PushOptions, push};

use crate::pushed::{
    assert_holds_local_image, local_image, needs, one_line_error, push_to, tag_exists,
};

#[test]
fn plain_push_keeps_digests_and_a_second_push_uploads_no_blob() {
    if !ready(
        "plain::plain_push_keeps_digests_and_a_second_push_uploads_no_blob",
        &needs(&[]),
    ) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_plain();
    let options = registry.push_options();

    let first = push_to(&registry, &options, "first").expect("the first push");
    assert_eq!(first.digest, local.index_digest);
    assert_eq!(
        first.reference,
        registry.reference(&format!("{REPOSITORY}:first"))
    );
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "one upload per blob:\n{}",
        registry.log()
    );
    assert_holds_local_image(&registry, registry.host(), "first", &local);

    let second = push_to(&registry, &options, "second").expect("the second push");
    assert_eq!(second.digest, local.index_digest);
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "the second push uploaded blobs:\n{}",
        registry.log()
    );
    assert_holds_local_image(&registry, registry.host(), "second", &local);
}

/// A copy of the project's layout in `dir` whose first platform manifest claims, inside, to be an
/// image index: intact digests, so the pusher sends it, but a document the registry must refuse.
/// Its SBOM, which described the manifest as it was, goes with the edit.
fn layout_with_an_invalid_manifest(dir: &Path) -> PathBuf {
    const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
    let layout = EditedLayout::copy(&project_layout(), &dir.join("oci"));
    layout.edit_manifest(0, |manifest| manifest["mediaType"] = INDEX_TYPE.into());
    layout.dir().to_path_buf()
}

#[test]
fn a_rejected_manifest_fails_with_one_line_and_leaves_no_tag() {
    if !ready(
        "plain::a_rejected_manifest_fails_with_one_line_and_leaves_no_tag",
        &needs(&[]),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start_plain();
    let options = PushOptions {
        layout: layout_with_an_invalid_manifest(dir.path()),
        ..registry.push_options()
    };
    let line = one_line_error(
        push_to(&registry, &options, "rejected"),
        "rejected the manifest",
        "cargo xtask image",
    );
    assert!(
        line.contains("400"),
        "the registry's answer is not quoted: {line}"
    );
    assert!(
        !tag_exists(&registry, "rejected"),
        "a rejected manifest left the tag"
    );
}

#[test]
fn unreachable_registry_fails_with_one_line() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let options = PushOptions {
        layout: project_layout(),
        ..PushOptions::default()
    };
    let result = push(
        &Shell::new().unwrap(),
        &options,
        None,
        &format!("{host}/{REPOSITORY}:nowhere"),
    );
    one_line_error(
        result,
        &format!("cannot reach the registry {host}"),
        "check the address",
    );
}

#[test]
fn a_missing_layout_fails_with_one_line() {
    let empty = tempfile::tempdir().unwrap();
    let options = PushOptions {
        layout: empty.path().join("oci"),
        ..PushOptions::default()
    };
    let result = push(
        &Shell::new().unwrap(),
        &options,
        None,
        "127.0.0.1:5000/pause:x",
    );
    one_line_error(
        result,
        &format!("no OCI layout at {}", options.layout.display()),
        "cargo xtask image",
    );
}
