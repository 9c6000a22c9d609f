//! The twelve keys, named by their tonic pitch class (sharps only).
//!
//! Pure data; any thread.

use std::fmt;

/// Names of the twelve pitch classes, spelled with sharps (C = 0).
const PITCH_CLASS_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// Name of a pitch class (taken modulo 12), spelled with sharps: 10 → "A#".
pub const fn pitch_class_name(pitch_class: u8) -> &'static str {
    PITCH_CLASS_NAMES[(pitch_class % 12) as usize]
}

/// A key, identified by its tonic pitch class. The mode lives in
/// [`Scale`](crate::music::Scale), so `Key::A` with `Scale::Minor` is A minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// Tonic C (pitch class 0).
    C,
    /// Tonic C♯/D♭ (pitch class 1).
    CSharp,
    /// Tonic D (pitch class 2).
    D,
    /// Tonic D♯/E♭ (pitch class 3).
    DSharp,
    /// Tonic E (pitch class 4).
    E,
    /// Tonic F (pitch class 5).
    F,
    /// Tonic F♯/G♭ (pitch class 6).
    FSharp,
    /// Tonic G (pitch class 7).
    G,
    /// Tonic G♯/A♭ (pitch class 8).
    GSharp,
    /// Tonic A (pitch class 9).
    A,
    /// Tonic A♯/B♭ (pitch class 10).
    ASharp,
    /// Tonic B (pitch class 11).
    B,
}

impl Key {
    /// All twelve keys in pitch-class order, so `Key::ALL[k.index() as usize] == k`.
    pub const ALL: [Key; 12] = [
        Key::C,
        Key::CSharp,
        Key::D,
        Key::DSharp,
        Key::E,
        Key::F,
        Key::FSharp,
        Key::G,
        Key::GSharp,
        Key::A,
        Key::ASharp,
        Key::B,
    ];

    /// Pitch class of the tonic, 0 (C) to 11 (B).
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The key whose tonic is `pitch_class` (taken modulo 12, so MIDI notes work too).
    pub const fn from_pitch_class(pitch_class: u8) -> Key {
        Self::ALL[(pitch_class % 12) as usize]
    }

    /// Display name with sharps: "C", "C#", … "B".
    pub const fn name(self) -> &'static str {
        pitch_class_name(self.index())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips_through_pitch_class() {
        for key in Key::ALL {
            assert_eq!(Key::from_pitch_class(key.index()), key);
            assert_eq!(Key::from_pitch_class(key.index() + 24), key);
        }
    }

    #[test]
    fn names_use_sharps() {
        assert_eq!(Key::C.name(), "C");
        assert_eq!(Key::ASharp.name(), "A#");
        assert_eq!(Key::B.to_string(), "B");
        assert_eq!(pitch_class_name(61), "C#");
    }
}
