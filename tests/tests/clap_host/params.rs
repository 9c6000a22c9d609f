//! Parameters: listed by name with ranges, defaults and texts; automation in process() read
//! back, with out-of-range and non-finite values contained; params.flush.

use auralis_tests::checks::{assert_sane, rms_dbfs};
use auralis_tests::clap_host::{InEvent, ParamDescription};
use clack_extensions::params::ParamInfoFlags;

use crate::measure::PITCH_CLASSES;
use crate::{PARAM_NAMES, new_instance, param_event};

#[test]
fn parameters_are_listed_by_name_with_ranges_defaults_and_texts() {
    let mut instance = new_instance();
    let listed: Vec<String> = instance.params().iter().map(|p| p.name.clone()).collect();
    assert_eq!(listed.len(), PARAM_NAMES.len(), "{listed:?}");
    for name in PARAM_NAMES {
        let p: ParamDescription = instance.param(name).expect("by name").clone();
        assert!(
            p.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
            "{name} not automatable"
        );
        assert!(p.min_value < p.max_value, "{name}: {p:?}");
        assert!(p.contains(p.default_value), "{name}: default {p:?}");
        let value = instance.value(p.id).expect("get_value");
        assert!(
            (value - p.default_value).abs() < 1e-6,
            "{name}: a new instance holds {value}, not its default {}",
            p.default_value
        );
    }
    let key = instance.param("Key").expect("Key").clone();
    assert!(key.flags.contains(ParamInfoFlags::IS_STEPPED));
    assert_eq!((key.min_value, key.max_value), (0.0, 11.0), "twelve keys");
    assert_eq!(instance.param("Seed").expect("Seed").max_value, 65_535.0);
    assert_eq!(instance.param("Sync to Host").expect("Sync").max_value, 1.0);
    for (name, text) in [
        ("Key", "D"),
        ("Scale", "Dorian"),
        ("Tempo", "70.0 BPM"),
        ("Sync to Host", "On"),
        ("Intensity", "45%"),
        ("Seed", "7"),
        ("Gain", "0.0 dB"),
    ] {
        assert_eq!(instance.text_by_name(name).expect("text"), text, "{name}");
    }
    for (index, name) in PITCH_CLASSES.iter().enumerate() {
        assert_eq!(
            instance.value_to_text(key.id, index as f64).expect("text"),
            *name
        );
        let parsed = instance.text_to_value(key.id, name).expect("parse key");
        assert!(
            (parsed - index as f64).abs() < 1e-6,
            "{name} parses to {parsed}"
        );
    }
}

#[test]
fn automation_is_read_back_and_out_of_range_values_are_contained() {
    let mut instance = new_instance();
    instance.activate(48_000.0, 512).expect("activate");
    let before = instance.render(2.0, 512).expect("process");
    let loud = rms_dbfs(before.tail(1.0).0, before.tail(1.0).1);

    // Values parsed from text, sent at different frames of one block, read back as text.
    let tempo = instance.param("Tempo").expect("Tempo").id;
    let seed = instance.param("Seed").expect("Seed").id;
    let gain = instance.param("Gain").expect("Gain").id;
    let events = [
        InEvent::ParamValue {
            time: 0,
            param: tempo,
            value: instance.text_to_value(tempo, "120").expect("parse tempo"),
        },
        InEvent::ParamValue {
            time: 10,
            param: seed,
            value: instance.text_to_value(seed, "4242").expect("parse seed"),
        },
        InEvent::ParamValue {
            time: 20,
            param: gain,
            value: instance.text_to_value(gain, "-60").expect("parse gain"),
        },
    ];
    let quiet = instance
        .process_blocks(94, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&events);
            }
        })
        .expect("process");
    assert_sane(&quiet, "gain -60 dB");
    assert_eq!(instance.text_by_name("Tempo").expect("text"), "120.0 BPM");
    assert_eq!(instance.text_by_name("Seed").expect("text"), "4242");
    assert_eq!(instance.text_by_name("Gain").expect("text"), "-60.0 dB");
    let soft = rms_dbfs(quiet.tail(0.5).0, quiet.tail(0.5).1);
    eprintln!("gain 0 dB → -60 dB: RMS {loud:.1} → {soft:.1} dBFS");
    assert!(
        loud - soft > 40.0,
        "Gain -60 dB is not audible: {loud:.1} → {soft:.1} dBFS"
    );

    // Out-of-range and non-finite automation: every value stays in range.
    let garbage = [
        param_event(&instance, "Tempo", 0, 1e9),
        param_event(&instance, "Intensity", 1, -5.0),
        param_event(&instance, "Key", 2, 99.0),
        param_event(&instance, "Gain", 3, f64::NAN),
        param_event(&instance, "Seed", 4, f64::INFINITY),
    ];
    let rendered = instance
        .process_blocks(10, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&garbage);
            }
        })
        .expect("process garbage automation");
    assert_sane(&rendered, "garbage automation");
    for p in instance.params().to_vec() {
        let value = instance.value(p.id).expect("get_value");
        assert!(p.contains(value), "{} = {value} after garbage", p.name);
    }
    assert_eq!(instance.text_by_name("Tempo").expect("text"), "180.0 BPM");
    assert_eq!(instance.text_by_name("Intensity").expect("text"), "0%");
    assert_eq!(instance.text_by_name("Key").expect("text"), "B");
    assert_eq!(
        instance.text_by_name("Gain").expect("text"),
        "-60.0 dB",
        "a NaN must be ignored"
    );
    assert_eq!(
        instance.text_by_name("Seed").expect("text"),
        "4242",
        "an infinity must be ignored"
    );

    // params.flush: on the audio thread while active, on the main thread while inactive.
    let intensity = instance.param("Intensity").expect("Intensity").id;
    let brightness = instance.param("Brightness").expect("Brightness").id;
    instance.flush(&[(intensity, 0.8)]).expect("flush (active)");
    assert_eq!(instance.text_by_name("Intensity").expect("text"), "80%");
    instance.deactivate().expect("deactivate");
    instance
        .flush(&[(brightness, 0.25)])
        .expect("flush (inactive)");
    assert_eq!(instance.text_by_name("Brightness").expect("text"), "25%");
    instance.activate(48_000.0, 512).expect("reactivate");
    let rendered = instance.render(0.5, 512).expect("process");
    assert_sane(&rendered, "after flush");
}
