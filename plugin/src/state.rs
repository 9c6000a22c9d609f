//! Validation of saved state before it is loaded.
//!
//! A host hands back whatever it stored: a blob from an older or newer Auralis, edited by hand,
//! or damaged. nice-plug rejects blobs that are not valid JSON; everything that parses passes
//! through [`sanitize`] first, which keeps only values that name a known parameter, have the
//! right type and are in range (out-of-range numbers are clamped), and logs what it dropped.
//! A dropped value leaves that parameter as it was: its default on a fresh instance.
//!
//! The same table of parameter ids reads preset files ([`crate::presets::file`]), which are
//! stricter: a bad value there refuses the file instead of being repaired.

use nice_plug::plugin::ParamValue;
use nice_plug::prelude::*;

use crate::params::{FollowMode, KeyName, MidiLayers, ScaleName};
use crate::params::{GAIN_MAX_DB, GAIN_MIN_DB, SEED_MAX, TEMPO_MAX_BPM, TEMPO_MIN_BPM};

/// What a stored value must look like for one parameter id.
#[derive(Clone, Copy)]
enum Expected {
    Float {
        min: f32,
        max: f32,
    },
    Int {
        min: i32,
        max: i32,
    },
    Bool,
    /// An enum parameter, stored by its variant's stable id (or, in old states, its index).
    Enum {
        ids: &'static [&'static str],
    },
}

/// The stable ids of an enum's variants (every Auralis enum has them).
fn enum_ids<E: Enum>() -> &'static [&'static str] {
    E::ids().unwrap_or_default()
}

/// Every parameter id and what it accepts. A test checks this against `AuralisParams`.
fn expected(id: &str) -> Option<Expected> {
    Some(match id {
        "key" => Expected::Enum {
            ids: enum_ids::<KeyName>(),
        },
        "scale" => Expected::Enum {
            ids: enum_ids::<ScaleName>(),
        },
        "tempo" => Expected::Float {
            min: TEMPO_MIN_BPM,
            max: TEMPO_MAX_BPM,
        },
        "sync" => Expected::Bool,
        "intens" | "bright" | "space" => Expected::Float { min: 0.0, max: 1.0 },
        "seed" => Expected::Int {
            min: 0,
            max: SEED_MAX,
        },
        "midi" => Expected::Enum {
            ids: enum_ids::<MidiLayers>(),
        },
        "follow" => Expected::Enum {
            ids: enum_ids::<FollowMode>(),
        },
        "gain" => Expected::Float {
            min: GAIN_MIN_DB,
            max: GAIN_MAX_DB,
        },
        _ => return None,
    })
}

/// Why a stored value is not valid for its parameter, in the words of someone editing a file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ValueProblem {
    /// No parameter has this id.
    UnknownId,
    /// The value is not of the parameter's kind; says what it should be.
    WrongType(String),
    /// A number outside the parameter's range (or not finite); says the range.
    OutOfRange(String),
}

impl std::fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownId => f.write_str("is not a parameter of Auralis"),
            Self::WrongType(what) | Self::OutOfRange(what) => write!(f, "must be {what}"),
        }
    }
}

impl Expected {
    fn describe(self) -> String {
        match self {
            Self::Float { min, max } => format!("a number from {min} to {max}"),
            Self::Int { min, max } => format!("a whole number from {min} to {max}"),
            Self::Bool => "true or false".into(),
            Self::Enum { ids } => format!("one of {}", quoted(ids)),
        }
    }

    /// Whether `value` is valid as it stands.
    fn check(self, value: &ParamValue) -> Result<(), ValueProblem> {
        match (self, value) {
            (Self::Float { min, max }, ParamValue::F32(v)) => {
                if v.is_finite() && (min..=max).contains(v) {
                    Ok(())
                } else {
                    Err(ValueProblem::OutOfRange(self.describe()))
                }
            }
            (Self::Int { min, max }, ParamValue::I32(v)) => {
                if (min..=max).contains(v) {
                    Ok(())
                } else {
                    Err(ValueProblem::OutOfRange(self.describe()))
                }
            }
            (Self::Bool, ParamValue::Bool(_)) => Ok(()),
            (Self::Enum { ids }, ParamValue::I32(index)) => {
                if usize::try_from(*index).is_ok_and(|i| i < ids.len()) {
                    Ok(())
                } else {
                    Err(ValueProblem::OutOfRange(self.describe()))
                }
            }
            (Self::Enum { ids }, ParamValue::String(id)) => {
                if ids.contains(&id.as_str()) {
                    Ok(())
                } else {
                    Err(ValueProblem::OutOfRange(self.describe()))
                }
            }
            _ => Err(ValueProblem::WrongType(self.describe())),
        }
    }
}

