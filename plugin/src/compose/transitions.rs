//! The harmonic vocabulary: Markov transition weights between scale degrees
//! for each mode, and which chords each mode may borrow.
//!
//! The weights encode an ambient idiom rather than common-practice function:
//! plagal motion (IV→I, iv→i) outweighs authentic (V→I), each mode leans on
//! its characteristic move (Dorian i–IV, Lydian I–II, Mixolydian I–♭VII,
//! Phrygian i–♭II, Aeolian i–♭VI–♭VII), repeats are rare, and degrees whose
//! triad is diminished or augmented never occur (weight 0). Pure data.

use crate::music::{Chord, ChordColour, Key, Scale};

/// Weights from one degree to each of the seven degrees (0 = tonic).
pub(crate) type Row = [f32; 7];

/// Major (Ionian): I–IV–I and I–vi–IV dominate; vii° never.
const MAJOR: [Row; 7] = [
    [0.3, 1.0, 0.6, 3.0, 1.0, 2.2, 0.0],
    [1.0, 0.2, 0.6, 1.6, 1.4, 1.0, 0.0],
    [0.8, 0.6, 0.2, 1.6, 0.4, 2.2, 0.0],
    [3.2, 0.8, 0.8, 0.3, 1.0, 1.6, 0.0],
    [2.0, 0.6, 0.4, 1.4, 0.2, 2.0, 0.0],
    [1.2, 1.2, 1.0, 2.6, 0.8, 0.25, 0.0],
    [2.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0],
];

/// Natural minor (Aeolian): i–iv–i, i–♭VI–♭VII–i; ii° never.
const MINOR: [Row; 7] = [
    [0.3, 0.0, 1.4, 2.6, 0.8, 2.4, 1.8],
    [2.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0],
    [1.2, 0.0, 0.2, 1.6, 0.6, 1.8, 1.4],
    [3.0, 0.0, 1.0, 0.3, 0.8, 1.2, 1.2],
    [1.8, 0.0, 0.8, 1.4, 0.2, 1.4, 0.8],
    [1.4, 0.0, 1.2, 1.4, 0.6, 0.25, 2.6],
    [2.4, 0.0, 1.8, 1.0, 0.6, 1.2, 0.25],
];

