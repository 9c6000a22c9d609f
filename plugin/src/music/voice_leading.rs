//! Voice leading: choosing the placement of the next chord that moves the
//! voices least, within a register.
//!
//! Pure and allocation-free (fixed arrays); any thread. The search is a
//! brute-force enumeration of octave placements, at most a few hundred
//! candidates per chord change, so it is exact and cheap.

use crate::music::chord::Chord;
use crate::music::voicing::{MAX_VOICES, VoiceRange, Voicing, chord_tones, lowest_at_or_above};

/// Voices used when there is no previous voicing to take the count from.
const DEFAULT_VOICES: usize = 4;
/// Most octave placements considered per chord tone; a range wider than
/// this many octaves only loses its extremes.
const MAX_PLACEMENTS: usize = 6;

/// [`voice_lead_with_voices`] keeping the previous voicing's number of notes
/// (four when `previous` is empty).
pub fn voice_lead(previous: &Voicing, next: &Chord, range: VoiceRange) -> Voicing {
    let voices = if previous.is_empty() {
        DEFAULT_VOICES
    } else {
        previous.len()
    };
    voice_lead_with_voices(previous, next, range, voices)
}

/// Voicing of `next` with `voices` notes (clamped to 1..=[`MAX_VOICES`]) inside
/// `range` that moves least from `previous`.
///
/// Every octave placement of the chord's tones (see `voicing_priority`: a
/// triad with three or more voices always keeps all three tones) is scored by
/// total movement, plus a gentle pull toward the middle of the range so long
/// progressions do not creep to an edge, plus penalties for semitone rubs,
/// muddy low seconds and wide holes. A slash chord keeps its bass lowest when
/// it can. Placements outside `range` are never chosen; tones with no
/// placement in a very narrow range are left out.
pub fn voice_lead_with_voices(
    previous: &Voicing,
    next: &Chord,
    range: VoiceRange,
    voices: usize,
) -> Voicing {
    let (tones, count) = chord_tones(next, voices.clamp(1, MAX_VOICES));
    let Placements {
        notes: placements,
        counts: placement_counts,
        voices: used,
    } = Placements::of(&tones[..count], range);
    if used == 0 {
        return Voicing::EMPTY;
    }

    let slash_bass = (next.bass_pc != next.root_pc).then_some(next.bass_pc);
    let mut best: Option<(bool, f32, Voicing)> = None;
    let mut choice = [0usize; MAX_VOICES];
    'odometer: loop {
        let mut notes = [0u8; MAX_VOICES];
        for v in 0..used {
            notes[v] = placements[v][choice[v]];
        }
        let candidate = Voicing::from_notes(&notes[..used]);
        let distinct = candidate.notes().windows(2).all(|w| w[0] != w[1]);
        if distinct {
            let bass_ok = slash_bass.is_none_or(|pc| candidate.notes()[0] % 12 == pc);
            let cost = placement_cost(previous, &candidate, range);
            let better = match &best {
                None => true,
                Some((best_bass_ok, best_cost, _)) => {
                    (bass_ok, -cost) > (*best_bass_ok, -*best_cost)
                }
            };
            if better {
                best = Some((bass_ok, cost, candidate));
            }
        }
        for v in 0..used {
            choice[v] += 1;
            if choice[v] < placement_counts[v] {
                continue 'odometer;
            }
            choice[v] = 0;
        }
        break;
    }
    // Only doubled tones in a range too narrow for them (a power chord asked
    // for five voices) leave no distinct candidate; then use one voice fewer.
    match best {
        Some((_, _, voicing)) => voicing,
        None if count > 1 => voice_lead_with_voices(previous, next, range, count - 1),
        None => Voicing::EMPTY,
    }
}

/// Every octave placement of each chord tone inside a range.
struct Placements {
    /// Per voice, its placements from low to high; only the first `counts[v]` are meaningful.
    notes: [[u8; MAX_PLACEMENTS]; MAX_VOICES],
    /// Placements per voice.
    counts: [usize; MAX_VOICES],
    /// Voices with at least one placement (tones with none are left out).
    voices: usize,
}

impl Placements {
    /// The placements of `tones` (pitch classes) inside `range`.
    fn of(tones: &[u8], range: VoiceRange) -> Self {
        let mut placements = Self {
            notes: [[0; MAX_PLACEMENTS]; MAX_VOICES],
            counts: [0; MAX_VOICES],
            voices: 0,
        };
        for &pc in tones {
            let voice = placements.voices;
            let mut note = lowest_at_or_above(pc, range.low);
            let mut n = 0;
            while let Some(candidate) = note.filter(|&c| c <= range.high && n < MAX_PLACEMENTS) {
                placements.notes[voice][n] = candidate;
                n += 1;
                note = candidate.checked_add(12);
            }
            if n > 0 {
                placements.counts[voice] = n;
                placements.voices += 1;
            }
        }
        placements
    }
}

