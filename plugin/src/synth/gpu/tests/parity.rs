//! GPU vs CPU parity: the two renderers must agree within 1e-4 per sample.

use super::*;

/// The parity target, per sample, at a mix whose amplitudes sum to about 1.
const TOLERANCE: f32 = 1e-4;

#[test]
fn matches_the_cpu_on_random_partials_and_block_lengths() {
    let Some(gpu) = forced_gpu() else { return };
    let mut renderer = renderer_on(gpu);
    let mut rng = Rng(0x5eed);
    let mut worst = 0.0f32;
    for frames in [1, 17, 256, 512, 2048, 4096] {
        for partials in [1, 33, 500, 1000] {
            let block = random_block(&mut rng, partials, frames);
            let error = max_error(&render_with(&mut renderer, &block).unwrap(), &cpu(&block));
            assert!(
                error <= TOLERANCE,
                "{partials} partials × {frames} frames: max error {error}"
            );
            worst = worst.max(error);
        }
    }
    eprintln!("random partials: worst GPU−CPU error {worst:.2e}");
}

#[test]
fn matches_the_cpu_at_the_voice_mix() {
    let Some(gpu) = forced_gpu() else { return };
    let mut renderer = renderer_on(gpu);
    let mut rng = Rng(40 * 24);
    for frames in [256, 512, 1024, 2048, 4096, 8192] {
        let block = voice_mix_block(&mut rng, frames);
        let gpu_out = render_with(&mut renderer, &block).unwrap();
        let cpu_out = cpu(&block);
        let exact = reference(&block);
        let error = max_error(&gpu_out, &cpu_out);
        eprintln!(
            "voice mix 40×24, {frames:>4} frames: GPU−CPU {error:.2e}, GPU−exact {:.2e}, \
             CPU−exact {:.2e}",
            max_error(&gpu_out, &exact),
            max_error(&cpu_out, &exact)
        );
        assert!(error <= TOLERANCE, "{frames} frames: max error {error}");
    }
}

#[test]
fn phases_stay_exact_for_long_blocks_and_high_frequencies() {
    // One loud partial near 0.45 fs over the longest exact block: a naive f32 phase
    // (`fract(phase + i·increment)`) would be off by ~3e-3 here.
    let Some(gpu) = forced_gpu() else { return };
    let mut renderer = renderer_on(gpu);
    let mut block = PartialBlock::with_capacity(1);
    block.clear(MAX_FRAMES);
    block.partials.push(PartialParams {
        phase: 0.123_456_7,
        increment: 0.449_876_5,
        amp_left: 1.0,
        amp_right: -1.0,
        ..Default::default()
    });
    let error = max_error(
        &render_with(&mut renderer, &block).unwrap(),
        &reference(&block),
    );
    eprintln!("one partial at 0.45 fs, {MAX_FRAMES} frames: GPU−exact {error:.2e}");
    assert!(error <= 1e-5, "max error {error}");
}

#[test]
fn the_same_block_gives_the_same_bits() {
    let Some(gpu) = forced_gpu() else { return };
    let mut renderer = renderer_on(gpu);
    let block = voice_mix_block(&mut Rng(3), 1024);
    let first = render_with(&mut renderer, &block).unwrap();
    let second = render_with(&mut renderer, &block).unwrap();
    assert!(
        first == second,
        "GPU output changed between identical blocks"
    );
}
