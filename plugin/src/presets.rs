//! Factory presets: named moods, the same set in the command line, the GUI and the web monitor.
//!
//! A preset is a complete set of musical parameters. Names are matched case-insensitively and
//! ignoring spaces and dashes, so `--preset deep-field` finds "Deep Field".
//!
//! Beside the factory moods live the user's own presets ([`user`]): small JSON files
//! ([`file`]) in the user's data directory, shared by the plugin and the standalone. Hosts find
//! both kinds through CLAP's preset discovery, and the VST3 bundle carries the factory moods as
//! `.vstpreset` files ([`vst3`]). What a preset holds is the mood: the parameters in
//! [`MOOD_IDS`]; gain, MIDI routing, host sync and Follow belong to the session and stay as
//! they are when a preset is applied.

pub mod file;
pub mod user;
pub mod vst3;

use std::collections::BTreeMap;

use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::prelude::Enum;

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
        [0.42, 0.68, 0.8],
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

/// The ids of the parameters a preset sets (params.rs), in the order files list them.
pub const MOOD_IDS: [&str; 7] = ["key", "scale", "tempo", "intens", "bright", "space", "seed"];

/// Words a preset browser can filter by, per factory preset (CLAP preset features).
const FEATURES: [(&str, &[&str]); 6] = [
    ("Auralis", &["ambient", "pad", "warm"]),
    ("Dawn", &["ambient", "pad", "bright", "sparse"]),
    ("Deep Field", &["ambient", "drone", "dark"]),
    ("Glass Garden", &["ambient", "bells", "bright"]),
    ("Night Drive", &["ambient", "pulse", "dark"]),
    ("Tidal", &["ambient", "pad", "evolving"]),
];

impl Preset {
    /// Words that describe it for a host's preset browser ("ambient", "pad", ...).
    pub fn features(&self) -> &'static [&'static str] {
        FEATURES
            .iter()
            .find(|(name, _)| *name == self.name)
            .map_or(&["ambient"], |(_, features)| features)
    }
}

/// The preset's parameters by stable id, as preset files and saved states store them.
pub fn mood_params(settings: &MusicalSettings) -> BTreeMap<String, ParamValue> {
    let id_of = |ids: Option<&'static [&'static str]>, index: usize| {
        ParamValue::String(
            ids.and_then(|ids| ids.get(index))
                .copied()
                .unwrap_or_default()
                .into(),
        )
    };
    [
        ("key", id_of(KeyName::ids(), settings.key.to_index())),
        ("scale", id_of(ScaleName::ids(), settings.scale.to_index())),
        ("tempo", ParamValue::F32(settings.tempo_bpm)),
        ("intens", ParamValue::F32(settings.intensity)),
        ("bright", ParamValue::F32(settings.brightness)),
        ("space", ParamValue::F32(settings.space)),
        ("seed", ParamValue::I32(settings.seed as i32)),
    ]
    .into_iter()
    .map(|(id, value)| (id.to_owned(), value))
    .collect()
}

/// `base` with the mood parameters in `params` applied. Values are taken as they are: check
/// them first (the preset file reader does).
pub fn apply_mood_params(
    base: MusicalSettings,
    params: &BTreeMap<String, ParamValue>,
) -> MusicalSettings {
    let variant = |ids: Option<&'static [&'static str]>, id: &str| {
        ids.and_then(|ids| ids.iter().position(|candidate| *candidate == id))
    };
    let mut settings = base;
    for (id, value) in params {
        match (id.as_str(), value) {
            ("key", ParamValue::String(v)) => {
                if let Some(i) = variant(KeyName::ids(), v) {
                    settings.key = KeyName::from_index(i);
                }
            }
            ("scale", ParamValue::String(v)) => {
                if let Some(i) = variant(ScaleName::ids(), v) {
                    settings.scale = ScaleName::from_index(i);
                }
            }
            ("tempo", ParamValue::F32(v)) => settings.tempo_bpm = *v,
            ("intens", ParamValue::F32(v)) => settings.intensity = *v,
            ("bright", ParamValue::F32(v)) => settings.brightness = *v,
            ("space", ParamValue::F32(v)) => settings.space = *v,
            ("seed", ParamValue::I32(v)) => settings.seed = (*v).max(0) as u32,
            _ => {}
        }
    }
    settings
}

/// A saved state that sets the preset's parameters and leaves every other one as it is: what a
/// host loads for a preset (CLAP preset-load, a `.vstpreset`).
pub fn as_state(settings: &MusicalSettings) -> PluginState {
    PluginState {
        version: env!("CARGO_PKG_VERSION").into(),
        params: mood_params(settings),
        fields: BTreeMap::new(),
    }
}

