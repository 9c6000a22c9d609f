//! Seeded pseudo-random numbers for percussion noise: deterministic renders, no OS entropy.
//!
//! Engine thread; plain integer arithmetic, never allocates.

/// SplitMix64 (Steele, Lea & Flood): turns the user's seed into a stream of well-mixed
/// 64-bit values, one per hit, to seed each hit's own noise.
#[derive(Debug, Clone)]
pub(super) struct SeedStream {
    /// Counter state; any value is valid.
    state: u64,
}

impl SeedStream {
    /// A stream starting from `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Next well-mixed 64-bit value.
    pub(super) fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// xorshift32 (Marsaglia): one hit's white noise, a few instructions per sample.
#[derive(Debug, Clone)]
pub(super) struct Noise {
    /// State; never 0.
    state: u32,
}

impl Noise {
    /// A generator seeded from 64 seed bits (folded to a nonzero 32-bit state).
    pub(super) fn new(seed: u64) -> Self {
        let folded = (seed ^ (seed >> 32)) as u32;
        Self {
            state: if folded == 0 { 0x6D2B_79F5 } else { folded },
        }
    }

    /// Next sample, uniform in -1..1 (RMS 1/√3).
    #[inline]
    pub(super) fn next(&mut self) -> f32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        (x >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_uniform_and_seed_dependent() {
        let mut a = Noise::new(SeedStream::new(1).next());
        let mut b = Noise::new(SeedStream::new(2).next());
        let (mut sum, mut sum_sq, mut same) = (0.0f64, 0.0f64, 0);
        for _ in 0..100_000 {
            let x = a.next();
            assert!((-1.0..1.0).contains(&x));
            sum += f64::from(x);
            sum_sq += f64::from(x * x);
            same += usize::from(x == b.next());
        }
        assert!((sum / 100_000.0).abs() < 0.01);
        assert!((sum_sq / 100_000.0 - 1.0 / 3.0).abs() < 0.01);
        assert!(same < 10);
    }
}
