//! Key and scale changes land at the next chord change, voice-led, and split
//! the music cleanly into old-scale and new-scale events.

use super::*;
use crate::music::Voicing;

/// Beat of the first chord change after the position, found by playing a
/// clone with unchanged settings.
fn next_chord_change(composer: &Composer) -> f64 {
    let mut probe = composer.clone();
    let now = probe.current_chord().start_beat;
    let mut sink = Vec::new();
    loop {
        let bar_end = (probe.position_beats() / 4.0).floor() * 4.0 + 4.0;
        probe.advance_to(bar_end, &mut sink);
        let chord = probe.current_chord();
        if chord.start_beat != now {
            return chord.start_beat;
        }
    }
}

/// Checks every tonal, unborrowed event against the scale in force at its start.
fn assert_split(events: &[NoteEvent], change_beat: f64, old: (Key, Scale), new: (Key, Scale)) {
    for e in events.iter().filter(|e| is_tonal(e.layer) && !e.borrowed) {
        let (key, scale) = if e.start_beat < change_beat { old } else { new };
        assert!(
            scale.contains(key, e.midi_note),
            "{e:?} not in {key} {scale} (change at {change_beat})"
        );
    }
}

#[test]
fn key_change_lands_at_the_next_chord_change() {
    let old = (Key::C, Scale::Major);
    for (seed, new) in [
        (1, (Key::FSharp, Scale::Major)),
        (2, (Key::A, Scale::MinorPentatonic)),
        (3, (Key::DSharp, Scale::Phrygian)),
    ] {
        for intensity in [0.2, 0.9] {
            let mut composer = Composer::new(seed, settings(old.0, old.1, intensity));
            let mut events = Vec::new();
            composer.advance_to(45.3, &mut events);
            let change_beat = next_chord_change(&composer);
            assert!(change_beat > 45.3 && change_beat % 4.0 == 0.0);
            let chord_before = composer.current_chord();
            composer.set_settings(settings(new.0, new.1, intensity));
            assert_eq!(composer.current_chord(), chord_before, "never mid-chord");
            composer.advance_to(change_beat, &mut events);
            assert_eq!(composer.current_chord().start_beat, change_beat);
            let landed = composer.current_chord().chord;
            assert!(
                landed.pitch_classes().is_subset(new.1.pitch_classes(new.0))
                    || composer.current_chord().borrowed
            );
            composer.advance_to(change_beat + 200.0, &mut events);
            assert_split(&events, change_beat, old, new);

            // Voice-led: the pad at the change moves little from the one before.
            let pad_at = |beat: f64| {
                let notes: Vec<u8> = events
                    .iter()
                    .filter(|e| e.layer == Layer::Pad && e.start_beat == beat)
                    .map(|e| e.midi_note)
                    .collect();
                Voicing::from_notes(&notes)
            };
            let before = pad_at(chord_before.start_beat);
            let after = pad_at(change_beat);
            assert!(!before.is_empty() && !after.is_empty());
            let movement = before.movement_semitones(&after);
            assert!(
                movement <= 3 * before.len().max(after.len()) as u32,
                "moved {movement}"
            );
        }
    }
}

#[test]
fn change_at_an_untouched_chord_start_applies_immediately() {
    let mut composer = Composer::new(8, settings(Key::D, Scale::Dorian, 0.5));
    let mut events = Vec::new();
    composer.advance_to(64.0, &mut events); // phrase 2 starts here; nothing of it played
    composer.set_settings(settings(Key::G, Scale::Lydian, 0.5));
    assert!(
        Scale::Lydian
            .pitch_classes(Key::G)
            .is_subset(Scale::Lydian.pitch_classes(Key::G))
    );
    assert!(
        composer
            .current_chord()
            .chord
            .pitch_classes()
            .is_subset(Scale::Lydian.pitch_classes(Key::G))
    );
    let split = events.len();
    composer.advance_to(200.0, &mut events);
    assert_split(
        &events[split..],
        64.0,
        (Key::D, Scale::Dorian),
        (Key::G, Scale::Lydian),
    );
}

#[test]
fn intensity_change_does_not_move_the_key() {
    let mut composer = Composer::new(4, settings(Key::B, Scale::Minor, 0.1));
    let mut events = Vec::new();
    composer.advance_to(50.0, &mut events);
    composer.set_settings(settings(Key::B, Scale::Minor, 1.0));
    composer.advance_to(400.0, &mut events);
    assert_split(&events, 0.0, (Key::B, Scale::Minor), (Key::B, Scale::Minor));
    let late_percussion = events
        .iter()
        .filter(|e| e.start_beat >= 64.0 && matches!(e.layer, Layer::Percussion(_)))
        .count();
    assert!(
        late_percussion > 0,
        "percussion follows the raised intensity"
    );
}
