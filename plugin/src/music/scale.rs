//! Scales (modes) as interval patterns above a key's tonic, with degree
//! arithmetic that wraps across octaves.
//!
//! Pure functions; any thread.

use std::fmt;

use crate::music::key::Key;
use crate::music::pitch_class_set::PitchClassSet;

/// A scale or mode. Combined with a [`Key`] it names a set of pitch classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scale {
    /// Ionian: 1 2 3 4 5 6 7.
    Major,
    /// Natural minor (Aeolian): 1 2 ♭3 4 5 ♭6 ♭7.
    Minor,
    /// Dorian: 1 2 ♭3 4 5 6 ♭7.
    Dorian,
    /// Phrygian: 1 ♭2 ♭3 4 5 ♭6 ♭7.
    Phrygian,
    /// Lydian: 1 2 3 ♯4 5 6 7.
    Lydian,
    /// Mixolydian: 1 2 3 4 5 6 ♭7.
    Mixolydian,
    /// Major pentatonic: 1 2 3 5 6.
    MajorPentatonic,
    /// Minor pentatonic: 1 ♭3 4 5 ♭7.
    MinorPentatonic,
    /// Harmonic minor: 1 2 ♭3 4 5 ♭6 7.
    HarmonicMinor,
}

impl Scale {
    /// Every scale, in declaration order.
    pub const ALL: [Scale; 9] = [
        Scale::Major,
        Scale::Minor,
        Scale::Dorian,
        Scale::Phrygian,
        Scale::Lydian,
        Scale::Mixolydian,
        Scale::MajorPentatonic,
        Scale::MinorPentatonic,
        Scale::HarmonicMinor,
    ];

