//! Large-scale form: bars, phrases, sections and blocks, the slow seeded
//! "energy" curve, and the per-phrase arrangement (which layers play).
//!
//! Everything here is a pure function of (seed, phrase index, intensity), so
//! any phrase's role and arrangement can be computed directly when seeking.
//! Engine thread.

use crate::compose::dice::{Dice, Purpose};

/// Beats in a bar (4/4 throughout).
pub(crate) const BEATS_PER_BAR: f64 = 4.0;
/// Bars in a phrase; melody call/answer and chord plans work per phrase.
pub(crate) const BARS_PER_PHRASE: u64 = 8;
/// Beats in a phrase.
pub(crate) const PHRASE_BEATS: f64 = BEATS_PER_BAR * BARS_PER_PHRASE as f64;
/// Phrases in a block; sections (2–4 phrases) partition each block.
const PHRASES_PER_BLOCK: u64 = 12;
/// Most sections a block can hold (12 phrases / 2), used to number sections.
const MAX_SECTIONS_PER_BLOCK: u64 = 6;

/// Where a phrase sits in the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PhraseRole {
    /// Global section number; keys the section's motif and groove.
    pub section: u64,
    /// Position of the phrase within its section, from 0.
    pub phrase_in_section: u32,
    /// Number of phrases in the section (2..=4).
    pub section_len: u32,
}

impl PhraseRole {
    /// Whether the phrase opens its section (and so opens on the tonic).
    pub(crate) fn opens_section(&self) -> bool {
        self.phrase_in_section == 0
    }

    /// Whether the phrase closes its section (and so cadences).
    pub(crate) fn closes_section(&self) -> bool {
        self.phrase_in_section + 1 == self.section_len
    }
}

/// The role of `phrase`: its block is split into sections of 2–4 phrases,
/// longer ones more likely, drawn from the block's own stream.
pub(crate) fn phrase_role(seed: u64, phrase: u64) -> PhraseRole {
    let block = phrase / PHRASES_PER_BLOCK;
    let within = (phrase % PHRASES_PER_BLOCK) as u32;
    let mut dice = Dice::new(seed, Purpose::Form, block);
    let mut start = 0u32;
    let mut section_in_block = 0u64;
    loop {
        let remaining = PHRASES_PER_BLOCK as u32 - start;
        // Lengths that leave a remainder of 0 or at least 2.
        let weights: [f32; 3] = [2, 3, 4].map(|len: u32| {
            let fits = len == remaining || (len < remaining && remaining - len >= 2);
            if fits { 1.0 + len as f32 / 2.0 } else { 0.0 }
        });
        let len = dice.weighted(&weights).map_or(remaining, |i| i as u32 + 2);
        if within < start + len {
            return PhraseRole {
                section: block * MAX_SECTIONS_PER_BLOCK + section_in_block,
                phrase_in_section: within - start,
                section_len: len,
            };
        }
        start += len;
        section_in_block += 1;
    }
}

/// The piece's slow energy curve at `phrase`, 0..=1: three triangle waves
/// with seeded, mutually irrational-ish periods (about 4–7, 13–23 and 31–57
/// phrases) and phases, so the sum never repeats within a listening session.
pub(crate) fn energy(seed: u64, phrase: u64) -> f32 {
    let mut dice = Dice::new(seed, Purpose::Energy, 0);
    let waves = [(4.3, 7.1, 0.45), (13.0, 23.0, 0.35), (31.0, 57.0, 0.2)];
    let mut total = 0.0;
    for (shortest, longest, weight) in waves {
        let period = dice.range(shortest, longest);
        let phase = dice.unit();
        let x = (phrase as f64 / period + phase).fract();
        total += weight * (1.0 - (2.0 * x - 1.0).abs());
    }
    total as f32
}

/// Which layers play in a phrase and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Arrangement {
    /// The energy curve at this phrase.
    pub energy: f32,
    /// Whether the melody plays this phrase (it rests for whole phrases).
    pub melody: bool,
    /// Melody density, 0 (a note or two per cell) to 1 (several per bar).
    pub melody_density: f32,
    /// Pad voices: 3 when thin, 4 normally, 5 at high energy and intensity.
    pub pad_voices: usize,
    /// Whether the drone adds the fifth above the tonic.
    pub drone_fifth: bool,
    /// Whether the drone sits an octave higher this phrase.
    pub drone_high: bool,
    /// Whether percussion may play this phrase; a section's opening phrase
    /// is sometimes a breakdown without it.
    pub percussion: bool,
}