fn quoted(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    quoted.join(", ")
}

/// Whether `value` is a valid value of the parameter `id`, as it stands (nothing clamped).
///
/// # Errors
/// What is wrong with it: an unknown id, the wrong kind of value, or a value out of range.
#[cfg(any(test, fuzzing))]
pub(crate) fn check(id: &str, value: &ParamValue) -> Result<(), ValueProblem> {
    expected(id).ok_or(ValueProblem::UnknownId)?.check(value)
}

/// The value of parameter `id` written as plain JSON (`"d#"`, `70.5`, `7`, `true`), as preset
/// files hold it, read strictly: nothing is clamped or guessed.
///
/// # Errors
/// What is wrong with it, as [`check`] says.
pub(crate) fn from_json(id: &str, json: &serde_json::Value) -> Result<ParamValue, ValueProblem> {
    let expected = expected(id).ok_or(ValueProblem::UnknownId)?;
    let wrong = || ValueProblem::WrongType(expected.describe());
    let value = match expected {
        Expected::Float { .. } => {
            // f64 → f32 is exact for every value this version writes (they came from f32).
            ParamValue::F32(json.as_f64().ok_or_else(wrong)? as f32)
        }
        Expected::Int { .. } => {
            let int = json.as_i64().ok_or_else(wrong)?;
            ParamValue::I32(
                i32::try_from(int).map_err(|_| ValueProblem::OutOfRange(expected.describe()))?,
            )
        }
        Expected::Bool => ParamValue::Bool(json.as_bool().ok_or_else(wrong)?),
        Expected::Enum { .. } => ParamValue::String(json.as_str().ok_or_else(wrong)?.to_owned()),
    };
    expected.check(&value)?;
    Ok(value)
}

/// `value` as plain JSON, the inverse of [`from_json`].
pub(crate) fn to_json(value: &ParamValue) -> serde_json::Value {
    match value {
        ParamValue::F32(v) => {
            // f32's shortest decimal ("0.45"), which reads back to the same f32, not the
            // widened f64's ("0.44999998807907104").
            let shortest: f64 = v.to_string().parse().unwrap_or(f64::from(*v));
            serde_json::Value::from(shortest)
        }
        ParamValue::I32(v) => serde_json::Value::from(*v),
        ParamValue::Bool(v) => serde_json::Value::from(*v),
        ParamValue::String(v) => serde_json::Value::from(v.as_str()),
    }
}

/// Drops or repairs every value that is not valid for this version's parameters.
pub fn sanitize(state: &mut PluginState) {
    let saved_version = state.version.clone();
    if is_newer(&saved_version, env!("CARGO_PKG_VERSION")) {
        nice_log!(
            "loading state saved by Auralis {saved_version}, newer than this {}: unknown values \
             are ignored",
            env!("CARGO_PKG_VERSION")
        );
    }
    state.params.retain(|id, value| {
        let keep = match (expected(id), &mut *value) {
            (None, _) => false,
            (Some(Expected::Float { min, max }), ParamValue::F32(v)) if v.is_finite() => {
                *v = v.clamp(min, max);
                true
            }
            (Some(Expected::Int { min, max }), ParamValue::I32(v)) => {
                *v = (*v).clamp(min, max);
                true
            }
            // Anything else is kept only when valid as it stands. An unknown enum id would be
            // ignored by nice-plug anyway; dropping it here says so in the log.
            (Some(expected), value) => expected.check(value).is_ok(),
        };
        if !keep {
            nice_log!("ignoring saved value {value:?} for parameter {id:?}");
        }
        keep
    });
}

/// Whether dotted version `saved` is newer than `current` (missing or malformed parts count as 0).
pub(crate) fn is_newer(saved: &str, current: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|part| part.trim().parse().unwrap_or(0))
            .collect()
    };
    parse(saved) > parse(current)
}

/// Loads `blob` as a host would hand it back and panics if anything invalid survives
/// [`sanitize`]: one input of the fuzzers (the proptest ones here, cargo-fuzz's in `fuzz/`).
#[cfg(any(test, fuzzing))]
pub(crate) fn fuzz_one(blob: &[u8]) {
    if let Ok(mut loaded) = serde_json::from_slice::<PluginState>(blob) {
        sanitize(&mut loaded);
        assert_valid(&loaded);
    }
}

