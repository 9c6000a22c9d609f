//! The plugin as a DAW sees it: the release CLAP bundle loaded through the test host
//! (`clap_host`), measured for what a host's user would feel.
//!
//! - `engine_memory_mb` (`engine_memory_peak_mb`): resident memory one instance adds to the
//!   host process once its engine has played the default patch for a few seconds (and at its
//!   peak), measured first so nothing else has grown the process yet.
//! - The callback ([`callback`]): wall time of `process()` for a 128-frame block at 48 kHz with
//!   the engine ahead, the host paced in real time as an audio device paces it; only the call
//!   itself is timed. Three subjects share one host audio thread and every period: Auralis, a
//!   minimal nice-plug gain effect (`bench-gain`, the peer floor) and a fixed copy-and-sum
//!   without any plugin (the machine's floor), in an order that rotates every period, so that
//!   whatever else the machine is doing lands on all three alike.
//!   - `callback_ns_p999` (`_p50`, `_max`): Auralis, over all its timed blocks.
//!     `callback_silent_blocks` counts those that came out silent, which is what an underrun
//!     sounds like: if it is not 0, the engine fell behind and the figure is not the one asked
//!     for.
//!   - `callback_floor_ns_p999` (`_p50`): the copy-and-sum: what this machine adds to any
//!     callback (the wake-up, cold caches).
//!   - `callback_gain_plugin_ns_p999` (`_p50`): the gain effect: what a plugin built with the
//!     same framework costs at least.
//!   - `callback_p999_over_floor`, `callback_p999_over_gain_plugin`: the run is cut into
//!     windows of consecutive periods; in each, Auralis's p99.9 over the other subject's p99.9
//!     of the same window; the median over the windows.
//!   - What the p99.9 ratios rest on: `callback_machine_interruptions_per_s`, how often the
//!     machine takes the host thread away for 10 µs or more (counted first, the thread reading
//!     the clock in a tight loop), and `callback_machine_hits_per_window`, how many of those
//!     land inside Auralis's calls of one window at its median duration. From about one on,
//!     the interruptions can make the p99.9s, the run warns, and `callback_p50_over_gain_plugin`,
//!     the medians' ratio, is the figure that compares the code; `callback_floor_p999_over_p50`
//!     shows the same from the floor's side.
//! - `instances_realtime` ([`instances`]): how many Auralis instances (all playing, each with
//!   its own seed) one host audio thread runs at 48 kHz / 128 frames without an underrun for
//!   20 s, found by a search upwards then a bisection (at most 128); with the engine threads'
//!   CPU per instance and the host thread's load at that count, and the underrun that stopped
//!   the next count up (`instances_limit_underrun`), which say what limits it; and the
//!   machine's `cpu_model`.
//! - `plugin_instantiate_ms`: create, initialise and activate an instance on the host's thread,
//!   median of several (the bundle is already loaded, as in a DAW's session).
//!
//! A `harness = false` program run by `cargo xtask bench`, which builds the release bundle and
//! the gain effect and passes their locations in `AURALIS_BUNDLE_DIR` and
//! `AURALIS_GAIN_PLUGIN` (the gain's default: `libauralis_bench_gain.so` in the release
//! target folder). Figures go to the JSON file in `AURALIS_BENCH_OUT` and stdout. `--quick`
//! shortens every run (about 2 minutes instead of 6).

mod callback;
mod instances;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use auralis_tests::audio_thread::{Pacer, become_realtime, is_silent};
use auralis_tests::clap_host::{ClapBundle, ClapInstance, HostTransport, on_shared_audio_thread};
use auralis_tests::{bundle_dir, target_dir};

const PLUGIN_ID: &str = "audio.auralis.generative";
const GAIN_PLUGIN_ID: &str = "audio.auralis.bench-gain";
const SAMPLE_RATE: f64 = 48_000.0;
/// The block every figure is defined for: a common low-latency DAW setting.
const BLOCK_FRAMES: u32 = 128;

/// How long each measurement runs.
struct Plan {
    /// Seconds of default patch played before memory is read.
    memory_run_s: f64,
    callback: callback::Plan,
    instances: instances::Plan,
    /// Instantiations timed.
    instantiations: usize,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                memory_run_s: 3.0,
                callback: callback::Plan::QUICK,
                instances: instances::Plan::QUICK,
                instantiations: 5,
            }
        } else {
            Self {
                memory_run_s: 5.0,
                callback: callback::Plan::FULL,
                instances: instances::Plan::FULL,
                instantiations: 15,
            }
        }
    }
}

