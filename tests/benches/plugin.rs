//! The plugin as a DAW sees it: the release CLAP bundle loaded through the test host
//! (`clap_host`), measured for what a host's user would feel.
//!
//! - `engine_memory_mb` (`engine_memory_peak_mb`): resident memory one instance adds to the
//!   host process once its engine has played the default patch for a few seconds (and at its
//!   peak), measured first so nothing else has grown the process yet.
//! - `callback_ns_p999` (`_p50`, `_max`): wall time of `process()` for a 128-frame block at
//!   48 kHz with the engine ahead, the host paced in real time as an audio device paces it, so
//!   the ring stays full; only the call itself is timed. `callback_silent_blocks` counts timed
//!   blocks that came out silent, which is what an underrun sounds like: if it is not 0, the
//!   ring was not full and the figure is not the one asked for.
//! - `callback_floor_ns_p999` (`_p50`): the same pacing and timing around a fixed piece of work
//!   without the plugin (a 128-frame stereo copy and sum, about what `process()` itself does):
//!   what this machine adds to any callback, so the plugin's share of the figure above is known.
//! - `plugin_instantiate_ms`: create, initialise and activate an instance on the host's thread,
//!   median of several (the bundle is already loaded, as in a DAW's session).
//!
//! A `harness = false` program run by `cargo xtask bench`, which builds the release bundle and
//! passes its folder in `AURALIS_BUNDLE_DIR`; figures go to the JSON file in
//! `AURALIS_BENCH_OUT` and stdout. `--quick` shortens every run.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use auralis_tests::bundle_dir;
use auralis_tests::clap_host::{ClapBundle, ClapInstance, HostTransport, Rendered};

const PLUGIN_ID: &str = "audio.auralis.generative";
const SAMPLE_RATE: f64 = 48_000.0;
/// The block the callback figure is defined for: a common low-latency DAW setting.
const BLOCK_FRAMES: u32 = 128;
/// Paced runs go to the host in pieces this long, so the host's own copy of the audio stays
/// small (it would otherwise count as the engine's memory) and reuses the same allocations.
const CHUNK_S: f64 = 0.25;

/// How long each measurement runs.
struct Plan {
    /// Seconds of default patch played before memory is read.
    memory_run_s: f64,
    /// Blocks whose `process()` is timed.
    timed_blocks: usize,
    /// Instantiations timed.
    instantiations: usize,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                memory_run_s: 3.0,
                // 8 s of audio: the p99.9 is the third-slowest block.
                timed_blocks: 3_000,
                instantiations: 5,
            }
        } else {
            Self {
                memory_run_s: 5.0,
                // 53 s of audio: the p99.9 stands on 20 blocks.
                timed_blocks: 20_000,
                instantiations: 15,
            }
        }
    }
}

fn main() -> ExitCode {
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
    let clap = bundle_dir().join("Auralis.clap");
    let bundle = ClapBundle::load(&clap)?;
    let mut figures = serde_json::Map::new();

    // Memory before anything else has been allocated in this process.
    let rss_before_kib = memory_kib("VmRSS")?;
    let mut instance = bundle.instantiate(PLUGIN_ID)?;
    instance.set_transport(Some(HostTransport {
        playing: true,
        tempo_bpm: 120.0,
        pos_beats: 0.0,
    }));
    instance.activate(SAMPLE_RATE, BLOCK_FRAMES)?;
    let mut pacer = Pacer::new();
    let blocks = (plan.memory_run_s * SAMPLE_RATE / f64::from(BLOCK_FRAMES)) as usize;
    paced_run(&mut instance, &mut pacer, blocks)?;
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

    // The same instance, warm and well ahead: the timed run.
    let timed = paced_run(&mut instance, &mut pacer, plan.timed_blocks)?;
    let mut times_ns: Vec<u64> = timed
        .process_times
        .iter()
        .map(|t| t.as_nanos() as u64)
        .collect();
    times_ns.sort_unstable();
    let silent = timed.silent_blocks;
    if silent > 0 {
        eprintln!(
            "warning: {silent} of {} timed blocks were silent (underruns): the engine fell \
             behind, so the callback figures include waits for it",
            plan.timed_blocks
        );
    }
    figures.insert("callback_ns_p50".into(), percentile(&times_ns, 0.5).into());
    figures.insert(
        "callback_ns_p999".into(),
        percentile(&times_ns, 0.999).into(),
    );
    figures.insert("callback_ns_max".into(), percentile(&times_ns, 1.0).into());
    figures.insert("callback_silent_blocks".into(), silent.into());
    let mut floor_ns = paced_floor(plan.timed_blocks);
    floor_ns.sort_unstable();
    figures.insert(
        "callback_floor_ns_p50".into(),
        percentile(&floor_ns, 0.5).into(),
    );
    figures.insert(
        "callback_floor_ns_p999".into(),
        percentile(&floor_ns, 0.999).into(),
    );
    instance.deactivate()?;
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

    let json = serde_json::to_string_pretty(&figures)? + "\n";
    print!("{json}");
    if let Some(path) = std::env::var_os("AURALIS_BENCH_OUT") {
        std::fs::write(&path, &json)
            .with_context(|| format!("writing {}", std::path::Path::new(&path).display()))?;
    }
    Ok(())
}

