//! One hit's sound generator: which voice it is and that voice's state.
//!
//! Engine thread; `new` does a little trigonometry, `render` is per-sample arithmetic inside
//! one `match` per call (never per sample). Nothing allocates.
//!
//! Every voice renders mono at a peak level near 1 (±3 dB over its parameter range, tested);
//! velocity, pan and the -12 dBFS target are applied by the hit.

use super::PercussionVoice;
use super::bell::Bell;
use super::pulse::Pulse;
use super::shaker::Shaker;
use super::tick::Tick;

/// Everything a voice is built from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Strike {
    /// Sample rate in Hz.
    pub(super) sample_rate: f32,
    /// Pitch in Hz (finite, > 0); each voice maps it into its own range.
    pub(super) pitch_hz: f32,
    /// 0 (soft, dark) ..= 1 (hard, bright).
    pub(super) brightness: f32,
    /// Seed of this hit's noise.
    pub(super) noise_seed: u64,
}

/// Folds `freq_hz` by octaves into `low_hz..2·low_hz`, so a voice with a narrow range still
/// sounds the pitch class it was given.
pub(super) fn fold_octaves(freq_hz: f32, low_hz: f32) -> f32 {
    let octaves = (freq_hz / low_hz).log2().floor();
    (freq_hz * (-octaves).exp2()).clamp(low_hz, 2.0 * low_hz)
}

/// A voice's state.
#[derive(Clone)]
pub(super) enum Synth {
    /// A felt kick.
    Pulse(Pulse),
    /// A wood click.
    Tick(Tick),
    /// A shaker grain.
    Shaker(Shaker),
    /// A struck bell.
    Bell(Bell),
}

impl Synth {
    /// A fresh `voice` for `strike`.
    pub(super) fn new(voice: PercussionVoice, strike: &Strike) -> Self {
        match voice {
            PercussionVoice::Pulse => Self::Pulse(Pulse::new(strike)),
            PercussionVoice::Tick => Self::Tick(Tick::new(strike)),
            PercussionVoice::Shaker => Self::Shaker(Shaker::new(strike)),
            PercussionVoice::Bell => Self::Bell(Bell::new(strike)),
        }
    }

    /// Frames until the sound has fallen 90 dB below its peak; the hit ends there.
    pub(super) fn length_frames(&self) -> usize {
        match self {
            Self::Pulse(v) => v.length_frames(),
            Self::Tick(v) => v.length_frames(),
            Self::Shaker(v) => v.length_frames(),
            Self::Bell(v) => v.length_frames(),
        }
    }

    /// Writes the next `out.len()` samples (overwriting).
    pub(super) fn render(&mut self, out: &mut [f32]) {
        match self {
            Self::Pulse(v) => v.render(out),
            Self::Tick(v) => v.render(out),
            Self::Shaker(v) => v.render(out),
            Self::Bell(v) => v.render(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_the_pitch_class() {
        assert_eq!(fold_octaves(55.0, 40.0), 55.0);
        assert_eq!(fold_octaves(220.0, 40.0), 55.0);
        assert_eq!(fold_octaves(27.5, 40.0), 55.0);
        assert!((fold_octaves(1000.0, 900.0) - 1000.0).abs() < 1e-3);
    }
}