fn main() -> ExitCode {
    if std::env::var_os("AURALIS_LOG").is_none() {
        // SAFETY: no other thread exists yet. The plugin logs every activation at `info`; the
        // instance search makes hundreds.
        unsafe { std::env::set_var("AURALIS_LOG", "warn") };
    }
    let quick = std::env::args().any(|a| a == "--quick");
    match run(&Plan::new(quick)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plugin benchmark: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(plan: &Plan) -> Result<()> {
    let bundle = ClapBundle::load(bundle_dir().join("Auralis.clap"))?;
    let gain_bundle = ClapBundle::load(gain_plugin_path()?)?;
    let mut figures = serde_json::Map::new();

    // Memory before anything else has been allocated in this process.
    let rss_before_kib = memory_kib("VmRSS")?;
    let mut instance = bundle.instantiate(PLUGIN_ID)?;
    start_playing(&mut instance)?;
    let blocks = (plan.memory_run_s * SAMPLE_RATE / f64::from(BLOCK_FRAMES)) as usize;
    paced_warm_up(&mut instance, blocks)?;
    let rss_kib = memory_kib("VmRSS")?;
    let hwm_kib = memory_kib("VmHWM")?;
    figures.insert(
        "engine_memory_mb".into(),
        mib(rss_kib.saturating_sub(rss_before_kib)),
    );
    figures.insert(
        "engine_memory_peak_mb".into(),
        mib(hwm_kib.saturating_sub(rss_before_kib)),
    );

    // The same instance, warm and well ahead, against the peer and the floor.
    let mut gain = gain_bundle.instantiate(GAIN_PLUGIN_ID)?;
    gain.activate(SAMPLE_RATE, BLOCK_FRAMES)?;
    figures.extend(callback::measure(&plan.callback, &mut instance, &mut gain)?);
    drop(gain);
    drop(instance);

    let mut instantiate_ms = Vec::with_capacity(plan.instantiations);
    for _ in 0..plan.instantiations {
        let started = Instant::now();
        let mut instance = bundle.instantiate(PLUGIN_ID)?;
        instance.activate(SAMPLE_RATE, BLOCK_FRAMES)?;
        instantiate_ms.push(started.elapsed().as_secs_f64() * 1e3);
        // Deactivation joins the engine thread; not part of the figure.
        instance.deactivate()?;
    }
    instantiate_ms.sort_by(f64::total_cmp);
    figures.insert(
        "plugin_instantiate_ms".into(),
        round(percentile(&instantiate_ms, 0.5), 2),
    );

    figures.extend(instances::measure(&plan.instances, &bundle)?);

    let json = serde_json::to_string_pretty(&figures)? + "\n";
    print!("{json}");
    if let Some(path) = std::env::var_os("AURALIS_BENCH_OUT") {
        std::fs::write(&path, &json)
            .with_context(|| format!("writing {}", std::path::Path::new(&path).display()))?;
    }
    Ok(())
}

/// The gain effect's `.clap`: `AURALIS_GAIN_PLUGIN`, or where `cargo build --release -p
/// auralis-bench-gain` leaves it (on Linux a `.clap` is the shared library itself).
fn gain_plugin_path() -> Result<PathBuf> {
    let path = std::env::var_os("AURALIS_GAIN_PLUGIN").map_or_else(
        || {
            target_dir()
                .join("release")
                .join("libauralis_bench_gain.so")
        },
        PathBuf::from,
    );
    if !path.is_file() {
        bail!(
            "the gain plugin the callback is compared with is missing at {} (build it with \
             `cargo build --release -p auralis-bench-gain`, or name it in AURALIS_GAIN_PLUGIN)",
            path.display()
        );
    }
    Ok(path)
}

/// Gives `instance` a playing transport and activates it.
fn start_playing(instance: &mut ClapInstance) -> Result<()> {
    instance.set_transport(Some(HostTransport {
        playing: true,
        tempo_bpm: 120.0,
        pos_beats: 0.0,
    }));
    instance.activate(SAMPLE_RATE, BLOCK_FRAMES)
}

/// Plays `blocks` blocks in real time on one audio thread, audio discarded: the engine gets
/// going and its ring fills, as after a DAW's play button.
fn paced_warm_up(instance: &mut ClapInstance, blocks: usize) -> Result<()> {
    on_shared_audio_thread(&mut [instance], |audio| {
        let mut pacer = Pacer::new(block_duration());
        for _ in 0..blocks {
            pacer.wait_for_next();
            audio.process(0, |block| block.frames = BLOCK_FRAMES)?;
        }
        Ok(())
    })
}

/// The duration of one device period.
fn block_duration() -> Duration {
    Duration::from_secs_f64(f64::from(BLOCK_FRAMES) / SAMPLE_RATE)
}

/// The value at quantile `q` (0..=1) of sorted `values`: the smallest value with at least
/// `q` of them at or below it.
fn percentile<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A line of `/proc/self/status` (`VmRSS`, `VmHWM`), in KiB.
fn memory_kib(field: &str) -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let Some(line) = status
        .lines()
        .find(|line| line.split(':').next() == Some(field))
    else {
        bail!("/proc/self/status has no {field} line (this benchmark needs Linux)");
    };
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("unreadable {field} line: {line:?}"))
}

fn mib(kib: u64) -> serde_json::Value {
    round(kib as f64 / 1024.0, 1)
}

fn round(value: f64, decimals: i32) -> serde_json::Value {
    let scale = 10f64.powi(decimals);
    ((value * scale).round() / scale).into()
}
