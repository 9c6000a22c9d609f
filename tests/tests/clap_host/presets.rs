//! Presets as a host's browser finds and loads them (in a child process, whose data directory
//! is a fresh temporary folder): the plugin's `clap.preset-discovery-factory` lists the six
//! factory moods and the user preset folder, the crawl finds a user preset this test wrote and
//! reports a damaged one, and loading each through `preset-load` sets the parameters to its
//! values and leaves the session's own (gain) alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use auralis::params::{TEMPO_MAX_BPM, TEMPO_MIN_BPM, display_name};
use auralis::presets::PRESETS;
use auralis_tests::clap_host::{ClapBundle, ClapInstance};
use auralis_tests::clap_presets::{DiscoveredPreset, PresetLocation};

use crate::child::{assert_child_passed, is_child, run_child};
use crate::{PLUGIN_ID, new_instance, release_clap};

const SCENARIO: &str = "presets::preset_scenario_in_a_child";
/// CLAP's flags for factory and user content.
const FACTORY: u32 = 1;
const USER: u32 = 2;

/// A user preset as a person could write it by hand.
const HARBOUR: &str = r#"{
  "format_version": 1,
  "name": "Harbour Lights",
  "auralis_version": "0.1.0",
  "parameters": { "key": "a#", "scale": "phrygian", "tempo": 41.5, "intens": 0.12,
                  "bright": 0.87, "space": 0.33, "seed": 31337 }
}
"#;

#[test]
fn hosts_discover_and_load_factory_and_user_presets() {
    let data = tempfile::tempdir().expect("a temporary data directory");
    let run = run_child(
        SCENARIO,
        &[("XDG_DATA_HOME", data.path().as_os_str())],
        Duration::from_secs(120),
    );
    assert_child_passed(&run, "preset scenario done");
}

/// The values of the mood parameters as the host reads them: key and scale as text, the rest
/// as CLAP values (nice-plug gives continuous parameters as 0..1 and stepped ones in steps).
fn mood(instance: &mut ClapInstance) -> (String, String, [f64; 5]) {
    let mut value = |name: &str| instance.value_by_name(name).expect(name);
    let numbers = [
        value("Tempo"),
        value("Intensity"),
        value("Brightness"),
        value("Space"),
        // Seed's steps pass through nice-plug's f32 normalisation: 31337 reads as 31337.0003.
        value("Seed").round(),
    ];
    (
        instance.text_by_name("Key").expect("key"),
        instance.text_by_name("Scale").expect("scale"),
        numbers,
    )
}

/// A tempo as the host's 0..1 value of the Tempo parameter.
fn tempo(bpm: f32) -> f64 {
    f64::from((bpm - TEMPO_MIN_BPM) / (TEMPO_MAX_BPM - TEMPO_MIN_BPM))
}

fn assert_mood(instance: &mut ClapInstance, expected: (&str, &str, [f64; 5]), what: &str) {
    let (key, scale, numbers) = mood(instance);
    assert_eq!(
        (key.as_str(), scale.as_str()),
        (expected.0, expected.1),
        "{what}"
    );
    for (got, want) in numbers.iter().zip(expected.2) {
        assert!(
            (got - want).abs() < 1e-4,
            "{what}: {numbers:?} != {:?}",
            expected.2
        );
    }
}

/// Moves every mood parameter (and gain) away from any preset, as a user tweaking would.
fn detune(instance: &mut ClapInstance) {
    let changes: Vec<_> = [
        ("Key", "C#"),
        ("Scale", "Minor Pentatonic"),
        ("Tempo", "177"),
        ("Intensity", "99%"),
        ("Brightness", "1%"),
        ("Space", "2%"),
        ("Seed", "12"),
        ("Gain", "-12"),
    ]
    .into_iter()
    .map(|(name, text)| {
        let id = instance.param(name).expect(name).id;
        (id, instance.text_to_value(id, text).expect(text))
    })
    .collect();
    instance.flush(&changes).expect("flush");
}

fn find<'a>(presets: &'a [DiscoveredPreset], name: &str) -> &'a DiscoveredPreset {
    presets
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not discovered: {presets:#?}"))
}

