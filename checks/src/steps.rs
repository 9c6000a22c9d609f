//! Clicks: how far the signal jumps between neighbouring samples.
//!
//! A smooth signal of frequency f and amplitude A moves at most 2π·f·A/fs per sample; a cut,
//! a missing fade or a discontinuity at a block boundary moves much further. Comparing the
//! largest step with what the signal itself can do is how the tests hear a click.

/// Largest |x[n+1] − x[n]|, the click score, in full-scale units (2.0 is a jump from −1 to +1).
/// 0.0 for fewer than two samples.
pub fn largest_step(samples: &[f32]) -> f32 {
    samples
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// Largest |x[n+2] − 2·x[n+1] + x[n]|, the second difference, in full-scale units. Finer than
/// [`largest_step`] for low-frequency material: a kink (a sudden change of slope, as when a
/// sound is cut at a zero crossing) shows here while the first difference stays small.
pub fn largest_second_difference(samples: &[f32]) -> f32 {
    samples
        .windows(3)
        .map(|w| (w[2] - 2.0 * w[1] + w[0]).abs())
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_scores_its_height_and_a_sine_its_slope() {
        let mut x: Vec<f32> = (0..480)
            .map(|n| 0.5 * (std::f32::consts::TAU * 100.0 * n as f32 / 48_000.0).sin())
            .collect();
        let smooth = largest_step(&x);
        let slope = std::f32::consts::TAU * 100.0 * 0.5 / 48_000.0;
        assert!(
            smooth <= slope * 1.0001 && smooth > 0.99 * slope,
            "{smooth}"
        );
        x[200] += 0.25;
        assert!((largest_step(&x) - 0.25).abs() < 0.01);
        assert_eq!(largest_step(&[1.0]), 0.0);
    }

    #[test]
    fn a_kink_shows_in_the_second_difference() {
        // A ramp that turns around: every step is 0.01, but the slope flips.
        let x: Vec<f32> = (0..100)
            .map(|n| 0.01 * (50 - (n - 50i32).abs()) as f32)
            .collect();
        assert!((largest_step(&x) - 0.01).abs() < 1e-6);
        assert!((largest_second_difference(&x) - 0.02).abs() < 1e-6);
        let line: Vec<f32> = (0..100).map(|n| 0.001 * n as f32).collect();
        assert!(largest_second_difference(&line) < 1e-6);
    }
}
