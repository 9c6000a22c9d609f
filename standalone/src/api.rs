//! What `serve` tells the web monitor (status) and lets it change (the parameter API).
//!
//! The parameter API speaks JSON with the same names and ranges as the command line:
//! `{"key": "F#", "scale": "lydian", "tempo_bpm": 72, "intensity": 0.4, "brightness": 0.6,
//! "space": 0.7, "seed": 12}`. A `PUT` may carry any subset; every value is validated before any
//! is applied, and the first bad one is refused with its field and range (HTTP 422).

use std::sync::Arc;

use auralis::engine::NowPlayingFeed;
use auralis::monitor::{MonitorStatus, ParamError, ParamsControl, StatusSource};
use auralis::params::{MusicalSettings, SEED_MAX, TEMPO_MAX_BPM, TEMPO_MIN_BPM, display_name};
use auralis::realtime::Telemetry;
use serde_json::{Map, Value, json};

use crate::cli::{parse_key, parse_scale};
use crate::live::LiveSettings;

/// The names of the parameters the API accepts, for error messages.
const FIELDS: &str = "key, scale, tempo_bpm, intensity, brightness, space, seed";

/// Status and parameter control of a live engine.
pub struct LiveApi {
    /// The settings the clock plays.
    pub settings: Arc<LiveSettings>,
    /// What is playing.
    pub feed: NowPlayingFeed,
    /// Underrun count.
    pub telemetry: Arc<Telemetry>,
    /// The renderer in use, as reported.
    pub renderer: String,
    /// Output sample rate.
    pub sample_rate: u32,
}

impl StatusSource for LiveApi {
    fn status(&self) -> MonitorStatus {
        MonitorStatus::from_engine(
            &self.settings.get(),
            self.feed.latest().as_ref(),
            self.telemetry.underruns(),
            self.sample_rate,
            &self.renderer,
        )
    }

    fn telemetry(&self) -> Option<&Telemetry> {
        Some(&self.telemetry)
    }
}

impl ParamsControl for LiveApi {
    fn get(&self) -> Value {
        to_json(&self.settings.get())
    }

    fn put(&self, changes: &Value) -> Result<Value, ParamError> {
        let Some(changes) = changes.as_object() else {
            return Err(ParamError::new(
                "",
                format!("expected a JSON object with any of: {FIELDS}"),
            ));
        };
        let updated = apply(self.settings.get(), changes)?;
        self.settings.set(updated);
        Ok(to_json(&updated))
    }
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
            "tempo_bpm" => {
                settings.tempo_bpm = number(value, TEMPO_MIN_BPM as f64, TEMPO_MAX_BPM as f64)
                    .map_err(reject)? as f32;
            }
            "intensity" => settings.intensity = number(value, 0.0, 1.0).map_err(reject)? as f32,
            "brightness" => settings.brightness = number(value, 0.0, 1.0).map_err(reject)? as f32,
            "space" => settings.space = number(value, 0.0, 1.0).map_err(reject)? as f32,
            "seed" => {
                let seed = value
                    .as_u64()
                    .filter(|s| *s <= SEED_MAX as u64)
                    .ok_or_else(|| {
                        reject(format!("must be an integer between 0 and {SEED_MAX}"))
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
    assert!(
        settings.tempo_bpm.is_finite()
            && (TEMPO_MIN_BPM..=TEMPO_MAX_BPM).contains(&settings.tempo_bpm),
        "{settings:?}"
    );
    for unit in [settings.intensity, settings.brightness, settings.space] {
        assert!(
            unit.is_finite() && (0.0..=1.0).contains(&unit),
            "{settings:?}"
        );
    }
    assert!(settings.seed <= SEED_MAX as u32, "{settings:?}");
}

/// An f32 as the f64 a person wrote: 0.8, not 0.800000011920929.
fn tidy(value: f32) -> f64 {
    (value as f64 * 1e4).round() / 1e4
}

fn number(value: &Value, min: f64, max: f64) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|v| v.is_finite() && (min..=max).contains(v))
        .ok_or_else(|| format!("must be a number between {min} and {max}"))
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
