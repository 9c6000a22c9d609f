//! What `serve` tells the web monitor (status) and lets it change (the parameter API).
//!
//! The parameter API speaks JSON with the same names and ranges as the command line:
//! `{"key": "F#", "scale": "lydian", "tempo_bpm": 72, "intensity": 0.4, "brightness": 0.6,
//! "space": 0.7, "seed": 12}`. A `PUT` may carry any subset; every value is validated before any
//! is applied, and the first bad one is refused with its field and range (HTTP 422).
//! `"preset": "NAME"` applies a preset (a factory one or the user's own) first, so that other
//! fields in the same body adjust it; `GET` names the preset playing (`null` once edited).

use std::sync::{Arc, Mutex};

use auralis::monitor::{ParamError, ParamsControl};
use auralis::params::{
    BRIGHTNESS, INTENSITY, MusicalSettings, NumberRange, SEED, SPACE, TEMPO, display_name,
    parse_key, parse_scale,
};
use auralis::presets::user::UserPresets;
use auralis::presets::{self, NamedMood, same_mood};
use serde_json::{Map, Value, json};

use crate::live::LiveSettings;

/// The names of the parameters the API accepts, for error messages.
const FIELDS: &str = "preset, key, scale, tempo_bpm, intensity, brightness, space, seed";

/// Parameter control of a live engine.
pub struct LiveApi {
    /// The settings the clock plays.
    settings: Arc<LiveSettings>,
    /// The preset last applied (at start or through the API), to name it while it plays.
    preset: Mutex<Option<NamedMood>>,
}

impl LiveApi {
    /// Control of `settings`, which started from `preset` (if any).
    pub fn new(settings: Arc<LiveSettings>, preset: Option<NamedMood>) -> Self {
        Self {
            settings,
            preset: Mutex::new(preset),
        }
    }

    fn last_preset(&self) -> std::sync::MutexGuard<'_, Option<NamedMood>> {
        self.preset.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The settings as the API shows them, with the preset they are, if any.
    fn report(&self, settings: &MusicalSettings) -> Value {
        let mut json = to_json(settings);
        json["preset"] = preset_name(settings, self.last_preset().as_ref()).into();
        json
    }
}

impl ParamsControl for LiveApi {
    fn get(&self) -> Value {
        self.report(&self.settings.get())
    }

    fn put(&self, changes: &Value) -> Result<Value, ParamError> {
        let Some(changes) = changes.as_object() else {
            return Err(ParamError::new(
                "",
                format!("expected a JSON object with any of: {FIELDS}"),
            ));
        };
        let (updated, preset) = apply_with_preset(self.settings.get(), changes, |name| {
            presets::lookup(name, UserPresets::open().ok().as_ref())
        })?;
        self.settings.set(updated);
        if preset.is_some() {
            *self.last_preset() = preset;
        }
        Ok(self.report(&updated))
    }
}

/// The name of the preset `settings` play: the one last applied while its mood holds, else a
/// factory preset with that mood.
fn preset_name(settings: &MusicalSettings, last: Option<&NamedMood>) -> Option<String> {
    last.filter(|p| same_mood(&p.settings, settings))
        .map(|p| p.name.clone())
        .or_else(|| presets::factory_match(settings).map(|p| p.name.to_owned()))
}

/// `settings` with the preset of `changes` (if any, found by `lookup`) applied, then every other
/// change; and the preset applied.
///
/// # Errors
/// An unknown or unreadable preset, or the first change that is not valid; nothing is applied.
pub fn apply_with_preset(
    settings: MusicalSettings,
    changes: &Map<String, Value>,
    lookup: impl FnOnce(&str) -> Result<NamedMood, String>,
) -> Result<(MusicalSettings, Option<NamedMood>), ParamError> {
    let mut base = settings;
    let mut preset = None;
    if let Some(value) = changes.get("preset") {
        let reject = |message: String| ParamError::new("preset", message);
        let name = value
            .as_str()
            .ok_or_else(|| reject("must be a preset's name such as \"Dawn\"".into()))?;
        let found = lookup(name).map_err(reject)?;
        // The mood only: routing, gain and host sync are the session's.
        base = MusicalSettings {
            key: found.settings.key,
            scale: found.settings.scale,
            tempo_bpm: found.settings.tempo_bpm,
            intensity: found.settings.intensity,
            brightness: found.settings.brightness,
            space: found.settings.space,
            seed: found.settings.seed,
            ..base
        };
        preset = Some(found);
    }
    let mut others = changes.clone();
    others.remove("preset");
    Ok((apply(base, &others)?, preset))
}

