//! The musical parameters as people type them: names, ranges and defaults for the command line,
//! the HTTP API and their help texts, derived from the parameters themselves so every front end
//! says the same thing.
//!
//! Names are forgiving: any case, `F#` or `Gb`, `major-pentatonic` or `Major Pentatonic`.
//! Errors list what is valid. Pure functions, any thread.

use nice_plug::prelude::Enum;

use super::{
    BRIGHTNESS_DEFAULT, INTENSITY_DEFAULT, KEY_DEFAULT, KeyName, SCALE_DEFAULT, SEED_DEFAULT,
    SEED_MAX, SPACE_DEFAULT, ScaleName, TEMPO_DEFAULT_BPM, TEMPO_MAX_BPM, TEMPO_MIN_BPM,
    display_name,
};

/// A continuous musical parameter's range and default, as front ends present it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberRange {
    /// Lowest value.
    pub min: f32,
    /// Highest value.
    pub max: f32,
    /// The value a new instance starts with.
    pub default: f32,
}

impl NumberRange {
    /// Whether `value` is finite and within the range.
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && (f64::from(self.min)..=f64::from(self.max)).contains(&value)
    }
}

/// Tempo in BPM.
pub const TEMPO: NumberRange = NumberRange {
    min: TEMPO_MIN_BPM,
    max: TEMPO_MAX_BPM,
    default: TEMPO_DEFAULT_BPM,
};
/// Intensity, 0..=1.
pub const INTENSITY: NumberRange = NumberRange {
    min: 0.0,
    max: 1.0,
    default: INTENSITY_DEFAULT,
};
/// Brightness, 0..=1.
pub const BRIGHTNESS: NumberRange = NumberRange {
    min: 0.0,
    max: 1.0,
    default: BRIGHTNESS_DEFAULT,
};
/// Space, 0..=1.
pub const SPACE: NumberRange = NumberRange {
    min: 0.0,
    max: 1.0,
    default: SPACE_DEFAULT,
};
/// The seed, an integer.
pub const SEED: NumberRange = NumberRange {
    min: 0.0,
    max: SEED_MAX as f32,
    default: SEED_DEFAULT as f32,
};

/// Flat spellings and the sharp they mean (by pitch class).
const FLATS: [(&str, u8); 5] = [("db", 1), ("eb", 3), ("gb", 6), ("ab", 8), ("bb", 10)];

/// The key named `text`: a key name in any case (`C`, `f#`) or a flat (`Bb`).
///
/// # Errors
/// A message naming `text` and listing the valid keys.
pub fn parse_key(text: &str) -> Result<KeyName, String> {
    let lower = text.trim().to_ascii_lowercase();
    let by_name = KeyName::variants()
        .iter()
        .position(|name| name.to_ascii_lowercase() == lower);
    let by_flat = || {
        FLATS
            .iter()
            .find(|(flat, _)| *flat == lower)
            .map(|(_, pitch_class)| usize::from(*pitch_class))
    };
    by_name
        .or_else(by_flat)
        .map(KeyName::from_index)
        .ok_or_else(|| format!("unknown key {text:?}; valid keys: {}", key_names()))
}

/// The valid key names, as help texts list them: `C C# D … B`.
pub fn key_names() -> String {
    KeyName::variants().join(" ")
}

/// The scale named `text`: its name in any case with or without spaces and dashes
/// (`major-pentatonic`), or a mode's other name (`ionian`, `aeolian`).
///
/// # Errors
/// A message naming `text` and listing the valid scales.
pub fn parse_scale(text: &str) -> Result<ScaleName, String> {
    let wanted = squash(text);
    let alias = match wanted.as_str() {
        "ionian" => Some(ScaleName::Major),
        "aeolian" => Some(ScaleName::Minor),
        _ => None,
    };
    alias
        .or_else(|| {
            ScaleName::variants()
                .iter()
                .position(|name| squash(name) == wanted)
                .map(ScaleName::from_index)
        })
        .ok_or_else(|| format!("unknown scale {text:?}; valid scales: {}", scale_names()))
}

/// The valid scale names as typed on a command line: `major, minor, …, minor-pentatonic`.
pub fn scale_names() -> String {
    ScaleName::variants()
        .iter()
        .map(|name| name.to_ascii_lowercase().replace(' ', "-"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The default key's name, for help texts.
pub fn default_key_name() -> &'static str {
    display_name(KEY_DEFAULT)
}

/// The default scale's name as typed on a command line.
pub fn default_scale_name() -> String {
    display_name(SCALE_DEFAULT)
        .to_ascii_lowercase()
        .replace(' ', "-")
}

/// Lower case letters and digits only: what names are compared by.
fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_scale_round_trips_through_its_names() {
        for (index, name) in KeyName::variants().iter().enumerate() {
            assert_eq!(parse_key(name), Ok(KeyName::from_index(index)));
            assert_eq!(
                parse_key(&name.to_ascii_lowercase()),
                Ok(KeyName::from_index(index))
            );
        }
        for (index, name) in ScaleName::variants().iter().enumerate() {
            assert_eq!(parse_scale(name), Ok(ScaleName::from_index(index)));
        }
        for name in scale_names().split(", ") {
            assert!(parse_scale(name).is_ok(), "{name}");
        }
        assert_eq!(parse_key("Gb"), Ok(KeyName::FSharp));
        assert_eq!(parse_scale("AEOLIAN"), Ok(ScaleName::Minor));
        assert_eq!(default_scale_name(), "dorian");
        assert_eq!(default_key_name(), "D");
    }

    #[test]
    fn unknown_names_are_refused_with_the_valid_ones() {
        let error = parse_key("H").unwrap_err();
        assert!(
            error.contains("\"H\"") && error.contains("C C# D"),
            "{error}"
        );
        let error = parse_scale("blues").unwrap_err();
        assert!(error.contains("major-pentatonic"), "{error}");
        assert!(parse_key("").is_err() && parse_scale("").is_err());
    }

    #[test]
    fn ranges_hold_their_defaults() {
        for range in [TEMPO, INTENSITY, BRIGHTNESS, SPACE, SEED] {
            assert!(range.contains(f64::from(range.default)), "{range:?}");
            assert!(!range.contains(f64::NAN));
            assert!(!range.contains(f64::from(range.max) + 1.0));
        }
    }
}
