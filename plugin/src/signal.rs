//! Signal values checked once, where they enter, and trusted everywhere inside.
//!
//! A host's sample rate is validated into a [`SampleRate`] when the plugin is activated (or a
//! command line or server is set up), and only that type travels inward to the engine, the
//! synthesizer, the effects and the audio thread's output, so none of them checks it again.
//! [`sanitize`] is the one rule for samples that may be broken (NaN, infinite, far out of
//! range): the effects' input, the engine's output and the audio thread's last word before the
//! host all use it, each with its own limit. Pure functions and a `Copy` type: any thread.

use std::fmt;

/// A sample rate known to be finite and within [`SampleRate::MIN_HZ`]..=[`SampleRate::MAX_HZ`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct SampleRate(f32);

/// Why a sample rate was refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "sample rate {hz} Hz is outside {}..={} Hz",
    SampleRate::MIN_HZ,
    SampleRate::MAX_HZ
)]
pub struct SampleRateError {
    /// The rate that was refused.
    pub hz: f32,
}

impl SampleRate {
    /// The lowest rate anything is rendered at. Below it the percussion's filters and the
    /// reverb's shortest delay lines no longer fit their designs.
    pub const MIN_HZ: f32 = 8_000.0;
    /// The highest rate: 16 × 48 kHz, the top of what audio interfaces offer. The effects'
    /// buffers grow with it (24 MB at this rate).
    pub const MAX_HZ: f32 = 768_000.0;
    /// The rate used when a host gives none that means anything.
    pub const DEFAULT: Self = Self(48_000.0);

    /// `hz` if it is a usable rate.
    ///
    /// # Errors
    /// [`SampleRateError`] for a rate that is not finite or outside the range.
    pub fn new(hz: f32) -> Result<Self, SampleRateError> {
        if hz.is_finite() && (Self::MIN_HZ..=Self::MAX_HZ).contains(&hz) {
            Ok(Self(hz))
        } else {
            Err(SampleRateError { hz })
        }
    }

    /// The nearest usable rate to what a host reported: clamped into range, and
    /// [`Self::DEFAULT`] for NaN or infinity. A host is never refused for its rate; at worst
    /// the music plays at the wrong pitch rather than not at all.
    pub fn from_host(hz: f32) -> Self {
        if hz.is_finite() {
            Self(hz.clamp(Self::MIN_HZ, Self::MAX_HZ))
        } else {
            Self::DEFAULT
        }
    }

    /// Frames per second.
    pub fn hz(self) -> f32 {
        self.0
    }

    /// Frames per second, as the integer that stream headers carry (rounded).
    pub fn hz_u32(self) -> u32 {
        self.0.round() as u32
    }

    /// The number of whole frames in `seconds` (at least 0).
    pub fn frames(self, seconds: f64) -> usize {
        (seconds.max(0.0) * f64::from(self.0)) as usize
    }
}

impl Default for SampleRate {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for SampleRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz", self.0)
    }
}

/// `sample` made safe to pass on: NaN and ±infinity become 0, finite values are clamped to
/// ±`limit`. The same rule everywhere samples cross a boundary, with the limit that boundary
/// needs: full scale (1.0) to the host, a generous headroom into feedback loops.
#[inline]
pub fn sanitize(sample: f32, limit: f32) -> f32 {
    if sample.is_finite() {
        sample.clamp(-limit, limit)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_outside_the_range_are_refused_or_clamped() {
        assert_eq!(SampleRate::new(48_000.0).map(SampleRate::hz), Ok(48_000.0));
        for bad in [0.0, -44_100.0, 7_999.0, 768_001.0, f32::NAN, f32::INFINITY] {
            assert!(SampleRate::new(bad).is_err(), "{bad}");
        }
        assert_eq!(SampleRate::from_host(1.0).hz(), SampleRate::MIN_HZ);
        assert_eq!(SampleRate::from_host(1e9).hz(), SampleRate::MAX_HZ);
        assert_eq!(SampleRate::from_host(f32::NAN), SampleRate::DEFAULT);
        assert_eq!(SampleRate::from_host(44_100.0).hz_u32(), 44_100);
        assert!(
            SampleRate::new(1.0)
                .unwrap_err()
                .to_string()
                .contains("8000")
        );
    }

    #[test]
    fn sanitize_removes_non_finite_values_and_clamps_to_the_limit() {
        assert_eq!(sanitize(f32::NAN, 1.0), 0.0);
        assert_eq!(sanitize(f32::INFINITY, 1.0), 0.0);
        assert_eq!(sanitize(f32::NEG_INFINITY, 100.0), 0.0);
        assert_eq!(sanitize(1.0e30, 100.0), 100.0);
        assert_eq!(sanitize(-3.0, 1.0), -1.0);
        assert_eq!(sanitize(-0.5, 1.0), -0.5);
    }
}
