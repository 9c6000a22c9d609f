//! Every layer stays in its register and in the scale; harmony moves at the
//! promised rate; percussion, texture and borrowed chords appear only where
//! intensity allows; the arrangement evolves.

use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_tonal_note_is_in_the_scale_unless_borrowed(
        key in any_key(),
        scale in any_scale(),
        seed in any::<u64>(),
        intensity in 0.0f32..=1.0,
    ) {
        let (events, chords) = render_bars(seed, settings(key, scale, intensity), 48);
        let allowed = scale.pitch_classes(key);
        for e in events.iter().filter(|e| is_tonal(e.layer)) {
            let chord = chords[(e.start_beat / 4.0) as usize];
            if e.borrowed {
                // Only over a borrowed chord, and only from the parallel mode.
                prop_assert!(chord.borrowed, "{:?} flagged borrowed over {}", e, chord);
                prop_assert!(scale.parallel().contains(key, e.midi_note), "{:?}", e);
                prop_assert!(!allowed.contains(e.midi_note), "{:?} flagged but in scale", e);
                if e.layer == Layer::Pad {
                    prop_assert!(chord.chord.pitch_classes().contains(e.midi_note));
                }
            } else {
                prop_assert!(allowed.contains(e.midi_note), "{:?} not in {} {} (chord {})", e, key, scale, chord);
            }
        }
    }

    #[test]
    fn layers_keep_to_their_registers(seed in any::<u64>(), intensity in 0.0f32..=1.0) {
        let (events, chords) = render_bars(seed, settings(Key::GSharp, Scale::HarmonicMinor, intensity), 48);
        for e in &events {
            let range = match e.layer {
                Layer::Drone => 26..=45,
                Layer::Pad => 48..=72,
                Layer::Melody => 62..=84,
                Layer::Texture => 72..=96,
                Layer::Percussion(PercussionKind::Bell) => 76..=88,
                Layer::Percussion(PercussionKind::Pulse) => 32..=43,
                Layer::Percussion(_) => 0..=127,
            };
            prop_assert!(range.contains(&e.midi_note), "{:?}", e);
            if let Layer::Percussion(kind) = e.layer {
                prop_assert_eq!(e.duration_beats, 0.25);
                prop_assert!((0.2..=0.6).contains(&e.velocity));
                let chord = chords[(e.start_beat / 4.0) as usize].chord;
                if matches!(kind, PercussionKind::Bell) {
                    prop_assert!(chord.pitch_classes().contains(e.midi_note));
                }
                if matches!(kind, PercussionKind::Pulse) {
                    prop_assert_eq!(e.midi_note % 12, chord.root_pc);
                }
            }
        }
    }
}

#[test]
fn drone_is_a_tonic_pedal_and_pads_follow_the_chord() {
    for seed in 0..8 {
        let (events, chords) = render_bars(seed, settings(Key::C, Scale::Minor, 0.6), 96);
        for e in &events {
            let chord = chords[(e.start_beat / 4.0) as usize];
            match e.layer {
                Layer::Drone => assert!(e.midi_note % 12 == 0 || e.midi_note % 12 == 7, "{e:?}"),
                Layer::Pad => {
                    assert!(
                        chord.chord.pitch_classes().contains(e.midi_note),
                        "{e:?} over {chord}"
                    );
                    assert_eq!(
                        e.start_beat, chord.start_beat,
                        "pads start with their chord"
                    );
                    assert!(e.duration_beats >= 4.0, "pads sustain the whole chord");
                }
                _ => {}
            }
        }
    }
}

/// Average bars per chord over `phrases` phrases.
fn average_bars_per_chord(seed: u64, s: ComposerSettings, phrases: u64) -> f64 {
    let (_, chords) = render_bars(seed, s, phrases * 8);
    for c in &chords {
        assert_eq!(c.start_beat % 4.0, 0.0, "chords change on bar lines");
    }
    let changes = chords
        .windows(2)
        .filter(|w| w[0].start_beat != w[1].start_beat)
        .count()
        + 1;
    chords.len() as f64 / changes as f64
}

#[test]
fn harmonic_rhythm_follows_intensity_and_tempo() {
    for seed in 0..6 {
        let calm = average_bars_per_chord(seed, settings(Key::D, Scale::Dorian, 0.0), 30);
        let busy = average_bars_per_chord(seed, settings(Key::D, Scale::Dorian, 1.0), 30);
        assert!(
            calm >= 2.0,
            "seed {seed}: {calm} bars per chord at intensity 0"
        );
        assert!(
            busy <= 1.5,
            "seed {seed}: {busy} bars per chord at intensity 1"
        );
        let fast = ComposerSettings {
            tempo_bpm: 160.0,
            ..settings(Key::D, Scale::Dorian, 0.5)
        };
        let slow = settings(Key::D, Scale::Dorian, 0.5);
        assert!(average_bars_per_chord(seed, fast, 30) > average_bars_per_chord(seed, slow, 30));
    }
}