/// Whether two settings are the same music: what a preset sets, gain and routing aside.
pub fn same_mood(a: &MusicalSettings, b: &MusicalSettings) -> bool {
    a.key == b.key
        && a.scale == b.scale
        && (a.tempo_bpm - b.tempo_bpm).abs() < 0.05
        && (a.intensity - b.intensity).abs() < 0.005
        && (a.brightness - b.brightness).abs() < 0.005
        && (a.space - b.space).abs() < 0.005
        && a.seed == b.seed
}

/// The factory preset whose mood `settings` is, if any.
pub fn factory_match(settings: &MusicalSettings) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| same_mood(&p.settings, settings))
}

/// A preset's name and mood, a factory one or the user's.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMood {
    /// The preset's name.
    pub name: String,
    /// The mood it sets.
    pub settings: MusicalSettings,
}

/// The preset called `name`: a factory preset, else one of the user's in `user` (matched
/// loosely, as [`find`]). What the command line's `--preset` and the web API's `"preset"` use.
///
/// # Errors
/// One line: the problem of the user's file of that name if it cannot be read, else every
/// name there is.
pub fn lookup(name: &str, user: Option<&user::UserPresets>) -> Result<NamedMood, String> {
    if let Some(preset) = find(name) {
        return Ok(NamedMood {
            name: preset.name.to_owned(),
            settings: preset.settings,
        });
    }
    let scan = user.map(user::UserPresets::scan).unwrap_or_default();
    let wanted = normalise(name);
    let mut yours = Vec::new();
    for entry in &scan {
        match entry {
            Ok(preset) if normalise(&preset.name) == wanted => {
                return Ok(NamedMood {
                    name: preset.name.clone(),
                    settings: preset.settings,
                });
            }
            Ok(preset) => yours.push(preset.name.clone()),
            // A file named like the preset asked for, which cannot be read: say why.
            Err(error @ user::PresetError::File { path, .. })
                if path
                    .file_stem()
                    .is_some_and(|stem| normalise(&stem.to_string_lossy()) == wanted) =>
            {
                return Err(error.to_string());
            }
            Err(_) => {}
        }
    }
    let factory: Vec<&str> = names().collect();
    let mut message = format!("unknown preset {name:?}; presets: {}", factory.join(", "));
    if !yours.is_empty() {
        message.push_str(&format!("; yours: {}", yours.join(", ")));
    }
    Err(message)
}

/// `name` reduced to what matching ignores: case, spaces, dashes and underscores.
pub(crate) fn normalise(name: &str) -> String {
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

    #[test]
    fn lookup_finds_factory_presets_first_then_the_users() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = user::UserPresets::at(dir.path());
        let mood = MusicalSettings {
            seed: 999,
            ..MusicalSettings::default()
        };
        store.save("Harbour Lights", &mood).expect("save");
        std::fs::write(dir.path().join("Broken.auralis"), "{\"format_version\": 1").expect("write");
        assert_eq!(lookup("dawn", Some(&store)).expect("factory").name, "Dawn");
        let found = lookup("harbour-lights", Some(&store)).expect("user");
        assert_eq!(
            (found.name.as_str(), found.settings),
            ("Harbour Lights", mood)
        );
        let error = lookup("broken", Some(&store)).expect_err("damaged");
        assert!(
            error.contains("Broken.auralis") && error.contains("damaged"),
            "{error}"
        );
        let error = lookup("polka", Some(&store)).expect_err("unknown");
        assert!(
            error.contains("Night Drive") && error.contains("yours: Harbour Lights"),
            "{error}"
        );
        assert!(lookup("polka", None).is_err());
    }

    #[test]
    fn every_preset_has_features_and_its_mood_round_trips_through_its_ids() {
        for p in &PRESETS {
            assert!(p.features().contains(&"ambient"), "{}", p.name);
            assert!(
                FEATURES.iter().any(|(name, _)| *name == p.name),
                "{} has no features",
                p.name
            );
            let params = mood_params(&p.settings);
            assert_eq!(params.keys().count(), MOOD_IDS.len());
            for (id, value) in &params {
                assert!(MOOD_IDS.contains(&id.as_str()));
                crate::state::check(id, value).unwrap_or_else(|e| panic!("{id}: {e}"));
            }
            let back = apply_mood_params(MusicalSettings::default(), &params);
            assert_eq!(back, p.settings, "{}", p.name);
        }
    }
}
