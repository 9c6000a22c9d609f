//! Chords: a root, a quality and a bass, built diatonically from a key and
//! scale by stacking scale thirds, and named with sharps ("Dm9", "A#maj7").
//!
//! Pure functions; any thread. Only the naming functions allocate.

use std::fmt;

use crate::music::chord_quality::ChordQuality;
use crate::music::key::{Key, pitch_class_name};
use crate::music::pitch_class_set::PitchClassSet;
use crate::music::scale::Scale;

/// How much colour to stack on a diatonic chord. When the scale cannot supply
/// the requested colour on a degree (e.g. a major ninth over a Phrygian
/// tonic), [`Chord::diatonic`] falls back to the plainer chord.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChordColour {
    /// Root, third, fifth.
    Triad,
    /// Triad plus the scale's seventh.
    Seventh,
    /// Seventh chord plus a major ninth.
    Ninth,
    /// Triad plus a major ninth, without the seventh.
    AddNine,
    /// Root, major second, perfect fifth.
    Sus2,
    /// Root, perfect fourth, perfect fifth.
    Sus4,
    /// Root, fourth, fifth and minor seventh (7sus4).
    SevenSus4,
    /// Triad plus a major sixth.
    Sixth,
}

impl ChordColour {
    /// Every colour, in declaration order.
    pub const ALL: [ChordColour; 8] = [
        ChordColour::Triad,
        ChordColour::Seventh,
        ChordColour::Ninth,
        ChordColour::AddNine,
        ChordColour::Sus2,
        ChordColour::Sus4,
        ChordColour::SevenSus4,
        ChordColour::Sixth,
    ];
}

/// A chord: root pitch class, quality and bass pitch class (equal to the
/// root unless the chord is a slash chord).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chord {
    /// Pitch class of the root, 0..12.
    pub root_pc: u8,
    /// Interval structure above the root.
    pub quality: ChordQuality,
    /// Pitch class meant to sound lowest, 0..12.
    pub bass_pc: u8,
}

impl Chord {
    /// Root-position chord on `root_pc` (taken modulo 12).
    pub const fn new(root_pc: u8, quality: ChordQuality) -> Chord {
        Chord {
            root_pc: root_pc % 12,
            quality,
            bass_pc: root_pc % 12,
        }
    }

    /// The same chord over another bass pitch class (taken modulo 12).
    pub const fn with_bass(self, bass_pc: u8) -> Chord {
        Chord {
            bass_pc: bass_pc % 12,
            ..self
        }
    }

    /// The chord on scale `degree` (0 = tonic; wraps modulo 7) of `key` and
    /// `scale`, stacking thirds of the scale's seven-note parent. Pentatonic
    /// scales build from their parent mode (major pentatonic → Major, minor
    /// pentatonic → Minor), so the result may hold tones outside the
    /// pentatonic; use [`Chord::diatonic_within`] for a chord that stays inside.
    pub fn diatonic(key: Key, scale: Scale, degree: i32, colour: ChordColour) -> Chord {
        let parent = scale.parent().intervals();
        let root_step = degree.rem_euclid(7) as usize;
        // Semitones from the chord root to the scale tone `steps` degrees above it.
        let above = |steps: usize| -> u8 {
            let index = root_step + steps;
            parent[index % 7] + 12 * (index / 7) as u8 - parent[root_step]
        };
        let (second, third, fourth, fifth) = (above(1), above(2), above(3), above(4));
        let (sixth, seventh, ninth) = (above(5), above(6), above(8));
        let triad = match (third, fifth) {
            (4, 7) => ChordQuality::Major,
            (3, 7) => ChordQuality::Minor,
            (3, 6) => ChordQuality::Diminished,
            (4, 8) => ChordQuality::Augmented,
            _ => ChordQuality::Power,
        };
        let seventh_chord = match (third, fifth, seventh) {
            (4, 7, 11) => ChordQuality::Major7,
            (3, 7, 10) => ChordQuality::Minor7,
            (4, 7, 10) => ChordQuality::Dominant7,
            (3, 6, 10) => ChordQuality::HalfDiminished7,
            (3, 6, 9) => ChordQuality::Diminished7,
            (3, 7, 11) => ChordQuality::MinorMajor7,
            (4, 8, 11) => ChordQuality::AugmentedMajor7,
            _ => triad,
        };
        let perfect_fifth = fifth == 7;
        let quality = match colour {
            ChordColour::Triad => triad,
            ChordColour::Seventh => seventh_chord,
            ChordColour::Ninth => match (seventh_chord, ninth) {
                (ChordQuality::Major7, 14) => ChordQuality::Major9,
                (ChordQuality::Minor7, 14) => ChordQuality::Minor9,
                (ChordQuality::Dominant7, 14) => ChordQuality::Dominant9,
                (other, _) => other,
            },
            ChordColour::AddNine => match (triad, ninth) {
                (ChordQuality::Major, 14) => ChordQuality::Add9,
                (ChordQuality::Minor, 14) => ChordQuality::MinorAdd9,
                (other, _) => other,
            },
            ChordColour::Sus2 if second == 2 && perfect_fifth => ChordQuality::Sus2,
            ChordColour::Sus4 if fourth == 5 && perfect_fifth => ChordQuality::Sus4,
            ChordColour::SevenSus4 if fourth == 5 && perfect_fifth && seventh == 10 => {
                ChordQuality::SevenSus4
            }
            ChordColour::Sixth if sixth == 9 && perfect_fifth => match triad {
                ChordQuality::Major => ChordQuality::Major6,
                ChordQuality::Minor => ChordQuality::Minor6,
                other => other,
            },
            ChordColour::Sus2 | ChordColour::Sus4 | ChordColour::SevenSus4 | ChordColour::Sixth => {
                triad
            }
        };
        Chord::new(key.index() + parent[root_step], quality)
    }