#[test]
fn no_percussion_below_intensity_point_one() {
    for seed in 0..10 {
        for intensity in [0.0, 0.05, 0.099] {
            let events = render(seed, settings(Key::E, Scale::Major, intensity), 1000.0);
            assert!(
                !events
                    .iter()
                    .any(|e| matches!(e.layer, Layer::Percussion(_)))
            );
        }
    }
}

#[test]
fn the_pulse_is_absent_below_intensity_point_three_and_plays_above() {
    let pulses = |intensity| -> usize {
        (0..10)
            .map(|seed| {
                render(seed, settings(Key::E, Scale::Major, intensity), 1000.0)
                    .iter()
                    .filter(|e| e.layer == Layer::Percussion(PercussionKind::Pulse))
                    .count()
            })
            .sum()
    };
    for intensity in [0.1, 0.2, 0.29] {
        assert_eq!(pulses(intensity), 0, "pulses at intensity {intensity}");
    }
    assert!(pulses(0.6) > 0, "no pulse at intensity 0.6");
}

#[test]
fn percussion_grows_with_intensity_and_stays_sparse() {
    let hits = |intensity| -> usize {
        (0..6)
            .map(|seed| {
                render(seed, settings(Key::E, Scale::Major, intensity), 800.0)
                    .iter()
                    .filter(|e| matches!(e.layer, Layer::Percussion(_)))
                    .count()
            })
            .sum()
    };
    let (low, high) = (hits(0.3), hits(0.9));
    assert!(low > 0, "some percussion at 0.3");
    assert!(high > 2 * low, "0.3 → {low}, 0.9 → {high}");
    // 6 seeds × 200 bars: under six hits per bar on average even at 0.9.
    assert!(high < 6 * 200 * 6, "{high}");
}

#[test]
fn borrowed_chords_only_above_point_six_and_flagged() {
    let count_borrowed = |intensity| -> usize {
        (0..8)
            .map(|seed| {
                let (events, chords) =
                    render_bars(seed, settings(Key::C, Scale::Major, intensity), 160);
                let flagged = events.iter().filter(|e| e.borrowed).count();
                let borrowed_bars = chords.iter().filter(|c| c.borrowed).count();
                assert_eq!(flagged > 0, borrowed_bars > 0);
                borrowed_bars
            })
            .sum()
    };
    assert_eq!(count_borrowed(0.6), 0);
    assert!(count_borrowed(1.0) > 0);
}

#[test]
fn layers_enter_and_leave_over_ten_minutes() {
    for seed in 0..6 {
        let (events, _) = render_bars(seed, settings(Key::A, Scale::Dorian, 0.6), 200);
        let phrases = 25;
        let per_phrase = |pred: &dyn Fn(&NoteEvent) -> bool| -> Vec<bool> {
            (0..phrases)
                .map(|p| {
                    events
                        .iter()
                        .any(|e| (e.start_beat / 32.0) as u64 == p && pred(e))
                })
                .collect()
        };
        let varies = |v: Vec<bool>| v.iter().any(|&x| x) && v.iter().any(|&x| !x);
        assert!(
            varies(per_phrase(&|e| e.layer == Layer::Texture)),
            "seed {seed}: texture never changes"
        );
        assert!(
            varies(per_phrase(&|e| matches!(e.layer, Layer::Percussion(_)))),
            "seed {seed}: percussion never changes"
        );
        assert!(
            varies(per_phrase(&|e| e.layer == Layer::Melody)),
            "seed {seed}: melody never rests"
        );
        // The pad thins to three voices in quiet stretches and fills out in others.
        let voices: Vec<usize> = (0..phrases)
            .map(|p| {
                events
                    .iter()
                    .filter(|e| e.layer == Layer::Pad && e.start_beat == p as f64 * 32.0)
                    .count()
            })
            .collect();
        assert!(
            voices.contains(&3) && voices.iter().any(|&v| v >= 4),
            "seed {seed}: {voices:?}"
        );
    }
}

#[test]
fn chord_names_display() {
    let (_, chords) = render_bars(9, settings(Key::D, Scale::Dorian, 0.5), 32);
    for c in chords {
        let name = c.to_string();
        assert_eq!(name, c.chord.name());
        assert!(
            name.starts_with(|ch: char| ch.is_ascii_uppercase()),
            "{name}"
        );
    }
}
