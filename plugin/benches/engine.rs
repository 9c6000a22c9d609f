//! Engine benchmarks: how much faster than real time the CPU path renders.
//!
//! A plain `harness = false` program, because its figures are whole-run throughputs rather than
//! per-iteration timings: it renders, times, and writes one JSON object of named figures to the
//! file in `AURALIS_BENCH_OUT` (and to stdout). `--quick` shortens every run for smoke tests.
//! Run through `cargo xtask bench`, which gathers every benchmark's figures into
//! `target/bench/summary.json`.

use std::hint::black_box;
use std::time::Instant;

use auralis::engine::{ENGINE_BLOCK_FRAMES, EngineCore};
use auralis::params::MusicalSettings;
use auralis::realtime::denormals::DenormalGuard;
use auralis::synth::{
    CpuRenderer, GpuRenderer, GpuSelection, PartialBlock, PartialParams, Renderer,
};

const SAMPLE_RATE: f32 = 48_000.0;

/// Seconds of the default patch rendered per second of wall time, on this thread.
fn cpu_realtime_factor(seconds: f64) -> f64 {
    let settings = MusicalSettings::default();
    let mut engine = EngineCore::new(SAMPLE_RATE, &settings);
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

/// A block of `partials` oscillators spread over the audible range.
fn partial_block(partials: usize) -> PartialBlock {
    let mut block = PartialBlock::with_capacity(partials);
    block.clear(ENGINE_BLOCK_FRAMES);
    for k in 0..partials {
        let freq_hz = 55.0 * (1.0 + (k % 97) as f64 * 0.37);
        block.partials.push(PartialParams {
            phase: (k as f32 * 0.618).fract(),
            increment: (freq_hz / SAMPLE_RATE as f64) as f32,
            amp_left: 1e-3,
            amp_left_step: 0.0,
            amp_right: 1e-3,
            amp_right_step: 0.0,
        });
    }
    block
}

/// Partial oscillators `renderer` sustains in real time at 48 kHz (on one core for the CPU),
/// and engine blocks per second, rendering blocks of `partials` for about `seconds`.
fn partials_realtime(renderer: &mut dyn Renderer, partials: usize, seconds: f64) -> (f64, f64) {
    let block = partial_block(partials);
    let mut left = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    let mut right = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    // Warm-up: first-use costs (page faults, shader compilation) are not throughput.
    renderer
        .render(&block, &mut left, &mut right)
        .expect("render");
    let started = Instant::now();
    let mut blocks = 0usize;
    while started.elapsed().as_secs_f64() < seconds {
        renderer
            .render(&block, &mut left, &mut right)
            .expect("render");
        black_box(&left);
        blocks += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let partial_samples_per_s = (blocks * ENGINE_BLOCK_FRAMES * partials) as f64 / elapsed;
    (
        partial_samples_per_s / SAMPLE_RATE as f64,
        blocks as f64 / elapsed,
    )
}

fn main() {
    DenormalGuard::enable_for_thread();
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 0.25 } else { 1.0 };
    let mut cpu = CpuRenderer::with_max_frames(ENGINE_BLOCK_FRAMES);
    let (cpu_partials, cpu_blocks) = partials_realtime(&mut cpu, 4_096, 3.0 * scale);
    let mut figures = vec![
        (
            "cpu_realtime_factor",
            format!("{:.3}", cpu_realtime_factor(60.0 * scale)),
        ),
        ("cpu_partials_realtime", format!("{cpu_partials:.0}")),
        ("cpu_blocks_per_s_4096_partials", format!("{cpu_blocks:.1}")),
    ];
    // The GPU path on whatever adapter there is, software included: here that is lavapipe.
    match GpuRenderer::new(GpuSelection::Force) {
        Ok(mut gpu) => {
            let (gpu_partials, gpu_blocks) = partials_realtime(&mut gpu, 4_096, 3.0 * scale);
            figures.push(("gpu_partials_realtime", format!("{gpu_partials:.0}")));
            figures.push(("gpu_blocks_per_s_4096_partials", format!("{gpu_blocks:.1}")));
            figures.push(("gpu_adapter", format!("{:?}", gpu.describe())));
        }
        Err(err) => figures.push(("gpu_adapter", format!("{:?}", format!("none: {err}")))),
    }
    let body: Vec<String> = figures
        .iter()
        .map(|(name, value)| format!("  \"{name}\": {value}"))
        .collect();
    let json = format!("{{\n{}\n}}\n", body.join(",\n"));
    print!("{json}");
    if let Ok(path) = std::env::var("AURALIS_BENCH_OUT")
        && let Err(err) = std::fs::write(&path, &json)
    {
        eprintln!("cannot write {path}: {err}");
        std::process::exit(1);
    }
}
