//! Validation of saved state before it is loaded.
//!
//! A host hands back whatever it stored: a blob from an older or newer Auralis, edited by hand,
//! or damaged. nice-plug rejects blobs that are not valid JSON; everything that parses passes
//! through [`sanitize`] first, which keeps only values that name a known parameter, have the
//! right type and are in range (out-of-range numbers are clamped), and logs what it dropped.
//! A dropped value leaves that parameter as it was: its default on a fresh instance.

use nice_plug::plugin::ParamValue;
use nice_plug::prelude::*;

use crate::params::{GAIN_MAX_DB, GAIN_MIN_DB, SEED_MAX, TEMPO_MAX_BPM, TEMPO_MIN_BPM};
use crate::params::{KeyName, MidiLayers, ScaleName};

/// What a stored value must look like for one parameter id.
enum Expected {
    Float { min: f32, max: f32 },
    Int { min: i32, max: i32 },
    Bool,
    Enum { variants: usize },
}

/// Every parameter id and what it accepts. A test checks this against `AuralisParams`.
fn expected(id: &str) -> Option<Expected> {
    Some(match id {
        "key" => Expected::Enum {
            variants: KeyName::variants().len(),
        },
        "scale" => Expected::Enum {
            variants: ScaleName::variants().len(),
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
            variants: MidiLayers::variants().len(),
        },
        "gain" => Expected::Float {
            min: GAIN_MIN_DB,
            max: GAIN_MAX_DB,
        },
        _ => return None,
    })
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
            (Some(Expected::Bool), ParamValue::Bool(_)) => true,
            (Some(Expected::Enum { variants }), ParamValue::I32(index)) => {
                usize::try_from(*index).is_ok_and(|i| i < variants)
            }
            // Enum ids are resolved by nice-plug, which ignores unknown ones.
            (Some(Expected::Enum { .. }), ParamValue::String(_)) => true,
            _ => false,
        };
        if !keep {
            nice_log!("ignoring saved value {value:?} for parameter {id:?}");
        }
        keep
    });
}

/// Whether dotted version `saved` is newer than `current` (missing or malformed parts count as 0).
fn is_newer(saved: &str, current: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|part| part.trim().parse().unwrap_or(0))
            .collect()
    };
    parse(saved) > parse(current)
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
}
