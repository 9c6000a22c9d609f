//! Chord qualities: the interval recipe of a chord above its root, its
//! symbol suffix, and the order in which a pad keeps its tones when it has
//! fewer voices than the chord has notes.
//!
//! Pure data; any thread.

/// The interval structure of a chord, independent of its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChordQuality {
    /// Major triad (1 3 5).
    Major,
    /// Minor triad (1 ♭3 5).
    Minor,
    /// Diminished triad (1 ♭3 ♭5).
    Diminished,
    /// Augmented triad (1 3 ♯5).
    Augmented,
    /// Suspended second (1 2 5).
    Sus2,
    /// Suspended fourth (1 4 5).
    Sus4,
    /// Major seventh (1 3 5 7).
    Major7,
    /// Minor seventh (1 ♭3 5 ♭7).
    Minor7,
    /// Dominant seventh (1 3 5 ♭7).
    Dominant7,
    /// Half-diminished seventh, m7♭5 (1 ♭3 ♭5 ♭7).
    HalfDiminished7,
    /// Diminished seventh (1 ♭3 ♭5 𝄫7).
    Diminished7,
    /// Minor-major seventh (1 ♭3 5 7), the harmonic-minor tonic.
    MinorMajor7,
    /// Augmented major seventh (1 3 ♯5 7).
    AugmentedMajor7,
    /// Dominant seventh with suspended fourth (1 4 5 ♭7).
    SevenSus4,
    /// Major triad with added ninth (1 3 5 9).
    Add9,
    /// Minor triad with added ninth (1 ♭3 5 9).
    MinorAdd9,
    /// Major ninth (1 3 5 7 9).
    Major9,
    /// Minor ninth (1 ♭3 5 ♭7 9).
    Minor9,
    /// Dominant ninth (1 3 5 ♭7 9).
    Dominant9,
    /// Major sixth (1 3 5 6).
    Major6,
    /// Minor sixth (1 ♭3 5 6).
    Minor6,
    /// Power chord, root and fifth only (1 5).
    Power,
}

impl ChordQuality {
    /// Every quality, in declaration order.
    pub const ALL: [ChordQuality; 22] = [
        ChordQuality::Major,
        ChordQuality::Minor,
        ChordQuality::Diminished,
        ChordQuality::Augmented,
        ChordQuality::Sus2,
        ChordQuality::Sus4,
        ChordQuality::Major7,
        ChordQuality::Minor7,
        ChordQuality::Dominant7,
        ChordQuality::HalfDiminished7,
        ChordQuality::Diminished7,
        ChordQuality::MinorMajor7,
        ChordQuality::AugmentedMajor7,
        ChordQuality::SevenSus4,
        ChordQuality::Add9,
        ChordQuality::MinorAdd9,
        ChordQuality::Major9,
        ChordQuality::Minor9,
        ChordQuality::Dominant9,
        ChordQuality::Major6,
        ChordQuality::Minor6,
        ChordQuality::Power,
    ];

