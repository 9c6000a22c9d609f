//! Two signals against each other, and a signal against silence.

/// Largest |a[n] − b[n]| over the frames both have, in full-scale units. A NaN in either counts
/// as an infinite difference, so a broken render never looks identical.
pub fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let difference = (x - y).abs();
            if difference.is_nan() {
                f32::INFINITY
            } else {
                difference
            }
        })
        .fold(0.0, f32::max)
}

/// Pearson correlation at lag 0 without mean removal, Σab / √(Σa²·Σb²), in −1..=1: 1 for the
/// same signal, −1 for the inverted one, near 0 for unrelated (decorrelated) signals. 0 when
/// either is silent.
pub fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (ab / (aa * bb).sqrt().max(1e-30)) as f32
}

/// Runs of at least `min_frames` frames of exact digital silence on both channels, counted
/// after the first `skip_frames` frames: what an underrun sounds like (the output fades to
/// zero and waits). A run longer than `min_frames` counts once.
pub fn dropouts(left: &[f32], right: &[f32], skip_frames: usize, min_frames: usize) -> usize {
    let mut runs = 0;
    let mut run = 0;
    for (l, r) in left.iter().zip(right).skip(skip_frames) {
        if *l == 0.0 && *r == 0.0 {
            run += 1;
            if run == min_frames {
                runs += 1;
            }
        } else {
            run = 0;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_cover_the_common_frames_and_nan_is_infinite() {
        assert_eq!(max_difference(&[0.0, 0.5, 1.0], &[0.0, 0.25]), 0.25);
        assert_eq!(max_difference(&[0.0, f32::NAN], &[0.0, 0.0]), f32::INFINITY);
        assert_eq!(max_difference(&[], &[1.0]), 0.0);
    }

    #[test]
    fn correlation_of_a_signal_with_itself_its_inverse_and_silence() {
        let x: Vec<f32> = (0..1000).map(|n| (n as f32 * 0.1).sin()).collect();
        let inverted: Vec<f32> = x.iter().map(|v| -v).collect();
        let quadrature: Vec<f32> = (0..1000).map(|n| (n as f32 * 0.1).cos()).collect();
        assert!((correlation(&x, &x) - 1.0).abs() < 1e-6);
        assert!((correlation(&x, &inverted) + 1.0).abs() < 1e-6);
        assert!(correlation(&x, &quadrature).abs() < 0.05);
        assert_eq!(correlation(&x, &[0.0; 1000]), 0.0);
    }

    #[test]
    fn dropouts_count_each_long_enough_silence_once_after_the_skip() {
        let mut left = vec![0.5f32; 1000];
        left[100..200].fill(0.0); // 100 frames: one dropout
        left[300..310].fill(0.0); // too short
        left[500..800].fill(0.0); // 300 frames: still one
        let right = left.clone();
        assert_eq!(dropouts(&left, &right, 0, 64), 2);
        assert_eq!(dropouts(&left, &right, 250, 64), 1);
        // Silence on one channel only is not a dropout.
        assert_eq!(dropouts(&left, &[0.5; 1000], 0, 64), 0);
    }
}