/// The settings as the API shows them.
pub fn to_json(settings: &MusicalSettings) -> Value {
    json!({
        "key": display_name(settings.key),
        "scale": display_name(settings.scale),
        "tempo_bpm": tidy(settings.tempo_bpm),
        "intensity": tidy(settings.intensity),
        "brightness": tidy(settings.brightness),
        "space": tidy(settings.space),
        "seed": settings.seed,
    })
}

/// `settings` with every change applied, or the first change that is not valid.
pub fn apply(
    mut settings: MusicalSettings,
    changes: &Map<String, Value>,
) -> Result<MusicalSettings, ParamError> {
    for (field, value) in changes {
        let reject = |message: String| ParamError::new(field.as_str(), message);
        match field.as_str() {
            "key" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| reject("must be a key name such as \"F#\"".into()))?;
                settings.key = parse_key(text).map_err(reject)?;
            }
            "scale" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| reject("must be a scale name such as \"dorian\"".into()))?;
                settings.scale = parse_scale(text).map_err(reject)?;
            }
            "tempo_bpm" => settings.tempo_bpm = number(value, TEMPO).map_err(reject)?,
            "intensity" => settings.intensity = number(value, INTENSITY).map_err(reject)?,
            "brightness" => settings.brightness = number(value, BRIGHTNESS).map_err(reject)?,
            "space" => settings.space = number(value, SPACE).map_err(reject)?,
            "seed" => {
                let seed = value
                    .as_u64()
                    .filter(|s| SEED.contains(*s as f64))
                    .ok_or_else(|| {
                        reject(format!(
                            "must be an integer between {} and {}",
                            SEED.min, SEED.max
                        ))
                    })?;
                settings.seed = seed as u32;
            }
            _ => return Err(reject(format!("unknown parameter; known: {FIELDS}"))),
        }
    }
    Ok(settings)
}

/// Panics unless every value of `settings` is in its range: what the fuzzers of the API and
/// the command line require of whatever they let through.
#[cfg(test)]
pub(crate) fn assert_in_range(settings: &MusicalSettings) {
    for (value, range) in [
        (settings.tempo_bpm, TEMPO),
        (settings.intensity, INTENSITY),
        (settings.brightness, BRIGHTNESS),
        (settings.space, SPACE),
        (settings.seed as f32, SEED),
    ] {
        assert!(range.contains(f64::from(value)), "{settings:?}");
    }
}

/// An f32 as the f64 a person wrote: 0.8, not 0.800000011920929.
fn tidy(value: f32) -> f64 {
    (value as f64 * 1e4).round() / 1e4
}

