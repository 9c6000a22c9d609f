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
use auralis::synth::{CpuRenderer, PartialBlock, PartialParams, Renderer};

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

/// Partial oscillators the CPU renderer sustains in real time at 48 kHz on one core.
fn cpu_partials_realtime(seconds: f64) -> f64 {
    const PARTIALS: usize = 4_096;
    let mut block = PartialBlock::with_capacity(PARTIALS);
    block.clear(ENGINE_BLOCK_FRAMES);
    for k in 0..PARTIALS {
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
    let mut renderer = CpuRenderer::with_max_frames(ENGINE_BLOCK_FRAMES);
    let mut left = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    let mut right = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    let started = Instant::now();
    let mut blocks = 0usize;
    while started.elapsed().as_secs_f64() < seconds {
        for _ in 0..16 {
            renderer
                .render(&block, &mut left, &mut right)
                .expect("cpu render");
            black_box(&left);
        }
        blocks += 16;
    }
    let partial_samples_per_s =
        (blocks * ENGINE_BLOCK_FRAMES * PARTIALS) as f64 / started.elapsed().as_secs_f64();
    partial_samples_per_s / SAMPLE_RATE as f64
}

fn main() {
    DenormalGuard::enable_for_thread();
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 0.25 } else { 1.0 };
    let figures = [
        ("cpu_realtime_factor", cpu_realtime_factor(60.0 * scale)),
        ("cpu_partials_realtime", cpu_partials_realtime(3.0 * scale)),
    ];
    let body: Vec<String> = figures
        .iter()
        .map(|(name, value)| format!("  \"{name}\": {value:.3}"))
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
