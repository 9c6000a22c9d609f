//! Engine benchmarks: how much faster than real time the CPU path renders, and how many
//! partial oscillators each renderer sustains, against a bank of fundsp's sine oscillators doing
//! the same job as a yardstick.
//!
//! A plain `harness = false` program, because its figures are whole-run throughputs rather than
//! per-iteration timings: it renders, times, and writes one JSON object of named figures to the
//! file in `AURALIS_BENCH_OUT` (and to stdout). `--quick` shortens every run for smoke tests.
//! Run through `cargo xtask bench`, which gathers every benchmark's figures into
//! `target/bench/summary.json`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use auralis::engine::{ENGINE_BLOCK_FRAMES, EngineCore};
use auralis::params::MusicalSettings;
use auralis::realtime::denormals::DenormalGuard;
use auralis::signal::SampleRate;
use auralis::synth::{CpuRenderer, GpuRenderer, GpuSelection, PartialBlock, Renderer, SimdPath};
use fundsp::prelude32::{
    BufferArray, BufferRef, Constant, MAX_BUFFER_SIZE, Pipe, Sine, U1, sine_hz,
};

#[path = "common/partials.rs"]
mod partials;
#[path = "common/roofline.rs"]
mod roofline;

use partials::{SAMPLE_RATE, partial_block};

/// Seconds of the default patch rendered per second of wall time, on this thread.
fn cpu_realtime_factor(seconds: f64) -> f64 {
    let settings = MusicalSettings::default();
    let mut engine = EngineCore::new(SampleRate::DEFAULT, &settings);
    let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
    // The first seconds include the composer's first plans and the voices' attacks.
    for _ in 0..(SAMPLE_RATE as usize / ENGINE_BLOCK_FRAMES) {
        engine.render(&settings, None, &mut block);
    }
    let blocks = (seconds * SAMPLE_RATE as f64) as usize / ENGINE_BLOCK_FRAMES;
    let started = Instant::now();
    for _ in 0..blocks {
        engine.render(&settings, None, &mut block);
        black_box(&block);
    }
    let audio_s = (blocks * ENGINE_BLOCK_FRAMES) as f64 / SAMPLE_RATE as f64;
    audio_s / started.elapsed().as_secs_f64()
}

/// Partial oscillators `renderer` sustains in real time at 48 kHz (on one core for the CPU),
/// and engine blocks per second, rendering blocks of `partials` for about `seconds`.
///
/// # Errors
/// The renderer's first error (only the GPU renderer has any).
fn partials_realtime(
    renderer: &mut dyn Renderer,
    partials: usize,
    seconds: f64,
) -> Result<(f64, f64), String> {
    let block = partial_block(partials);
    let mut left = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    let mut right = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    let mut failure = None;
    let figures = throughput(partials, seconds, || {
        if failure.is_none()
            && let Err(err) = renderer.render(&block, &mut left, &mut right)
        {
            failure = Some(err.to_string());
        }
        black_box(&left);
    });
    match failure {
        Some(err) => Err(err),
        None => Ok(figures),
    }
}

/// Partial oscillators and blocks per second of `render_block`, which renders one engine block
/// of `partials` oscillators, called for about `seconds` after one warm-up call (first-use
/// costs such as page faults and shader compilation are not throughput).
fn throughput(partials: usize, seconds: f64, mut render_block: impl FnMut()) -> (f64, f64) {
    render_block();
    let started = Instant::now();
    let mut blocks = 0usize;
    while started.elapsed().as_secs_f64() < seconds {
        render_block();
        blocks += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let partial_samples_per_s = (blocks * ENGINE_BLOCK_FRAMES * partials) as f64 / elapsed;
    (
        partial_samples_per_s / SAMPLE_RATE as f64,
        blocks as f64 / elapsed,
    )
}

/// fundsp's fixed-frequency sine oscillator.
type FundspSine = fundsp::prelude32::An<Pipe<Constant<U1>, Sine<f32>>>;

/// The yardstick: the same bank of oscillators as [`partial_block`] (frequencies, stereo gains)
/// built from fundsp `sine_hz` nodes, each run with fundsp's block processing (64 frames a call,
/// SIMD inside) and mixed into the stereo block. One node per oscillator is fundsp's fastest
/// way to a bank of independent sines: a `Net` summing them adds routing on top of the same
/// per-node work.
struct FundspBank {
    oscillators: Vec<FundspSine>,
    /// Left and right gain of each oscillator.
    gains: Vec<(f32, f32)>,
    scratch: BufferArray<U1>,
}

impl FundspBank {
    fn new(block: &PartialBlock) -> Self {
        let oscillators = block
            .partials
            .iter()
            .map(|p| {
                let mut oscillator = sine_hz(p.increment * SAMPLE_RATE);
                oscillator.set_sample_rate(f64::from(SAMPLE_RATE));
                oscillator
            })
            .collect();
        Self {
            oscillators,
            gains: block
                .partials
                .iter()
                .map(|p| (p.amp_left, p.amp_right))
                .collect(),
            scratch: BufferArray::new(),
        }
    }

    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        left.fill(0.0);
        right.fill(0.0);
        for (oscillator, &(gain_left, gain_right)) in self.oscillators.iter_mut().zip(&self.gains) {
            for (left, right) in left
                .chunks_mut(MAX_BUFFER_SIZE)
                .zip(right.chunks_mut(MAX_BUFFER_SIZE))
            {
                let frames = left.len();
                oscillator.process(frames, &BufferRef::empty(), &mut self.scratch.buffer_mut());
                let wave = &self.scratch.channel_f32(0)[..frames];
                for ((l, r), &s) in left.iter_mut().zip(right.iter_mut()).zip(wave) {
                    *l += gain_left * s;
                    *r += gain_right * s;
                }
            }
        }
    }
}

