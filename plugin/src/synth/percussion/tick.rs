//! Tick: a short woody click.
//!
//! Engine thread, per sample; never allocates. A mallet pulse (0.6 ms soft … 0.15 ms hard)
//! strikes two modal resonators at `f` and 2.71·`f` (T60 45 and 25 ms), where `f` is
//! `pitch_hz` folded by octaves into 900–1800 Hz; brightness also raises the upper mode and
//! adds a burst of high-passed noise (T60 10 ms), the "contact" of the strike.

use super::bell::hann_spectrum;
use super::modes::{self, Filter, Mallet, decay_per_frame, mode};
use super::rng::Noise;
use super::strike::{Strike, fold_octaves};

/// Lowest first-mode frequency; the range is one octave up from here.
const LOW_HZ: f32 = 900.0;
/// Second mode relative to the first (a wood bar's is near 2.7).
const UPPER_RATIO: f32 = 2.71;
/// T60 of the two modes.
const MODE_T60_S: [f32; 2] = [0.045, 0.025];
/// Mallet width at brightness 0 and the amount brightness takes off.
const MALLET_S: (f32, f32) = (0.000_6, 0.000_45);
/// Contact noise: level at brightness 1, T60, high-pass cutoff.
const CONTACT: (f32, f32, f32) = (0.35, 0.01, 2_500.0);
/// Scales the sum to a peak near 1 (measured over pitch and brightness).
const CALIBRATION: f32 = 0.92;
/// Headroom for the contact noise at brightness 1: the sum is divided by `1 + this·b`.
const CONTACT_HEADROOM: f32 = 0.1;

/// A tick hit's state.
#[derive(Clone)]
pub(super) struct Tick {
    /// The two resonators.
    modes: [Filter; 2],
    /// The strike.
    mallet: Mallet,
    /// Contact noise high-pass.
    contact_filter: Filter,
    /// Contact noise level.
    contact_level: f32,
    /// Per-frame multiplier of `contact_level`.
    contact_mul: f32,
    /// Noise source.
    noise: Noise,
    /// Lifetime in frames.
    length_frames: usize,
}

impl Tick {
    /// A tick for `strike`.
    pub(super) fn new(strike: &Strike) -> Self {
        let sample_rate = strike.sample_rate;
        let brightness = strike.brightness;
        let low_hz = fold_octaves(strike.pitch_hz, LOW_HZ);
        let mallet_s = MALLET_S.0 - MALLET_S.1 * brightness;
        let freqs_hz = [low_hz, low_hz * UPPER_RATIO];
        let levels = [1.0, 0.15 + 0.6 * brightness];
        // Normalise what the mallet lets through (as for the bell), with room for the noise.
        let guard_hz = modes::MAX_MODE_RATIO as f32 * sample_rate;
        let heard: f32 = (0..2)
            .filter(|&k| freqs_hz[k] < guard_hz)
            .map(|k| levels[k] * hann_spectrum(freqs_hz[k] * mallet_s))
            .sum();
        let norm = CALIBRATION / (heard.max(1e-3) * (1.0 + CONTACT_HEADROOM * brightness));
        Self {
            modes: std::array::from_fn(|k| {
                mode(sample_rate, freqs_hz[k], MODE_T60_S[k], levels[k] * norm)
            }),
            mallet: Mallet::new(sample_rate, mallet_s),
            contact_filter: modes::highpass(sample_rate, CONTACT.2),
            contact_level: CONTACT.0 * brightness * (sample_rate / 48_000.0).sqrt()
                / (1.0 + CONTACT_HEADROOM * brightness),
            contact_mul: decay_per_frame(sample_rate, CONTACT.1),
            noise: Noise::new(strike.noise_seed),
            length_frames: (1.5 * MODE_T60_S[0] * sample_rate) as usize,
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
            let body =
                modes::tick(&mut self.modes[0], strike) + modes::tick(&mut self.modes[1], strike);
            let contact =
                modes::tick(&mut self.contact_filter, self.noise.next()) * self.contact_level;
            *y = body + contact;
            self.contact_level *= self.contact_mul;
        }
    }
}