/// Arrangement of `phrase` at `intensity`. The first phrase is an intro
/// without melody and the second always has one (from intensity 0.15); after
/// that the melody plays more often and more densely with intensity and energy. Section openings are sometimes breakdowns
/// without percussion.
pub(crate) fn arrangement(seed: u64, phrase: u64, intensity: f32) -> Arrangement {
    let energy = energy(seed, phrase);
    let mut dice = Dice::new(seed, Purpose::Arrangement, phrase);
    let melody_chance = (0.22 + 0.6 * intensity + 0.4 * (energy - 0.5)).clamp(0.12, 0.95);
    // The phrase after the intro always sings (unless the user asked for almost nothing), so a
    // first listen meets the melody within half a minute rather than at the dice's mercy.
    let rolled = dice.chance(f64::from(melody_chance));
    let melody = phrase > 0 && (rolled || (phrase == 1 && intensity >= 0.15));
    let melody_density = (0.05 + 0.85 * intensity + 0.25 * (energy - 0.5)).clamp(0.0, 1.0);
    let pad_voices = if energy < 0.3 {
        3
    } else if energy > 0.65 && intensity > 0.5 {
        5
    } else {
        4
    };
    let breakdown = phrase_role(seed, phrase).opens_section() && dice.chance(0.5);
    Arrangement {
        energy,
        melody,
        melody_density,
        pad_voices,
        drone_fifth: energy > 0.55 && dice.chance(0.6),
        drone_high: dice.chance(0.3),
        percussion: !breakdown,
    }
}

/// How much texture plays, 0 (none) to 1, from the current intensity and the
/// phrase's energy: nothing below intensity 0.3, and in phrases whose energy
/// is low for the intensity it drops out, so it enters and leaves.
pub(crate) fn texture_level(intensity: f32, energy: f32) -> f32 {
    if energy < 0.7 - 0.55 * intensity {
        return 0.0;
    }
    let from_intensity = ((intensity - 0.3) / 0.7).clamp(0.0, 1.0);
    let level = from_intensity * (0.2 + 0.8 * energy);
    if level < 0.08 { 0.0 } else { level }
}

/// How much percussion plays, 0 (none) to 1: none below intensity 0.1, and
/// in low-energy phrases it drops out entirely, more often at low intensity.
pub(crate) fn percussion_level(intensity: f32, energy: f32) -> f32 {
    if intensity < 0.1 || energy < 0.55 - 0.5 * intensity {
        return 0.0;
    }
    let from_intensity = ((intensity - 0.1) / 0.9).clamp(0.0, 1.0);
    from_intensity.powf(0.8) * (0.5 + 0.5 * energy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_partition_blocks_into_two_to_four_phrases() {
        for seed in 0..50 {
            let mut phrase = 0;
            while phrase < 48 {
                let role = phrase_role(seed, phrase);
                assert_eq!(role.phrase_in_section, 0, "seed {seed} phrase {phrase}");
                assert!((2..=4).contains(&role.section_len));
                for k in 0..u64::from(role.section_len) {
                    let inner = phrase_role(seed, phrase + k);
                    assert_eq!(
                        (inner.section, inner.phrase_in_section as u64),
                        (role.section, k)
                    );
                }
                phrase += u64::from(role.section_len);
            }
            assert_eq!(phrase % PHRASES_PER_BLOCK, 0);
        }
    }

    #[test]
    fn energy_is_bounded_and_moves() {
        for seed in 0..20 {
            let curve: Vec<f32> = (0..40).map(|p| energy(seed, p)).collect();
            assert!(curve.iter().all(|e| (0.0..=1.0).contains(e)));
            let (low, high) = curve
                .iter()
                .fold((1.0f32, 0.0f32), |(l, h), &e| (l.min(e), h.max(e)));
            assert!(high - low > 0.25, "seed {seed}: {low}..{high}");
        }
    }

    #[test]
    fn levels_follow_intensity() {
        for energy in [0.0, 0.3, 0.6, 1.0] {
            assert_eq!(percussion_level(0.09, energy), 0.0);
            assert_eq!(texture_level(0.3, energy), 0.0);
            assert!(percussion_level(0.9, energy) >= percussion_level(0.3, energy));
            assert!(texture_level(1.0, energy) >= texture_level(0.6, energy));
        }
        assert!(percussion_level(1.0, 0.5) > 0.5);
    }

    #[test]
    fn melody_rests_sometimes_and_plays_more_with_intensity() {
        let count = |intensity| {
            (1..200)
                .filter(|&p| arrangement(3, p, intensity).melody)
                .count()
        };
        let (quiet, busy) = (count(0.0), count(1.0));
        assert!(quiet < 100 && busy > 150 && busy < 199, "{quiet} {busy}");
        assert!(
            !arrangement(3, 0, 1.0).melody,
            "the first phrase is an intro"
        );
    }
}
