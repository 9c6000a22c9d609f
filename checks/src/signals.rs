//! Test signals: a seeded random stream and pink noise, so a failing test can be replayed.

/// Marsaglia's xorshift64 (shifts 13, 7, 17): a small deterministic generator. The state must
/// not be 0 (it would stay 0); [`XorShift::scrambled`] makes any seed a good state.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// A generator whose state is `seed` spread by the golden-ratio constant and made odd, so
    /// that neighbouring small seeds give unrelated streams and 0 is a valid seed.
    pub fn scrambled(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in 0..1, with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0), with a modulo bias below n / 2⁶⁴.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in −1..1 as an audio sample, with 24 random bits.
    pub fn bipolar(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// Uniform in `low..high`, from [`XorShift::bipolar`].
    pub fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * 0.5 * (self.bipolar() + 1.0)
    }
}

/// `frames` of pink noise (−3 dB/octave within ±0.5 dB over the audio band; Paul Kellet's
/// economy filter on [`XorShift::bipolar`] white noise), at about −20 dBFS RMS.
pub fn pink_noise(frames: usize, seed: u64) -> Vec<f32> {
    let mut white = XorShift::scrambled(seed);
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    (0..frames)
        .map(|_| {
            let white = white.bipolar();
            b0 = 0.99765 * b0 + white * 0.099_046;
            b1 = 0.96300 * b1 + white * 0.296_516_4;
            b2 = 0.57000 * b2 + white * 1.052_691_3;
            (b0 + b1 + b2 + white * 0.1848) * 0.1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_in_range() {
        let mut a = XorShift::scrambled(5);
        let mut b = XorShift::scrambled(5);
        for _ in 0..10_000 {
            let x = a.bipolar();
            assert_eq!(x.to_bits(), b.bipolar().to_bits());
            assert!((-1.0..1.0).contains(&x));
            let u = a.unit();
            b.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(a.below(7) < 7);
            b.below(7);
            let r = a.range(2.0, 3.0);
            b.range(2.0, 3.0);
            assert!((2.0..=3.0).contains(&r));
        }
        assert_ne!(XorShift::scrambled(0).next_u64(), 0);
        assert_ne!(
            XorShift::scrambled(1).next_u64(),
            XorShift::scrambled(2).next_u64()
        );
    }

    #[test]
    fn pink_noise_has_more_energy_an_octave_down() {
        let x = pink_noise(1 << 16, 9);
        let spectrum = crate::Spectrum::averaged(&x, &x, 48_000.0, 4_096);
        let band = |low: f64| spectrum.band_power(low..2.0 * low);
        // Pink: equal power per octave; white would double with each octave up.
        let (low, high) = (band(250.0), band(4_000.0));
        let ratio_db = 10.0 * (high / low).log10();
        assert!(
            ratio_db.abs() < 1.5,
            "{ratio_db} dB between octaves 4 apart"
        );
        let level = crate::rms_dbfs(&x, &x);
        assert!((-26.0..-14.0).contains(&level), "{level} dBFS");
    }
}
