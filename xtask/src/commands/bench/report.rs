//! The results as Markdown tables with ratios to ours, aligned so that they read as well in a
//! terminal as pasted into docs/benchmarks.md.

use std::time::Duration;

use super::early_stop::{DELAYS_US, GRACE, TOLERANCE, TRIES, Window};
use super::machine::Machine;
use super::measurement::{Measurement, ROUNDS, STARTS_PER_ROUND};
use super::peer::Peer;
use super::pod_images::PodImage;
use super::pods::{ANCHORS, PodCosts, SETTLE};
use super::storm::ORPHANS;

const NANOS_PER_MICRO: u128 = 1_000;
const MILLIS_PER_SECOND: f64 = 1_000.0;
const MICROS_PER_SECOND: f64 = 1_000_000.0;
const DIGITS_PER_GROUP: usize = 3;
const BYTES_PER_KIB: u64 = 1_024;
/// From this ratio on, a decimal adds nothing.
const WHOLE_RATIO: f64 = 10.0;
const PERCENT: f64 = 100.0;

pub(crate) fn render(
    peers: &[Peer],
    measurements: &[Measurement],
    machine: &Machine,
    command: &str,
) -> String {
    let ours = &measurements[0];
    let header = vec![
        "peer".to_string(),
        "binary".to_string(),
        "idle RSS".to_string(),
        "syscalls to block".to_string(),
        "blocks in".to_string(),
        "exec→blocked median".to_string(),
        "exec→blocked p90".to_string(),
        format!("drain {} orphans", thousands(ORPHANS)),
    ];
    let mut rows = vec![header];
    for (index, (peer, measured)) in peers.iter().zip(measurements).enumerate() {
        let compare = |text: String, value: f64, base: f64| match index {
            0 => text,
            _ => format!("{text} ({})", ratio(value / base)),
        };
        rows.push(vec![
            peer.name.to_string(),
            compare(
                format!("{} B", thousands(measured.bytes)),
                measured.bytes as f64,
                ours.bytes as f64,
            ),
            compare(
                format!("{} KiB", thousands(measured.rss_kib)),
                measured.rss_kib as f64,
                ours.rss_kib as f64,
            ),
            compare(
                measured.syscalls.total.to_string(),
                measured.syscalls.total as f64,
                ours.syscalls.total as f64,
            ),
            measured.syscalls.waits_in.join(" + "),
            compare(
                micros(measured.start_median),
                secs(measured.start_median),
                secs(ours.start_median),
            ),
            compare(
                micros(measured.start_p90),
                secs(measured.start_p90),
                secs(ours.start_p90),
            ),
            compare(
                millis(measured.storm),
                secs(measured.storm),
                secs(ours.storm),
            ),
        ]);
    }

    let mut text = format!(
        "Measured {} on {}, {} cores, Linux {} (load average {} when it began), with `{command}`. \
         Ratios are to ours (first row).\n\n",
        machine.date, machine.cpu, machine.cores, machine.kernel, machine.load
    );
    if let Some(cpuid) = machine.cpuid {
        text += &format!(
            "One CPUID instruction takes {} ns here: glibc's start-up runs CPUID to learn the CPU, \
             ours and musl's never do, and under a hypervisor each one traps.\n\n",
            thousands(cpuid.as_nanos() as u64)
        );
    }
    text += &table(&rows);
    text += &format!(
        "\n\
         - binary: bytes of every file the peer needs; all are static and stripped.\n\
         - Each peer runs as PID 1 of a fresh PID namespace, as in a pod.\n\
         - idle RSS: VmRSS of the peer's processes, summed, once at rest.\n\
         - syscalls to block: `strace -f` lines of the peer's processes from its execve to the syscall it waits in, both counted.\n\
         - exec→blocked: from a clock reading right before execve until every process of the peer sleeps (state S) in the \
         syscall it waits in at rest (/proc/PID/stat, /proc/PID/syscall, looked at every 10 µs); {} starts.\n\
         - drain: a spawner in the peer's namespace forks {} children that exit at once and leaves them unreaped; its \
         own exit then hands all of them to the peer as zombies. From that release until the peer has no child left \
         from them (/proc/PID/task/PID/children, looked at every ms); median of {} storms.\n\
         - The peers are measured in {} rounds, each going round all of them, so that load from elsewhere on the \
         machine falls on all alike.\n",
        thousands((ROUNDS * STARTS_PER_ROUND) as u64),
        thousands(ORPHANS),
        ROUNDS,
        ROUNDS,
    );
    for peer in peers {
        text += &format!("- {}: {}.\n", peer.name, peer.note);
    }
    text
}

