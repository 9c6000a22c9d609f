//! The melody behaves like a composed line: chord tones on strong beats,
//! mostly stepwise, leaps resolved, phrases that breathe, density that
//! follows intensity.

use super::*;
use crate::compose::melody::{LEAP_SEMITONES, MELODY_HIGH, MELODY_LOW};

/// Melody notes of a render, with the chord sounding at each.
fn melody_with_chords(seed: u64, s: ComposerSettings, bars: u64) -> Vec<(NoteEvent, ChordInfo)> {
    let (events, chords) = render_bars(seed, s, bars);
    events
        .into_iter()
        .filter(|e| e.layer == Layer::Melody)
        .map(|e| (e, chords[(e.start_beat / 4.0) as usize]))
        .collect()
}

/// Distance in scale steps between two melody notes: degrees of `scale`
/// when both belong to it; for borrowed notes, up to 2 semitones counts as
/// one step.
fn steps_between(key: Key, scale: Scale, a: u8, b: u8) -> i32 {
    match (scale.degree_of(key, a), scale.degree_of(key, b)) {
        (Some(x), Some(y)) => y - x,
        _ => {
            let semitones = i32::from(b) - i32::from(a);
            semitones.signum()
                * if semitones.abs() <= 2 {
                    semitones.abs().min(1)
                } else {
                    2
                }
        }
    }
}

/// Consecutive melody notes within one phrase.
fn phrase_pairs(
    notes: &[(NoteEvent, ChordInfo)],
) -> impl Iterator<Item = (&NoteEvent, &NoteEvent)> {
    notes
        .windows(2)
        .filter(|w| (w[0].0.start_beat / 32.0).floor() == (w[1].0.start_beat / 32.0).floor())
        .map(|w| (&w[0].0, &w[1].0))
}

#[test]
fn strong_beats_carry_chord_tones() {
    for scale in Scale::ALL {
        for seed in 0..4 {
            let notes = melody_with_chords(seed, settings(Key::F, scale, 0.8), 80);
            assert!(!notes.is_empty(), "{scale} seed {seed}: no melody");
            for (note, chord) in &notes {
                let in_bar = note.start_beat % 4.0;
                if in_bar == 0.0 || in_bar == 2.0 {
                    assert!(
                        chord.chord.pitch_classes().contains(note.midi_note),
                        "{scale} seed {seed}: {} over {} at beat {}",
                        note.midi_note,
                        chord,
                        note.start_beat
                    );
                }
            }
        }
    }
}

#[test]
fn melody_is_mostly_stepwise() {
    for scale in Scale::ALL {
        let (mut steps, mut repeats, mut total) = (0, 0, 0);
        for seed in 0..6 {
            let key = Key::from_pitch_class(seed as u8);
            let (mut seed_steps, mut seed_total) = (0, 0);
            for intensity in [0.5, 1.0] {
                let notes = melody_with_chords(seed, settings(key, scale, intensity), 64);
                for (a, b) in phrase_pairs(&notes) {
                    let moved = steps_between(key, scale, a.midi_note, b.midi_note).abs();
                    seed_total += 1;
                    if moved <= 1 {
                        seed_steps += 1;
                    }
                    if moved == 0 {
                        repeats += 1;
                    }
                }
            }
            // Every seed sings mostly by step, not just the average.
            let share = f64::from(seed_steps) / f64::from(seed_total.max(1));
            assert!(
                seed_total >= 30 && share >= 0.6,
                "{scale} seed {seed}: {share} of {seed_total}"
            );
            steps += seed_steps;
            total += seed_total;
        }
        let share = f64::from(steps) / f64::from(total);
        let repeat_share = f64::from(repeats) / f64::from(total);
        assert!(share >= 0.7, "{scale}: stepwise share {share}");
        assert!(
            repeat_share < 0.2,
            "{scale}: repeated-note share {repeat_share}"
        );
    }
}

#[test]
fn leaps_are_resolved_by_step_in_the_opposite_direction() {
    let mut leaps = 0;
    for scale in Scale::ALL {
        for seed in 0..6 {
            let key = Key::from_pitch_class(5 * seed as u8);
            let notes = melody_with_chords(seed, settings(key, scale, 0.9), 80);
            let pairs: Vec<_> = phrase_pairs(&notes).collect();
            for (i, (a, b)) in pairs.iter().enumerate() {
                let interval = i32::from(b.midi_note) - i32::from(a.midi_note);
                if interval.unsigned_abs() <= u32::from(LEAP_SEMITONES) {
                    continue;
                }
                leaps += 1;
                let (c, d) = pairs.get(i + 1).copied().unwrap_or_else(|| {
                    panic!("{scale} seed {seed}: leap into the phrase's last note")
                });
                assert_eq!(c.start_beat, b.start_beat);
                let back = steps_between(key, scale, c.midi_note, d.midi_note);
                assert_eq!(
                    back,
                    -interval.signum(),
                    "{scale} seed {seed}: {} {} {} unresolved",
                    a.midi_note,
                    b.midi_note,
                    d.midi_note
                );
            }
        }
    }
    assert!(
        leaps > 0,
        "the generator never leaps; the test would prove nothing"
    );
}

#[test]
fn melody_range_durations_and_breathing() {
    for seed in 0..10 {
        let notes = melody_with_chords(seed, settings(Key::A, Scale::Minor, 1.0), 128);
        for (note, _) in &notes {
            assert!((MELODY_LOW..=MELODY_HIGH).contains(&note.midi_note));
            assert!((0.5..=4.0).contains(&note.duration_beats), "{note:?}");
        }
        // Each phrase ends with a rest of at least half a beat.
        for phrase in 0..16 {
            let end = notes
                .iter()
                .filter(|(n, _)| (n.start_beat / 32.0) as u64 == phrase)
                .map(|(n, _)| n.start_beat + n.duration_beats)
                .fold(0.0f64, f64::max);
            assert!(
                end <= (phrase + 1) as f64 * 32.0 - 0.5,
                "seed {seed} phrase {phrase} ends at {end}"
            );
        }
    }
}

#[test]
fn density_follows_intensity() {
    let count = |intensity| -> usize {
        (0..8)
            .map(|seed| {
                render(seed, settings(Key::D, Scale::Dorian, intensity), 640.0)
                    .iter()
                    .filter(|e| e.layer == Layer::Melody)
                    .count()
            })
            .sum()
    };
    let (calm, middle, busy) = (count(0.0), count(0.5), count(1.0));
    // 8 seeds × 160 bars: intensity 0 is very sparse (well under one note
    // per bar on average), intensity 1 has several notes per bar.
    assert!(calm < 8 * 160 / 4, "calm {calm}");
    assert!(calm < middle && middle < busy, "{calm} {middle} {busy}");
    assert!(busy > 8 * 160 * 2, "busy {busy}");
}

#[test]
fn melody_rests_for_whole_phrases_sometimes() {
    for seed in 0..5 {
        let (events, _) = render_bars(seed, settings(Key::E, Scale::Lydian, 0.7), 160);
        let playing: Vec<bool> = (0..20)
            .map(|p| {
                events
                    .iter()
                    .any(|e| e.layer == Layer::Melody && (e.start_beat / 32.0) as u64 == p)
            })
            .collect();
        assert!(
            playing.iter().any(|&p| p) && playing.iter().any(|&p| !p),
            "seed {seed}: {playing:?}"
        );
    }
}
