//! Voicings: a chord placed as distinct MIDI notes in a register, the
//! tones a voicing of a given size keeps, and how far voices travel between
//! two voicings. Choosing the next voicing (and the first, `Voicing::centered`)
//! is `voice_leading`'s job.
//!
//! Pure and allocation-free (fixed arrays); any thread.

use crate::music::chord::Chord;
use crate::music::pitch_class_set::PitchClassSet;

/// Most notes a [`Voicing`] can hold.
pub const MAX_VOICES: usize = 5;

/// An inclusive MIDI note range a part may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VoiceRange {
    /// Lowest allowed MIDI note.
    pub low: u8,
    /// Highest allowed MIDI note.
    pub high: u8,
}

impl VoiceRange {
    /// Default pad register, C3..=C5: warm but clear of the drone.
    pub const PAD: VoiceRange = VoiceRange { low: 48, high: 72 };
    /// Bass register, E1..=C3.
    pub const BASS: VoiceRange = VoiceRange { low: 28, high: 48 };

    /// Range between two notes, in either order.
    pub const fn new(a: u8, b: u8) -> VoiceRange {
        if a <= b {
            VoiceRange { low: a, high: b }
        } else {
            VoiceRange { low: b, high: a }
        }
    }

    /// Whether `midi_note` lies inside the range.
    pub const fn contains(self, midi_note: u8) -> bool {
        self.low <= midi_note && midi_note <= self.high
    }

    /// Middle of the range as a fractional MIDI note.
    pub(crate) fn center(self) -> f32 {
        (f32::from(self.low) + f32::from(self.high)) / 2.0
    }
}

/// Up to [`MAX_VOICES`] distinct MIDI notes, kept in ascending order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Voicing {
    /// Notes in ascending order; only the first `len` are meaningful.
    notes: [u8; MAX_VOICES],
    /// Number of notes in use.
    len: u8,
}

impl Voicing {
    /// The voicing with no notes (nothing to lead from).
    pub const EMPTY: Voicing = Voicing {
        notes: [0; MAX_VOICES],
        len: 0,
    };

    /// Voicing of the first [`MAX_VOICES`] of `notes`, sorted ascending.
    pub fn from_notes(notes: &[u8]) -> Voicing {
        let mut voicing = Voicing::EMPTY;
        for &note in notes.iter().take(MAX_VOICES) {
            voicing.notes[usize::from(voicing.len)] = note;
            voicing.len += 1;
        }
        voicing.notes[..usize::from(voicing.len)].sort_unstable();
        voicing
    }

    /// The notes, ascending.
    pub fn notes(&self) -> &[u8] {
        &self.notes[..usize::from(self.len)]
    }

    /// Number of notes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the voicing holds no notes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pitch classes of the notes.
    pub fn pitch_classes(&self) -> PitchClassSet {
        self.notes().iter().copied().collect()
    }

    /// Total semitones the voices travel from `self` to `next`. With equal
    /// counts, voices pair in order (lowest to lowest), which minimises the
    /// sum; with unequal counts, each note is charged the distance to the
    /// nearest note of the other voicing, both ways. Zero if either is empty.
    pub fn movement_semitones(&self, next: &Voicing) -> u32 {
        let (a, b) = (self.notes(), next.notes());
        if a.is_empty() || b.is_empty() {
            return 0;
        }
        if a.len() == b.len() {
            return a
                .iter()
                .zip(b)
                .map(|(&x, &y)| u32::from(x.abs_diff(y)))
                .sum();
        }
        let nearest = |from: &[u8], to: &[u8]| -> u32 {
            from.iter()
                .map(|&x| {
                    to.iter()
                        .map(|&y| u32::from(x.abs_diff(y)))
                        .min()
                        .unwrap_or(0)
                })
                .sum()
        };
        nearest(a, b) + nearest(b, a)
    }

    /// Naive close root position: the root at its lowest placement in
    /// `range`, the other tones stacked upward in priority order. Notes that
    /// would leave the range are dropped. The baseline voice leading beats.
    pub fn root_position(chord: &Chord, range: VoiceRange, voices: usize) -> Voicing {
        let (tones, count) = chord_tones(chord, voices.clamp(1, MAX_VOICES));
        let mut notes = [0u8; MAX_VOICES];
        let mut len = 0;
        let mut next_low = range.low;
        for &pc in &tones[..count] {
            let Some(note) = lowest_at_or_above(pc, next_low) else {
                break;
            };
            if note > range.high {
                break;
            }
            notes[len] = note;
            len += 1;
            next_low = note.saturating_add(1);
        }
        Voicing::from_notes(&notes[..len])
    }
}

/// Lowest MIDI note with pitch class `pc` at or above `floor`, if it fits in 0..=127.
pub(crate) fn lowest_at_or_above(pc: u8, floor: u8) -> Option<u8> {
    let up = (pc % 12 + 12 - floor % 12) % 12;
    floor.checked_add(up).filter(|&n| n <= 127)
}

/// Pitch classes a voicing of `voices` notes must hold, most important first:
/// the quality's priority order truncated to `voices`, then doublings (root,
/// fifth, root) when the chord has fewer tones than voices. A slash chord's
/// bass replaces the least important tone if it is not already present.
pub(crate) fn chord_tones(chord: &Chord, voices: usize) -> ([u8; MAX_VOICES], usize) {
    let root = chord.root_pc;
    let mut tones = [root; MAX_VOICES];
    let mut count = 0;
    for &interval in chord.quality.voicing_priority().iter().take(voices) {
        tones[count] = (root + interval) % 12;
        count += 1;
    }
    if chord.bass_pc != root && !tones[..count].contains(&chord.bass_pc) {
        if count < voices {
            count += 1;
        }
        tones[count - 1] = chord.bass_pc;
    }
    let fifth = if chord.quality.intervals().contains(&7) {
        (root + 7) % 12
    } else {
        tones[count.min(2) - 1]
    };
    for double in [root, fifth, root, fifth] {
        if count >= voices {
            break;
        }
        tones[count] = double;
        count += 1;
    }
    (tones, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::ChordQuality;

    #[test]
    fn root_position_stacks_from_the_bottom() {
        let v = Voicing::root_position(&Chord::new(2, ChordQuality::Minor7), VoiceRange::PAD, 4);
        assert_eq!(v.notes(), &[50, 53, 60, 69]);
    }

    #[test]
    fn movement_pairs_voices_in_order_or_nearest() {
        let a = Voicing::from_notes(&[64, 60, 67]);
        assert_eq!(a.notes(), &[60, 64, 67]);
        let b = Voicing::from_notes(&[60, 65, 69]);
        assert_eq!(a.movement_semitones(&b), 3);
        let c = Voicing::from_notes(&[60, 64]);
        assert_eq!(a.movement_semitones(&c), 3);
        assert_eq!(Voicing::EMPTY.movement_semitones(&a), 0);
    }

    #[test]
    fn chord_tones_double_root_then_fifth() {
        let (tones, count) = chord_tones(&Chord::new(2, ChordQuality::Minor), 5);
        assert_eq!(&tones[..count], &[2, 5, 9, 2, 9]);
        let (tones, count) = chord_tones(&Chord::new(0, ChordQuality::Major9), 3);
        assert_eq!(&tones[..count], &[0, 4, 11]);
    }
}