/// Panics unless every value in `state` names a parameter, has its type and is in range.
#[cfg(any(test, fuzzing))]
fn assert_valid(state: &PluginState) {
    for (id, value) in &state.params {
        assert!(
            check(id, value).is_ok(),
            "{id} = {value:?} survived sanitize"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::AuralisParams;
    use std::collections::BTreeMap;

    fn state(params: &[(&str, ParamValue)]) -> PluginState {
        PluginState {
            version: "0.1.0".into(),
            params: params
                .iter()
                .map(|(id, v)| (id.to_string(), v.clone()))
                .collect(),
            fields: BTreeMap::new(),
        }
    }

    #[test]
    fn the_table_covers_exactly_the_parameters() {
        let params = AuralisParams::default();
        for (id, _, _) in params.param_map() {
            assert!(expected(&id).is_some(), "no validation rule for {id}");
        }
        assert!(expected("nope").is_none());
    }

    #[test]
    fn out_of_range_values_are_clamped_and_garbage_dropped() {
        let mut s = state(&[
            ("tempo", ParamValue::F32(1.0e9)),
            ("intens", ParamValue::F32(-3.0)),
            ("gain", ParamValue::F32(f32::NAN)),
            ("seed", ParamValue::I32(-5)),
            ("key", ParamValue::I32(40)),
            ("scale", ParamValue::I32(2)),
            ("sync", ParamValue::F32(1.0)),
            ("future", ParamValue::Bool(true)),
        ]);
        sanitize(&mut s);
        let get = |id: &str| s.params.get(id).cloned();
        assert!(matches!(get("tempo"), Some(ParamValue::F32(v)) if v == TEMPO_MAX_BPM));
        assert!(matches!(get("intens"), Some(ParamValue::F32(v)) if v == 0.0));
        assert!(matches!(get("seed"), Some(ParamValue::I32(0))));
        assert!(matches!(get("scale"), Some(ParamValue::I32(2))));
        assert!(get("gain").is_none());
        assert!(get("key").is_none());
        assert!(get("sync").is_none());
        assert!(get("future").is_none());
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(is_newer("0.10.0", "0.9.9"));
        assert!(!is_newer("0.1.0", "0.1.0"));
        assert!(!is_newer("", "0.1.0"));
        assert!(is_newer("1", "0.9"));
    }

    /// Property-based fuzzing of what a host may hand back: arbitrary parameter maps, and
    /// genuine saved states damaged byte by byte. Whatever parses must come out of
    /// [`sanitize`] holding only known ids with valid, in-range values.
    mod fuzz {
        use super::*;
        use crate::fuzzing;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = ParamValue> {
            prop_oneof![
                any::<f32>().prop_map(ParamValue::F32),
                prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(-0.0f32)]
                    .prop_map(ParamValue::F32),
                any::<i32>().prop_map(ParamValue::I32),
                any::<bool>().prop_map(ParamValue::Bool),
                ".{0,12}".prop_map(ParamValue::String),
            ]
        }

        fn id() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "key", "scale", "tempo", "sync", "intens", "bright", "space", "seed", "midi",
                    "gain", "follow",
                ])
                .prop_map(str::to_string),
                "[a-z_]{0,10}",
            ]
        }

        /// A state as this version saves it, as the JSON nice-plug stores.
        fn genuine() -> Vec<u8> {
            let saved = state(&[
                ("key", ParamValue::I32(2)),
                ("scale", ParamValue::I32(2)),
                ("tempo", ParamValue::F32(70.0)),
                ("sync", ParamValue::Bool(true)),
                ("intens", ParamValue::F32(0.45)),
                ("bright", ParamValue::F32(0.5)),
                ("space", ParamValue::F32(0.6)),
                ("seed", ParamValue::I32(7)),
                ("midi", ParamValue::I32(3)),
                ("gain", ParamValue::F32(0.0)),
                ("follow", ParamValue::I32(0)),
            ]);
            serde_json::to_vec(&saved).expect("serialize")
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn any_parameter_map_is_sanitized_into_range(
                params in prop::collection::vec((id(), value()), 0..24),
                version in "[0-9.]{0,12}",
            ) {
                let mut loaded = PluginState {
                    version,
                    params: params.into_iter().collect(),
                    fields: BTreeMap::new(),
                };
                sanitize(&mut loaded);
                assert_valid(&loaded);
            }

            #[test]
            fn damaged_saved_states_are_refused_or_loaded_in_range(
                edits in fuzzing::edits(12),
                cut in proptest::option::of(any::<prop::sample::Index>()),
            ) {
                let mut blob = fuzzing::damage(genuine(), &edits);
                if let Some(cut) = cut {
                    blob.truncate(cut.index(blob.len() + 1));
                }
                fuzz_one(&blob);
            }
        }
    }
}
