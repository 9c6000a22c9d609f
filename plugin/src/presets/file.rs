//! The preset file: what a user preset is on disk, read strictly and written plainly.
//!
//! A small JSON object a person can read and edit:
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "name": "Slow Tide",
//!   "auralis_version": "0.1.0",
//!   "parameters": { "key": "d", "scale": "dorian", "tempo": 70.0, "intens": 0.45,
//!                   "bright": 0.5, "space": 0.6, "seed": 7 }
//! }
//! ```
//!
//! Parameters are keyed by their stable ids (params.rs) and hold plain values, enums by their
//! variant ids. Reading checks each value with the saved-state table (`state.rs`), but where a
//! saved state is repaired (a host must load something), a preset file is refused whole with the
//! first problem in it: a damaged, hand-broken or future-version file is never half applied.
//! Pure functions, any thread except the audio thread.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::{MOOD_IDS, apply_mood_params, mood_params};
use crate::params::MusicalSettings;
use crate::state;

/// The format this version writes and reads. A newer one is refused, never guessed at.
pub const FORMAT_VERSION: u64 = 1;
/// The file extension of a preset file, without the dot.
pub const EXTENSION: &str = "auralis";
/// The largest preset file read: a real one is about 300 bytes.
pub const MAX_FILE_BYTES: usize = 64 * 1024;
/// The longest preset name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A preset as a file holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetData {
    /// Its display name.
    pub name: String,
    /// The mood it sets (the other fields are the default patch's).
    pub settings: MusicalSettings,
}

/// Why a preset file cannot be read, in one line a musician can act on.
#[derive(Debug, Clone, PartialEq)]
pub enum FileProblem {
    /// Larger than any preset file.
    TooLarge(usize),
    /// Not JSON at all, or cut short (the parser's message says where).
    NotJson(String),
    /// JSON, but not an object.
    NotAnObject,
    /// A required field is missing.
    Missing(&'static str),
    /// A field has the wrong kind of value; says what it should be.
    Field(&'static str, &'static str),
    /// Written by a newer Auralis in a format this version cannot read.
    FutureVersion(u64),
    /// The name is not usable.
    Name(NameProblem),
    /// A parameter's value is not valid.
    Parameter {
        /// The parameter's id.
        id: String,
        /// What is wrong with it ("must be a number from 30 to 180").
        problem: String,
    },
    /// An id that names no parameter a preset holds.
    NotAPresetParameter(String),
    /// A parameter every preset sets is missing.
    MissingParameter(&'static str),
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(bytes) => write!(
                f,
                "is {bytes} bytes, too large to be a preset (at most {MAX_FILE_BYTES})"
            ),
            Self::NotJson(error) => write!(f, "is damaged or not a preset file ({error})"),
            Self::NotAnObject => f.write_str("is not a preset file (expected a JSON object)"),
            Self::Missing(field) => write!(f, "has no \"{field}\""),
            Self::Field(field, what) => write!(f, "\"{field}\" must be {what}"),
            Self::FutureVersion(version) => write!(
                f,
                "was saved by a newer Auralis (preset format {version}; this version reads \
                 format {FORMAT_VERSION}): update Auralis to load it"
            ),
            Self::Name(problem) => write!(f, "has an unusable name: {problem}"),
            Self::Parameter { id, problem } => write!(f, "parameter \"{id}\" {problem}"),
            Self::NotAPresetParameter(id) => write!(
                f,
                "\"{id}\" is not a preset parameter (a preset holds {})",
                MOOD_IDS.join(", ")
            ),
            Self::MissingParameter(id) => write!(f, "has no value for parameter \"{id}\""),
        }
    }
}

/// Why a name cannot be a preset's name.
#[derive(Debug, Clone, PartialEq)]
pub enum NameProblem {
    /// Nothing but spaces.
    Empty,
    /// Longer than [`MAX_NAME_CHARS`].
    TooLong,
    /// Holds a control character (a line break, a tab...).
    ControlCharacter,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("a preset needs a name"),
            Self::TooLong => write!(f, "a name has at most {MAX_NAME_CHARS} characters"),
            Self::ControlCharacter => f.write_str("a name cannot hold line breaks or tabs"),
        }
    }
}

/// `name` trimmed, if it can name a preset.
///
/// # Errors
/// Why it cannot.
pub fn check_name(name: &str) -> Result<String, NameProblem> {
    let name = name.trim();
    if name.is_empty() {
        Err(NameProblem::Empty)
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(NameProblem::TooLong)
    } else if name.chars().any(char::is_control) {
        Err(NameProblem::ControlCharacter)
    } else {
        Ok(name.to_owned())
    }
}

