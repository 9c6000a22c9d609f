//! Guards for the effects' inputs and feedback loops: bad numbers out, denormals never in.
//!
//! Owns the input limit (the chain sanitises its input with `signal::sanitize` at this limit)
//! and a tiny noise source. Engine thread, per sample, no allocation.
//!
//! Feedback loops that decay towards zero pass through subnormal floats, which are slow on
//! x86 and can linger forever in a recursive filter. Rather than set CPU flags (which belong
//! to the engine, not to this module), every send into a loop carries a noise floor of
//! ±[`NOISE_FLOOR`] (-400 dBFS): the loops settle on it, far above the subnormal range
//! (< 1.2e-38) and far below anything audible. The chain flushes its final output below
//! [`OUTPUT_FLUSH`] to exact zero, so silence in still gives exact silence out.

/// Peak level of the anti-denormal noise: -400 dBFS.
pub(super) const NOISE_FLOOR: f32 = 1.0e-20;
/// Output samples smaller than this (-300 dBFS) are written as 0.
pub(super) const OUTPUT_FLUSH: f32 = 1.0e-15;
/// Finite input is clamped to ±this (+40 dBFS) so that no loop can overflow, whatever arrives.
pub(super) const INPUT_LIMIT: f32 = 100.0;

/// Writes 0 for samples below [`OUTPUT_FLUSH`] in magnitude.
#[inline]
pub(super) fn flush(x: f32) -> f32 {
    if x.abs() < OUTPUT_FLUSH { 0.0 } else { x }
}

/// A 32-bit xorshift producing the anti-denormal floor: deterministic, one state word.
#[derive(Debug, Clone)]
pub(super) struct NoiseFloor {
    /// xorshift32 state; never 0.
    state: u32,
}

impl NoiseFloor {
    /// Seed used by `new` and `reset`, so renders are reproducible.
    const SEED: u32 = 0x9E37_79B9;

    /// A source at its reset state.
    pub(super) fn new() -> Self {
        Self { state: Self::SEED }
    }

    /// Back to the state `new` gives.
    pub(super) fn reset(&mut self) {
        self.state = Self::SEED;
    }

    /// Next value, uniform in ±[`NOISE_FLOOR`].
    #[inline]
    pub(super) fn next(&mut self) -> f32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        // Top 24 bits as a signed fraction in -1..1.
        ((x >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0) * NOISE_FLOOR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_floor_is_tiny_but_normal() {
        let mut noise = NoiseFloor::new();
        let mut nonzero = 0;
        for _ in 0..10_000 {
            let x = noise.next();
            assert!(x.abs() <= NOISE_FLOOR);
            assert!(x == 0.0 || x.is_normal());
            nonzero += usize::from(x != 0.0);
        }
        assert!(nonzero > 9_990);
    }
}
