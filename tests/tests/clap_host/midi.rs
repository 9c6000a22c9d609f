//! MIDI out: the composed notes reach the host on their layers' channels, in key, each ended.

use auralis_tests::checks::assert_sane;
use auralis_tests::clap_host::InEvent;

use crate::{new_instance, param_event};

/// Pitch classes of D Dorian, the default patch.
const D_DORIAN: [u8; 7] = [2, 4, 5, 7, 9, 11, 0];

#[test]
fn composed_notes_go_out_as_midi_on_the_chosen_layers() {
    let mut instance = new_instance();
    let midi_id = instance.param("MIDI Out").expect("MIDI Out").id;
    let all = instance.text_to_value(midi_id, "All").expect("parse All");
    let off = instance.text_to_value(midi_id, "Off").expect("parse Off");
    // Below 0.6 the composer borrows no chords, so every tonal note is in D Dorian.
    let setup = [
        InEvent::ParamValue {
            time: 0,
            param: midi_id,
            value: all,
        },
        param_event(&instance, "Intensity", 0, 0.55),
    ];
    instance.activate(48_000.0, 512).expect("activate");
    let rendered = instance
        .process_blocks(5_625, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&setup);
            }
        })
        .expect("process");
    assert_sane(&rendered, "MIDI out");
    let notes = &rendered.notes;
    let ons = |channel: u8| {
        notes
            .iter()
            .filter(|n| n.on && n.channel == channel)
            .count()
    };
    eprintln!(
        "60 s: {} note events; note-ons by channel: melody {}, pad {}, drone {}, texture {}, \
         bell {}, drums {}",
        notes.len(),
        ons(0),
        ons(1),
        ons(2),
        ons(3),
        ons(4),
        ons(9)
    );
    assert!(ons(0) >= 5, "melody notes out: {}", ons(0));
    assert!(ons(1) >= 3, "pad notes out: {}", ons(1));
    assert!(ons(2) >= 1, "drone notes out: {}", ons(2));
    for note in notes.iter().filter(|n| n.channel <= 4) {
        assert!(
            D_DORIAN.contains(&(note.key % 12)),
            "note {} on channel {} is not in D Dorian",
            note.key,
            note.channel + 1
        );
    }
    // Every note-on is ended by a later note-off of the same key and channel, or still sounds.
    let mut sounding: Vec<(u8, u8)> = Vec::new();
    for note in notes {
        let key = (note.channel, note.key);
        if note.on {
            assert!(
                !sounding.contains(&key),
                "{key:?} started twice without an end"
            );
            sounding.push(key);
        } else {
            let i = sounding.iter().position(|k| *k == key);
            assert!(i.is_some(), "note-off {key:?} without a note-on");
            sounding.swap_remove(i.unwrap_or_default());
        }
    }
    assert!(sounding.len() <= 12, "{} notes never ended", sounding.len());

    // Switched off: no new notes start.
    let silent = instance
        .process_blocks(470, |i, block| {
            if i == 0 {
                block.events.push(InEvent::ParamValue {
                    time: 0,
                    param: midi_id,
                    value: off,
                });
            }
        })
        .expect("process");
    let late_ons = silent.notes.iter().filter(|n| n.on).count();
    assert_eq!(late_ons, 0, "MIDI Out is Off, yet {late_ons} notes started");
}

/// Note-ons the plugin sends in 60 s with every layer out as MIDI at `intensity`.
fn onsets_in_a_minute(intensity: f64) -> usize {
    let mut instance = new_instance();
    let midi_id = instance.param("MIDI Out").expect("MIDI Out").id;
    let all = instance.text_to_value(midi_id, "All").expect("parse All");
    let setup = [
        InEvent::ParamValue {
            time: 0,
            param: midi_id,
            value: all,
        },
        param_event(&instance, "Intensity", 0, intensity),
    ];
    instance.activate(48_000.0, 1024).expect("activate");
    let rendered = instance
        .process_blocks(2_813, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&setup);
            }
        })
        .expect("process");
    assert_sane(&rendered, "onsets");
    rendered.notes.iter().filter(|n| n.on).count()
}

#[test]
fn intensity_brings_clearly_more_notes() {
    let (calm, busy) = (onsets_in_a_minute(0.1), onsets_in_a_minute(0.9));
    eprintln!("note onsets in 60 s: {calm} at Intensity 0.1, {busy} at 0.9");
    assert!(calm > 0, "Intensity 0.1 still plays");
    assert!(
        busy >= 2 * calm,
        "0.9 has {busy} onsets, 0.1 has {calm}: not clearly more"
    );
}
