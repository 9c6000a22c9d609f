//! What every percussion voice is built from: the [`Strike`] that starts a hit, and the
//! octave folding each voice uses to keep a pitch class inside its own register.
//!
//! Below the voices and the dispatch over them (`synth`), so each voice needs only this.
//! Engine thread, plain arithmetic.

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
