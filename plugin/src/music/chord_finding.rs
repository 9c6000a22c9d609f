//! Naming the chord a player holds, and the scale a melody may use over it.
//!
//! [`recognize_chord`] matches the held pitch classes against every root and every
//! [`ChordQuality`]: a tone of the chord that is held scores, one that is missing costs a
//! little (players leave out fifths), a held tone the chord lacks costs more (it would clash),
//! and the held bass breaks ties toward the root position, so a held C6 and Am7/C are told
//! apart by the bass. Inversions come out as slash chords. Two notes are read as the triad or
//! power chord they most likely imply; one note is a pedal on which a chord of the key is
//! built. [`chord_scale`] finds the scale closest to the music's key that holds the chord.
//!
//! Pure functions; any thread. Nothing allocates.

use super::{Chord, ChordColour, ChordQuality, Key, PitchClassSet, Scale};

/// Score of a chord tone that is held.
const MATCH: f32 = 2.0;
/// Cost of a chord tone that is not held (often the fifth, left out).
const MISSING: f32 = 1.0;
/// Cost of a held tone the chord does not have.
const EXTRA: f32 = 1.5;
/// Bonus when the held bass is the chord's root: root position is the likelier reading.
const ROOT_IN_BASS: f32 = 0.5;
/// Scales tried as the melody's scale over a chord: the seven-note ones (a pentatonic would
/// leave chord tones out).
const CHORD_SCALES: [Scale; 7] = [
    Scale::Major,
    Scale::Minor,
    Scale::Dorian,
    Scale::Phrygian,
    Scale::Lydian,
    Scale::Mixolydian,
    Scale::HarmonicMinor,
];

/// The chord that `held` (pitch classes) with `bass_pc` lowest most likely is, in the context
/// of `key`/`scale` (which only a single held note needs). `None` when nothing is held.
pub fn recognize_chord(held: PitchClassSet, bass_pc: u8, key: Key, scale: Scale) -> Option<Chord> {
    let bass_pc = bass_pc % 12;
    match held.len() {
        0 => None,
        1 => Some(pedal_chord(bass_pc, key, scale)),
        _ => {
            let mut best: Option<(f32, Chord)> = None;
            for root in 0..12u8 {
                for quality in ChordQuality::ALL {
                    let chord = Chord::new(root, quality);
                    let score = fit(held, bass_pc, chord);
                    // Strictly better only: ties keep the earlier, simpler quality.
                    if best.is_none_or(|(top, _)| score > top) {
                        best = Some((score, chord));
                    }
                }
            }
            best.map(|(_, chord)| chord.with_bass(bass_pc))
        }
    }
}

/// How well `chord` explains `held` over `bass_pc`.
fn fit(held: PitchClassSet, bass_pc: u8, chord: Chord) -> f32 {
    let tones = chord.pitch_classes();
    let matched = held.intersection(tones).len() as f32;
    let missing = tones.difference(held).len() as f32;
    let extra = held.difference(tones).len() as f32;
    let root_in_bass = if chord.root_pc == bass_pc {
        ROOT_IN_BASS
    } else {
        0.0
    };
    MATCH * matched - MISSING * missing - EXTRA * extra + root_in_bass
}

/// The chord a single held note implies: the key's own seventh chord on it when the note is in
/// the scale (a pedal on the sixth degree of C major is Am7), else a bare fifth, which fits any
/// key.
fn pedal_chord(root_pc: u8, key: Key, scale: Scale) -> Chord {
    match scale.degree_of_pitch_class(key, root_pc) {
        Some(degree) if scale.parent() == scale => {
            Chord::diatonic(key, scale, degree as i32, ChordColour::Seventh)
        }
        _ => Chord::new(root_pc, ChordQuality::Power),
    }
}