    /// Semitones above the tonic of each degree, ascending, starting with 0.
    pub const fn intervals(self) -> &'static [u8] {
        match self {
            Scale::Major => &[0, 2, 4, 5, 7, 9, 11],
            Scale::Minor => &[0, 2, 3, 5, 7, 8, 10],
            Scale::Dorian => &[0, 2, 3, 5, 7, 9, 10],
            Scale::Phrygian => &[0, 1, 3, 5, 7, 8, 10],
            Scale::Lydian => &[0, 2, 4, 6, 7, 9, 11],
            Scale::Mixolydian => &[0, 2, 4, 5, 7, 9, 10],
            Scale::MajorPentatonic => &[0, 2, 4, 7, 9],
            Scale::MinorPentatonic => &[0, 3, 5, 7, 10],
            Scale::HarmonicMinor => &[0, 2, 3, 5, 7, 8, 11],
        }
    }

    /// Human-readable name, e.g. "Harmonic minor".
    pub const fn name(self) -> &'static str {
        match self {
            Scale::Major => "Major",
            Scale::Minor => "Minor",
            Scale::Dorian => "Dorian",
            Scale::Phrygian => "Phrygian",
            Scale::Lydian => "Lydian",
            Scale::Mixolydian => "Mixolydian",
            Scale::MajorPentatonic => "Major pentatonic",
            Scale::MinorPentatonic => "Minor pentatonic",
            Scale::HarmonicMinor => "Harmonic minor",
        }
    }

    /// Number of degrees per octave (7, or 5 for the pentatonics).
    pub const fn degree_count(self) -> usize {
        self.intervals().len()
    }

    /// Whether this is a five-note scale.
    pub const fn is_pentatonic(self) -> bool {
        matches!(self, Scale::MajorPentatonic | Scale::MinorPentatonic)
    }

    /// Whether the third above the tonic is minor (the "minor family").
    pub const fn has_minor_third(self) -> bool {
        matches!(
            self,
            Scale::Minor
                | Scale::Dorian
                | Scale::Phrygian
                | Scale::MinorPentatonic
                | Scale::HarmonicMinor
        )
    }

    /// The seven-note mode chords are built from: the pentatonics take their
    /// parent (major pentatonic → Major, minor pentatonic → Minor), every
    /// heptatonic scale is its own parent.
    pub const fn parent(self) -> Scale {
        match self {
            Scale::MajorPentatonic => Scale::Major,
            Scale::MinorPentatonic => Scale::Minor,
            other => other,
        }
    }

    /// The parallel mode that chords are borrowed from: natural minor for the
    /// major family, major for the minor family.
    pub const fn parallel(self) -> Scale {
        if self.has_minor_third() {
            Scale::Major
        } else {
            Scale::Minor
        }
    }

    /// Whether `midi_note`'s pitch class belongs to this scale in `key`.
    pub const fn contains(self, key: Key, midi_note: u8) -> bool {
        self.pitch_classes(key).contains(midi_note)
    }

    /// The scale's pitch classes in `key`.
    pub const fn pitch_classes(self, key: Key) -> PitchClassSet {
        let intervals = self.intervals();
        let mut bits = 0u16;
        let mut i = 0;
        while i < intervals.len() {
            bits |= 1 << ((key.index() + intervals[i]) % 12);
            i += 1;
        }
        PitchClassSet::from_bits(bits)
    }

    /// MIDI note of scale `degree` (0 = tonic) counted from the tonic in MIDI
    /// `octave` (octave 4 holds middle C = 60). Degrees below 0 or at/after
    /// [`degree_count`](Self::degree_count) wrap into lower/higher octaves, so
    /// `note_at_degree(key, 7, 4) == note_at_degree(key, 0, 5)` for a
    /// heptatonic scale. Returns `i32` because the result may leave 0..=127.
    pub fn note_at_degree(self, key: Key, degree: i32, octave: i32) -> i32 {
        let count = self.degree_count() as i32;
        let octave_shift = degree.div_euclid(count);
        let within = degree.rem_euclid(count) as usize;
        12 * (octave + 1 + octave_shift)
            + i32::from(key.index())
            + i32::from(self.intervals()[within])
    }

    /// Inverse of [`note_at_degree`](Self::note_at_degree) with `octave = -1`:
    /// the absolute degree of `midi_note` counted from the tonic nearest MIDI 0,
    /// or `None` when the note is not in the scale. The difference of two
    /// results is the distance in scale steps.
    pub fn degree_of(self, key: Key, midi_note: u8) -> Option<i32> {
        let above_tonic = i32::from(midi_note) - i32::from(key.index());
        let octave = above_tonic.div_euclid(12);
        let semitone = above_tonic.rem_euclid(12) as u8;
        let within = self.intervals().iter().position(|&i| i == semitone)?;
        Some(octave * self.degree_count() as i32 + within as i32)
    }

    /// Position (0-based degree within one octave) of `pitch_class` in the
    /// scale, or `None` when it is not a member.
    pub fn degree_of_pitch_class(self, key: Key, pitch_class: u8) -> Option<usize> {
        let semitone = (pitch_class % 12 + 12 - key.index()) % 12;
        self.intervals().iter().position(|&i| i == semitone)
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_key() -> impl Strategy<Value = Key> {
        (0u8..12).prop_map(Key::from_pitch_class)
    }

    fn any_scale() -> impl Strategy<Value = Scale> {
        (0usize..Scale::ALL.len()).prop_map(|i| Scale::ALL[i])
    }

    #[test]
    fn c_major_membership() {
        let set = Scale::Major.pitch_classes(Key::C);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 2, 4, 5, 7, 9, 11]);
        assert!(Scale::Major.contains(Key::C, 64));
        assert!(!Scale::Major.contains(Key::C, 61));
        assert!(Scale::Dorian.contains(Key::D, 71)); // B is the raised 6th of D Dorian
    }

    #[test]
    fn degrees_wrap_octaves() {
        assert_eq!(Scale::Major.note_at_degree(Key::C, 0, 4), 60);
        assert_eq!(Scale::Major.note_at_degree(Key::C, 7, 4), 72);
        assert_eq!(Scale::Major.note_at_degree(Key::C, -1, 4), 59);
        assert_eq!(Scale::MinorPentatonic.note_at_degree(Key::A, 5, 3), 69);
        assert_eq!(Scale::MinorPentatonic.note_at_degree(Key::A, -2, 4), 64);
    }

    #[test]
    fn every_scale_has_tonic_and_fifth() {
        for scale in Scale::ALL {
            let set = scale.pitch_classes(Key::C);
            assert!(set.contains(0) && set.contains(7), "{scale}");
            assert_eq!(set.len(), scale.degree_count());
        }
    }

    proptest! {
        #[test]
        fn degree_of_inverts_note_at_degree(key in any_key(), scale in any_scale(), degree in 0i32..60) {
            let note = scale.note_at_degree(key, degree, -1);
            prop_assume!((0..=127).contains(&note));
            prop_assert_eq!(scale.degree_of(key, note as u8), Some(degree));
            prop_assert!(scale.contains(key, note as u8));
        }

        #[test]
        fn degree_of_is_none_exactly_outside_the_scale(key in any_key(), scale in any_scale(), note in 0u8..128) {
            prop_assert_eq!(scale.degree_of(key, note).is_some(), scale.contains(key, note));
        }

        #[test]
        fn consecutive_degrees_ascend(key in any_key(), scale in any_scale(), degree in -30i32..30) {
            let low = scale.note_at_degree(key, degree, 4);
            let high = scale.note_at_degree(key, degree + 1, 4);
            prop_assert!(high > low && high - low <= 3);
        }
    }
}
