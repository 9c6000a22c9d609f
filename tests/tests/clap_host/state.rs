//! State: saved and restored into a fresh instance bit for bit; corrupted blobs rejected or
//! loaded with every value in range, never a crash.

use auralis_tests::checks::{XorShift, assert_sane, rms_dbfs};
use auralis_tests::clap_host::{ClapInstance, InEvent};
use clack_extensions::params::ParamRescanFlags;
use clack_host::utils::ClapId;

use crate::new_instance;

/// Every parameter's plain value.
fn all_values(instance: &mut ClapInstance) -> Vec<(String, f64)> {
    instance
        .params()
        .to_vec()
        .into_iter()
        .map(|p| {
            let value = instance.value(p.id).expect("get_value");
            (p.name, value)
        })
        .collect()
}

/// Non-default values for every parameter, as plain values.
fn patch(instance: &mut ClapInstance) -> Vec<(ClapId, f64)> {
    [
        ("Key", "F#"),
        ("Scale", "Lydian"),
        ("Tempo", "97.3"),
        ("Sync to Host", "Off"),
        ("Intensity", "81%"),
        ("Brightness", "23%"),
        ("Space", "37%"),
        ("Seed", "12345"),
        ("Gain", "-3.5"),
        ("MIDI Out", "All"),
        ("Follow", "Key"),
    ]
    .into_iter()
    .map(|(name, text)| {
        let id = instance.param(name).expect("param").id;
        let value = instance
            .text_to_value(id, text)
            .unwrap_or_else(|e| panic!("{name} from {text:?}: {e:#}"));
        (id, value)
    })
    .collect()
}

#[test]
fn state_round_trips_into_a_fresh_instance() {
    let mut original = new_instance();
    let changes = patch(&mut original);
    original.activate(48_000.0, 512).expect("activate");
    let events: Vec<InEvent> = changes
        .iter()
        .enumerate()
        .map(|(i, &(param, value))| InEvent::ParamValue {
            time: i as u32,
            param,
            value,
        })
        .collect();
    original
        .process_blocks(4, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&events);
            }
        })
        .expect("process");
    let saved_values = all_values(&mut original);
    let defaults: Vec<f64> = original.params().iter().map(|p| p.default_value).collect();
    for ((name, value), default) in saved_values.iter().zip(&defaults) {
        assert!(
            (value - default).abs() > 1e-6,
            "{name} still at its default: the patch did not apply"
        );
    }
    let blob = original.save_state().expect("save");
    eprintln!(
        "state: {} bytes: {}",
        blob.len(),
        String::from_utf8_lossy(blob.get(8..).unwrap_or_default())
    );

    let mut restored = new_instance();
    let rescans_before = restored.param_rescans().0;
    restored
        .load_state(&blob)
        .expect("load into a fresh instance");
    let restored_values = all_values(&mut restored);
    for ((name, saved), (_, loaded)) in saved_values.iter().zip(&restored_values) {
        assert_eq!(
            saved.to_bits(),
            loaded.to_bits(),
            "{name}: saved {saved}, loaded {loaded}"
        );
    }
    assert_eq!(restored.text_by_name("Key").expect("text"), "F#");
    assert_eq!(restored.text_by_name("Tempo").expect("text"), "97.3 BPM");
    let (rescans, flags) = restored.param_rescans();
    assert!(
        rescans > rescans_before && flags.is_some_and(|f| f.contains(ParamRescanFlags::VALUES)),
        "the host was not asked to rescan values after a load ({rescans} rescans, {flags:?})"
    );
    assert_eq!(
        restored.save_state().expect("save again"),
        blob,
        "saving the restored instance gives a different blob"
    );

    restored.activate(44_100.0, 256).expect("activate restored");
    let rendered = restored.render(1.5, 256).expect("process restored");
    assert_sane(&rendered, "restored");
    let rms = rms_dbfs(rendered.tail(1.0).0, rendered.tail(1.0).1);
    assert!(rms > -50.0, "restored instance is silent: {rms:.1} dBFS");
}