/// Dorian: the bright IV over a minor tonic is the mode's signature.
const DORIAN: [Row; 7] = [
    [0.3, 1.0, 1.2, 3.2, 0.8, 0.0, 1.6],
    [1.4, 0.2, 0.8, 1.0, 1.0, 0.0, 1.2],
    [1.0, 0.6, 0.2, 2.0, 0.6, 0.0, 1.4],
    [3.2, 0.6, 0.8, 0.3, 0.8, 0.0, 1.0],
    [1.6, 0.6, 0.8, 1.4, 0.2, 0.0, 1.0],
    [2.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    [2.0, 0.6, 1.6, 1.8, 0.6, 0.0, 0.25],
];

/// Phrygian: i–♭II and back; v° never.
const PHRYGIAN: [Row; 7] = [
    [0.3, 2.8, 1.0, 1.8, 0.0, 1.4, 1.4],
    [3.0, 0.2, 0.8, 0.8, 0.0, 0.6, 1.0],
    [1.4, 1.6, 0.2, 1.2, 0.0, 1.0, 0.8],
    [2.6, 1.0, 0.8, 0.3, 0.0, 1.0, 0.8],
    [2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.4, 1.6, 0.8, 1.0, 0.0, 0.2, 1.2],
    [2.4, 1.0, 1.0, 1.0, 0.0, 0.8, 0.2],
];

/// Lydian: I–II (the raised fourth as the major II's third); ♯iv° never.
const LYDIAN: [Row; 7] = [
    [0.3, 3.0, 0.6, 0.0, 0.8, 1.6, 0.8],
    [3.0, 0.3, 0.6, 0.0, 0.6, 1.0, 0.6],
    [1.0, 1.2, 0.2, 0.0, 0.4, 1.6, 0.6],
    [2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.4, 1.0, 0.4, 0.0, 0.2, 1.2, 1.0],
    [1.2, 1.6, 0.6, 0.0, 0.6, 0.2, 0.8],
    [1.6, 1.0, 0.6, 0.0, 0.4, 1.0, 0.2],
];

/// Mixolydian: I–♭VII–IV–I; iii° never.
const MIXOLYDIAN: [Row; 7] = [
    [0.3, 0.8, 0.0, 2.2, 1.0, 1.0, 2.8],
    [1.0, 0.2, 0.0, 1.4, 1.0, 0.6, 1.2],
    [2.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    [2.6, 0.6, 0.0, 0.3, 0.6, 0.8, 1.6],
    [1.4, 0.6, 0.0, 1.4, 0.2, 0.8, 1.4],
    [1.0, 1.0, 0.0, 1.6, 0.8, 0.2, 1.2],
    [2.8, 0.4, 0.0, 2.0, 0.6, 0.8, 0.3],
];

/// Harmonic minor: i–iv–i still outweighs V–i; iiø7 leads to V; the
/// augmented ♭III+ and vii°7 never.
const HARMONIC_MINOR: [Row; 7] = [
    [0.3, 0.6, 0.0, 2.6, 1.4, 2.2, 0.0],
    [1.0, 0.2, 0.0, 0.8, 2.0, 0.6, 0.0],
    [2.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    [2.8, 0.8, 0.0, 0.3, 1.6, 1.0, 0.0],
    [2.4, 0.0, 0.0, 0.6, 0.2, 1.6, 0.0],
    [1.6, 0.8, 0.0, 1.4, 2.0, 0.25, 0.0],
    [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
];

/// The transition table of `scale`'s parent mode.
fn table(scale: Scale) -> &'static [Row; 7] {
    match scale.parent() {
        Scale::Minor => &MINOR,
        Scale::Dorian => &DORIAN,
        Scale::Phrygian => &PHRYGIAN,
        Scale::Lydian => &LYDIAN,
        Scale::Mixolydian => &MIXOLYDIAN,
        Scale::HarmonicMinor => &HARMONIC_MINOR,
        _ => &MAJOR,
    }
}

/// Whether `scale` can supply a chord on `degree` without leaving itself:
/// always for heptatonic scales; for pentatonics only the degrees whose
/// chord can be coloured into the five notes (I, ii, V, vi of major
/// pentatonic; i, ♭III, iv, ♭VII of minor pentatonic).
pub(crate) fn degree_available(scale: Scale, degree: usize) -> bool {
    !scale.is_pentatonic()
        || Chord::diatonic_within(Key::C, scale, degree as i32, ChordColour::Triad).is_some()
}

/// Weights for the chord after `from` in `scale`, with unavailable degrees
/// zeroed. A row that would be all zero falls back to the tonic.
pub(crate) fn transition_row(scale: Scale, from: usize) -> Row {
    let mut row = table(scale)[from % 7];
    for (degree, weight) in row.iter_mut().enumerate() {
        if !degree_available(scale, degree) {
            *weight = 0.0;
        }
    }
    if row.iter().all(|&w| w <= 0.0) {
        row[0] = 1.0;
    }
    row
}

/// Degrees of the parallel mode ([`Scale::parallel`]) worth borrowing, with
/// weights: the major family borrows iv, ♭VI, ♭VII and ♭III from minor; the
/// minor family borrows the major IV, the major V and (rarely) a Picardy I.
pub(crate) fn borrow_candidates(scale: Scale) -> &'static [(i32, f32)] {
    if scale.has_minor_third() {
        &[(3, 2.0), (4, 1.0), (0, 0.4)]
    } else {
        &[(3, 2.0), (5, 1.6), (6, 1.4), (2, 0.6)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plagal_outweighs_authentic_in_every_mode() {
        for scale in Scale::ALL {
            let to_tonic_from_iv = transition_row(scale, 3)[0];
            let to_tonic_from_v = transition_row(scale, 4)[0];
            if degree_available(scale, 3) && degree_available(scale, 4) {
                assert!(to_tonic_from_iv > to_tonic_from_v, "{scale}");
            }
        }
    }

    #[test]
    fn reachable_chords_are_never_diminished_or_augmented() {
        use crate::music::ChordQuality;
        for scale in Scale::ALL {
            for from in 0..7 {
                for (to, &w) in transition_row(scale, from).iter().enumerate() {
                    if w > 0.0 {
                        let chord = Chord::diatonic(Key::C, scale, to as i32, ChordColour::Triad);
                        assert!(
                            !matches!(chord.quality, ChordQuality::Augmented)
                                && (chord.quality != ChordQuality::Diminished
                                    || scale == Scale::HarmonicMinor),
                            "{scale} {from}->{to} {chord}"
                        );
                        assert!(degree_available(scale, to));
                    }
                }
            }
        }
    }

    #[test]
    fn repeats_are_rare() {
        for scale in Scale::ALL {
            for from in 0..7 {
                let row = transition_row(scale, from);
                let total: f32 = row.iter().sum();
                assert!(row[from] / total < 0.1, "{scale} degree {from}");
            }
        }
    }

    #[test]
    fn characteristic_moves_are_favourites() {
        let favourite = |scale: Scale| {
            let row = transition_row(scale, 0);
            (0..7)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0)
        };
        assert_eq!(favourite(Scale::Dorian), 3);
        assert_eq!(favourite(Scale::Lydian), 1);
        assert_eq!(favourite(Scale::Mixolydian), 6);
        assert_eq!(favourite(Scale::Phrygian), 1);
        assert_eq!(favourite(Scale::Major), 3);
    }
}
