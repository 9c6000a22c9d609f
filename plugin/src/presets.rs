//! Factory presets: named moods, the same set in the command line, the GUI and the web monitor.
//!
//! A preset is a complete set of musical parameters. Names are matched case-insensitively and
//! ignoring spaces and dashes, so `--preset deep-field` finds "Deep Field".

use crate::params::{FollowMode, KeyName, MidiLayers, MusicalSettings, ScaleName};

/// One named mood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// Display name.
    pub name: &'static str,
    /// What it sounds like, in a line.
    pub description: &'static str,
    /// Its parameter values.
    pub settings: MusicalSettings,
}

const fn preset(
    name: &'static str,
    description: &'static str,
    key: KeyName,
    scale: ScaleName,
    tempo_bpm: f32,
    [intensity, brightness, space]: [f32; 3],
    seed: u32,
) -> Preset {
    Preset {
        name,
        description,
        settings: MusicalSettings {
            key,
            scale,
            tempo_bpm,
            sync_to_host: true,
            intensity,
            brightness,
            space,
            seed,
            midi_out: MidiLayers::MelodyAndChords,
            follow: FollowMode::Off,
        },
    }
}

/// The factory presets, the default patch first.
pub const PRESETS: [Preset; 6] = [
    preset(
        "Auralis",
        "The default: D Dorian, unhurried, warm and wide",
        KeyName::D,
        ScaleName::Dorian,
        70.0,
        [0.45, 0.5, 0.6],
        7,
    ),
    preset(
        "Dawn",
        "Slow light: E Lydian, bright and sparse",
        KeyName::E,
        ScaleName::Lydian,
        62.0,
        [0.3, 0.68, 0.55],
        11,
    ),
    preset(
        "Deep Field",
        "C minor, very slow, dark and vast",
        KeyName::C,
        ScaleName::Minor,
        48.0,
        [0.15, 0.22, 0.92],
        3,
    ),
    preset(
        "Glass Garden",
        "F# major pentatonic, glassy bells and soft ticks",
        KeyName::FSharp,
        ScaleName::MajorPentatonic,
        66.0,
        [0.5, 0.68, 0.8],
        21,
    ),
    preset(
        "Night Drive",
        "A Dorian, more motion, pulses under a dim sky",
        KeyName::A,
        ScaleName::Dorian,
        76.0,
        [0.58, 0.38, 0.7],
        42,
    ),
    preset(
        "Tidal",
        "G Mixolydian, long swells that come and go",
        KeyName::G,
        ScaleName::Mixolydian,
        56.0,
        [0.4, 0.55, 0.8],
        77,
    ),
];

/// The preset called `name`, ignoring case, spaces, dashes and underscores.
pub fn find(name: &str) -> Option<&'static Preset> {
    let wanted = normalise(name);
    PRESETS.iter().find(|p| normalise(p.name) == wanted)
}

/// The names of every preset, for help texts and error messages.
pub fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|p| p.name)
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_preset_is_the_default_patch() {
        assert_eq!(PRESETS[0].settings, MusicalSettings::default());
    }

    #[test]
    fn names_are_unique_and_found_loosely() {
        for (i, a) in PRESETS.iter().enumerate() {
            for b in &PRESETS[i + 1..] {
                assert_ne!(normalise(a.name), normalise(b.name));
            }
        }
        assert_eq!(find("deep-field").map(|p| p.name), Some("Deep Field"));
        assert_eq!(find("GLASS garden").map(|p| p.name), Some("Glass Garden"));
        assert!(find("nope").is_none());
    }

    #[test]
    fn every_value_is_in_range() {
        for p in &PRESETS {
            let s = p.settings;
            assert!((30.0..=180.0).contains(&s.tempo_bpm), "{}", p.name);
            for v in [s.intensity, s.brightness, s.space] {
                assert!((0.0..=1.0).contains(&v), "{}", p.name);
            }
            assert!(s.seed <= crate::params::SEED_MAX as u32, "{}", p.name);
        }
    }
}