/// The file's text for a preset called `name` with the mood of `settings`.
///
/// # Errors
/// If `name` cannot name a preset.
pub fn write(name: &str, settings: &MusicalSettings) -> Result<String, NameProblem> {
    let name = check_name(name)?;
    let parameters: Map<String, Value> = mood_params(settings)
        .iter()
        .map(|(id, value)| (id.clone(), state::to_json(value)))
        .collect();
    let mut object = Map::new();
    object.insert("format_version".into(), FORMAT_VERSION.into());
    object.insert("name".into(), name.into());
    object.insert("auralis_version".into(), env!("CARGO_PKG_VERSION").into());
    object.insert("parameters".into(), Value::Object(parameters));
    let mut text = serde_json::to_string_pretty(&Value::Object(object))
        .unwrap_or_else(|_| unreachable!("a map of plain values always serialises"));
    text.push('\n');
    Ok(text)
}

/// Reads a preset file's bytes.
///
/// # Errors
/// The first problem found; nothing of a file with a problem is used.
pub fn read(bytes: &[u8]) -> Result<PresetData, FileProblem> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileProblem::TooLarge(bytes.len()));
    }
    let json: Value =
        serde_json::from_slice(bytes).map_err(|e| FileProblem::NotJson(e.to_string()))?;
    let object = json.as_object().ok_or(FileProblem::NotAnObject)?;
    let field = |name: &'static str| object.get(name).ok_or(FileProblem::Missing(name));

    // The version first: a newer file may differ in anything else.
    let version = field("format_version")?
        .as_u64()
        .ok_or(FileProblem::Field("format_version", "a whole number"))?;
    if version > FORMAT_VERSION {
        return Err(FileProblem::FutureVersion(version));
    }
    if version == 0 {
        return Err(FileProblem::Field("format_version", "1 or more"));
    }
    let name = field("name")?
        .as_str()
        .ok_or(FileProblem::Field("name", "text"))?;
    let name = check_name(name).map_err(FileProblem::Name)?;
    field("auralis_version")?
        .as_str()
        .ok_or(FileProblem::Field(
            "auralis_version",
            "text such as \"0.1.0\"",
        ))?;
    let parameters = field("parameters")?.as_object().ok_or(FileProblem::Field(
        "parameters",
        "an object of values by parameter id",
    ))?;

    let mut params = BTreeMap::new();
    for (id, json) in parameters {
        let value = state::from_json(id, json).map_err(|problem| match problem {
            state::ValueProblem::UnknownId => FileProblem::NotAPresetParameter(id.clone()),
            problem => FileProblem::Parameter {
                id: id.clone(),
                problem: problem.to_string(),
            },
        })?;
        if !MOOD_IDS.contains(&id.as_str()) {
            return Err(FileProblem::NotAPresetParameter(id.clone()));
        }
        params.insert(id.clone(), value);
    }
    if let Some(missing) = MOOD_IDS.iter().find(|id| !params.contains_key(**id)) {
        return Err(FileProblem::MissingParameter(missing));
    }
    Ok(PresetData {
        name,
        settings: apply_mood_params(MusicalSettings::default(), &params),
    })
}