/// Hands blocks to the plugin at the pace of a 48 kHz audio device: block n is due n block
/// durations after the first, and the host sleeps until then.
struct Pacer {
    start: Instant,
    next_block: u64,
}

impl Pacer {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            next_block: 0,
        }
    }
}

/// What a paced run leaves: the times of its `process()` calls and how many blocks were silent.
/// The audio itself is not kept, because the host's copy would count as the engine's memory.
struct PacedRun {
    process_times: Vec<Duration>,
    silent_blocks: usize,
}

/// Processes `blocks` blocks of [`BLOCK_FRAMES`], paced in real time, continuing `pacer`'s
/// clock.
fn paced_run(instance: &mut ClapInstance, pacer: &mut Pacer, blocks: usize) -> Result<PacedRun> {
    let block_duration = Duration::from_secs_f64(f64::from(BLOCK_FRAMES) / SAMPLE_RATE);
    let chunk_blocks = (CHUNK_S * SAMPLE_RATE / f64::from(BLOCK_FRAMES)) as usize;
    let mut run = PacedRun {
        process_times: Vec::with_capacity(blocks),
        silent_blocks: 0,
    };
    let mut done = 0;
    while done < blocks {
        let count = chunk_blocks.min(blocks - done);
        let (start, first) = (pacer.start, pacer.next_block);
        let chunk = instance.process_blocks(count, |index, block| {
            block.frames = BLOCK_FRAMES;
            let due = start + block_duration * (first + index as u64) as u32;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        })?;
        run.process_times.extend_from_slice(&chunk.process_times);
        run.silent_blocks += silent_blocks(&chunk);
        pacer.next_block += count as u64;
        done += count;
    }
    Ok(run)
}

/// Times `blocks` fixed stand-ins for a callback, paced like [`paced_run`]: the wake-up from
/// sleep, cold caches and whatever else the machine does to a thread that sleeps between
/// blocks, with no plugin involved.
fn paced_floor(blocks: usize) -> Vec<u64> {
    let block_duration = Duration::from_secs_f64(f64::from(BLOCK_FRAMES) / SAMPLE_RATE);
    let frames = BLOCK_FRAMES as usize;
    let ring = vec![0.25f32; 2 * frames * 64];
    let mut out = vec![0.0f32; 2 * frames];
    let mut times = Vec::with_capacity(blocks);
    let start = Instant::now();
    for index in 0..blocks {
        let due = start + block_duration * index as u32;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let began = Instant::now();
        // Like the plugin's read of its ring: a block from a different place each time.
        let from = (index % 64) * 2 * frames;
        out.copy_from_slice(&ring[from..from + 2 * frames]);
        let level: f32 = std::hint::black_box(&out).iter().map(|s| s * s).sum();
        std::hint::black_box(level);
        times.push(began.elapsed().as_nanos() as u64);
    }
    times
}

/// Blocks that are exact digital silence on both channels.
fn silent_blocks(rendered: &Rendered) -> usize {
    let frames = BLOCK_FRAMES as usize;
    rendered
        .left
        .chunks(frames)
        .zip(rendered.right.chunks(frames))
        .filter(|(l, r)| l.iter().chain(r.iter()).all(|&s| s == 0.0))
        .count()
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