/// Score of one placement; lower is better.
fn placement_cost(previous: &Voicing, candidate: &Voicing, range: VoiceRange) -> f32 {
    let notes = candidate.notes();
    let mean = notes.iter().map(|&n| f32::from(n)).sum::<f32>() / notes.len() as f32;
    let drift = (mean - range.center()).abs();
    let span = f32::from(notes[notes.len() - 1] - notes[0]);
    let mut spacing = 0.0;
    for pair in notes.windows(2) {
        let (low, gap) = (pair[0], pair[1] - pair[0]);
        spacing += match gap {
            // A semitone rub (maj7 against its root) reads as a wrong note
            // in a soft pad; priced above any plausible saving in movement.
            1 => 8.0,
            2 if low < 57 => 1.5,
            g if g < 5 && low < 52 => 1.0,
            g if g > 12 => f32::from(g - 12) * 0.5,
            _ => 0.0,
        };
    }
    if span > 19.0 {
        spacing += (span - 19.0) * 0.5;
    }
    if previous.is_empty() {
        drift + spacing + 0.1 * span
    } else {
        previous.movement_semitones(candidate) as f32 + 0.35 * drift + spacing
    }
}

impl Voicing {
    /// The voicing of `chord` closest to the middle of `range` with even
    /// spacing: the starting point when there is nothing to lead from.
    pub fn centered(chord: &Chord, range: VoiceRange, voices: usize) -> Voicing {
        voice_lead_with_voices(&Voicing::EMPTY, chord, range, voices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::{ChordColour, ChordQuality, Key, Scale};
    use proptest::prelude::*;

    fn chord_strategy() -> impl Strategy<Value = Chord> {
        (0u8..12, 0usize..ChordQuality::ALL.len())
            .prop_map(|(root, q)| Chord::new(root, ChordQuality::ALL[q]))
    }

    #[test]
    fn c_to_f_moves_by_common_tone_and_steps() {
        let c = Voicing::from_notes(&[60, 64, 67]);
        let f = voice_lead(&c, &Chord::new(5, ChordQuality::Major), VoiceRange::PAD);
        assert_eq!(f.notes(), &[60, 65, 69]);
        assert_eq!(c.movement_semitones(&f), 3);
    }

    #[test]
    fn narrow_range_keeps_distinct_notes() {
        let v = voice_lead_with_voices(
            &Voicing::EMPTY,
            &Chord::new(0, ChordQuality::Major),
            VoiceRange::new(60, 67),
            5,
        );
        assert_eq!(v.notes(), &[60, 64, 67]);
    }

    #[test]
    fn voice_leading_moves_less_than_root_position() {
        // A typical ambient progression, repeated: I vi IV V ii iii in C.
        let degrees = [0, 5, 3, 4, 1, 2, 0, 3, 5, 4];
        let mut led = Voicing::EMPTY;
        let mut naive_prev = Voicing::EMPTY;
        let (mut led_total, mut naive_total) = (0, 0);
        for &d in degrees.iter().cycle().take(40) {
            let chord = Chord::diatonic(Key::C, Scale::Major, d, ChordColour::Seventh);
            let next = voice_lead_with_voices(&led, &chord, VoiceRange::PAD, 4);
            let naive = Voicing::root_position(&chord, VoiceRange::PAD, 4);
            led_total += led.movement_semitones(&next);
            naive_total += naive_prev.movement_semitones(&naive);
            led = next;
            naive_prev = naive;
        }
        assert!(
            led_total * 2 < naive_total,
            "led {led_total} vs naive {naive_total}"
        );
    }

    proptest! {
        #[test]
        fn voicings_stay_in_range_and_keep_triad_tones(
            chord in chord_strategy(),
            previous in prop::collection::vec(40u8..80, 0..=5),
            voices in 3usize..=5,
        ) {
            let previous = Voicing::from_notes(&previous);
            let v = voice_lead_with_voices(&previous, &chord, VoiceRange::PAD, voices);
            // Only a power chord can lack distinct placements for five voices.
            prop_assert!(v.len() == voices || (chord.quality == ChordQuality::Power && v.len() >= 2));
            prop_assert!(v.notes().iter().all(|&n| VoiceRange::PAD.contains(n)));
            prop_assert!(v.notes().windows(2).all(|w| w[0] < w[1]));
            prop_assert!(v.pitch_classes().is_subset(chord.pitch_classes()));
            if chord.quality.tone_count() == 3 {
                prop_assert_eq!(v.pitch_classes(), chord.pitch_classes());
            }
            prop_assert!(v.pitch_classes().contains(chord.root_pc));
        }

        #[test]
        fn leading_never_moves_more_than_the_centered_voicing(
            a in chord_strategy(),
            b in chord_strategy(),
        ) {
            let from = Voicing::centered(&a, VoiceRange::PAD, 4);
            let led = voice_lead_with_voices(&from, &b, VoiceRange::PAD, 4);
            let fresh = Voicing::centered(&b, VoiceRange::PAD, 4);
            // The led voicing may trade a few semitones for spacing, never more.
            prop_assert!(from.movement_semitones(&led) <= from.movement_semitones(&fresh) + 6);
        }

        #[test]
        fn average_random_progression_beats_root_position(
            roots in prop::collection::vec((0u8..12, 0usize..ChordQuality::ALL.len()), 8..24),
        ) {
            let mut led = Voicing::EMPTY;
            let mut naive_prev = Voicing::EMPTY;
            let (mut led_total, mut naive_total) = (0, 0);
            for (root, q) in roots {
                let chord = Chord::new(root, ChordQuality::ALL[q]);
                let next = voice_lead_with_voices(&led, &chord, VoiceRange::PAD, 4);
                let naive = Voicing::root_position(&chord, VoiceRange::PAD, 4);
                led_total += led.movement_semitones(&next);
                naive_total += naive_prev.movement_semitones(&naive);
                led = next;
                naive_prev = naive;
            }
            prop_assert!(led_total <= naive_total, "led {} vs naive {}", led_total, naive_total);
        }
    }
}
