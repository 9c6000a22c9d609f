//! Output levels for the GUI's meters, measured on the audio thread after the gain.
//!
//! Per block: the peak of each channel, and a mean square smoothed with a 300 ms time constant
//! (a VU-like RMS). Both go to [`Telemetry`] as plain atomic stores, so the meters cost the
//! audio thread a multiply-add per sample and two stores per block.

use super::telemetry::Telemetry;
use crate::signal::SampleRate;

/// Time constant of the RMS smoothing, seconds: slow enough to read, quick enough to follow.
const RMS_TIME_CONSTANT_S: f32 = 0.3;

/// The audio thread's level meter.
#[derive(Debug, Clone)]
pub struct LevelMeter {
    /// Smoothed mean square per channel.
    mean_square: [f32; 2],
    /// Sample rate, Hz.
    sample_rate: f32,
    /// The block length `keep` is for, frames (0: none yet).
    keep_frames: usize,
    /// How much of the smoothed mean square a block of `keep_frames` keeps: an `exp` once per
    /// block length, not per block, since hosts keep their block length.
    keep: f32,
}

impl LevelMeter {
    /// A meter at `sample_rate` Hz, reading silence.
    pub fn new(sample_rate: SampleRate) -> Self {
        Self {
            mean_square: [0.0; 2],
            sample_rate: sample_rate.hz(),
            keep_frames: 0,
            keep: 0.0,
        }
    }

    /// Measures one block and records it in `telemetry`.
    pub fn measure(&mut self, left: &[f32], right: &[f32], telemetry: &Telemetry) {
        let mut peak = [0.0f32; 2];
        for (channel, samples) in [left, right].into_iter().enumerate() {
            if samples.is_empty() {
                continue;
            }
            let (energy, max) = energy_and_peak(samples);
            let block_mean = energy / samples.len() as f32;
            let keep = self.keep_for(samples.len());
            let smoothed = block_mean + (self.mean_square[channel] - block_mean) * keep;
            self.mean_square[channel] = if smoothed.is_finite() { smoothed } else { 0.0 };
            peak[channel] = max;
        }
        telemetry.record_levels(peak, self.mean_square.map(f32::sqrt));
    }

    /// Exact exponential smoothing over a block of `frames`, whatever its length.
    fn keep_for(&mut self, frames: usize) -> f32 {
        if frames != self.keep_frames {
            self.keep_frames = frames;
            self.keep = (-(frames as f32) / (RMS_TIME_CONSTANT_S * self.sample_rate)).exp();
        }
        self.keep
    }
}

/// The sum of squares and the largest magnitude of `samples` (NaN counts in the sum, not in
/// the peak). Kept in eight independent partial results: one running sum is a chain of
/// dependent additions, an addition's latency per sample, and the compiler may not regroup a
/// float sum by itself; in lanes it becomes a few vector operations per 8 samples.
fn energy_and_peak(samples: &[f32]) -> (f32, f32) {
    const LANES: usize = 8;
    let larger = |a: f32, b: f32| if a > b { a } else { b };
    let mut energy = [0.0f32; LANES];
    let mut peak = [0.0f32; LANES];
    let chunks = samples.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            energy[lane] += chunk[lane] * chunk[lane];
            peak[lane] = larger(chunk[lane].abs(), peak[lane]);
        }
    }
    let mut energy: f32 = energy.iter().sum();
    let mut peak = peak.into_iter().fold(0.0, larger);
    for &s in rest {
        energy += s * s;
        peak = larger(s.abs(), peak);
    }
    (energy, peak)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_sine_settles_at_its_rms_and_peak() {
        let telemetry = Telemetry::default();
        let mut meter = LevelMeter::new(SampleRate::DEFAULT);
        let block: Vec<f32> = (0..480)
            .map(|i| 0.5 * (i as f32 * std::f32::consts::TAU / 48.0).sin())
            .collect();
        nice_assert_no_alloc::assert_no_alloc(|| {
            for _ in 0..300 {
                meter.measure(&block, &block, &telemetry);
            }
        });
        let rms = telemetry.rms();
        assert!((rms[0] - 0.5 / 2f32.sqrt()).abs() < 1e-3, "{rms:?}");
        let peaks = telemetry.take_peaks();
        assert!((peaks[1] - 0.5).abs() < 1e-3, "{peaks:?}");
    }

    #[test]
    fn lanes_and_remainder_agree_with_a_plain_sum() {
        // 131 samples: 16 chunks of 8 and a remainder of 3, the loudest in the remainder.
        let mut samples: Vec<f32> = (0..131)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 60.0)
            .collect();
        samples[129] = -0.95;
        let (energy, peak) = energy_and_peak(&samples);
        let plain: f32 = samples.iter().map(|s| s * s).sum();
        assert!((energy - plain).abs() < 1e-4 * plain, "{energy} vs {plain}");
        assert_eq!(peak, 0.95);
        let (_, late) = energy_and_peak(&[0.1, 0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.9]);
        assert_eq!(late, 0.9, "a peak in the remainder counts");
    }

    #[test]
    fn a_new_block_length_is_smoothed_for_its_own_duration() {
        let telemetry = Telemetry::default();
        let (mut short, mut long) = (
            LevelMeter::new(SampleRate::DEFAULT),
            LevelMeter::new(SampleRate::DEFAULT),
        );
        // 0.3 s of a level in 64-frame blocks or in one 14,400-frame block: the same smoothing.
        for _ in 0..225 {
            short.measure(&[0.5; 64], &[0.5; 64], &telemetry);
        }
        long.measure(&[0.5; 14_400], &[0.5; 14_400], &telemetry);
        let (a, b) = (short.mean_square[0], long.mean_square[0]);
        assert!((a - b).abs() < 1e-3 * b, "{a} vs {b}");
        short.measure(&[0.0; 480], &[0.0; 480], &telemetry);
        let expected = a * (-480.0f32 / (RMS_TIME_CONSTANT_S * 48_000.0)).exp();
        assert!((short.mean_square[0] - expected).abs() < 1e-6);
    }

    #[test]
    fn garbage_reads_as_silence_and_recovers() {
        let telemetry = Telemetry::default();
        let mut meter = LevelMeter::new(SampleRate::DEFAULT);
        meter.measure(&[f32::NAN; 64], &[f32::INFINITY; 64], &telemetry);
        assert_eq!(telemetry.rms(), [0.0, 0.0]);
        meter.measure(&[0.25; 4800], &[0.25; 4800], &telemetry);
        assert!(telemetry.rms()[0] > 0.0);
    }
}
