//! How long a sound lasts: decay time of a hit, reverberation time of an impulse response.

/// Time in seconds after which |x| stays 60 dB (a factor 1000) below its peak: the position
/// of the last sample above peak/1000, divided by `sample_rate`. 0.0 for silence.
pub fn decay_time_s(samples: &[f32], sample_rate: f32) -> f32 {
    let threshold = super::peak(samples) * 1e-3;
    samples
        .iter()
        .rposition(|v| v.abs() > threshold)
        .unwrap_or(0) as f32
        / sample_rate
}

/// Reverberation time T60 in seconds from a stereo impulse response, as T20: the Schroeder
/// backward-integrated energy decay E(t) = Σ_{n≥t} (l² + r²), timed from −5 dB to −25 dB and
/// extrapolated (×3) to 60 dB. Robust to the noise of a single measurement, unlike reading
/// the envelope directly. The response should start at its impulse and be long enough to fall
/// 25 dB; if it never does, the result is about 3 × its length.
pub fn t60_s(left: &[f32], right: &[f32], sample_rate: f32) -> f32 {
    let mut energy: Vec<f64> = left
        .iter()
        .zip(right)
        .map(|(l, r)| f64::from(l * l + r * r))
        .collect();
    for n in (0..energy.len().saturating_sub(1)).rev() {
        energy[n] += energy[n + 1];
    }
    let total = energy.first().copied().unwrap_or(0.0);
    let time_at = |db: f64| {
        let level = total * 10f64.powf(db / 10.0);
        energy
            .iter()
            .position(|&e| e < level)
            .unwrap_or(energy.len()) as f32
            / sample_rate
    };
    3.0 * (time_at(-25.0) - time_at(-5.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exponentially decaying noise-free response with a given T60.
    fn decaying(t60: f32, sample_rate: f32, seconds: f32) -> Vec<f32> {
        // Amplitude falls 60 dB (×1/1000) in t60 seconds.
        let per_frame = (1e-3f32).powf(1.0 / (t60 * sample_rate));
        let mut level = 1.0f32;
        (0..(seconds * sample_rate) as usize)
            .map(|n| {
                let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
                let x = sign * level;
                level *= per_frame;
                x
            })
            .collect()
    }

    #[test]
    fn t60_of_an_exponential_decay_is_its_decay_time() {
        for t60 in [0.3, 1.0, 2.5] {
            let x = decaying(t60, 48_000.0, 3.0 * t60);
            let measured = t60_s(&x, &x, 48_000.0);
            assert!((measured / t60 - 1.0).abs() < 0.01, "{t60}: {measured}");
        }
        assert!(t60_s(&[], &[], 48_000.0).abs() < 1e-6);
    }

    #[test]
    fn decay_time_is_where_the_signal_falls_60_db_below_its_peak() {
        let x = decaying(0.5, 48_000.0, 1.0);
        let measured = decay_time_s(&x, 48_000.0);
        assert!((measured - 0.5).abs() < 1e-3, "{measured}");
        assert_eq!(decay_time_s(&[0.0; 10], 48_000.0), 0.0);
    }
}