/// The early-stop window: for each peer, the share of SIGTERMs lost at each delay after execve.
pub(crate) fn render_early_stop(
    peers: &[Peer],
    windows: &[Window],
    machine: &Machine,
    command: &str,
) -> String {
    let mut header = vec!["peer".to_string()];
    header.extend(
        DELAYS_US
            .iter()
            .map(|&delay| format!("{} µs", thousands(delay))),
    );
    header.push("SIGTERM late: median / max".to_string());
    header.push("redone".to_string());
    let mut rows = vec![header];
    for (peer, window) in peers.iter().zip(windows) {
        let mut row = vec![peer.name.to_string()];
        row.extend(
            window
                .delays
                .iter()
                .map(|delay| lost_percent(delay.lost, delay.tries)),
        );
        row.push(format!(
            "{} / {}",
            nanos(window.lateness_median),
            nanos(window.lateness_max)
        ));
        row.push(thousands(window.late as u64));
        rows.push(row);
    }
    let mut text = format!(
        "The early-stop window: the share of SIGTERMs lost when sent at each delay after execve \
         ({TRIES} tries per peer and delay), measured {} on {}, {} cores, Linux {} (load average \
         {} when it began), with `{command}`.\n\n",
        machine.date, machine.cpu, machine.cores, machine.kernel, machine.load
    );
    text += &table(&rows);
    text += &format!(
        "\n\
         - The peer starts as PID 1 of a fresh PID namespace, as in a pod. The kernel drops a signal \
         sent to a namespace's init that has no handler for it and has not blocked it, so a SIGTERM \
         that lands before the peer has done either is lost: it runs on, and a runtime that stops a \
         sandbox with one SIGTERM (CRI-O) waits out its whole stop timeout before SIGKILL. No anchor \
         can close the window: execve itself is in it.\n\
         - A try is lost when the peer still runs {grace} ms after the SIGTERM; whatever runs then \
         is killed with its namespace and reaped.\n\
         - The delay runs from a clock reading in the child right before execve, stored in a page \
         it shares with the helper; the helper spins on another CPU until the delay has passed, \
         reads the clock and calls kill(). SIGTERM late is how long after its delay that reading \
         was; a try later than {tolerance} µs (the helper preempted) is not counted but done again \
         (redone).\n\
         - The delays are taken in turn in every round, so that load from elsewhere on the machine \
         falls on all alike; starting a peer takes longer on a busy machine, which widens its \
         window.\n",
        grace = GRACE.as_millis(),
        tolerance = TOLERANCE.as_micros(),
    );
    text
}

/// `lost` of `tries` as a percentage, whole where it is whole.
fn lost_percent(lost: usize, tries: usize) -> String {
    let percent = lost as f64 * PERCENT / tries as f64;
    if percent.fract() == 0.0 {
        format!("{percent:.0} %")
    } else {
        format!("{percent:.1} %")
    }
}

