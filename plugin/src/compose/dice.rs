//! Seeded randomness, one independent stream per (seed, purpose, index).
//!
//! Every random decision the composer makes draws from a stream keyed by
//! what it decides and where (e.g. the melody of phrase 17), never from
//! shared state. That is what makes the music a pure function of the seed
//! and position: seeking recomputes only the streams it needs, and changing
//! one layer's logic cannot shift another's choices. Engine thread only.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// What a stream decides; part of the stream's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// First chord of a phrase.
    Opening = 1,
    /// Chord chain within a phrase.
    Progression,
    /// Chord durations within a phrase.
    HarmonicRhythm,
    /// Chord colours (sevenths, ninths, suspensions).
    Colour,
    /// Borrowed-chord substitutions.
    Borrow,
    /// Section lengths within a block.
    Form,
    /// Periods and phases of the energy curve.
    Energy,
    /// Which layers play in a phrase.
    Arrangement,
    /// A section's motif.
    Motif,
    /// Melody pitch choices and variations within a phrase.
    Melody,
    /// Pad and drone velocities.
    Accompaniment,
    /// Texture notes within a bar.
    Texture,
    /// A section's percussion pattern.
    Groove,
    /// Percussion hits within a bar.
    Percussion,
}

/// Domain separation so these streams never coincide with other ChaCha use.
const DOMAIN: [u8; 8] = *b"auralis1";

/// A random stream for one decision.
pub(crate) struct Dice {
    /// The generator; ChaCha8 is plenty for music and fast to key.
    rng: ChaCha8Rng,
}

impl Dice {
    /// The stream for `purpose` at `index` (phrase, bar or section number).
    pub(crate) fn new(seed: u64, purpose: Purpose, index: u64) -> Dice {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&(purpose as u64).to_le_bytes());
        key[16..24].copy_from_slice(&index.to_le_bytes());
        key[24..].copy_from_slice(&DOMAIN);
        Dice {
            rng: ChaCha8Rng::from_seed(key),
        }
    }

    /// Uniform in [0, 1), 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [low, high).
    pub(crate) fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// True with probability `p` (clamped to 0..=1).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform index below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Index drawn in proportion to `weights`; `None` when no weight is
    /// positive. Negative and NaN weights count as zero.
    pub(crate) fn weighted(&mut self, weights: &[f32]) -> Option<usize> {
        let clean = |w: f32| if w > 0.0 { f64::from(w) } else { 0.0 };
        let total: f64 = weights.iter().map(|&w| clean(w)).sum();
        if total <= 0.0 {
            return None;
        }
        let mut target = self.unit() * total;
        let mut last_positive = 0;
        for (i, &w) in weights.iter().enumerate() {
            let w = clean(w);
            if w > 0.0 {
                last_positive = i;
                if target < w {
                    return Some(i);
                }
                target -= w;
            }
        }
        // Rounding can leave a sliver past the last weight.
        Some(last_positive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let draw = |seed, purpose, index| {
            let mut dice = Dice::new(seed, purpose, index);
            (0..4).map(|_| dice.unit().to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, Purpose::Melody, 3), draw(1, Purpose::Melody, 3));
        assert_ne!(draw(1, Purpose::Melody, 3), draw(1, Purpose::Melody, 4));
        assert_ne!(draw(1, Purpose::Melody, 3), draw(1, Purpose::Motif, 3));
        assert_ne!(draw(1, Purpose::Melody, 3), draw(2, Purpose::Melody, 3));
    }

    #[test]
    fn weighted_respects_zero_weights_and_proportions() {
        let mut dice = Dice::new(7, Purpose::Colour, 0);
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            let i = dice.weighted(&[1.0, 0.0, 3.0]).unwrap_or(1);
            counts[i] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((2_200..2_800).contains(&counts[0]), "{counts:?}");
        assert_eq!(dice.weighted(&[0.0, -1.0, f32::NAN]), None);
    }

    #[test]
    fn unit_and_below_stay_in_bounds() {
        let mut dice = Dice::new(0, Purpose::Texture, 9);
        for _ in 0..1_000 {
            let u = dice.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(dice.below(5) < 5);
        }
        assert_eq!(dice.below(0), 0);
    }
}
