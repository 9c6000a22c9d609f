//! Level: energy, RMS and peak of a signal.

/// Sum of squared samples, Σ x², in full-scale units squared. The energy of a signal; divided
/// by its length it is the mean power.
pub fn energy(samples: &[f32]) -> f64 {
    samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum()
}

/// Root mean square, √(Σ x² / n), linear (1.0 is a full-scale square wave). 0.0 for no samples.
pub fn rms(samples: &[f32]) -> f64 {
    (energy(samples) / samples.len().max(1) as f64).sqrt()
}

/// RMS of both channels together, in dBFS: 10·log10(Σ(l² + r²) / (n_l + n_r)). A full-scale
/// sine is −3 dBFS; digital silence reads −300 dBFS (the mean power is floored at 1e-30), so a
/// silent render fails a "louder than" check instead of producing −∞ or NaN.
pub fn rms_dbfs(left: &[f32], right: &[f32]) -> f64 {
    let mean = (energy(left) + energy(right)) / (left.len() + right.len()).max(1) as f64;
    10.0 * mean.max(1e-30).log10()
}

/// Largest |sample|, linear (1.0 is full scale). 0.0 for no samples; NaN samples are ignored
/// (check finiteness separately).
pub fn peak(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))
}

/// [`peak`] in dBFS, 20·log10(peak); −∞ for silence.
pub fn peak_db(samples: &[f32]) -> f32 {
    to_db(peak(samples))
}

/// Index of the largest |sample| (the last of equals); 0 for no samples.
pub fn peak_index(samples: &[f32]) -> usize {
    (0..samples.len())
        .max_by(|&a, &b| samples[a].abs().total_cmp(&samples[b].abs()))
        .unwrap_or(0)
}

/// An amplitude ratio in dB, 20·log10(amplitude); −∞ for 0.
pub fn to_db(amplitude: f32) -> f32 {
    20.0 * amplitude.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amplitude: f32, frames: usize) -> Vec<f32> {
        // 1 kHz at 48 kHz: a whole number of periods in 48 frames.
        (0..frames)
            .map(|n| amplitude * (std::f32::consts::TAU * n as f32 / 48.0).sin())
            .collect()
    }

    #[test]
    fn a_full_scale_sine_is_minus_3_dbfs_and_peaks_at_full_scale() {
        let x = sine(1.0, 48_000);
        assert!((rms_dbfs(&x, &x) + 3.0103).abs() < 1e-3);
        assert!((rms(&x) - 0.5f64.sqrt()).abs() < 1e-6);
        assert!((peak(&x) - 1.0).abs() < 1e-6);
        assert!(peak_db(&x).abs() < 1e-5);
        assert!(
            [12, 36].contains(&peak_index(&x[..48])),
            "at the crest or the trough"
        );
    }

    #[test]
    fn half_amplitude_is_6_db_down_and_silence_is_far_below() {
        let (full, half) = (sine(1.0, 4_800), sine(0.5, 4_800));
        let drop = rms_dbfs(&full, &full) - rms_dbfs(&half, &half);
        assert!((drop - 6.0206).abs() < 1e-3, "{drop}");
        assert!((energy(&half) * 4.0 - energy(&full)).abs() < 1e-6 * energy(&full));
        let silence = [0.0f32; 100];
        assert_eq!(rms_dbfs(&silence, &silence), -300.0);
        assert_eq!(rms_dbfs(&[], &[]), -300.0);
        assert_eq!(peak(&[]), 0.0);
        assert_eq!(peak_db(&silence), f32::NEG_INFINITY);
    }

    #[test]
    fn peak_sees_negative_samples() {
        assert_eq!(peak(&[0.1, -0.7, 0.3]), 0.7);
        assert_eq!(peak_index(&[0.1, -0.7, 0.3]), 1);
        assert_eq!(peak_index(&[0.5, 0.1, -0.5]), 2, "the last of equals");
    }
}
