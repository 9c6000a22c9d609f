//! Same inputs, same music: across runs, chunk sizes and seeks; different
//! seeds, different music; and no loop-like repetition.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn same_seed_same_events(seed in any::<u64>(), intensity in 0.0f32..=1.0) {
        let s = settings(Key::E, Scale::Minor, intensity);
        prop_assert_eq!(render(seed, s, 200.0), render(seed, s, 200.0));
    }

    #[test]
    fn chunking_does_not_change_the_music(
        seed in any::<u64>(),
        intensity in 0.0f32..=1.0,
        steps in prop::collection::vec(0.001f64..9.0, 1..120),
    ) {
        let s = settings(Key::G, Scale::Mixolydian, intensity);
        let mut composer = Composer::new(seed, s);
        let mut chunked = Vec::new();
        let mut beat = 0.0;
        for step in steps {
            beat += step;
            composer.advance_to(beat, &mut chunked);
            prop_assert_eq!(composer.position_beats(), beat);
        }
        prop_assert_eq!(chunked, render(seed, s, beat));
    }

    #[test]
    fn seek_equals_a_fresh_composer(
        seed in any::<u64>(),
        intensity in 0.0f32..=1.0,
        target in 0.0f64..1200.0,
        wander in 0.0f64..400.0,
    ) {
        let s = settings(Key::CSharp, Scale::Dorian, intensity);
        let mut fresh = Composer::new(seed, s);
        let mut skipped = Vec::new();
        fresh.advance_to(target, &mut skipped);
        let mut expected = Vec::new();
        fresh.advance_to(target + 96.0, &mut expected);

        let mut seeker = Composer::new(seed, s);
        let mut ignored = Vec::new();
        seeker.advance_to(wander, &mut ignored);
        seeker.seek(target);
        prop_assert_eq!(seeker.current_chord(), fresh_chord_at(seed, s, target));
        let mut got = Vec::new();
        seeker.advance_to(target + 96.0, &mut got);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn different_seeds_differ(seed in any::<u64>()) {
        let s = settings(Key::A, Scale::Minor, 0.5);
        prop_assert_ne!(render(seed, s, 128.0), render(seed.wrapping_add(1), s, 128.0));
    }
}

/// The chord a fresh composer reports at `beat`.
fn fresh_chord_at(seed: u64, settings: ComposerSettings, beat: f64) -> ChordInfo {
    let mut composer = Composer::new(seed, settings);
    composer.advance_to(beat, &mut Vec::new());
    composer.current_chord()
}

#[test]
fn settings_before_playing_equal_a_fresh_start() {
    let first = settings(Key::C, Scale::Major, 0.1);
    let second = settings(Key::F, Scale::Lydian, 0.9);
    let mut changed = Composer::new(5, first);
    changed.set_settings(second);
    let mut events = Vec::new();
    changed.advance_to(300.0, &mut events);
    assert_eq!(events, render(5, second, 300.0));
}

#[test]
fn events_come_in_start_order_with_finite_values() {
    for seed in 0..6 {
        for intensity in [0.0, 0.5, 1.0] {
            let events = render(seed, settings(Key::B, Scale::Phrygian, intensity), 1200.0);
            assert!(!events.is_empty());
            for pair in events.windows(2) {
                assert!(pair[0].start_beat <= pair[1].start_beat, "{pair:?}");
            }
            for e in &events {
                assert!(e.start_beat.is_finite() && e.start_beat >= 0.0);
                assert!(e.duration_beats.is_finite() && e.duration_beats > 0.0);
                assert!(
                    e.velocity.is_finite() && (0.0..=1.0).contains(&e.velocity),
                    "{e:?}"
                );
            }
        }
    }
}

/// An 8-bar window as (offset bits, duration bits, layer rank, note, borrowed).
type WindowKey = Vec<(u64, u64, u8, u8, bool)>;

#[test]
fn ten_minutes_never_repeat_an_eight_bar_window() {
    let tempo_bpm = 70.0;
    let bars = (beats_in(10.0, tempo_bpm) / 4.0) as usize;
    for seed in [1, 2, 3, 42] {
        for intensity in [0.0, 0.5, 1.0] {
            let s = ComposerSettings {
                tempo_bpm: tempo_bpm as f32,
                ..settings(Key::D, Scale::Dorian, intensity)
            };
            let events = render(seed, s, bars as f64 * 4.0);
            let mut seen: HashMap<WindowKey, usize> = HashMap::new();
            for window in 0..=bars - 8 {
                let (from, to) = (window as f64 * 4.0, window as f64 * 4.0 + 32.0);
                // Pitches, rhythm and layers only: velocity jitter alone
                // must not be what keeps the music from looping.
                let key: WindowKey = events
                    .iter()
                    .filter(|e| e.start_beat >= from && e.start_beat < to)
                    .map(|e| {
                        (
                            (e.start_beat - from).to_bits(),
                            e.duration_beats.to_bits(),
                            e.layer.rank(),
                            e.midi_note,
                            e.borrowed,
                        )
                    })
                    .collect();
                assert!(!key.is_empty());
                if let Some(earlier) = seen.insert(key, window) {
                    panic!("seed {seed} intensity {intensity}: bars {earlier} and {window} repeat");
                }
            }
        }
    }
}

#[test]
fn seeking_into_a_long_chord_can_resume_what_is_sounding() {
    let s = settings(Key::A, Scale::Minor, 0.0);
    let mut composer = Composer::new(12, s);
    composer.seek(5.5); // inside the first chord (at least two bars at intensity 0)
    let mut sounding = Vec::new();
    composer.sustained_notes(&mut sounding);
    let reference = render(12, s, 1.0);
    let pads: Vec<_> = reference.iter().filter(|e| e.layer == Layer::Pad).collect();
    assert!(!pads.is_empty());
    for pad in pads {
        let resumed = sounding
            .iter()
            .find(|e| e.layer == Layer::Pad && e.midi_note == pad.midi_note)
            .unwrap_or_else(|| panic!("pad {} not resumed", pad.midi_note));
        assert_eq!(resumed.start_beat, 5.5);
        assert_eq!(
            resumed.start_beat + resumed.duration_beats,
            pad.start_beat + pad.duration_beats
        );
    }
}

#[test]
fn bad_inputs_are_harmless() {
    let wild = ComposerSettings {
        key: Key::C,
        scale: Scale::Major,
        intensity: f32::NAN,
        tempo_bpm: -5.0,
    };
    let mut composer = Composer::new(u64::MAX, wild);
    assert_eq!(composer.settings().intensity, 0.0);
    let mut out = Vec::new();
    composer.advance_to(f64::NAN, &mut out);
    composer.advance_to(f64::INFINITY, &mut out);
    composer.advance_to(-3.0, &mut out);
    assert!(out.is_empty());
    assert_eq!(composer.position_beats(), 0.0);
    composer.seek(-10.0);
    assert_eq!(composer.position_beats(), 0.0);
    composer.seek(f64::NAN);
    assert_eq!(composer.position_beats(), 0.0);
    composer.advance_to(64.0, &mut out);
    assert!(!out.is_empty());
    // Going backwards without a seek emits nothing and keeps the position.
    let emitted = out.len();
    composer.advance_to(10.0, &mut out);
    assert_eq!((out.len(), composer.position_beats()), (emitted, 64.0));
    // A jump far ahead (days of music) plans only what it needs.
    composer.seek(1.0e7);
    composer.advance_to(1.0e7 + 32.0, &mut out);
    assert!(out.len() > emitted);
    assert_eq!(composer.seed(), u64::MAX);
}
