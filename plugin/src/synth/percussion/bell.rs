//! Bell: a few inharmonic partials ringing for seconds.
//!
//! Engine thread, per sample; never allocates. A mallet pulse (3 ms soft … 0.4 ms hard, at
//! most half the fundamental's period)
//! strikes four modal resonators at `pitch_hz` × 1, 2.76, 5.40 and 8.93 (the partials of a
//! struck bar or small bell). The fundamental's T60 is `3 s · (250 Hz / f)^0.35`, kept in
//! 1–3 s; partial `k` decays `ratioₖ^0.6` times faster, so the tone mellows as it rings.
//! Brightness hardens the mallet and raises the upper partials. `pitch_hz` is kept in
//! 60–4000 Hz; partials at or above 0.45 × fs stay silent.

use super::modes::{self, Filter, Mallet, mode};
use super::strike::Strike;

/// Partial frequencies relative to the fundamental.
const RATIOS: [f32; 4] = [1.0, 2.76, 5.40, 8.93];
/// Partial levels at brightness 1.
const LEVELS: [f32; 4] = [1.0, 0.55, 0.35, 0.22];
/// Pitch range in Hz.
const PITCH_RANGE_HZ: (f32, f32) = (60.0, 4_000.0);
/// Fundamental T60 range in seconds.
const T60_RANGE_S: (f32, f32) = (1.0, 3.0);
/// Mallet width at brightness 0 and the amount brightness takes off.
const MALLET_S: (f32, f32) = (0.003, 0.002_6);
/// Scales the sum to a peak near 1 (measured over pitch and brightness).
const CALIBRATION: f32 = 1.0;

/// A bell hit's state.
#[derive(Clone)]
pub(super) struct Bell {
    /// One resonator per partial.
    modes: [Filter; 4],
    /// The strike.
    mallet: Mallet,
    /// Lifetime in frames.
    length_frames: usize,
}

impl Bell {
    /// A bell for `strike`.
    pub(super) fn new(strike: &Strike) -> Self {
        let sample_rate = strike.sample_rate;
        let brightness = strike.brightness;
        let pitch_hz = strike.pitch_hz.clamp(PITCH_RANGE_HZ.0, PITCH_RANGE_HZ.1);
        let t60_s = (3.0 * (250.0 / pitch_hz).powf(0.35)).clamp(T60_RANGE_S.0, T60_RANGE_S.1);
        // A mallet longer than half the fundamental's period would barely excite it at all.
        let mallet_s = (MALLET_S.0 - MALLET_S.1 * brightness).min(0.5 / pitch_hz);
        // Upper partials fall off more for a dark strike, and the mallet's spectrum shapes
        // them further; the sum of what comes through is normalised to 1.
        let tilt = 0.3 + 0.7 * brightness;
        let nyquist_guard_hz = modes::MAX_MODE_RATIO as f32 * sample_rate;
        let levels: [f32; 4] = std::array::from_fn(|k| LEVELS[k] * tilt.powi(k as i32));
        let heard: f32 = (0..4)
            .filter(|&k| RATIOS[k] * pitch_hz < nyquist_guard_hz)
            .map(|k| levels[k] * hann_spectrum(RATIOS[k] * pitch_hz * mallet_s))
            .sum();
        let norm = CALIBRATION / heard.max(1e-3);
        let modes = std::array::from_fn(|k| {
            let partial_t60_s = t60_s / RATIOS[k].powf(0.6);
            mode(
                sample_rate,
                RATIOS[k] * pitch_hz,
                partial_t60_s,
                levels[k] * norm,
            )
        });
        Self {
            modes,
            mallet: Mallet::new(sample_rate, mallet_s),
            length_frames: (1.5 * t60_s * sample_rate) as usize,
        }
    }

    /// Lifetime in frames (to -90 dB).
    pub(super) fn length_frames(&self) -> usize {
        self.length_frames
    }

    /// Writes the next `out.len()` samples.
    pub(super) fn render(&mut self, out: &mut [f32]) {
        for y in out {
            let strike = self.mallet.next();
            let [a, b, c, d] = &mut self.modes;
            *y = modes::tick(a, strike)
                + modes::tick(b, strike)
                + modes::tick(c, strike)
                + modes::tick(d, strike);
        }
    }
}

/// Magnitude of a unit-area Hann pulse's spectrum at `f·T` (frequency × pulse length):
/// `|sinc(fT) / (1 - (fT)²)|`, 1 at DC, 0.5 at fT = 1, then falling as 1/(fT)³.
pub(super) fn hann_spectrum(f_times_t: f32) -> f32 {
    let x = f_times_t;
    if (x - 1.0).abs() < 1e-3 {
        return 0.5;
    }
    let sinc = if x.abs() < 1e-6 {
        1.0
    } else {
        (std::f32::consts::PI * x).sin() / (std::f32::consts::PI * x)
    };
    (sinc / (1.0 - x * x)).abs()
}
