//! The 8-point orthonormal Hadamard transform, the reverb's mixing matrix.
//!
//! Engine thread, once per control block; pure arithmetic on stack arrays.

/// Number of channels the reverb works in.
pub(super) const CHANNELS: usize = 8;

/// 1/√8: scales the transform so that it is orthonormal (energy-preserving, its own inverse).
const SCALE: f32 = 0.353_553_4;

/// Replaces each frame `x[·][k]` of `LANES` frames (`x[channel][frame]`) with H₈·x/√8, where
/// H₈ is the Sylvester Hadamard matrix (entries ±1).
///
/// Every output is a ±1 mix of every input, so one pass spreads a single arriving echo to all
/// eight lines: the fastest possible build-up of echo density. 24 additions per frame via the
/// fast Walsh–Hadamard butterfly; each butterfly is a whole-array add and subtract, so the
/// work vectorises along time.
#[inline]
pub(super) fn hadamard8_lanes<const LANES: usize>(x: &mut [[f32; LANES]; CHANNELS]) {
    let mut half = 1;
    while half < CHANNELS {
        for start in (0..CHANNELS).step_by(2 * half) {
            for i in start..start + half {
                let (low, high) = x.split_at_mut(i + half);
                let (a, b) = (&mut low[i], &mut high[0]);
                for k in 0..LANES {
                    let (u, v) = (a[k], b[k]);
                    a[k] = u + v;
                    b[k] = u - v;
                }
            }
        }
        half *= 2;
    }
    for lane in x.iter_mut() {
        for v in lane.iter_mut() {
            *v *= SCALE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook matrix product, H₈[i][j] = (-1)^popcount(i & j), as a reference.
    fn reference(x: [f32; CHANNELS]) -> [f32; CHANNELS] {
        std::array::from_fn(|i| {
            (0..CHANNELS)
                .map(|j| {
                    if (i & j).count_ones() % 2 == 0 {
                        x[j]
                    } else {
                        -x[j]
                    }
                })
                .sum::<f32>()
                * SCALE
        })
    }

    #[test]
    fn matches_the_matrix_preserves_energy_and_inverts_itself() {
        let frames = [
            [0.3, -1.2, 0.7, 0.05, 2.0, -0.4, 0.9, -0.6],
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ];
        let mut lanes: [[f32; 2]; CHANNELS] = std::array::from_fn(|c| [frames[0][c], frames[1][c]]);
        hadamard8_lanes(&mut lanes);
        for (f, frame) in frames.iter().enumerate() {
            let expected = reference(*frame);
            for c in 0..CHANNELS {
                assert!((expected[c] - lanes[c][f]).abs() < 1e-6);
            }
            let energy_in: f32 = frame.iter().map(|v| v * v).sum();
            let energy_out: f32 = lanes.iter().map(|lane| lane[f] * lane[f]).sum();
            assert!((energy_in - energy_out).abs() < 1e-5);
        }
        hadamard8_lanes(&mut lanes);
        for (f, frame) in frames.iter().enumerate() {
            for c in 0..CHANNELS {
                assert!((lanes[c][f] - frame[c]).abs() < 1e-6);
            }
        }
    }
}
