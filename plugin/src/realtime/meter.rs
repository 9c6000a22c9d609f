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
}

impl LevelMeter {
    /// A meter at `sample_rate` Hz, reading silence.
    pub fn new(sample_rate: SampleRate) -> Self {
        Self {
            mean_square: [0.0; 2],
            sample_rate: sample_rate.hz(),
        }
    }

    /// Measures one block and records it in `telemetry`.
    pub fn measure(&mut self, left: &[f32], right: &[f32], telemetry: &Telemetry) {
        let mut peak = [0.0f32; 2];
        for (channel, samples) in [left, right].into_iter().enumerate() {
            if samples.is_empty() {
                continue;
            }
            let mut energy = 0.0f32;
            let mut max = 0.0f32;
            for &s in samples {
                energy += s * s;
                max = max.max(s.abs());
            }
            let block_mean = energy / samples.len() as f32;
            // Exact exponential smoothing over the block's duration, whatever its length.
            let keep = (-(samples.len() as f32) / (RMS_TIME_CONSTANT_S * self.sample_rate)).exp();
            let smoothed = block_mean + (self.mean_square[channel] - block_mean) * keep;
            self.mean_square[channel] = if smoothed.is_finite() { smoothed } else { 0.0 };
            peak[channel] = max;
        }
        telemetry.record_levels(peak, self.mean_square.map(f32::sqrt));
    }
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
    fn garbage_reads_as_silence_and_recovers() {
        let telemetry = Telemetry::default();
        let mut meter = LevelMeter::new(SampleRate::DEFAULT);
        meter.measure(&[f32::NAN; 64], &[f32::INFINITY; 64], &telemetry);
        assert_eq!(telemetry.rms(), [0.0, 0.0]);
        meter.measure(&[0.25; 4800], &[0.25; 4800], &telemetry);
        assert!(telemetry.rms()[0] > 0.0);
    }
}
