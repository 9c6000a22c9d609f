//! A set of pitch classes (0..12) packed into the low 12 bits of a `u16`.
//!
//! `Copy`, allocation-free and branch-light, so scale and chord membership
//! tests are cheap anywhere, including the audio thread.

/// Mask of the twelve valid bits.
const ALL_BITS: u16 = 0x0fff;

/// A set of pitch classes. Inputs are taken modulo 12, so a MIDI note number
/// can be passed wherever a pitch class is expected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PitchClassSet(u16);

impl PitchClassSet {
    /// The empty set.
    pub const EMPTY: PitchClassSet = PitchClassSet(0);
    /// All twelve pitch classes.
    pub const CHROMATIC: PitchClassSet = PitchClassSet(ALL_BITS);

    /// Set from raw bits (bit n = pitch class n); bits above 11 are ignored.
    pub const fn from_bits(bits: u16) -> Self {
        PitchClassSet(bits & ALL_BITS)
    }

    /// Raw bits, bit n set when pitch class n is a member.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Set holding each of `pitch_classes` (modulo 12).
    pub fn from_pitch_classes(pitch_classes: &[u8]) -> Self {
        pitch_classes.iter().copied().collect()
    }

    /// Whether `pitch_class` (modulo 12) is a member.
    pub const fn contains(self, pitch_class: u8) -> bool {
        self.0 & (1 << (pitch_class % 12)) != 0
    }

    /// Adds `pitch_class` (modulo 12).
    pub fn insert(&mut self, pitch_class: u8) {
        self.0 |= 1 << (pitch_class % 12);
    }

    /// Removes `pitch_class` (modulo 12).
    pub fn remove(&mut self, pitch_class: u8) {
        self.0 &= !(1 << (pitch_class % 12));
    }

    /// Number of members, 0..=12.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set has no members.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every member of `self` is in `other`.
    pub const fn is_subset(self, other: PitchClassSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Members of either set.
    pub const fn union(self, other: PitchClassSet) -> PitchClassSet {
        PitchClassSet(self.0 | other.0)
    }

    /// Members of both sets.
    pub const fn intersection(self, other: PitchClassSet) -> PitchClassSet {
        PitchClassSet(self.0 & other.0)
    }

    /// Members of `self` not in `other`.
    pub const fn difference(self, other: PitchClassSet) -> PitchClassSet {
        PitchClassSet(self.0 & !other.0)
    }

    /// Every member moved up by `semitones` (modulo 12).
    pub const fn transposed(self, semitones: u8) -> PitchClassSet {
        let shift = (semitones % 12) as u32;
        let wide = (self.0 as u32) << shift;
        PitchClassSet::from_bits((wide | (wide >> 12)) as u16)
    }

    /// Members in ascending order.
    pub fn iter(self) -> PitchClassIter {
        PitchClassIter { remaining: self.0 }
    }
}

impl FromIterator<u8> for PitchClassSet {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut set = PitchClassSet::EMPTY;
        for pitch_class in iter {
            set.insert(pitch_class);
        }
        set
    }
}

impl IntoIterator for PitchClassSet {
    type Item = u8;
    type IntoIter = PitchClassIter;

    fn into_iter(self) -> PitchClassIter {
        self.iter()
    }
}

/// Ascending iterator over the members of a [`PitchClassSet`].
#[derive(Clone, Debug)]
pub struct PitchClassIter {
    /// Bits not yet yielded.
    remaining: u16,
}

impl Iterator for PitchClassIter {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if self.remaining == 0 {
            return None;
        }
        let lowest = self.remaining.trailing_zeros() as u8;
        self.remaining &= self.remaining - 1;
        Some(lowest)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for PitchClassIter {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn insert_contains_remove() {
        let mut set = PitchClassSet::EMPTY;
        set.insert(64);
        set.insert(0);
        assert!(set.contains(4) && set.contains(12) && !set.contains(5));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 4]);
        set.remove(16);
        assert_eq!(set.len(), 1);
    }

    proptest! {
        #[test]
        fn transposing_twelve_times_by_one_is_identity(bits in 0u16..0x1000) {
            let set = PitchClassSet::from_bits(bits);
            let mut moved = set;
            for _ in 0..12 {
                moved = moved.transposed(1);
                prop_assert_eq!(moved.len(), set.len());
            }
            prop_assert_eq!(moved, set);
        }

        #[test]
        fn transposed_members_are_shifted(bits in 0u16..0x1000, by in 0u8..24) {
            let set = PitchClassSet::from_bits(bits);
            let moved = set.transposed(by);
            for pc in 0..12u8 {
                prop_assert_eq!(set.contains(pc), moved.contains(pc + by));
            }
        }
    }
}
