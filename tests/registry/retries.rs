//! Registries and proxies in trouble: dropped connections and 503 answers, at the probe and during
//! the session, are retried to success; a 429's `Retry-After` is waited out, or reported in one
//! line when it asks for too long.

use std::time::Duration;

use pause_tests::ready;
use pause_tests::registry::docker_registry::{REPOSITORY, Registry};
use pause_tests::registry::flaky_proxy::{Fault, FlakyProxy};
use xshell::Shell;
use xtask::commands::push::push;

use crate::pushed::{assert_holds_local_image, local_image, needs};

/// Connections the probe of a plain loopback registry makes: HTTPS, then plain HTTP.
const PROBE_CONNECTIONS: usize = 2;
/// Faults the flaky proxy injects: fewer than the pusher's attempts per call, so retries win.
const FAULTS: usize = 3;

/// Pushes through a proxy that fails [`FAULTS`] connections with `fault`: once from the first
/// connection on (the pusher's `/v2/` probe), once after the probe's two connections (HTTPS, then
/// plain HTTP for a loopback registry without TLS), when the session's calls start.
fn push_through_faults(fault: Fault) {
    let local = local_image();
    let registry = Registry::start_plain();
    for (tag, pass_first) in [("flaky-probe", 0), ("flaky-push", PROBE_CONNECTIONS)] {
        let proxy = FlakyProxy::start(registry.host(), fault, pass_first, FAULTS);
        let reference = format!("{}/{REPOSITORY}:{tag}", proxy.host());
        let pushed = push(
            &Shell::new().unwrap(),
            &registry.push_options(),
            None,
            &reference,
        )
        .unwrap_or_else(|error| panic!("pushing {tag} through {fault:?} faults: {error:#}"));
        assert_eq!(
            proxy.faults_left(),
            0,
            "{tag}: the proxy did not inject every fault"
        );
        assert_eq!(pushed.digest, local.index_digest);
        assert_holds_local_image(&registry, registry.host(), tag, &local);
    }
}

#[test]
fn dropped_connections_are_retried() {
    if !ready("retries::dropped_connections_are_retried", &needs(&[])) {
        return;
    }
    push_through_faults(Fault::Drop);
}

#[test]
fn unavailable_answers_are_retried() {
    if !ready("retries::unavailable_answers_are_retried", &needs(&[])) {
        return;
    }
    push_through_faults(Fault::Unavailable);
}

/// A registry that answers 429 with `Retry-After` is tried again no sooner than it asked: each
/// connection after a refused one comes at least that long after it (our own backoff would have
/// come after 250 ms, then 500 ms). One that asks for an hour is not retried at all: one line says
/// when to push again, and nothing is tagged. The probe's connections pass (it tries HTTPS, then
/// plain HTTP, in one attempt); the session's calls, one connection a try, meet the 429s.
#[test]
fn retry_after_is_waited_out_or_reported() {
    if !ready(
        "retries::retry_after_is_waited_out_or_reported",
        &needs(&[]),
    ) {
        return;
    }
    const ASKED: u64 = 1;
    const AN_HOUR: u64 = 3600;
    let local = local_image();
    let registry = Registry::start_plain();

    let busy = Fault::Busy {
        retry_after_seconds: ASKED,
    };
    let proxy = FlakyProxy::start(registry.host(), busy, PROBE_CONNECTIONS, FAULTS);
    let reference = format!("{}/{REPOSITORY}:busy", proxy.host());
    let pushed = push(
        &Shell::new().unwrap(),
        &registry.push_options(),
        None,
        &reference,
    )
    .unwrap_or_else(|error| panic!("pushing through 429 answers: {error:#}"));
    assert_eq!(pushed.digest, local.index_digest);
    assert_eq!(
        proxy.faults_left(),
        0,
        "the proxy did not answer 429 {FAULTS} times"
    );
    let arrivals = proxy.arrivals();
    for pair in arrivals.windows(2).filter(|pair| pair[0].faulted) {
        let waited = pair[1].at - pair[0].at;
        assert!(
            waited >= Duration::from_secs(ASKED),
            "tried again {waited:?} after a 429 that asked for {ASKED} s: {arrivals:?}"
        );
    }

    let busy = Fault::Busy {
        retry_after_seconds: AN_HOUR,
    };
    let proxy = FlakyProxy::start(registry.host(), busy, PROBE_CONNECTIONS, FAULTS);
    let reference = format!("{}/{REPOSITORY}:rate-limited", proxy.host());
    let error = push(
        &Shell::new().unwrap(),
        &registry.push_options(),
        None,
        &reference,
    )
    .map(|pushed| pushed.digest)
    .expect_err("a push through a registry that asks for an hour's wait succeeded");
    let line = format!("{error:#}");
    assert_eq!(
        proxy.faults_left(),
        FAULTS - 1,
        "the push tried again: {line}"
    );
    assert!(!line.contains('\n'), "more than one line: {line}");
    for named in ["429 Too Many Requests", "3600 s", "try again after that"] {
        assert!(
            line.contains(named),
            "the error does not say `{named}`: {line}"
        );
    }
    assert_eq!(registry.stored_tag(REPOSITORY, "rate-limited"), None);
    eprintln!("refused: {line}");
}
