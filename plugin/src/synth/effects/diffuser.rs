//! Input diffusion for the reverb: a few steps of short multichannel delays and mixing.
//!
//! Owns one delay line per channel and step, sized in `new`. Engine thread, one control block
//! at a time; never allocates after `new`.
//!
//! Each step delays the eight channels by different times spread over its range, mixes them
//! with the Hadamard matrix and flips some polarities. The mix is orthonormal and there is no
//! feedback, so a step is lossless and cannot ring; three steps turn one impulse into 512
//! closely spaced echoes before it reaches the feedback network. That smears transients into
//! a cloud and is what keeps the tail from sounding metallic (Schroeder's allpass chains do the
//! same job with one channel but colour the sound).

use super::CONTROL_FRAMES;
use super::hadamard::{CHANNELS, hadamard8_lanes};
use super::line::Line;

/// The longest delay of each step in seconds. Halving per step, as each step only has to
/// fill the gaps the previous one left.
const STEP_RANGES_S: [f32; STEPS] = [0.024, 0.012, 0.006];
/// Number of steps.
const STEPS: usize = 3;

/// Where in its slot of the range each channel's delay falls (fixed "random" offsets, so that
/// no two channels of different steps line up).
const SLOT_OFFSETS: [f32; CHANNELS] = [0.11, 0.73, 0.37, 0.91, 0.52, 0.18, 0.64, 0.29];

/// Polarity flips after each step's mix; differs per step so channels don't re-correlate.
const FLIPS: [[f32; CHANNELS]; STEPS] = [
    [1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0],
    [-1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0],
    [1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0],
];

/// Eight channels of one control block: `[channel][frame]`.
pub(super) type Block = [[f32; CONTROL_FRAMES]; CHANNELS];

/// One delay-mix-flip step.
#[derive(Debug, Clone)]
struct Step {
    /// One delay line per channel.
    lines: [Line; CHANNELS],
    /// Each channel's delay in frames (0 allowed: the block is written before it is read).
    delay_frames: [usize; CHANNELS],
    /// Polarity of each output channel.
    flips: [f32; CHANNELS],
}

/// The diffusion steps.
#[derive(Debug, Clone)]
pub(super) struct Diffuser {
    /// The steps, applied in order.
    steps: [Step; STEPS],
}

impl Diffuser {
    /// Lines sized for `sample_rate` (Hz); the delays scale with it so the sound is the same
    /// at every rate.
    pub(super) fn new(sample_rate: f32) -> Self {
        let steps = std::array::from_fn(|s| {
            let range_frames = STEP_RANGES_S[s] * sample_rate;
            // Channel c gets a delay in slot c of the range, rotated per step.
            let delay_frames: [usize; CHANNELS] = std::array::from_fn(|c| {
                let slot = (c + 3 * s) % CHANNELS;
                let fraction = (slot as f32 + SLOT_OFFSETS[c]) / CHANNELS as f32;
                (fraction * range_frames) as usize
            });
            let history = delay_frames.iter().copied().max().unwrap_or(0) + CONTROL_FRAMES;
            Step {
                lines: std::array::from_fn(|_| Line::new(history, CONTROL_FRAMES)),
                delay_frames,
                flips: FLIPS[s],
            }
        });
        Self { steps }
    }

    /// Silences the lines.
    pub(super) fn reset(&mut self) {
        for line in self.steps.iter_mut().flat_map(|step| &mut step.lines) {
            line.reset();
        }
    }

    /// Diffuses one control block in place; energy is preserved on average.
    pub(super) fn process(&mut self, x: &mut Block) {
        for step in &mut self.steps {
            for (c, line) in step.lines.iter_mut().enumerate() {
                line.reserve(CONTROL_FRAMES);
                line.push_run(&x[c]);
                // Frame k of the block just written is `CONTROL_FRAMES - k` frames old.
                x[c] = *line.run(CONTROL_FRAMES + step.delay_frames[c]);
            }
            hadamard8_lanes(x);
            for (lane, flip) in x.iter_mut().zip(step.flips) {
                lane.iter_mut().for_each(|v| *v *= flip);
            }
        }
    }
}

impl Diffuser {
    /// True when any stored value is subnormal (for the denormal tests).
    #[cfg(test)]
    pub(super) fn has_subnormal(&self) -> bool {
        self.steps
            .iter()
            .flat_map(|step| &step.lines)
            .any(Line::has_subnormal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_an_impulse_without_losing_energy() {
        let mut diffuser = Diffuser::new(48_000.0);
        let mut energy = 0.0f32;
        let mut nonzero = 0;
        for block in 0..200 {
            let mut x: Block = [[0.0; CONTROL_FRAMES]; CHANNELS];
            if block == 0 {
                x[0][0] = 1.0;
            }
            diffuser.process(&mut x);
            for v in x.iter().flatten() {
                energy += v * v;
                nonzero += usize::from(v.abs() > 1e-6);
            }
        }
        assert!((energy - 1.0).abs() < 1e-4, "{energy}");
        assert!(nonzero > 300, "{nonzero} echoes");
    }
}
