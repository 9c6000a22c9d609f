//! Shaker: a soft grain of band-passed noise.
//!
//! Engine thread, per sample; never allocates. White noise through two cascaded band-passes
//! (Q 1.5) centred at 3 kHz (soft) … 8 kHz (bright), under the envelope
//! `(1 - e^(-t/5 ms)) · e^(-t/τ)` with a T60 of 110 ms: a rounded swell, then a quick fade.
//! `pitch_hz` is not used: a shaker has no pitch.

use super::modes::{self, Filter, LN_1000, decay_per_frame};
use super::rng::Noise;
use super::strike::Strike;

/// Band centre at brightness 0 and the amount brightness adds.
const CENTER_HZ: (f32, f32) = (3_000.0, 5_000.0);
/// Quality of each band-pass.
const Q: f32 = 1.5;
/// Attack time constant.
const ATTACK_S: f32 = 0.005;
/// Decay T60.
const T60_S: f32 = 0.11;
/// Scales the filtered noise to a peak near 1 (measured). fundsp's band-pass keeps the noise
/// power constant whatever its bandwidth, so two in cascade leave an RMS that grows as
/// `1/√bandwidth`; the gain is therefore `CALIBRATION · √(center/fs)`.
const CALIBRATION: f32 = 2.2;

/// A shaker hit's state.
#[derive(Clone)]
pub(super) struct Shaker {
    /// The cascaded band-passes.
    band: [Filter; 2],
    /// Gain bringing the filtered noise to unit peak, divided by the envelope's peak.
    gain: f32,
    /// Remaining part of the attack, `e^(-t/ATTACK_S)`.
    attack_left: f32,
    /// Per-frame multiplier of `attack_left`.
    attack_mul: f32,
    /// Decay envelope.
    level: f32,
    /// Per-frame multiplier of `level`.
    level_mul: f32,
    /// Noise source.
    noise: Noise,
    /// Lifetime in frames.
    length_frames: usize,
}

impl Shaker {
    /// A shaker grain for `strike`.
    pub(super) fn new(strike: &Strike) -> Self {
        let sample_rate = strike.sample_rate;
        let center_hz = (CENTER_HZ.0 + CENTER_HZ.1 * strike.brightness).min(0.4 * sample_rate);
        // Peak of (1 - e^(-t/a))·e^(-t/d) is at t = a·ln(1 + d/a).
        let decay_tau_s = T60_S / LN_1000 as f32;
        let t_peak = ATTACK_S * (1.0 + decay_tau_s / ATTACK_S).ln();
        let envelope_peak = (1.0 - (-t_peak / ATTACK_S).exp()) * (-t_peak / decay_tau_s).exp();
        Self {
            band: [
                modes::bandpass(sample_rate, center_hz, Q),
                modes::bandpass(sample_rate, center_hz, Q),
            ],
            gain: CALIBRATION * (center_hz / sample_rate).sqrt() / envelope_peak,
            attack_left: 1.0,
            attack_mul: (-1.0 / (ATTACK_S * sample_rate)).exp(),
            level: 1.0,
            level_mul: decay_per_frame(sample_rate, T60_S),
            noise: Noise::new(strike.noise_seed),
            length_frames: (1.5 * T60_S * sample_rate) as usize,
        }
    }

    /// Lifetime in frames (to -90 dB).
    pub(super) fn length_frames(&self) -> usize {
        self.length_frames
    }

    /// Writes the next `out.len()` samples.
    pub(super) fn render(&mut self, out: &mut [f32]) {
        for y in out {
            let [first, second] = &mut self.band;
            let grain = modes::tick(second, modes::tick(first, self.noise.next()));
            *y = grain * self.gain * (1.0 - self.attack_left) * self.level;
            self.attack_left *= self.attack_mul;
            self.level *= self.level_mul;
        }
    }
}
