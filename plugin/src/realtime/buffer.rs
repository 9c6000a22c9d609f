//! The last steps before the host's buffer: silence when there is nothing to play, and the
//! output gain ([`OutputGain`]) with the final safety clamp.
//!
//! Audio thread. Per block, in place, no allocation. The gain is the user's smoothed Gain
//! parameter; whatever arrives, what leaves is finite and within full scale.

use nice_plug::prelude::{Smoother, util};

use crate::signal::sanitize;

/// What the host may receive: full scale.
const FULL_SCALE: f32 = 1.0;

/// Writes silence into every channel.
pub fn silence(channels: &mut [&mut [f32]]) {
    for channel in channels.iter_mut() {
        channel.fill(0.0);
    }
}

/// The output gain: the user's smoothed Gain in decibels, applied to both channels, with
/// every sample clamped to full scale, NaN and infinity becoming silence.
#[derive(Debug, Clone, Copy)]
pub struct OutputGain {
    /// The settled level in dB that `factor` was converted from (NaN: none yet).
    settled_db: f32,
    /// The linear factor of `settled_db`.
    factor: f32,
}

impl Default for OutputGain {
    fn default() -> Self {
        Self {
            settled_db: f32::NAN,
            factor: 1.0,
        }
    }
}

impl OutputGain {
    /// Multiplies both channels by `gain_db`, sample by sample while it moves.
    pub fn apply(&mut self, gain_db: &Smoother<f32>, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        if gain_db.is_smoothing() {
            for i in 0..frames {
                let gain = util::db_to_gain(gain_db.next());
                left[i] = sanitize(left[i] * gain, FULL_SCALE);
                right[i] = sanitize(right[i] * gain, FULL_SCALE);
            }
            self.settled_db = f32::NAN;
        } else {
            // A settled gain is one conversion for as long as it stays, not a `powf` per block.
            let db = gain_db.next();
            if db != self.settled_db {
                self.settled_db = db;
                self.factor = util::db_to_gain(db);
            }
            let gain = self.factor;
            for (l, r) in left[..frames].iter_mut().zip(&mut right[..frames]) {
                *l = sanitize(*l * gain, FULL_SCALE);
                *r = sanitize(*r * gain, FULL_SCALE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::prelude::SmoothingStyle;

    #[test]
    fn gain_scales_and_nothing_leaves_beyond_full_scale() {
        let gain = Smoother::new(SmoothingStyle::Linear(30.0));
        gain.reset(-6.0);
        let mut left = [0.5, f32::NAN, 4.0, -0.25];
        let mut right = [f32::INFINITY, 0.1, -4.0, 0.0];
        let mut output = OutputGain::default();
        nice_assert_no_alloc::assert_no_alloc(|| output.apply(&gain, &mut left, &mut right));
        let half = util::db_to_gain(-6.0);
        assert!((left[0] - 0.5 * half).abs() < 1e-6);
        assert_eq!((left[1], right[0]), (0.0, 0.0), "non-finite is silence");
        assert_eq!((left[2], right[2]), (1.0, -1.0), "clamped to full scale");
    }

    #[test]
    fn a_moving_gain_ramps_across_the_block() {
        let gain = Smoother::new(SmoothingStyle::Linear(10.0));
        gain.reset(0.0);
        gain.set_target(48_000.0, -60.0);
        let mut left = [1.0; 64];
        let mut right = [1.0; 64];
        OutputGain::default().apply(&gain, &mut left, &mut right);
        assert!(
            left.windows(2).all(|w| w[1] < w[0]),
            "falls sample by sample"
        );
    }

    #[test]
    fn a_settled_gain_follows_every_new_setting() {
        let gain = Smoother::new(SmoothingStyle::None);
        let mut output = OutputGain::default();
        for db in [-6.0, -6.0, 0.0, -12.0, -12.0] {
            gain.reset(db);
            let (mut left, mut right) = ([0.5; 16], [0.5; 16]);
            output.apply(&gain, &mut left, &mut right);
            let expected = 0.5 * util::db_to_gain(db);
            assert!(
                left.iter()
                    .chain(&right)
                    .all(|&s| (s - expected).abs() < 1e-7)
            );
        }
    }

    #[test]
    fn silence_clears_every_channel() {
        let mut a = [1.0f32; 8];
        let mut b = [-1.0f32; 8];
        silence(&mut [&mut a, &mut b]);
        assert!(a.iter().chain(&b).all(|&s| s == 0.0));
    }
}
