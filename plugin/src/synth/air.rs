//! Air: a faint band of breath noise that fills the space between the notes of the bed.
//!
//! Two seeded white-noise streams (one per channel, so the air is wide) through a high-pass
//! and a low-pass (fundsp biquads, f64) that keep 2.5–9 kHz, the band where breath and bow
//! noise live and where the tonal voices have little energy. Its level follows the bed's own
//! envelope (the sum of the sounding pad, drone and texture voices' levels, given each block
//! by the engine) and Brightness, ramped linearly across the block, and breathes on a slow
//! sine of its own.
//! So it rises and falls with the notes and is silent when the bed is. It runs on the CPU
//! after the partial renderers, like percussion: the additive voice model, and so GPU/CPU
//! parity, is untouched.
//!
//! Engine thread, per sample; never allocates after [`Air::new`]; deterministic for a seed.

use fundsp::prelude32::{AudioNode, Biquad, BiquadCoefs};

/// Pass band of the air, Hz (clamped below 0.45 × the sample rate).
const BAND_HZ: (f64, f64) = (2_500.0, 9_000.0);
/// Level of the air per unit of bed envelope at full Brightness: about -30 dB under the bed
/// it follows.
const LEVEL_PER_BED: f32 = 0.0055;
/// Rate of the air's own slow swell, Hz, and its depth (0..=1).
const BREATH_HZ: f64 = 0.043;
const BREATH_DEPTH: f32 = 0.5;
/// Butterworth Q for the second-order sections.
const Q: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// The air layer's state.
#[derive(Clone)]
pub struct Air {
    /// Sample rate in Hz.
    sample_rate: f64,
    /// The seed, for `reset`.
    seed: u64,
    /// xorshift32 states of the two channels' noise; never 0.
    noise: [u32; 2],
    /// High-pass then low-pass, per channel.
    filters: [[Biquad<f64>; 2]; 2],
    /// Gain at the end of the last block.
    gain: f32,
    /// Seconds rendered, for the swell.
    time_s: f64,
}

impl std::fmt::Debug for Air {
    // fundsp's filters have no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Air")
            .field("gain", &self.gain)
            .finish_non_exhaustive()
    }
}

impl Air {
    /// Silent air at `sample_rate` Hz whose noise comes from `seed`.
    pub fn new(sample_rate: f32, seed: u64) -> Self {
        let sample_rate = f64::from(sample_rate);
        let top = 0.45 * sample_rate;
        let band = || {
            [
                Biquad::with_coefs(BiquadCoefs::highpass(sample_rate, BAND_HZ.0.min(top), Q)),
                Biquad::with_coefs(BiquadCoefs::lowpass(sample_rate, BAND_HZ.1.min(top), Q)),
            ]
        };
        Self {
            sample_rate,
            seed,
            noise: noise_states(seed),
            filters: [band(), band()],
            gain: 0.0,
            time_s: 0.0,
        }
    }

    /// Silence, and the noise back to its seed.
    pub fn reset(&mut self) {
        *self = Self::new(self.sample_rate as f32, self.seed);
    }

    /// Adds the next `left.len()` frames of air for a bed whose summed envelope is `bed`
    /// (≥ 0; anything else reads as 0) at the end of the block, at `brightness` (0..=1,
    /// clamped; NaN reads as 0.5): a dark sound has almost no air, a bright one all of it.
    pub fn render_add(&mut self, bed: f32, brightness: f32, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        if frames == 0 {
            return;
        }
        self.time_s += frames as f64 / self.sample_rate;
        let bed = if bed.is_finite() { bed.max(0.0) } else { 0.0 };
        let swell = 1.0
            - BREATH_DEPTH
                * (0.5 + 0.5 * (std::f64::consts::TAU * BREATH_HZ * self.time_s).sin()) as f32;
        let brightness = if brightness.is_finite() {
            brightness.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let open = 0.05 + 0.95 * brightness;
        let target = LEVEL_PER_BED * bed * swell * open * open;
        let start = self.gain;
        let step = (target - start) / frames as f32;
        if start == 0.0 && target == 0.0 {
            return;
        }
        for (channel, out) in [&mut left[..frames], &mut right[..frames]]
            .into_iter()
            .enumerate()
        {
            let [highpass, lowpass] = &mut self.filters[channel];
            let state = &mut self.noise[channel];
            for (i, y) in out.iter_mut().enumerate() {
                let white = next_noise(state);
                let band = lowpass.tick(&[highpass.tick(&[white].into())[0]].into())[0];
                *y += band * (start + step * i as f32);
            }
        }
        self.gain = target;
    }
}

/// Two nonzero xorshift32 states from `seed`.
fn noise_states(seed: u64) -> [u32; 2] {
    let mix = |x: u64| {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let folded = ((z ^ (z >> 31)) >> 16) as u32;
        if folded == 0 { 0x6D2B_79F5 } else { folded }
    };
    [mix(seed ^ 0xA1), mix(seed ^ 0xB2)]
}

/// xorshift32 (Marsaglia): uniform white noise in -1..1.
#[inline]
fn next_noise(state: &mut u32) -> f32 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    (x >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn air_follows_the_bed_and_is_silent_without_it() {
        let mut air = Air::new(48_000.0, 7);
        let (mut left, mut right) = (vec![0.0; 4_800], vec![0.0; 4_800]);
        air.render_add(0.0, 1.0, &mut left, &mut right);
        assert!(
            left.iter().chain(&right).all(|&x| x == 0.0),
            "no bed, no air"
        );
        for _ in 0..10 {
            left.fill(0.0);
            right.fill(0.0);
            air.render_add(4.0, 1.0, &mut left, &mut right);
        }
        let loud = rms(&left);
        assert!(loud > 1e-4 && loud < 0.05, "air at {loud}");
        assert!(left != right, "wide");
        left.fill(0.0);
        right.fill(0.0);
        air.render_add(1.0, 1.0, &mut left, &mut right);
        left.fill(0.0);
        right.fill(0.0);
        air.render_add(1.0, 1.0, &mut left, &mut right);
        assert!(rms(&left) < 0.5 * loud, "it falls with the bed");
    }

    #[test]
    fn air_is_band_limited_and_reproducible() {
        let render = || {
            let mut air = Air::new(48_000.0, 3);
            let (mut left, mut right) = (vec![0.0; 48_000], vec![0.0; 48_000]);
            air.render_add(4.0, 1.0, &mut left, &mut right);
            left
        };
        let first = render();
        assert_eq!(first, render(), "same seed, same air");
        // Little below 300 Hz: the mean of 160-sample windows (300 Hz) is small against the
        // signal.
        let low: Vec<f32> = first
            .chunks(160)
            .map(|c| c.iter().sum::<f32>() / c.len() as f32)
            .collect();
        assert!(rms(&low) < 0.05 * rms(&first[24_000..]));
    }
}