    /// Like [`Chord::diatonic`], but only returns a chord whose every tone is
    /// in `scale` itself. For pentatonic scales it tries `colour` first, then
    /// the suspended, added and plain colours that avoid the missing scale
    /// tones (C major pentatonic's ii becomes D7sus4 or Dsus4); `None` when no
    /// colour fits (e.g. IV of major pentatonic, whose root is not in it).
    pub fn diatonic_within(
        key: Key,
        scale: Scale,
        degree: i32,
        colour: ChordColour,
    ) -> Option<Chord> {
        // Richest first; colours the scale cannot supply degrade to the plain
        // triad, so they come after the ones that may succeed on their own.
        const FALLBACKS: [ChordColour; 7] = [
            ChordColour::AddNine,
            ChordColour::Sixth,
            ChordColour::SevenSus4,
            ChordColour::Sus2,
            ChordColour::Sus4,
            ChordColour::Seventh,
            ChordColour::Triad,
        ];
        let allowed = scale.pitch_classes(key);
        std::iter::once(colour)
            .chain(FALLBACKS)
            .map(|c| Chord::diatonic(key, scale, degree, c))
            .find(|chord| chord.pitch_classes().is_subset(allowed))
    }

    /// Every pitch class sounding in the chord, bass included.
    pub fn pitch_classes(&self) -> PitchClassSet {
        let mut set: PitchClassSet = self
            .quality
            .intervals()
            .iter()
            .map(|&i| self.root_pc + i % 12)
            .collect();
        set.insert(self.bass_pc);
        set
    }

