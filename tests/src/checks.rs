//! Checks on audio a host collected, shared by the CLAP host tests: is every sample written,
//! finite and within full scale, how loud is it, where does it drop out; and the seeded
//! generator their random automation comes from. The math lives in `auralis_checks`, shared
//! with the plugin's own tests; this module applies it to a [`Rendered`] stream.

pub use auralis_checks::{Spectrum, XorShift, rms_dbfs};

use crate::clap_host::Rendered;

/// Largest absolute sample of either channel.
pub fn peak(rendered: &Rendered) -> f32 {
    auralis_checks::peak(&rendered.left).max(auralis_checks::peak(&rendered.right))
}

/// RMS of both channels after the first `skip_s` seconds, in dBFS (see
/// [`auralis_checks::rms_dbfs`]).
pub fn rms_after(rendered: &Rendered, skip_s: f64) -> f64 {
    let skip = ((skip_s * rendered.sample_rate) as usize).min(rendered.frames());
    rms_dbfs(&rendered.left[skip..], &rendered.right[skip..])
}

/// Largest absolute sample difference between two renders, over the frames both have; a NaN
/// counts as infinitely different.
pub fn max_difference(a: &Rendered, b: &Rendered) -> f32 {
    auralis_checks::max_difference(&a.left, &b.left)
        .max(auralis_checks::max_difference(&a.right, &b.right))
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
    auralis_checks::dropouts(&rendered.left, &rendered.right, skip, min_frames)
}
