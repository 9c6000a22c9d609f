//! The bundle as a host sees it before playing a note: one plugin, its features and ports.

use crate::{PLUGIN_ID, release_clap};
use auralis_tests::clap_host::ClapBundle;

#[test]
fn bundle_lists_one_stereo_instrument_with_note_input_and_output() {
    let bundle = ClapBundle::load(release_clap()).unwrap_or_else(|e| panic!("{e:#}"));
    let plugins = bundle.plugins().expect("plugin factory");
    assert_eq!(plugins.len(), 1, "one plugin in the bundle: {plugins:?}");
    let plugin = &plugins[0];
    assert_eq!(plugin.id, PLUGIN_ID);
    assert_eq!(plugin.name, "Auralis");
    for feature in ["instrument", "synthesizer", "stereo"] {
        assert!(
            plugin.features.iter().any(|f| f == feature),
            "feature {feature} missing from {:?}",
            plugin.features
        );
    }
    assert!(
        plugin.features.iter().any(|f| f.ends_with("ambient")),
        "no ambient feature in {:?}",
        plugin.features
    );
    eprintln!(
        "factory: {} {} by {}, features {:?}",
        plugin.name, plugin.version, plugin.vendor, plugin.features
    );

    let mut instance = bundle.instantiate(PLUGIN_ID).expect("instantiate");
    let outputs = instance.audio_ports(false).expect("output ports");
    assert_eq!(outputs.len(), 1, "one output port: {outputs:?}");
    assert_eq!(outputs[0].channel_count, 2, "{outputs:?}");
    assert!(outputs[0].is_main, "{outputs:?}");
    assert_eq!(
        outputs[0].port_type.as_deref(),
        Some("stereo"),
        "{outputs:?}"
    );
    let inputs = instance.audio_ports(true).expect("input ports");
    assert!(
        inputs.is_empty(),
        "an instrument takes no audio: {inputs:?}"
    );
    let notes = instance.note_ports(true).expect("note ports");
    assert_eq!(notes.len(), 1, "one note input: {notes:?}");
    assert!(notes[0].clap_dialect || notes[0].midi_dialect, "{notes:?}");
    let notes_out = instance.note_ports(false).expect("note output ports");
    assert_eq!(
        notes_out.len(),
        1,
        "one note output, for MIDI out: {notes_out:?}"
    );

    assert!(bundle.instantiate("audio.auralis.nope").is_err());
}