fn number(value: &Value, range: NumberRange) -> Result<f32, String> {
    value
        .as_f64()
        .filter(|v| range.contains(*v))
        .map(|v| v as f32)
        .ok_or_else(|| format!("must be a number between {} and {}", range.min, range.max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use auralis::params::{KeyName, ScaleName};

    fn changes(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn valid_changes_apply_and_names_are_loose() {
        let updated = apply(
            MusicalSettings::default(),
            &changes(json!({"key": "f#", "scale": "Major Pentatonic", "tempo_bpm": 90, "seed": 9})),
        )
        .expect("valid");
        assert_eq!(updated.key, KeyName::FSharp);
        assert_eq!(updated.scale, ScaleName::MajorPentatonic);
        assert_eq!(updated.tempo_bpm, 90.0);
        assert_eq!(updated.seed, 9);
        assert_eq!(to_json(&updated)["key"], "F#");
    }

    #[test]
    fn a_preset_applies_first_and_other_fields_adjust_it() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = UserPresets::at(dir.path());
        let mine = MusicalSettings {
            seed: 321,
            tempo_bpm: 51.5,
            ..MusicalSettings::default()
        };
        store.save("Harbour", &mine).expect("save");
        let lookup = |name: &str| presets::lookup(name, Some(&store));

        let (updated, preset) = apply_with_preset(
            MusicalSettings::default(),
            &changes(json!({"preset": "deep field", "tempo_bpm": 50})),
            lookup,
        )
        .expect("valid");
        let deep_field = presets::find("Deep Field").expect("factory").settings;
        assert_eq!(
            (updated.key, updated.space),
            (deep_field.key, deep_field.space)
        );
        assert_eq!(updated.tempo_bpm, 50.0);
        assert_eq!(preset.as_ref().map(|p| p.name.as_str()), Some("Deep Field"));
        assert_eq!(
            preset_name(&updated, preset.as_ref()),
            None,
            "edited: no longer the preset"
        );

        let (updated, preset) = apply_with_preset(
            MusicalSettings::default(),
            &changes(json!({"preset": "HARBOUR"})),
            lookup,
        )
        .expect("a user preset");
        assert_eq!((updated.seed, updated.tempo_bpm), (321, 51.5));
        assert_eq!(
            preset_name(&updated, preset.as_ref()).as_deref(),
            Some("Harbour")
        );

        for body in [json!({"preset": "polka"}), json!({"preset": 3})] {
            let error = apply_with_preset(MusicalSettings::default(), &changes(body), lookup)
                .expect_err("refused");
            assert_eq!(error.field, "preset");
        }
        let error = apply_with_preset(
            MusicalSettings::default(),
            &changes(json!({"preset": "polka"})),
            lookup,
        )
        .expect_err("unknown");
        assert!(error.message.contains("Night Drive") && error.message.contains("Harbour"));
        let defaults = MusicalSettings::default();
        assert_eq!(preset_name(&defaults, None).as_deref(), Some("Auralis"));
    }

    #[test]
    fn bad_values_name_their_field_and_range_and_change_nothing() {
        for (body, field, range) in [
            (json!({"tempo_bpm": 500}), "tempo_bpm", "30"),
            (json!({"intensity": -1}), "intensity", "between 0 and 1"),
            (json!({"seed": 70000}), "seed", "65535"),
            (json!({"key": "H"}), "key", "valid keys"),
            (json!({"space": "lots"}), "space", "number"),
            (json!({"volume": 1}), "volume", "known:"),
        ] {
            let error =
                apply(MusicalSettings::default(), &changes(body.clone())).expect_err("invalid");
            assert_eq!(error.field, field, "{body}");
            assert!(error.message.contains(range), "{body}: {}", error.message);
        }
    }

    /// Property-based fuzzing of `PUT /api/v1/params` bodies: any JSON a client sends either
    /// changes the settings to valid values or is refused naming the field at fault.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                prop_oneof![
                    Just(-1.0),
                    Just(0.0),
                    Just(0.5),
                    Just(1.0),
                    Just(1e308),
                    Just(30.0),
                    Just(180.0)
                ]
                .prop_map(Value::from),
                ".{0,8}".prop_map(Value::from),
                prop::sample::select(vec!["F#", "bb", "dorian", "Minor Pentatonic", "H", ""])
                    .prop_map(Value::from),
            ];
            leaf.prop_recursive(2, 8, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(".{0,4}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(FIELDS.split(", ").collect::<Vec<_>>())
                    .prop_map(str::to_string),
                ".{0,10}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_body_is_applied_in_range_or_refused_by_field(
                changes in prop::collection::btree_map(field(), json_value(), 0..8),
            ) {
                let changes: Map<String, Value> = changes.into_iter().collect();
                match apply(MusicalSettings::default(), &changes) {
                    Ok(settings) => assert_in_range(&settings),
                    Err(error) => {
                        assert!(changes.contains_key(&error.field), "{error:?} for {changes:?}");
                        assert!(!error.message.is_empty());
                    }
                }
            }
        }
    }
}
