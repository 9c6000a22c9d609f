//! From the plugin's parameter snapshot to what the composer needs.

use crate::compose::ComposerSettings;
use crate::music::{Key, Scale};
use crate::params::{MusicalSettings, ScaleName};

/// The composer's view of the parameters.
pub fn composer_settings(settings: &MusicalSettings) -> ComposerSettings {
    ComposerSettings {
        key: Key::from_pitch_class(settings.key.pitch_class()),
        scale: scale(settings.scale),
        intensity: settings.intensity,
        tempo_bpm: settings.tempo_bpm,
    }
}

/// The music module's scale for a Scale parameter value.
pub fn scale(name: ScaleName) -> Scale {
    match name {
        ScaleName::Major => Scale::Major,
        ScaleName::Minor => Scale::Minor,
        ScaleName::Dorian => Scale::Dorian,
        ScaleName::Phrygian => Scale::Phrygian,
        ScaleName::Lydian => Scale::Lydian,
        ScaleName::Mixolydian => Scale::Mixolydian,
        ScaleName::MajorPentatonic => Scale::MajorPentatonic,
        ScaleName::MinorPentatonic => Scale::MinorPentatonic,
    }
}
