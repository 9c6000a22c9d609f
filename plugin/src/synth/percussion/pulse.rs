//! Pulse: a soft low thump, like a felt-covered kick drum.
//!
//! Engine thread, per sample; never allocates. A sine whose frequency starts at 1.5–3 × its
//! final pitch and falls to it exponentially (τ = 30 ms), under a 4 ms linear attack and an
//! exponential decay (T60 0.5 s soft … 0.35 s bright); a dab of low-passed noise at the start
//! is the felt. The final pitch is `pitch_hz` folded by octaves into 40–80 Hz.

use super::modes::{self, Filter, decay_per_frame};
use super::rng::Noise;
use super::strike::{Strike, fold_octaves};

/// Lowest final pitch; the range is one octave up from here.
const LOW_HZ: f32 = 40.0;
/// Time constant of the pitch drop.
const DROP_S: f32 = 0.03;
/// Linear attack time: long enough to round the front, like felt.
const ATTACK_S: f32 = 0.004;
/// Decay T60 at brightness 0 and the amount brightness takes off.
const T60_S: (f32, f32) = (0.5, 0.15);
/// Felt noise: level at brightness 1, T60, low-pass cutoff.
const KNOCK: (f32, f32, f32) = (0.3, 0.04, 1_500.0);
/// Scales the sum to a peak near 1 (measured: the attack ends 0.5 dB down the decay).
const CALIBRATION: f32 = 1.1;

/// A pulse hit's state.
#[derive(Clone)]
pub(super) struct Pulse {
    /// Sine phase in cycles, 0..1.
    phase: f32,
    /// Phase advance per frame at the final pitch.
    base_step: f32,
    /// Extra phase advance per frame from the pitch drop; decays towards 0.
    sweep_step: f32,
    /// Per-frame multiplier of `sweep_step`.
    sweep_mul: f32,
    /// Decay envelope.
    level: f32,
    /// Per-frame multiplier of `level`.
    level_mul: f32,
    /// Attack ramp, 0..=1.
    attack: f32,
    /// Per-frame increase of `attack`.
    attack_step: f32,
    /// Felt noise low-pass.
    knock_filter: Filter,
    /// Felt noise level.
    knock_level: f32,
    /// Per-frame multiplier of `knock_level`.
    knock_mul: f32,
    /// Noise source.
    noise: Noise,
    /// Lifetime in frames.
    length_frames: usize,
}

impl Pulse {
    /// A pulse for `strike`.
    pub(super) fn new(strike: &Strike) -> Self {
        let sample_rate = strike.sample_rate;
        let end_hz = fold_octaves(strike.pitch_hz, LOW_HZ);
        let start_hz = end_hz * (1.5 + 1.5 * strike.brightness);
        let t60_s = T60_S.0 - T60_S.1 * strike.brightness;
        Self {
            phase: 0.0,
            base_step: end_hz / sample_rate,
            sweep_step: (start_hz - end_hz) / sample_rate,
            sweep_mul: (-1.0 / (DROP_S * sample_rate)).exp(),
            level: 1.0,
            level_mul: decay_per_frame(sample_rate, t60_s),
            attack: 0.0,
            attack_step: 1.0 / (ATTACK_S * sample_rate),
            knock_filter: modes::lowpass(sample_rate, KNOCK.2),
            knock_level: KNOCK.0 * strike.brightness * (sample_rate / 48_000.0).sqrt(),
            knock_mul: decay_per_frame(sample_rate, KNOCK.1),
            noise: Noise::new(strike.noise_seed),
            length_frames: ((ATTACK_S + 1.5 * t60_s) * sample_rate) as usize,
        }
    }

    /// Lifetime in frames (to -90 dB).
    pub(super) fn length_frames(&self) -> usize {
        self.length_frames
    }

    /// Writes the next `out.len()` samples.
    pub(super) fn render(&mut self, out: &mut [f32]) {
        for y in out {
            let tone = (std::f32::consts::TAU * self.phase).sin() * self.level;
            let knock = modes::tick(&mut self.knock_filter, self.noise.next()) * self.knock_level;
            *y = (tone + knock) * self.attack * CALIBRATION;
            self.phase += self.base_step + self.sweep_step;
            self.phase -= if self.phase >= 1.0 { 1.0 } else { 0.0 };
            self.sweep_step *= self.sweep_mul;
            self.level *= self.level_mul;
            self.knock_level *= self.knock_mul;
            self.attack = (self.attack + self.attack_step).min(1.0);
        }
    }
}
