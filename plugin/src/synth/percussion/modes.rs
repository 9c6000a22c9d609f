//! Building blocks of the percussion voices: modal resonators and a mallet pulse.
//!
//! Engine thread; constructors do a little trigonometry once per hit, `tick`s are a few
//! multiply-adds. Nothing allocates.

use std::f64::consts::TAU;

use fundsp::prelude32::{AudioNode, Biquad, BiquadCoefs};

/// A second-order filter running in f64 (a bell mode at 100 Hz and 192 kHz has its poles
/// within 1e-5 of z = 1; f32 coefficients would detune it by ~10 cents).
pub(super) type Filter = Biquad<f64>;

/// ln(1000): a level `exp(-LN_1000 · t / T60)` has fallen by 60 dB at `t = T60`.
pub(super) const LN_1000: f64 = 6.907_755_278_982_137;

/// Modes at or above this fraction of the sample rate are left silent (no aliasing).
pub(super) const MAX_MODE_RATIO: f64 = 0.45;

/// Runs one sample through `filter`.
#[inline]
pub(super) fn tick(filter: &mut Filter, x: f32) -> f32 {
    filter.tick(&[x].into())[0]
}

/// Per-frame multiplier of a level that falls by 60 dB in `t60_s` seconds.
pub(super) fn decay_per_frame(sample_rate: f32, t60_s: f32) -> f32 {
    (-LN_1000 / (f64::from(t60_s) * f64::from(sample_rate))).exp() as f32
}

/// A modal resonator: the two-pole filter `y[n] = g·x[n] + 2r·cos ω·y[n-1] - r²·y[n-2]`
/// (fundsp's biquad with `b1 = b2 = 0`), with `g = amplitude · sin ω`, so that a unit
/// impulse rings as `amplitude · rⁿ · sin((n+1)ω)`: a sine at `freq_hz` whose level falls by
/// 60 dB in `t60_s`. Silent (all-zero) at or above 0.45 × `sample_rate`.
pub(super) fn mode(sample_rate: f32, freq_hz: f32, t60_s: f32, amplitude: f32) -> Filter {
    let sample_rate = f64::from(sample_rate);
    let freq_hz = f64::from(freq_hz);
    if freq_hz >= MAX_MODE_RATIO * sample_rate {
        return Biquad::with_coefs(BiquadCoefs::arbitrary(0.0, 0.0, 0.0, 0.0, 0.0));
    }
    let omega = TAU * freq_hz / sample_rate;
    let r = (-LN_1000 / (f64::from(t60_s) * sample_rate)).exp();
    let gain = f64::from(amplitude) * omega.sin();
    Biquad::with_coefs(BiquadCoefs::arbitrary(
        -2.0 * r * omega.cos(),
        r * r,
        gain,
        0.0,
        0.0,
    ))
}

/// fundsp's constant-peak-gain band-pass (its `resonator`) at `center_hz` with quality `q`,
/// the centre kept below 0.45 × `sample_rate`.
pub(super) fn bandpass(sample_rate: f32, center_hz: f32, q: f32) -> Filter {
    let sample_rate = f64::from(sample_rate);
    let center_hz = f64::from(center_hz).min(MAX_MODE_RATIO * sample_rate);
    Biquad::with_coefs(BiquadCoefs::resonator(sample_rate, center_hz, f64::from(q)))
}

/// fundsp's Butterworth-Q high-pass at `cutoff_hz` (kept below 0.45 × `sample_rate`).
pub(super) fn highpass(sample_rate: f32, cutoff_hz: f32) -> Filter {
    let sample_rate = f64::from(sample_rate);
    let cutoff_hz = f64::from(cutoff_hz).min(MAX_MODE_RATIO * sample_rate);
    Biquad::with_coefs(BiquadCoefs::highpass(
        sample_rate,
        cutoff_hz,
        std::f64::consts::FRAC_1_SQRT_2,
    ))
}

/// fundsp's Butterworth-Q low-pass at `cutoff_hz` (kept below 0.45 × `sample_rate`).
pub(super) fn lowpass(sample_rate: f32, cutoff_hz: f32) -> Filter {
    let sample_rate = f64::from(sample_rate);
    let cutoff_hz = f64::from(cutoff_hz).min(MAX_MODE_RATIO * sample_rate);
    Biquad::with_coefs(BiquadCoefs::lowpass(
        sample_rate,
        cutoff_hz,
        std::f64::consts::FRAC_1_SQRT_2,
    ))
}

/// A mallet strike: a Hann-shaped pulse of unit area, `width_s` long. Its spectrum is flat
/// well below `1/width_s` and falls steeply above, so a wider pulse is a softer mallet that
/// excites only the lower modes.
#[derive(Debug, Clone)]
pub(super) struct Mallet {
    /// Frames emitted so far.
    frame: u32,
    /// Pulse length in frames (≥ 2).
    width_frames: u32,
    /// `2π / width_frames`.
    step: f32,
    /// `1 / (width_frames / 2)`: the Hann pulse's area is half its length.
    scale: f32,
}

impl Mallet {
    /// A pulse `width_s` seconds long at `sample_rate`.
    pub(super) fn new(sample_rate: f32, width_s: f32) -> Self {
        let width_frames = ((width_s * sample_rate) as u32).max(2);
        Self {
            frame: 0,
            width_frames,
            step: std::f32::consts::TAU / width_frames as f32,
            scale: 2.0 / width_frames as f32,
        }
    }

    /// Next sample of the pulse; 0 once it is over.
    #[inline]
    pub(super) fn next(&mut self) -> f32 {
        if self.frame >= self.width_frames {
            return 0.0;
        }
        let x = self.scale * 0.5 * (1.0 - (self.step * self.frame as f32).cos());
        self.frame += 1;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_rings_at_unit_amplitude_and_decays_by_its_t60() {
        let sample_rate = 48_000.0;
        let mut resonator = mode(sample_rate, 440.0, 1.0, 1.0);
        let mut first = 0.0f32;
        let mut at_t60 = 0.0f32;
        for n in 0..60_000 {
            let y = tick(&mut resonator, if n == 0 { 1.0 } else { 0.0 });
            if n < 200 {
                first = first.max(y.abs());
            }
            if (47_900..48_100).contains(&n) {
                at_t60 = at_t60.max(y.abs());
            }
        }
        assert!((first - 1.0).abs() < 0.01, "{first}");
        assert!((at_t60 / first - 0.001).abs() < 0.0002, "{at_t60}");
    }

    #[test]
    fn mallet_has_unit_area() {
        let mut mallet = Mallet::new(48_000.0, 0.002);
        let area: f32 = (0..500).map(|_| mallet.next()).sum();
        assert!((area - 1.0).abs() < 1e-3, "{area}");
    }
}