/// What a pod costs with each anchor image, one row per image, ratios to ours (the first).
pub(crate) fn render_pods(
    images: &[PodImage],
    pods: &PodCosts,
    machine: &Machine,
    command: &str,
) -> String {
    let ours = &pods.costs[0];
    let header = [
        "anchor image",
        "image size",
        "memory median",
        "memory p90",
        "docker run -d median",
        "p90",
        "docker stop median",
        "p90",
    ];
    let mut rows = vec![header.iter().map(|cell| cell.to_string()).collect()];
    for (index, (image, cost)) in images.iter().zip(&pods.costs).enumerate() {
        let compare = |text: String, value: f64, base: f64| match index {
            0 => text,
            _ => format!("{text} ({})", ratio(value / base)),
        };
        let bytes = |value: u64, base: u64| {
            compare(format!("{} B", thousands(value)), value as f64, base as f64)
        };
        let kib = |value: u64, base: u64| {
            compare(
                format!("{} KiB", thousands(value / BYTES_PER_KIB)),
                value as f64,
                base as f64,
            )
        };
        let time =
            |value: Duration, base: Duration| compare(millis(value), secs(value), secs(base));
        rows.push(vec![
            image.name.to_string(),
            bytes(cost.image_bytes, ours.image_bytes),
            kib(cost.memory_median, ours.memory_median),
            kib(cost.memory_p90, ours.memory_p90),
            time(cost.run_median, ours.run_median),
            time(cost.run_p90, ours.run_p90),
            time(cost.stop_median, ours.stop_median),
            time(cost.stop_p90, ours.stop_p90),
        ]);
    }
    let mut text = format!(
        "What a pod costs: {ANCHORS} anchors of each image running at once in {}: Debian \
         unstable's docker.io and containerd over Debian 12's runc, a private dockerd. Measured {} \
         on {}, {} cores, Linux {} (load average {} when it began), with `{command}`. Ratios are to \
         ours (first row).\n\n",
        pods.engine, machine.date, machine.cpu, machine.cores, machine.kernel, machine.load
    );
    text += &table(&rows);
    text += &format!(
        "\n\
         - image size: `docker image inspect`'s Size after `docker load` into the engine's own \
         image store (not containerd's, whose Size counts the compressed content and the index): the \
         bytes of the files in the image's layers. Each image is FROM scratch, made by the \
         xtask's own image code: one layer holding the one binary, image/image.toml's config (user \
         65535:65535).\n\
         - memory: what the kernel charges each container's memory cgroup (memory.usage_in_bytes \
         under cgroup v1, memory.current under cgroup2), read once all {total} anchors run and \
         have rested {settle} s: the anchor process's own pages and the kernel's memory for it \
         (kernel stack, page tables, its task and namespaces). The binary's file pages are not in \
         it: they are in the page cache from `docker load` on, charged to the engine, and shared \
         by every container of the image.\n\
         - docker run -d: the docker CLI's `docker run --detach` from its start until it returns, \
         the container created and started (runc has started its process; every anchor was found \
         running afterwards).\n\
         - docker stop: `docker stop` with the engine's default grace period, from its start until \
         it returns with the container exited; every anchor exited 0 on SIGTERM (checked).\n\
         - Starts and stops go image by image in each of {ANCHORS} rounds, so that load from \
         elsewhere on the machine falls on all alike; medians and p90 are over the {ANCHORS} \
         anchors of each image.\n",
        total = ANCHORS * images.len(),
        settle = SETTLE.as_secs(),
    );
    for image in images {
        text += &format!("- {}: {}.\n", image.name, image.note);
    }
    text
}

/// Pads every column to its widest cell.
fn table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or_default()
        })
        .collect();
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let pad = |row: &Vec<String>| {
        row.iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:<width$}"))
            .collect()
    };
    let mut text = line(pad(&rows[0]));
    text += &line(widths.iter().map(|&width| "-".repeat(width)).collect());
    for row in &rows[1..] {
        text += &line(pad(row));
    }
    text
}

fn ratio(value: f64) -> String {
    if value >= WHOLE_RATIO {
        format!("{value:.0}x")
    } else {
        format!("{value:.1}x")
    }
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(DIGITS_PER_GROUP) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn micros(duration: Duration) -> String {
    format!(
        "{} µs",
        thousands((duration.as_nanos() / NANOS_PER_MICRO) as u64)
    )
}

/// Nanoseconds below a microsecond, else microseconds to a tenth.
fn nanos(duration: Duration) -> String {
    if duration.as_nanos() < NANOS_PER_MICRO {
        format!("{} ns", duration.as_nanos())
    } else {
        format!("{:.1} µs", duration.as_secs_f64() * MICROS_PER_SECOND)
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * MILLIS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::lost_percent;

    #[test]
    fn a_lost_share_reads_whole_where_it_is_whole_and_to_a_tenth_where_not() {
        assert_eq!(lost_percent(0, 200), "0 %");
        assert_eq!(lost_percent(200, 200), "100 %");
        assert_eq!(lost_percent(2, 200), "1 %");
        assert_eq!(lost_percent(1, 200), "0.5 %");
        assert_eq!(lost_percent(1, 3), "33.3 %");
    }
}
