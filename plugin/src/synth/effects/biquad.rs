//! Glue to fundsp's biquads: the filters of the effects chain, designed and run by fundsp.
//!
//! Owns nothing but constructors and a one-sample `tick`. Engine thread; a fundsp [`Biquad`]
//! is a plain struct of coefficients and four state values, so ticking it never allocates.
//! The filters compute in f64: a 180 Hz high-pass at 192 kHz has poles so close to z = 1 that
//! f32 state would add audible noise.

use fundsp::prelude32::{AudioNode, Biquad, BiquadCoefs};

/// A biquad running in f64 on f32 samples.
pub(super) type Filter = Biquad<f64>;

/// Butterworth-Q (0.707) constant for second-order sections: maximally flat, no peak.
const BUTTERWORTH_Q: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// Cutoffs are kept below this fraction of the sample rate so that designs stay stable at
/// 8 kHz, where a 9 kHz low-pass would otherwise sit above Nyquist.
const MAX_CUTOFF_RATIO: f64 = 0.45;

/// A second-order high-pass, -3 dB at `cutoff_hz` (clamped below 0.45 × `sample_rate`).
pub(super) fn highpass(sample_rate: f32, cutoff_hz: f32) -> Filter {
    let sample_rate = f64::from(sample_rate);
    let cutoff_hz = f64::from(cutoff_hz).min(MAX_CUTOFF_RATIO * sample_rate);
    Biquad::with_coefs(BiquadCoefs::highpass(sample_rate, cutoff_hz, BUTTERWORTH_Q))
}

/// A second-order low-pass, -3 dB at `cutoff_hz` (clamped below 0.45 × `sample_rate`).
pub(super) fn lowpass(sample_rate: f32, cutoff_hz: f32) -> Filter {
    let sample_rate = f64::from(sample_rate);
    let cutoff_hz = f64::from(cutoff_hz).min(MAX_CUTOFF_RATIO * sample_rate);
    Biquad::with_coefs(BiquadCoefs::lowpass(sample_rate, cutoff_hz, BUTTERWORTH_Q))
}

/// Runs one sample through `filter`.
#[inline]
pub(super) fn tick(filter: &mut Filter, x: f32) -> f32 {
    filter.tick(&[x].into())[0]
}
