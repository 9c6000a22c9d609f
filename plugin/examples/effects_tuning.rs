//! Prints what the effects chain does at each Space setting: reverberation time, how
//! decorrelated the tail is, and the loudness and gain reduction of pink noise through it. The
//! figures the reverb and the limiter were tuned with:
//! `cargo run -p auralis --example effects_tuning`.
//!
//! The effects tests bound the same figures (`synth::effects` tests); this prints them all.

use auralis::signal::SampleRate;
use auralis::synth::effects::Effects;
use auralis_checks::{correlation, loudness_lufs, normalize_lufs, pink_noise, t60_s};

const SAMPLE_RATE: f32 = 48_000.0;

/// Runs `left`/`right` through a fresh chain at `space` and `tempo_bpm` in 512-frame blocks;
/// returns the chain for its meters.
fn process(space: f32, tempo_bpm: f32, left: &mut [f32], right: &mut [f32]) -> Effects {
    let mut effects = Effects::new(SampleRate::DEFAULT);
    for (l, r) in left.chunks_mut(512).zip(right.chunks_mut(512)) {
        effects.process(space, tempo_bpm, l, r);
    }
    effects
}

/// The chain's response to an impulse of `amplitude` at frame 0 on both channels.
fn impulse_response(space: f32, tempo_bpm: f32, amplitude: f32, seconds: f32) -> [Vec<f32>; 2] {
    let frames = (seconds * SAMPLE_RATE) as usize;
    let mut channels = [vec![0.0; frames], vec![0.0; frames]];
    channels[0][0] = amplitude;
    channels[1][0] = amplitude;
    let [left, right] = &mut channels;
    process(space, tempo_bpm, left, right);
    channels
}

fn main() {
    let mut pink = pink_noise(12 * 48_000, 7);
    normalize_lufs(&mut pink, SAMPLE_RATE, -18.0);
    for space in [0.0, 0.2, 0.5, 0.9, 1.0] {
        // T60 from the reverb's predelay on, past the dry impulse.
        let [left, right] = impulse_response(space, 180.0, 0.25, 16.0);
        let start = (0.02 * SAMPLE_RATE) as usize;
        let t60 = t60_s(&left[start..], &right[start..], SAMPLE_RATE);
        let [left, right] = impulse_response(space, 120.0, 0.5, 1.5);
        let from = (0.3 * SAMPLE_RATE) as usize;
        let tail_correlation = correlation(&left[from..], &right[from..]);
        // The same pink noise on both sides, offset, so the input is wide but equally loud.
        let (mut left, mut right) = (pink.clone(), pink.clone());
        right.rotate_left(12_345);
        let effects = process(space, 100.0, &mut left, &mut right);
        let lufs = loudness_lufs(&left[96_000..], &right[96_000..], SAMPLE_RATE);
        println!(
            "space {space}: T60 {t60:.2} s, tail L/R correlation {tail_correlation:.2}, \
             -18 LUFS pink → {lufs:.2} LUFS, gain reduction {:.2} dB",
            effects.gain_reduction_db()
        );
    }
}
