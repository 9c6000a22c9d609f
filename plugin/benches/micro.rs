//! Micro benchmarks (criterion): the per-block costs that add up to the engine's and the audio
//! thread's budgets.
//!
//! - `cpu_block_4096_partials`: the CPU renderer, one 256-frame engine block of 4,096 partials.
//! - `effects_block_256`: the master effects chain on one 256-frame engine block.
//! - `realtime_block_128`: the audio thread's own work in `process()` for a 128-frame block with
//!   the ring full: publish the block request, pop the frames into the host's buffers.
//!
//! `cargo xtask bench` runs this and copies each median into `target/bench/summary.json` as
//! `micro_<name>_ns`; criterion's own reports stay in `target/criterion`.

#[path = "common/partials.rs"]
mod partials;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auralis::engine::ENGINE_BLOCK_FRAMES;
use auralis::params::MusicalSettings;
use auralis::realtime::denormals::DenormalGuard;
use auralis::realtime::{
    AudioOutput, BlockRequest, Frame, Telemetry, TransportSnapshot, WaitPolicy, audio_ring,
    request_ring,
};
use auralis::signal::SampleRate;
use auralis::synth::effects::Effects;
use auralis::synth::{CpuRenderer, Renderer};
use criterion::{Criterion, criterion_group, criterion_main};
use partials::partial_block;

/// The host block of the realtime figure, as in the plugin benchmark's `callback_ns_*`.
const HOST_BLOCK_FRAMES: usize = 128;
/// Host blocks queued in the ring per batch of timed calls.
const BATCH_BLOCKS: usize = 256;

fn cpu_block(c: &mut Criterion) {
    DenormalGuard::enable_for_thread();
    let mut renderer = CpuRenderer::with_max_frames(ENGINE_BLOCK_FRAMES);
    let block = partial_block(4_096);
    let mut left = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    let mut right = vec![0.0f32; ENGINE_BLOCK_FRAMES];
    c.bench_function("cpu_block_4096_partials", |b| {
        b.iter(|| {
            renderer
                .render(&block, &mut left, &mut right)
                .expect("the CPU renderer does not fail");
            black_box(&left);
        });
    });
}

fn effects_block(c: &mut Criterion) {
    DenormalGuard::enable_for_thread();
    let mut effects = Effects::new(SampleRate::DEFAULT);
    // A pad-like input, so the reverb and the limiter work as they do in music.
    let source: Vec<f32> = (0..ENGINE_BLOCK_FRAMES)
        .map(|i| 0.3 * (i as f32 * 0.05).sin())
        .collect();
    let (mut left, mut right) = (source.clone(), source.clone());
    c.bench_function("effects_block_256", |b| {
        b.iter(|| {
            left.copy_from_slice(&source);
            right.copy_from_slice(&source);
            effects.process(0.6, 72.0, &mut left, &mut right);
            black_box(&left);
        });
    });
}

fn realtime_block(c: &mut Criterion) {
    DenormalGuard::enable_for_thread();
    let (mut frames_in, frames_out) = audio_ring(BATCH_BLOCKS * HOST_BLOCK_FRAMES);
    let (mut requests, mut engine_requests) = request_ring();
    let mut output = AudioOutput::new(
        frames_out,
        Arc::new(Telemetry::default()),
        WaitPolicy::Realtime,
        SampleRate::DEFAULT,
    );
    let batch: Vec<Frame> = (0..BATCH_BLOCKS * HOST_BLOCK_FRAMES)
        .map(|i| [1e-3 * (i % 100) as f32; 2])
        .collect();
    let settings = MusicalSettings::default();
    let mut left = vec![0.0f32; HOST_BLOCK_FRAMES];
    let mut right = vec![0.0f32; HOST_BLOCK_FRAMES];
    c.bench_function("realtime_block_128", |b| {
        // The engine's side (refilling the ring, taking the requests) runs between batches,
        // outside the timed calls, so every timed call finds the ring full.
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            let mut left_to_do = iterations as usize;
            while left_to_do > 0 {
                let calls = left_to_do.min(BATCH_BLOCKS);
                frames_in.push_frames(&batch[..frames_in.free_frames()]);
                while engine_requests.pop().is_some() {}
                let started = Instant::now();
                for _ in 0..calls {
                    let at_frame = output.frames_consumed();
                    requests.publish(BlockRequest {
                        until_frame: at_frame + HOST_BLOCK_FRAMES as u64,
                        settings,
                        transport: TransportSnapshot::new(true, Some(120.0), None, at_frame),
                        restart: false,
                    });
                    black_box(output.fill(&mut left, &mut right));
                }
                timed += started.elapsed();
                left_to_do -= calls;
            }
            timed
        });
    });
}

criterion_group!(benches, cpu_block, effects_block, realtime_block);
criterion_main!(benches);