/// The key and seven-note scale a melody plays over `chord` while the music is in `key`/`scale`:
/// the music's own when it holds every chord tone, else the scale holding them all that shares
/// the most notes with it (E7 in C major gives A harmonic minor, with its G#), preferring the
/// music's key, then the chord's root. A chord no scale holds (none of ours has two semitones in
/// a row plus a third) keeps the music's scale.
pub fn chord_scale(chord: Chord, key: Key, scale: Scale) -> (Key, Scale) {
    let tones = chord.pitch_classes();
    let home = scale.pitch_classes(key);
    if tones.is_subset(home) {
        return (key, scale);
    }
    let mut best: Option<(usize, u8, Key, Scale)> = None;
    for candidate_key in Key::ALL {
        for candidate in CHORD_SCALES {
            let pcs = candidate.pitch_classes(candidate_key);
            if !tones.is_subset(pcs) {
                continue;
            }
            let shared = pcs.intersection(home).len();
            let preference = if candidate_key == key {
                2
            } else if candidate_key.index() == chord.root_pc {
                1
            } else {
                0
            };
            if best.is_none_or(|(s, p, _, _)| (shared, preference) > (s, p)) {
                best = Some((shared, preference, candidate_key, candidate));
            }
        }
    }
    best.map_or((key, scale), |(_, _, k, s)| (k, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chord named by holding `notes` (MIDI numbers, lowest first) in C major.
    fn heard(notes: &[u8]) -> String {
        let held = notes.iter().map(|n| n % 12).collect();
        recognize_chord(held, notes[0], Key::C, Scale::Major)
            .expect("a chord")
            .name()
    }

    #[test]
    fn triads_sevenths_and_colours_are_named() {
        assert_eq!(heard(&[60, 64, 67]), "C");
        assert_eq!(heard(&[57, 60, 64]), "Am");
        assert_eq!(heard(&[62, 65, 69, 72]), "Dm7");
        assert_eq!(heard(&[52, 56, 59, 62]), "E7");
        assert_eq!(heard(&[60, 64, 67, 71]), "Cmaj7");
        assert_eq!(heard(&[60, 64, 67, 74]), "Cadd9");
        assert_eq!(heard(&[60, 65, 67]), "Csus4");
        assert_eq!(heard(&[60, 62, 67]), "Csus2");
        assert_eq!(heard(&[59, 62, 65, 69]), "Bm7b5");
    }

    #[test]
    fn a_seventh_without_its_fifth_is_still_a_seventh() {
        assert_eq!(heard(&[48, 52, 58]), "C7");
    }

    #[test]
    fn the_bass_decides_between_readings_and_names_inversions() {
        assert_eq!(heard(&[57, 60, 64, 67]), "Am7");
        assert_eq!(heard(&[60, 64, 67, 69]), "C6");
        assert_eq!(heard(&[52, 60, 67]), "C/E");
        assert_eq!(heard(&[55, 60, 64]), "C/G");
    }

    #[test]
    fn dyads_imply_their_likeliest_chord_and_one_note_is_a_pedal() {
        assert_eq!(heard(&[48, 55]), "C5");
        assert_eq!(heard(&[48, 52]), "C");
        assert_eq!(heard(&[57, 60]), "Am");
        assert_eq!(heard(&[45]), "Am7", "the sixth degree of C major");
        assert_eq!(heard(&[46]), "A#5", "a note outside the key");
        assert_eq!(
            recognize_chord(PitchClassSet::EMPTY, 0, Key::C, Scale::Major),
            None
        );
    }

    #[test]
    fn every_held_set_gets_a_chord_that_holds_most_of_it() {
        for bits in 1..4096u16 {
            let held = PitchClassSet::from_bits(bits);
            let bass = held.iter().next().unwrap();
            let chord = recognize_chord(held, bass, Key::D, Scale::Dorian).unwrap();
            assert_eq!(chord.bass_pc, bass);
            let covered = held.intersection(chord.pitch_classes()).len();
            assert!(covered * 2 >= held.len().min(6), "{held:?} → {chord:?}");
        }
    }

    #[test]
    fn the_melody_scale_over_a_chord_holds_it_and_stays_near_home() {
        let c_major = (Key::C, Scale::Major);
        let over = |root, quality| chord_scale(Chord::new(root, quality), Key::C, Scale::Major);
        assert_eq!(over(9, ChordQuality::Minor), c_major);
        assert_eq!(over(2, ChordQuality::Minor7), c_major);
        assert_eq!(
            over(4, ChordQuality::Dominant7),
            (Key::A, Scale::HarmonicMinor)
        );
        let (key, scale) = over(2, ChordQuality::Dominant7);
        assert!(
            Chord::new(2, ChordQuality::Dominant7)
                .pitch_classes()
                .is_subset(scale.pitch_classes(key))
        );
        assert_eq!(
            scale
                .pitch_classes(key)
                .intersection(Scale::Major.pitch_classes(Key::C))
                .len(),
            6,
            "D7 in C major changes one note: {key:?} {scale:?}"
        );
    }
}
