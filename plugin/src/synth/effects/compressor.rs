//! A gentle bus compressor: RMS-sensing, soft-knee, 2:1, slow.
//!
//! Owns a level detector and a gain smoother. Engine thread, one control block at a time:
//! the detector and the gain computer (a log and an exp) run once per block, and the gain is
//! ramped linearly across the block. Never allocates.
//!
//! Static curve, in dB of the stereo mean-square level `x` over threshold `T`, knee width `W`
//! and ratio `R`: reduction = 0 below `T - W/2`; `(1 - 1/R)·(x - T + W/2)² / (2W)` inside
//! the knee; `(1 - 1/R)·(x - T)` above it. The reduction follows with a 30 ms attack and
//! a 400 ms release, slow enough to glue the mix without pumping.

/// Threshold in dBFS of the stereo RMS level (a sine peaking at -13 dBFS sits on it).
const THRESHOLD_DB: f32 = -16.0;
/// Ratio above the knee.
const RATIO: f32 = 2.0;
/// Knee width in dB.
const KNEE_DB: f32 = 10.0;
/// Time constant of the mean-square detector.
const DETECTOR_S: f32 = 0.05;
/// Time constant while the reduction grows.
const ATTACK_S: f32 = 0.03;
/// Time constant while the reduction shrinks.
const RELEASE_S: f32 = 0.4;

/// The compressor's state.
#[derive(Debug, Clone)]
pub(super) struct Compressor {
    /// Mean square of the input (average of left² and right²), one-pole smoothed per block.
    mean_square: f32,
    /// Σ(left² + right²) over the current control block so far; accumulated frame by frame
    /// into this field, so a block split across calls sums in the same order.
    power_sum: f32,
    /// Detector coefficient per control block: `1 - exp(-block/(DETECTOR_S·fs))`.
    detector_coef: f32,
    /// Attack coefficient per control block.
    attack_coef: f32,
    /// Release coefficient per control block.
    release_coef: f32,
    /// Smoothed gain reduction in dB (≥ 0).
    reduction_db: f32,
    /// Linear gain applied to the current frame.
    gain: f32,
    /// Per-frame change of `gain` inside the current control block.
    gain_step: f32,
    /// Frames per control block.
    control_frames: usize,
}

impl Compressor {
    /// A compressor at rest for `sample_rate` (Hz), updated every `control_frames` frames.
    pub(super) fn new(sample_rate: f32, control_frames: usize) -> Self {
        let per_block =
            |time_s: f32| 1.0 - (-(control_frames as f32) / (time_s * sample_rate)).exp();
        Self {
            mean_square: 0.0,
            power_sum: 0.0,
            detector_coef: per_block(DETECTOR_S),
            attack_coef: per_block(ATTACK_S),
            release_coef: per_block(RELEASE_S),
            reduction_db: 0.0,
            gain: 1.0,
            gain_step: 0.0,
            control_frames,
        }
    }

    /// Back to rest.
    pub(super) fn reset(&mut self) {
        self.mean_square = 0.0;
        self.power_sum = 0.0;
        self.reduction_db = 0.0;
        self.gain = 1.0;
        self.gain_step = 0.0;
    }

    /// Current gain reduction in dB (≥ 0).
    pub(super) fn reduction_db(&self) -> f32 {
        self.reduction_db
    }

    /// Static curve: gain reduction in dB for a level of `level_db`.
    fn static_reduction_db(level_db: f32) -> f32 {
        let over_db = level_db - THRESHOLD_DB;
        let slope = 1.0 - 1.0 / RATIO;
        let knee_half = 0.5 * KNEE_DB;
        if over_db <= -knee_half {
            0.0
        } else if over_db < knee_half {
            slope * (over_db + knee_half).powi(2) / (2.0 * KNEE_DB)
        } else {
            slope * over_db
        }
    }

    /// Compresses (part of) a control block in place, left and right of equal length. The
    /// block's power feeds the detector at the next [`Compressor::update`], so the gain lags
    /// the level by one block (1.3 ms at 48 kHz), far less than the attack.
    pub(super) fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            self.power_sum += *l * *l + *r * *r;
            let gain = self.gain;
            self.gain += self.gain_step;
            *l *= gain;
            *r *= gain;
        }
    }

    /// Start of a control block: recomputes the gain and ramps to it over the block.
    pub(super) fn update(&mut self) {
        let power = self.power_sum / (2 * self.control_frames) as f32;
        self.power_sum = 0.0;
        self.mean_square += self.detector_coef * (power - self.mean_square);
        // +1e-20: log of zero is -inf; this floor is -200 dB, far below the knee.
        let level_db = 10.0 * (self.mean_square + 1e-20).log10();
        let target_db = Self::static_reduction_db(level_db);
        let coef = if target_db > self.reduction_db {
            self.attack_coef
        } else {
            self.release_coef
        };
        self.reduction_db += coef * (target_db - self.reduction_db);
        let target_gain = 10f32.powf(-self.reduction_db / 20.0);
        self.gain_step = (target_gain - self.gain) / self.control_frames as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_curve_is_soft_and_two_to_one() {
        assert_eq!(Compressor::static_reduction_db(-40.0), 0.0);
        assert!(Compressor::static_reduction_db(THRESHOLD_DB) > 0.0);
        assert!((Compressor::static_reduction_db(THRESHOLD_DB + 20.0) - 10.0).abs() < 1e-4);
    }

    #[test]
    fn steady_loud_sine_settles_at_the_curve() {
        let sample_rate = 48_000.0;
        let mut compressor = Compressor::new(sample_rate, 16);
        let step = std::f32::consts::TAU * 200.0 / sample_rate;
        // Peak 1.0: RMS -3 dBFS, 13 dB over threshold → 6.5 dB reduction.
        for block in 0..(4 * 48_000 / 16) {
            compressor.update();
            let mut x: Vec<f32> = (0..16)
                .map(|k| ((block * 16 + k) as f32 * step).sin())
                .collect();
            let mut y = x.clone();
            compressor.process(&mut x, &mut y);
        }
        assert!(
            (compressor.reduction_db() - 6.5).abs() < 0.3,
            "{}",
            compressor.reduction_db()
        );
    }
}