    /// Chord symbol with sharps: "Dm9", "A#maj7", "Csus2/G".
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// Roman-numeral function relative to `key`'s tonic, with accidentals
    /// measured from the major scale and case from the third: "IV", "ii7",
    /// "bVImaj7", "viiø7", "#iv°".
    pub fn roman_numeral(&self, key: Key) -> String {
        const NUMERALS: [(&str, &str); 12] = [
            ("", "I"),
            ("b", "II"),
            ("", "II"),
            ("b", "III"),
            ("", "III"),
            ("", "IV"),
            ("#", "IV"),
            ("", "V"),
            ("b", "VI"),
            ("", "VI"),
            ("b", "VII"),
            ("", "VII"),
        ];
        let (accidental, numeral) = NUMERALS[usize::from((self.root_pc + 12 - key.index()) % 12)];
        let numeral = if self.quality.has_minor_third() {
            numeral.to_lowercase()
        } else {
            numeral.to_string()
        };
        let suffix = match self.quality {
            ChordQuality::Diminished => "°",
            ChordQuality::HalfDiminished7 => "ø7",
            ChordQuality::Diminished7 => "°7",
            ChordQuality::Augmented => "+",
            // The lower-case numeral already says "minor".
            q if q.has_minor_third() => q.suffix().trim_start_matches('m'),
            q => q.suffix(),
        };
        format!("{accidental}{numeral}{suffix}")
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            pitch_class_name(self.root_pc),
            self.quality.suffix()
        )?;
        if self.bass_pc != self.root_pc {
            write!(f, "/{}", pitch_class_name(self.bass_pc))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn c_major_diatonic_triads_and_sevenths() {
        let names: Vec<String> = (0..7)
            .map(|d| Chord::diatonic(Key::C, Scale::Major, d, ChordColour::Triad).name())
            .collect();
        assert_eq!(names, ["C", "Dm", "Em", "F", "G", "Am", "Bdim"]);
        let sevenths: Vec<String> = (0..7)
            .map(|d| Chord::diatonic(Key::C, Scale::Major, d, ChordColour::Seventh).name())
            .collect();
        assert_eq!(
            sevenths,
            ["Cmaj7", "Dm7", "Em7", "Fmaj7", "G7", "Am7", "Bm7b5"]
        );
    }

    #[test]
    fn colours_and_names() {
        assert_eq!(
            Chord::diatonic(Key::C, Scale::Major, 1, ChordColour::Ninth).name(),
            "Dm9"
        );
        assert_eq!(
            Chord::diatonic(Key::F, Scale::Major, 3, ChordColour::Seventh).name(),
            "A#maj7"
        );
        // Phrygian's ♭2 makes a minor ninth over the tonic: falls back to m7.
        assert_eq!(
            Chord::diatonic(Key::E, Scale::Phrygian, 0, ChordColour::Ninth).name(),
            "Em7"
        );
        assert_eq!(
            Chord::diatonic(Key::A, Scale::HarmonicMinor, 4, ChordColour::Seventh).name(),
            "E7"
        );
        assert_eq!(
            Chord::diatonic(Key::C, Scale::Major, 0, ChordColour::Sus2).name(),
            "Csus2"
        );
        assert_eq!(
            Chord::diatonic(Key::C, Scale::Lydian, 0, ChordColour::Sus4).name(),
            "C"
        );
        assert_eq!(
            Chord::new(0, ChordQuality::Sus2).with_bass(7).name(),
            "Csus2/G"
        );
    }

    #[test]
    fn roman_numerals() {
        let key = Key::C;
        assert_eq!(
            Chord::diatonic(key, Scale::Major, 3, ChordColour::Triad).roman_numeral(key),
            "IV"
        );
        assert_eq!(
            Chord::diatonic(key, Scale::Major, 1, ChordColour::Seventh).roman_numeral(key),
            "ii7"
        );
        assert_eq!(
            Chord::diatonic(key, Scale::Minor, 5, ChordColour::Seventh).roman_numeral(key),
            "bVImaj7"
        );
        assert_eq!(
            Chord::diatonic(key, Scale::Major, 6, ChordColour::Seventh).roman_numeral(key),
            "viiø7"
        );
        assert_eq!(
            Chord::diatonic(key, Scale::Minor, 3, ChordColour::Ninth).roman_numeral(key),
            "iv9"
        );
    }

    #[test]
    fn pentatonic_chords_stay_inside() {
        // Major pentatonic: I, ii (suspended), V (suspended), vi fit; iii, IV, vii do not.
        let fits: Vec<bool> = (0..7)
            .map(|d| {
                Chord::diatonic_within(Key::C, Scale::MajorPentatonic, d, ChordColour::Seventh)
                    .is_some()
            })
            .collect();
        assert_eq!(fits, [true, true, false, false, true, true, false]);
        let ii = Chord::diatonic_within(Key::C, Scale::MajorPentatonic, 1, ChordColour::Seventh);
        assert_eq!(ii.map(|c| c.name()), Some("D7sus4".to_string()));
    }

    proptest! {
        #[test]
        fn heptatonic_diatonic_chords_are_in_scale(key in 0u8..12, scale_index in 0usize..9, degree in -10i32..10, colour_index in 0usize..8) {
            let key = Key::from_pitch_class(key);
            let scale = Scale::ALL[scale_index];
            let colour = ChordColour::ALL[colour_index];
            let chord = Chord::diatonic(key, scale, degree, colour);
            let parent = scale.parent().pitch_classes(key);
            prop_assert!(chord.pitch_classes().is_subset(parent), "{} not in {} {}", chord, key, scale);
            prop_assert!(chord.pitch_classes().len() >= 3);
            if let Some(inside) = Chord::diatonic_within(key, scale, degree, colour) {
                prop_assert!(inside.pitch_classes().is_subset(scale.pitch_classes(key)));
            }
            if !scale.is_pentatonic() {
                prop_assert_eq!(Chord::diatonic_within(key, scale, degree, colour), Some(chord));
            }
        }
    }
}
