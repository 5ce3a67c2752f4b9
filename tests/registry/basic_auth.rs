//! A push with htpasswd (Basic) authentication over TLS from a throwaway CA: the wrong password, no
//! credentials and an untrusted CA each fail with one line naming the fix and upload nothing; the
//! credentials as `docker login` stores them push too.

use pause_tests::process::run;
use pause_tests::ready;
use pause_tests::registry::docker_registry::{NEEDS_AUTH, NEEDS_TLS, REPOSITORY, Registry};
use xtask::registry::credentials::Credentials;

use crate::pushed::{
    PASSWORD, USER, assert_holds_local_image, local_image, needs, one_line_error, push_to,
    tag_exists,
};

#[test]
fn push_with_htpasswd_over_tls_and_the_credential_errors() {
    let test = "basic_auth::push_with_htpasswd_over_tls_and_the_credential_errors";
    if !ready(test, &needs(&[NEEDS_AUTH, NEEDS_TLS])) {
        return;
    }
    let local = local_image();
    let registry = Registry::start_secure(USER, PASSWORD);
    let options = registry.push_options();

    let mut wrong = options.clone();
    wrong.registry.login = Some(Credentials::new(USER, "wrong"));
    one_line_error(
        push_to(&registry, &wrong, "wrong"),
        "401",
        "--password-stdin",
    );
    let mut anonymous = options.clone();
    anonymous.registry.login = None;
    one_line_error(
        push_to(&registry, &anonymous, "anonymous"),
        "needs credentials",
        "docker login",
    );
    let mut untrusted = options.clone();
    untrusted.registry.ca_file = None;
    one_line_error(
        push_to(&registry, &untrusted, "untrusted"),
        "not trusted",
        "--ca-file",
    );
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        0,
        "a failed login still uploaded:\n{}",
        registry.log()
    );

    let pushed = push_to(&registry, &options, "secure").expect("pushing with the right password");
    assert_eq!(pushed.digest, local.index_digest);
    assert_holds_local_image(&registry, registry.host(), "secure", &local);
    for tag in ["wrong", "anonymous", "untrusted"] {
        assert!(
            !tag_exists(&registry, tag),
            "the failed push left the tag {tag}"
        );
    }

    // The credentials as `docker login` stores them: base64 of user:password under the host.
    let dir = tempfile::tempdir().expect("a temp dir");
    let pair = dir.path().join("pair");
    std::fs::write(&pair, format!("{USER}:{PASSWORD}")).expect("writing the pair");
    let encoded = run(&["base64", "-w0", &pair.display().to_string()]);
    let config = dir.path().join("config.json");
    let json = format!(
        r#"{{"auths":{{"https://{}":{{"auth":"{encoded}"}}}}}}"#,
        registry.host()
    );
    std::fs::write(&config, json).expect("writing config.json");
    let mut from_config = options;
    from_config.registry.login = None;
    from_config.registry.auth_files = vec![config];
    let pushed = push_to(&registry, &from_config, "from-config")
        .expect("pushing with config.json's credentials");
    assert_eq!(pushed.digest, local.index_digest);
    assert_eq!(
        registry.blob_uploads(REPOSITORY),
        local.blobs,
        "the push from config.json uploaded blobs again:\n{}",
        registry.log()
    );
}
