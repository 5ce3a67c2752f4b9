//! What a pod costs, the numbers a cluster operator multiplies by pods per node: [`ANCHORS`]
//! anchors of each image running at once in a private Docker Engine 28 over containerd 2 (Debian
//! unstable's, unpacked by `tools::debian_unstable`; the engine the docker suite runs,
//! `engine::dockerd`) with its own image store, started and stopped the way users do it, with the
//! docker CLI of the same release.
//!
//! The engine's own store (overlay2), not containerd's: there `docker image inspect`'s Size counts
//! the image's compressed content and index (docs/runtimes.md), not the bytes of its files, and
//! the sizes would no longer compare with the start-up table's binaries.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use super::engine::{Engine, INFO_FORMAT, VERSION_FORMAT};
use super::measurement::{MEDIAN, P90, percentile};
use super::pod_images::PodImage;
use crate::engine::dockerd::{Dockerd, ImageStore, Release};

/// Anchors of each image running at once.
pub(crate) const ANCHORS: usize = 50;
/// How long the anchors rest, all started, before their memory is read.
pub(crate) const SETTLE: Duration = Duration::from_secs(2);
/// What every anchor must exit with after `docker stop`: it ended on SIGTERM by itself.
const CLEAN_EXIT: &str = "0";

/// What one image costs per pod.
pub(crate) struct PodCost {
    /// `docker image inspect`'s Size: the bytes of its layers' files as the engine stores them.
    pub(crate) image_bytes: u64,
    pub(crate) memory_median: u64,
    pub(crate) memory_p90: u64,
    pub(crate) run_median: Duration,
    pub(crate) run_p90: Duration,
    pub(crate) stop_median: Duration,
    pub(crate) stop_p90: Duration,
}

/// What the bench measured, and of which engine.
pub(crate) struct PodCosts {
    /// The engine, as it reports itself.
    pub(crate) engine: Engine,
    pub(crate) costs: Vec<PodCost>,
}

/// What the rounds collect for one image.
#[derive(Default)]
struct Samples {
    names: Vec<String>,
    ids: Vec<String>,
    runs: Vec<Duration>,
    memory: Vec<u64>,
    stops: Vec<Duration>,
}

pub(crate) fn measure(sh: &Shell, images: &[PodImage]) -> Result<PodCosts> {
    let mut engine = Dockerd::start_with(Release::V28, ImageStore::GraphDriver)?;
    let env = engine.client_env();
    let cli = engine.docker_cli();
    let docker = |args: &[&str]| {
        cmd!(sh, "{cli} {args...}")
            .envs(env.iter().map(|(name, value)| (name, value)))
            .quiet()
            .ignore_stderr()
    };
    let described = Engine::parse(
        &docker(&["version", "--format", VERSION_FORMAT]).read()?,
        &docker(&["info", "--format", INFO_FORMAT]).read()?,
    )?;

    let mut image_bytes = Vec::new();
    for image in images {
        let archive = image.archive.display().to_string();
        docker(&["load", "--quiet", "--input", &archive]).read()?;
        let size = docker(&["image", "inspect", "--format", "{{.Size}}", &image.tag]).read()?;
        image_bytes.push(
            size.trim()
                .parse::<u64>()
                .with_context(|| format!("the size of {}: {size}", image.tag))?,
        );
    }

    // Image by image within each round, so that load from elsewhere falls on all alike.
    eprintln!(
        "{ANCHORS} anchors of each of {} images in {described}",
        images.len()
    );
    let mut samples: Vec<Samples> = images.iter().map(|_| Samples::default()).collect();
    for round in 0..ANCHORS {
        for (index, (image, samples)) in images.iter().zip(&mut samples).enumerate() {
            let name = format!("bench-{index}-{round}");
            let start = Instant::now();
            let id = docker(&["run", "--detach", "--name", &name, &image.tag]).read()?;
            samples.runs.push(start.elapsed());
            samples.names.push(name);
            samples.ids.push(id.trim().to_string());
        }
    }
    // No number may come from an anchor that died, or that stop had to kill.
    let check = |names: &[String], field: &str, expected: &str, tag: &str| -> Result<()> {
        let template = format!("{{{{.Name}}}} {{{{{field}}}}}");
        let mut args = vec!["inspect", "--format", &template];
        args.extend(names.iter().map(String::as_str));
        let listed = docker(&args).read()?;
        let wrong: Vec<&str> = listed
            .lines()
            .filter(|line| line.split_whitespace().nth(1) != Some(expected))
            .collect();
        if !wrong.is_empty() {
            bail!(
                "{tag}: every anchor should show {field} {expected}; these do not:\n{}",
                wrong.join("\n")
            );
        }
        Ok(())
    };
    std::thread::sleep(SETTLE);
    for (image, samples) in images.iter().zip(&mut samples) {
        check(&samples.names, ".State.Running", "true", &image.tag)?;
        for id in &samples.ids {
            samples.memory.push(
                engine.memory_usage(id).with_context(|| {
                    format!("no memory cgroup for {} container {id}", image.tag)
                })?,
            );
        }
    }
    for round in 0..ANCHORS {
        for samples in &mut samples {
            let name = &samples.names[round];
            let start = Instant::now();
            docker(&["stop", name]).read()?;
            samples.stops.push(start.elapsed());
        }
    }
    for (image, samples) in images.iter().zip(&samples) {
        check(&samples.names, ".State.ExitCode", CLEAN_EXIT, &image.tag)?;
    }
    engine.stop()?;

    let costs = samples
        .into_iter()
        .zip(image_bytes)
        .map(|(samples, image_bytes)| PodCost {
            image_bytes,
            memory_median: percentile(samples.memory.clone(), MEDIAN),
            memory_p90: percentile(samples.memory, P90),
            run_median: percentile(samples.runs.clone(), MEDIAN),
            run_p90: percentile(samples.runs, P90),
            stop_median: percentile(samples.stops.clone(), MEDIAN),
            stop_p90: percentile(samples.stops, P90),
        })
        .collect();
    Ok(PodCosts {
        engine: described,
        costs,
    })
}