#[test]
#[ignore = "run by hosts_discover_and_load_factory_and_user_presets"]
fn preset_scenario_in_a_child() {
    if !is_child(SCENARIO, "hosts_discover_and_load_factory_and_user_presets") {
        return;
    }
    let data = PathBuf::from(std::env::var_os("XDG_DATA_HOME").expect("set by the parent"));
    let folder = data.join("auralis").join("presets");
    std::fs::create_dir_all(&folder).expect("preset folder");
    let harbour = folder.join("Harbour Lights.auralis");
    std::fs::write(&harbour, HARBOUR).expect("write a user preset");
    let broken = folder.join("Broken.auralis");
    let broken_text = &HARBOUR[..HARBOUR.len() / 2];
    std::fs::write(&broken, broken_text).expect("write a damaged one");

    let bundle = ClapBundle::load(release_clap()).expect("bundle");
    let discovery = bundle.discover_presets().expect("preset discovery");
    eprintln!("{discovery:#?}");
    assert_eq!(discovery.providers.len(), 1);
    assert!(
        discovery
            .file_types
            .iter()
            .any(|(_, ext)| ext.as_deref() == Some("auralis")),
        "{:?}",
        discovery.file_types
    );
    assert!(
        discovery
            .locations
            .iter()
            .any(|(_, place, flags)| *place == PresetLocation::Plugin && *flags == FACTORY)
    );
    assert!(
        discovery.locations.iter().any(|(_, place, flags)| *place
            == PresetLocation::File(folder.clone())
            && *flags == USER),
        "the user folder under XDG_DATA_HOME: {:?}",
        discovery.locations
    );

    // The six factory moods, with what a browser shows and filters by.
    for preset in &PRESETS {
        let found = find(&discovery.presets, preset.name);
        assert_eq!(found.flags, FACTORY);
        assert_eq!(found.location, Some(PresetLocation::Plugin));
        assert_eq!(found.load_key.as_deref(), Some(preset.name));
        assert_eq!(found.plugin_ids, [format!("clap:{PLUGIN_ID}")]);
        assert_eq!(found.description, preset.description);
        assert!(found.features.iter().any(|f| f == "ambient"), "{found:?}");
        assert!(found.features.len() >= 2, "{found:?}");
    }
    // The user's, found by crawling the declared folder; the damaged file reported, not listed.
    let user = find(&discovery.presets, "Harbour Lights");
    assert_eq!(user.flags, USER);
    assert_eq!(user.location, Some(PresetLocation::File(harbour.clone())));
    assert_eq!(discovery.presets.len(), PRESETS.len() + 1);
    assert_eq!(discovery.errors.len(), 1, "{:?}", discovery.errors);
    assert!(
        discovery.errors[0].contains("Broken.auralis") && discovery.errors[0].contains("damaged"),
        "{:?}",
        discovery.errors
    );

    // Loading each one changes the parameters to its values; gain stays the session's.
    let mut instance = new_instance();
    let gain = |instance: &mut ClapInstance| instance.value_by_name("Gain").expect("gain");
    for found in &discovery.presets {
        detune(&mut instance);
        let gain_before = gain(&mut instance);
        let rescans = instance.param_rescans().0;
        let location = found.location.clone().expect("crawled");
        let loaded = instance
            .load_preset(&location, found.load_key.as_deref())
            .unwrap_or_else(|e| panic!("{}: {e:#}", found.name));
        let expected = match PRESETS.iter().find(|p| p.name == found.name) {
            Some(p) => {
                assert_eq!(loaded, p.name, "the host is told which preset loaded");
                let s = p.settings;
                (
                    display_name(s.key),
                    display_name(s.scale),
                    [
                        tempo(s.tempo_bpm),
                        f64::from(s.intensity),
                        f64::from(s.brightness),
                        f64::from(s.space),
                        f64::from(s.seed),
                    ],
                )
            }
            None => {
                assert_eq!(Path::new(&loaded), harbour);
                ("A#", "Phrygian", [tempo(41.5), 0.12, 0.87, 0.33, 31337.0])
            }
        };
        assert_mood(&mut instance, expected, &found.name);
        assert_eq!(
            gain(&mut instance),
            gain_before,
            "gain belongs to the session"
        );
        assert!(
            instance.param_rescans().0 > rescans,
            "{}: the host was not asked to rescan the values",
            found.name
        );
    }

    // A preset loads while the instance plays, and it keeps playing.
    instance.activate(48_000.0, 512).expect("activate");
    instance.render(0.3, 512).expect("play");
    instance
        .load_preset(&PresetLocation::Plugin, Some("Deep Field"))
        .expect("load while active");
    let rendered = instance.render(1.0, 512).expect("play on");
    assert!(
        rendered.left.iter().all(|s| s.is_finite()),
        "non-finite output after a preset load"
    );
    assert_eq!(instance.text_by_name("Key").expect("key"), "C");
    instance.deactivate().expect("deactivate");

    // What cannot be loaded is refused with its reason, and the file is left as it was.
    let error = instance
        .load_preset(&PresetLocation::File(broken.clone()), None)
        .expect_err("damaged");
    assert!(format!("{error:#}").contains("damaged"), "{error:#}");
    assert_eq!(std::fs::read_to_string(&broken).expect("kept"), broken_text);
    let error = instance
        .load_preset(&PresetLocation::Plugin, Some("Polka"))
        .expect_err("unknown");
    assert!(format!("{error:#}").contains("Polka"), "{error:#}");
    println!("preset scenario done");
}