/// Reads `bytes` as a preset file and panics if what it accepts is not a valid mood: one input
/// of the fuzzers (the proptest ones here, cargo-fuzz's in `fuzz/`).
#[cfg(any(test, fuzzing))]
pub(crate) fn fuzz_one(bytes: &[u8]) {
    if let Ok(preset) = read(bytes) {
        for (id, value) in mood_params(&preset.settings) {
            assert!(
                state::check(&id, &value).is_ok(),
                "{id} = {value:?} accepted"
            );
        }
        assert!(check_name(&preset.name).is_ok());
        // What was read writes back to a file that reads the same.
        let again = write(&preset.name, &preset.settings).expect("a name that was read");
        assert_eq!(read(again.as_bytes()), Ok(preset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{KeyName, ScaleName};
    use crate::presets::PRESETS;

    fn mood() -> MusicalSettings {
        MusicalSettings {
            key: KeyName::DSharp,
            scale: ScaleName::MinorPentatonic,
            tempo_bpm: 97.3,
            intensity: 0.813,
            brightness: 0.1,
            space: 1.0,
            seed: 65_535,
            ..MusicalSettings::default()
        }
    }

    fn replace(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "{from} not in {text}");
        text.replacen(from, to, 1)
    }

    #[test]
    fn a_written_file_reads_back_bit_for_bit_and_reads_like_a_person_wrote_it() {
        let text = write("  Slow Tide ", &mood()).expect("a name");
        assert!(text.contains("\"name\": \"Slow Tide\""), "{text}");
        assert!(text.contains("\"key\": \"d#\""), "{text}");
        assert!(text.contains("\"scale\": \"minpent\""), "{text}");
        assert!(text.contains("\"tempo\": 97.3"), "{text}");
        assert!(text.contains("\"intens\": 0.813"), "{text}");
        let back = read(text.as_bytes()).expect("reads");
        assert_eq!(back.name, "Slow Tide");
        for (a, b) in [
            (back.settings.tempo_bpm, mood().tempo_bpm),
            (back.settings.intensity, mood().intensity),
            (back.settings.brightness, mood().brightness),
            (back.settings.space, mood().space),
        ] {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert_eq!(back.settings, mood());
        for preset in &PRESETS {
            let text = write(preset.name, &preset.settings).expect("a name");
            assert_eq!(
                read(text.as_bytes()).expect("reads").settings,
                preset.settings
            );
        }
    }

    #[test]
    fn each_kind_of_damage_gives_its_own_clear_error() {
        let good = write("Slow Tide", &mood()).expect("a name");
        let cases: Vec<(String, &str)> = vec![
            (good[..good.len() / 2].to_owned(), "damaged"),
            (String::new(), "damaged"),
            ("[1, 2]".into(), "expected a JSON object"),
            (
                replace(&good, "\"format_version\": 1", "\"format_version\": 999"),
                "newer Auralis (preset format 999",
            ),
            (
                replace(&good, "\"format_version\": 1", "\"format_version\": \"1\""),
                "\"format_version\" must be a whole number",
            ),
            (
                replace(&good, "\"tempo\": 97.3", "\"tempo\": \"fast\""),
                "parameter \"tempo\" must be a number from 30 to 180",
            ),
            (
                replace(&good, "\"tempo\": 97.3", "\"tempo\": 500"),
                "parameter \"tempo\" must be a number from 30 to 180",
            ),
            (
                replace(&good, "\"seed\": 65535", "\"seed\": 1.5"),
                "parameter \"seed\" must be a whole number from 0 to 65535",
            ),
            (
                replace(&good, "\"key\": \"d#\"", "\"key\": \"h\""),
                "parameter \"key\" must be one of \"c\"",
            ),
            (
                replace(&good, "\"seed\": 65535", "\"seed\": 7, \"volume\": 3"),
                "\"volume\" is not a preset parameter",
            ),
            (
                replace(&good, "\"seed\": 65535", "\"seed\": 7, \"gain\": 0.0"),
                "\"gain\" is not a preset parameter",
            ),
            (
                replace(&good, ",\n    \"seed\": 65535", ""),
                "has no value for parameter \"seed\"",
            ),
            (
                replace(&good, "\"name\": \"Slow Tide\"", "\"name\": \" \""),
                "a preset needs a name",
            ),
            (
                replace(&good, "\"name\": \"Slow Tide\",", ""),
                "has no \"name\"",
            ),
        ];
        for (text, expected) in cases {
            let error = read(text.as_bytes()).expect_err(&text).to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
            assert!(!error.contains('\n'), "{error:?} is not one line");
        }
        assert!(matches!(
            read(&vec![b' '; MAX_FILE_BYTES + 1]),
            Err(FileProblem::TooLarge(_))
        ));
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(check_name(" Dusk "), Ok("Dusk".into()));
        assert_eq!(check_name("   "), Err(NameProblem::Empty));
        assert_eq!(check_name("a\nb"), Err(NameProblem::ControlCharacter));
        assert_eq!(check_name(&"x".repeat(65)), Err(NameProblem::TooLong));
        assert!(check_name("Ünïcödé / ok?").is_ok());
    }

    /// Property-based fuzzing of the preset reader, as of the state loader: genuine files
    /// damaged byte by byte and cut short, and any mood written and read back.
    mod fuzz {
        use super::*;
        use crate::fuzzing;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn damaged_preset_files_are_refused_or_read_in_range(
                edits in fuzzing::edits(12),
                cut in proptest::option::of(any::<prop::sample::Index>()),
            ) {
                let mut bytes = fuzzing::damage(
                    write("Slow Tide", &mood()).expect("a name").into_bytes(),
                    &edits,
                );
                if let Some(cut) = cut {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
                fuzz_one(&bytes);
            }

            #[test]
            fn any_mood_reads_back_bit_for_bit(
                key in 0usize..12,
                scale in 0usize..8,
                tempo in 30.0f32..=180.0,
                units in prop::array::uniform3(0.0f32..=1.0),
                seed in 0u32..=65_535,
                name in "[^\\p{Cc}]{1,64}",
            ) {
                use nice_plug::prelude::Enum;
                prop_assume!(!name.trim().is_empty());
                let settings = MusicalSettings {
                    key: KeyName::from_index(key),
                    scale: ScaleName::from_index(scale),
                    tempo_bpm: tempo,
                    intensity: units[0],
                    brightness: units[1],
                    space: units[2],
                    seed,
                    ..MusicalSettings::default()
                };
                let text = write(&name, &settings).expect("a name");
                let back = read(text.as_bytes()).expect("reads");
                prop_assert_eq!(back.settings.tempo_bpm.to_bits(), tempo.to_bits());
                prop_assert_eq!(back.settings, settings);
            }
        }
    }
}
