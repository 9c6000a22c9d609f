//! Prints the level and length of every percussion voice over its pitch and brightness range,
//! the figures the voices' gains and decays were calibrated with:
//! `cargo run -p auralis --example percussion_calibration`.
//!
//! The tests check the same figures against the stated ranges
//! (`synth::percussion` tests); this prints them all, to retune a voice by ear and eye.

use auralis::signal::SampleRate;
use auralis::synth::percussion::{Percussion, PercussionVoice};
use auralis_checks::{decay_time_s, peak_db};

const SAMPLE_RATE: f32 = 48_000.0;

fn main() {
    for voice in [
        PercussionVoice::Pulse,
        PercussionVoice::Tick,
        PercussionVoice::Shaker,
        PercussionVoice::Bell,
    ] {
        for pitch_hz in [45.0, 110.0, 440.0, 1500.0, 3500.0] {
            for brightness in [0.0, 0.5, 1.0] {
                // One hit at full velocity, centred, rendered in 512-frame blocks for 4 s:
                // longer than the longest voice (a low bell).
                let frames = (4.0 * SAMPLE_RATE) as usize;
                let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
                let mut percussion = Percussion::new(SampleRate::DEFAULT, 1);
                percussion.trigger(voice, 0, 1.0, pitch_hz, brightness, 0.0);
                for (l, r) in left.chunks_mut(512).zip(right.chunks_mut(512)) {
                    percussion.render_add(l, r);
                }
                println!(
                    "{voice:?} {pitch_hz} Hz b {brightness}: peak {:.1} dBFS, length {:.3} s",
                    peak_db(&left),
                    decay_time_s(&left, SAMPLE_RATE)
                );
            }
        }
    }
}