/// [`partials_realtime`] for the fundsp bank.
fn fundsp_partials_realtime(partials: usize, seconds: f64) -> (f64, f64) {
    let mut bank = FundspBank::new(&partial_block(partials));
    let mut left = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    let mut right = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    throughput(partials, seconds, || {
        bank.render(&mut left, &mut right);
        black_box(&left);
    })
}

/// Oscillators in the partial benchmarks: a dense pad's worth.
const PARTIALS: usize = 4_096;

fn main() {
    DenormalGuard::enable_for_thread();
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 0.25 } else { 1.0 };
    let mut figures = serde_json::Map::new();
    let mut put = |name: &str, value: serde_json::Value| figures.insert(name.into(), value);

    put(
        "cpu_realtime_factor",
        round(cpu_realtime_factor(60.0 * scale), 3),
    );
    let mut cpu = CpuRenderer::with_max_frames(ENGINE_BLOCK_FRAMES);
    let path = cpu.path();
    // The roof first and last, the renderer between: a machine whose clock or load changes
    // during the run shows it as two different roofs, and the lower one is not taken.
    let roof_runs = if quick { 3 } else { 5 };
    let peak_before = roofline::peak_gflops(path, roof_runs, 0.2);
    let (cpu_partials, cpu_blocks) = partials_realtime(&mut cpu, PARTIALS, 3.0 * scale)
        .unwrap_or_else(|err| panic!("the CPU renderer failed: {err}"));
    let peak = peak_before.max(roofline::peak_gflops(path, roof_runs, 0.2));
    put("cpu_simd_path", path.name().into());
    put("cpu_partials_realtime", round(cpu_partials, 0));
    put("cpu_blocks_per_s_4096_partials", round(cpu_blocks, 1));
    put("cpu_peak_gflops", round(peak, 1));
    let sustained_gflops =
        cpu_partials * f64::from(SAMPLE_RATE) * roofline::RENDERER_FLOPS_PER_PARTIAL_FRAME / 1e9;
    put("cpu_partials_gflops", round(sustained_gflops, 1));
    put(
        "cpu_partials_roof_pct",
        round(100.0 * sustained_gflops / peak, 1),
    );
    // The slower paths this CPU also runs, for what the faster ones buy, in the same run.
    for (other, key) in [
        (SimdPath::Avx, "cpu_partials_realtime_avx"),
        (SimdPath::Portable, "cpu_partials_realtime_portable"),
    ] {
        if other == path {
            continue;
        }
        if let Some(mut renderer) = CpuRenderer::with_path(other, ENGINE_BLOCK_FRAMES) {
            let (partials, _) = partials_realtime(&mut renderer, PARTIALS, 3.0 * scale)
                .unwrap_or_else(|err| panic!("the CPU renderer failed: {err}"));
            put(key, round(partials, 0));
        }
    }
    let (fundsp_partials, fundsp_blocks) = fundsp_partials_realtime(PARTIALS, 3.0 * scale);
    put("fundsp_partials_realtime", round(fundsp_partials, 0));
    put("fundsp_blocks_per_s_4096_partials", round(fundsp_blocks, 1));
    put(
        "partials_vs_fundsp",
        round(cpu_partials / fundsp_partials, 2),
    );

    // The GPU path on whatever adapter there is, software included: here that is lavapipe.
    match GpuRenderer::new(GpuSelection::Force) {
        Ok(mut gpu) => {
            // The engine's per-block deadline is not what is measured here: a software adapter
            // on a busy machine may miss it, and the figure is its throughput all the same.
            gpu.set_timeout(Duration::from_secs(10));
            match partials_realtime(&mut gpu, PARTIALS, 3.0 * scale) {
                Ok((gpu_partials, gpu_blocks)) => {
                    put("gpu_partials_realtime", round(gpu_partials, 0));
                    put("gpu_blocks_per_s_4096_partials", round(gpu_blocks, 1));
                    put("gpu_adapter", gpu.describe().into());
                }
                Err(err) => {
                    eprintln!("the GPU renderer failed, so there is no GPU figure: {err}");
                    put(
                        "gpu_adapter",
                        format!("{} (failed: {err})", gpu.describe()).into(),
                    );
                }
            }
        }
        Err(err) => {
            put("gpu_adapter", format!("none: {err}").into());
        }
    }

    let json = serde_json::to_string_pretty(&figures).expect("figures are JSON") + "\n";
    print!("{json}");
    if let Ok(path) = std::env::var("AURALIS_BENCH_OUT")
        && let Err(err) = std::fs::write(&path, &json)
    {
        eprintln!("cannot write {path}: {err}");
        std::process::exit(1);
    }
}

fn round(value: f64, decimals: i32) -> serde_json::Value {
    let scale = 10f64.powi(decimals);
    ((value * scale).round() / scale).into()
}
