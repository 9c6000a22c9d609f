//! Checks on audio a host collected, shared by the CLAP host tests: is every sample written,
//! finite and within full scale, how loud is it, where does it drop out; and the seeded
//! generator their random automation comes from.

use crate::clap_host::Rendered;

/// RMS of both channels together, in dBFS (a full-scale sine is -3 dBFS).
pub fn rms_dbfs(left: &[f32], right: &[f32]) -> f64 {
    let sum: f64 = left
        .iter()
        .chain(right)
        .map(|&s| f64::from(s) * f64::from(s))
        .sum();
    let mean = sum / (left.len() + right.len()).max(1) as f64;
    10.0 * mean.max(1e-30).log10()
}

/// Largest absolute sample of either channel.
pub fn peak(rendered: &Rendered) -> f32 {
    rendered
        .left
        .iter()
        .chain(&rendered.right)
        .fold(0.0f32, |m, s| m.max(s.abs()))
}

/// Every sample written, finite and within full scale.
///
/// # Panics
/// On the first sample that is not, naming it.
pub fn assert_sane(rendered: &Rendered, what: &str) {
    assert!(rendered.frames() > 0, "{what}: no audio");
    for (channel, samples) in [("left", &rendered.left), ("right", &rendered.right)] {
        if let Some(i) = samples.iter().position(|s| !s.is_finite() || s.abs() > 1.0) {
            panic!(
                "{what}: {channel} sample {i} of {} is {} (NaN means the plugin left the host's \
                 buffer unwritten)",
                samples.len(),
                samples[i]
            );
        }
    }
}

/// Runs of at least `min_frames` frames of exact digital silence on both channels, after the
/// first `skip_s` seconds: what an underrun sounds like (the output fades to zero and waits).
pub fn dropouts(rendered: &Rendered, skip_s: f64, min_frames: usize) -> usize {
    let skip = (skip_s * rendered.sample_rate) as usize;
    let mut runs = 0;
    let mut run = 0;
    for (l, r) in rendered.left.iter().zip(&rendered.right).skip(skip) {
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

/// A small deterministic generator, so a failing automation run can be replayed.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in 0..1.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