    /// Semitones above the root in stacking order (root, third or suspension,
    /// fifth, then sixth/seventh, then ninth at 14).
    pub const fn intervals(self) -> &'static [u8] {
        match self {
            ChordQuality::Major => &[0, 4, 7],
            ChordQuality::Minor => &[0, 3, 7],
            ChordQuality::Diminished => &[0, 3, 6],
            ChordQuality::Augmented => &[0, 4, 8],
            ChordQuality::Sus2 => &[0, 2, 7],
            ChordQuality::Sus4 => &[0, 5, 7],
            ChordQuality::Major7 => &[0, 4, 7, 11],
            ChordQuality::Minor7 => &[0, 3, 7, 10],
            ChordQuality::Dominant7 => &[0, 4, 7, 10],
            ChordQuality::HalfDiminished7 => &[0, 3, 6, 10],
            ChordQuality::Diminished7 => &[0, 3, 6, 9],
            ChordQuality::MinorMajor7 => &[0, 3, 7, 11],
            ChordQuality::AugmentedMajor7 => &[0, 4, 8, 11],
            ChordQuality::SevenSus4 => &[0, 5, 7, 10],
            ChordQuality::Add9 => &[0, 4, 7, 14],
            ChordQuality::MinorAdd9 => &[0, 3, 7, 14],
            ChordQuality::Major9 => &[0, 4, 7, 11, 14],
            ChordQuality::Minor9 => &[0, 3, 7, 10, 14],
            ChordQuality::Dominant9 => &[0, 4, 7, 10, 14],
            ChordQuality::Major6 => &[0, 4, 7, 9],
            ChordQuality::Minor6 => &[0, 3, 7, 9],
            ChordQuality::Power => &[0, 7],
        }
    }

    /// The same intervals ordered by how much each tone defines the chord, so
    /// a voicing with fewer voices drops from the end: root, third, colour
    /// tones (7th, 9th, 6th), and the perfect fifth last, because it adds the
    /// least. An altered fifth (♭5, ♯5) defines the chord and stays early.
    pub const fn voicing_priority(self) -> &'static [u8] {
        match self {
            ChordQuality::Major7 => &[0, 4, 11, 7],
            ChordQuality::Minor7 => &[0, 3, 10, 7],
            ChordQuality::Dominant7 => &[0, 4, 10, 7],
            ChordQuality::MinorMajor7 => &[0, 3, 11, 7],
            ChordQuality::SevenSus4 => &[0, 5, 10, 7],
            ChordQuality::Add9 => &[0, 4, 14, 7],
            ChordQuality::MinorAdd9 => &[0, 3, 14, 7],
            ChordQuality::Major9 => &[0, 4, 11, 14, 7],
            ChordQuality::Minor9 => &[0, 3, 10, 14, 7],
            ChordQuality::Dominant9 => &[0, 4, 10, 14, 7],
            ChordQuality::Major6 => &[0, 4, 9, 7],
            ChordQuality::Minor6 => &[0, 3, 9, 7],
            other => other.intervals(),
        }
    }

    /// Symbol suffix after the root name: "" for major, "m", "maj7", "m9", …
    pub const fn suffix(self) -> &'static str {
        match self {
            ChordQuality::Major => "",
            ChordQuality::Minor => "m",
            ChordQuality::Diminished => "dim",
            ChordQuality::Augmented => "aug",
            ChordQuality::Sus2 => "sus2",
            ChordQuality::Sus4 => "sus4",
            ChordQuality::Major7 => "maj7",
            ChordQuality::Minor7 => "m7",
            ChordQuality::Dominant7 => "7",
            ChordQuality::HalfDiminished7 => "m7b5",
            ChordQuality::Diminished7 => "dim7",
            ChordQuality::MinorMajor7 => "m(maj7)",
            ChordQuality::AugmentedMajor7 => "maj7#5",
            ChordQuality::SevenSus4 => "7sus4",
            ChordQuality::Add9 => "add9",
            ChordQuality::MinorAdd9 => "madd9",
            ChordQuality::Major9 => "maj9",
            ChordQuality::Minor9 => "m9",
            ChordQuality::Dominant9 => "9",
            ChordQuality::Major6 => "6",
            ChordQuality::Minor6 => "m6",
            ChordQuality::Power => "5",
        }
    }

    /// Whether the chord has a minor third above its root (so its Roman
    /// numeral is written in lower case).
    pub const fn has_minor_third(self) -> bool {
        matches!(
            self,
            ChordQuality::Minor
                | ChordQuality::Diminished
                | ChordQuality::Minor7
                | ChordQuality::HalfDiminished7
                | ChordQuality::Diminished7
                | ChordQuality::MinorMajor7
                | ChordQuality::MinorAdd9
                | ChordQuality::Minor9
                | ChordQuality::Minor6
        )
    }

    /// Number of distinct pitch classes.
    pub const fn tone_count(self) -> usize {
        self.intervals().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_is_a_permutation_of_intervals() {
        for quality in ChordQuality::ALL {
            let mut a = quality.intervals().to_vec();
            let mut b = quality.voicing_priority().to_vec();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "{quality:?}");
            assert_eq!(
                quality.voicing_priority()[0],
                0,
                "root first in {quality:?}"
            );
        }
    }

    #[test]
    fn intervals_are_distinct_pitch_classes() {
        for quality in ChordQuality::ALL {
            let mut classes: Vec<u8> = quality.intervals().iter().map(|i| i % 12).collect();
            classes.sort_unstable();
            classes.dedup();
            assert_eq!(classes.len(), quality.tone_count(), "{quality:?}");
        }
    }

    #[test]
    fn suffixes_are_unique() {
        let mut suffixes: Vec<&str> = ChordQuality::ALL.iter().map(|q| q.suffix()).collect();
        suffixes.sort_unstable();
        suffixes.dedup();
        assert_eq!(suffixes.len(), ChordQuality::ALL.len());
    }
}
