//! What the listener controls: key, scale, intensity and tempo.
//!
//! Written by the engine thread (from parameters), read by the composer on
//! the same thread. Values are clamped here, at the edge, so the composer
//! only ever sees valid ones.

use crate::music::{Key, Scale};

/// Slowest tempo the composer plans for, in beats per minute.
pub const MIN_TEMPO_BPM: f32 = 20.0;
/// Fastest tempo the composer plans for, in beats per minute.
pub const MAX_TEMPO_BPM: f32 = 300.0;
/// Tempo assumed when the host reports none (or NaN).
pub const DEFAULT_TEMPO_BPM: f32 = 80.0;

/// The composer's inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComposerSettings {
    /// Tonic of the music. A change lands at the next chord change.
    pub key: Key,
    /// Mode of the music. A change lands at the next chord change.
    pub scale: Scale,
    /// How much is going on, 0 (drone, pad, rare melody) to 1 (busy melody,
    /// texture, percussion, faster harmony). Applies from the next bar
    /// (percussion, texture) or phrase (harmony, melody, arrangement).
    pub intensity: f32,
    /// Host tempo; used only to keep chord durations similar in seconds.
    pub tempo_bpm: f32,
}

impl Default for ComposerSettings {
    fn default() -> Self {
        ComposerSettings {
            key: Key::D,
            scale: Scale::Dorian,
            intensity: 0.5,
            tempo_bpm: DEFAULT_TEMPO_BPM,
        }
    }
}

impl ComposerSettings {
    /// The same settings with intensity clamped to 0..=1 (NaN → 0) and tempo
    /// clamped to [`MIN_TEMPO_BPM`]..=[`MAX_TEMPO_BPM`] (NaN → default).
    pub fn sanitized(self) -> ComposerSettings {
        let intensity = if self.intensity.is_nan() {
            0.0
        } else {
            self.intensity.clamp(0.0, 1.0)
        };
        let tempo_bpm = if self.tempo_bpm.is_nan() {
            DEFAULT_TEMPO_BPM
        } else {
            self.tempo_bpm.clamp(MIN_TEMPO_BPM, MAX_TEMPO_BPM)
        };
        ComposerSettings {
            intensity,
            tempo_bpm,
            ..self
        }
    }

    /// Whether `other` has the same key and scale.
    pub fn same_tonality(&self, other: &ComposerSettings) -> bool {
        self.key == other.key && self.scale == other.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing_clamps_and_replaces_nan() {
        let wild = ComposerSettings {
            intensity: f32::NAN,
            tempo_bpm: 1e9,
            ..ComposerSettings::default()
        }
        .sanitized();
        assert_eq!(wild.intensity, 0.0);
        assert_eq!(wild.tempo_bpm, MAX_TEMPO_BPM);
        let nan_tempo = ComposerSettings {
            intensity: 7.0,
            tempo_bpm: f32::NAN,
            ..ComposerSettings::default()
        }
        .sanitized();
        assert_eq!(
            (nan_tempo.intensity, nan_tempo.tempo_bpm),
            (1.0, DEFAULT_TEMPO_BPM)
        );
    }
}