/// nice-plug's CLAP state: an 8-byte little-endian length, then JSON.
fn framed(json: &[u8]) -> Vec<u8> {
    let mut blob = (json.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(json);
    blob
}

#[test]
fn corrupted_state_is_rejected_or_loaded_safely() {
    let mut instance = new_instance();
    let good = instance.save_state().expect("save");
    let length = u64::from_le_bytes(good[..8].try_into().expect("8 bytes"));
    assert_eq!(
        length as usize,
        good.len() - 8,
        "the state framing changed (length prefix + JSON); update this test's corruptions"
    );
    let json: serde_json::Value = serde_json::from_slice(&good[8..]).expect("state is JSON");
    assert!(json["params"].is_object(), "no params map in {json}");

    let with_params = |params: serde_json::Value| {
        let mut doc = json.clone();
        for (id, value) in params.as_object().expect("object") {
            doc["params"][id] = value.clone();
        }
        framed(doc.to_string().as_bytes())
    };
    let mut rng = XorShift(0x5eed_cafe);
    let random: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let mut deep = vec![b'['; 100_000];
    deep.extend(vec![b']'; 100_000]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty stream", Vec::new()),
        ("three bytes", vec![1, 2, 3]),
        ("random bytes", random.clone()),
        ("random bytes with a valid length", framed(&random)),
        ("length u64::MAX", {
            let mut b = u64::MAX.to_le_bytes().to_vec();
            b.extend_from_slice(&good[8..]);
            b
        }),
        ("length longer than the data", {
            let mut b = (1u64 << 20).to_le_bytes().to_vec();
            b.extend_from_slice(&good[8..]);
            b
        }),
        ("truncated JSON", framed(&good[8..good.len() / 2])),
        ("truncated stream", good[..good.len() / 2].to_vec()),
        ("JSON null", framed(b"null")),
        ("JSON array", framed(b"[1, 2, 3]")),
        ("JSON number", framed(b"42")),
        ("deeply nested JSON", framed(&deep)),
        (
            "invalid UTF-8",
            framed(b"{\"version\": \"\xff\xfe\", \"params\": {}}"),
        ),
        (
            "huge number",
            framed(b"{\"params\": {\"tempo\": {\"f32\": 1e999999}}}"),
        ),
        ("version is a number", {
            let mut doc = json.clone();
            doc["version"] = serde_json::json!(5);
            framed(doc.to_string().as_bytes())
        }),
        ("params is a list", {
            let mut doc = json.clone();
            doc["params"] = serde_json::json!([1, 2]);
            framed(doc.to_string().as_bytes())
        }),
        (
            "wrong value types",
            with_params(serde_json::json!({
                "tempo": {"f32": "fast"},
            })),
        ),
        (
            "mismatched variants",
            with_params(serde_json::json!({
                "tempo": {"i32": 5},
                "sync": {"f32": 1.0},
                "seed": {"bool": true},
                "key": {"string": "h#"},
                "scale": {"f32": 2.0},
                "gain": {"string": "loud"},
            })),
        ),
        (
            "out of range",
            with_params(serde_json::json!({
                "tempo": {"f32": 1e9},
                "intens": {"f32": -3.0},
                "bright": {"f32": 7.0},
                "space": {"f32": 1e39},
                "seed": {"i32": -5},
                "key": {"i32": 40},
                "scale": {"i32": -1},
                "gain": {"f32": -1e30},
            })),
        ),
        (
            "unknown ids",
            with_params(serde_json::json!({
                "future": {"f32": 0.5},
                "": {"bool": true},
            })),
        ),
    ];

    instance.activate(48_000.0, 512).expect("activate");
    instance.render(0.2, 512).expect("process");
    let mut outcomes = Vec::new();
    for (what, blob) in &cases {
        let before = all_values(&mut instance);
        let result = instance.load_state(blob);
        let after = all_values(&mut instance);
        for (p, (name, value)) in instance.params().iter().zip(&after) {
            assert!(
                p.contains(*value),
                "{what}: {name} = {value} is outside {}..={}",
                p.min_value,
                p.max_value
            );
        }
        if result.is_err() {
            assert_eq!(before, after, "{what}: a rejected state changed parameters");
        }
        let rendered = instance
            .render(0.1, 512)
            .unwrap_or_else(|e| panic!("{what}: process after the load failed: {e:#}"));
        assert_sane(&rendered, what);
        outcomes.push(format!(
            "{what}: {}",
            if result.is_ok() { "loaded" } else { "rejected" }
        ));
    }
    eprintln!("corrupted states:\n  {}", outcomes.join("\n  "));

    // The clamped case, checked value by value on a fresh instance.
    let (_, out_of_range) = cases
        .iter()
        .find(|(what, _)| *what == "out of range")
        .expect("case");
    let mut fresh = new_instance();
    fresh
        .load_state(out_of_range)
        .expect("an in-format state with wild values loads (clamped)");
    assert_eq!(fresh.text_by_name("Tempo").expect("text"), "180.0 BPM");
    assert_eq!(fresh.text_by_name("Intensity").expect("text"), "0%");
    assert_eq!(fresh.text_by_name("Brightness").expect("text"), "100%");
    assert_eq!(fresh.text_by_name("Seed").expect("text"), "0");
    assert_eq!(fresh.text_by_name("Gain").expect("text"), "-60.0 dB");
    assert_eq!(
        fresh.text_by_name("Key").expect("text"),
        "D",
        "an invalid key index must leave the key alone"
    );
    assert_eq!(fresh.text_by_name("Scale").expect("text"), "Dorian");
    fresh.activate(48_000.0, 512).expect("activate");
    let rendered = fresh.render(1.0, 512).expect("process");
    assert_sane(&rendered, "after a clamped state");
}
