//! The bank of partial oscillators every partial benchmark renders, so their figures compare.

use auralis::engine::ENGINE_BLOCK_FRAMES;
use auralis::synth::{PartialBlock, PartialParams};

/// Sample rate of every benchmark, Hz.
pub const SAMPLE_RATE: f32 = 48_000.0;

/// An engine block of `partials` steady oscillators spread over 55 Hz..=2 kHz, each at -60 dBFS
/// per channel so that thousands sum without clipping.
pub fn partial_block(partials: usize) -> PartialBlock {
    let mut block = PartialBlock::with_capacity(partials);
    block.clear(ENGINE_BLOCK_FRAMES);
    for k in 0..partials {
        let freq_hz = 55.0 * (1.0 + (k % 97) as f64 * 0.37);
        block.partials.push(PartialParams {
            phase: (k as f32 * 0.618).fract(),
            increment: (freq_hz / f64::from(SAMPLE_RATE)) as f32,
            amp_left: 1e-3,
            amp_left_step: 0.0,
            amp_right: 1e-3,
            amp_right_step: 0.0,
        });
    }
    block
}
