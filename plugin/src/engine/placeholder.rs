//! A sustained chord of the selected key and scale: the sound of the foundation release, to be
//! replaced by the composer and the additive synthesizer. It exists so that every host test
//! hears a key- and scale-dependent signal from day one.

use std::f64::consts::TAU;

use crate::params::{MusicalSettings, ScaleName};
use crate::realtime::Frame;

/// Partials per chord tone.
const PARTIALS: usize = 6;
/// Chord tones: root, third, fifth, and a seventh that Intensity brings in.
const TONES: usize = 4;
/// Per-tone output level, keeping the sum around -18 dBFS RMS.
const TONE_LEVEL: f32 = 0.06;
/// Seconds for a pitch change to glide halfway, so a key change never jumps.
const GLIDE_HALF_LIFE_S: f32 = 0.15;

/// A slowly breathing four-note chord.
pub struct PlaceholderChord {
    sample_rate: f32,
    /// Per tone, per partial oscillator phase in cycles, f64 so it never drifts.
    phases: [[f64; PARTIALS]; TONES],
    /// Current (gliding) frequency of each tone in Hz.
    freqs_hz: [f64; TONES],
    /// Current level of each tone, 0..=1, following Intensity.
    levels: [f32; TONES],
    /// Phase of the slow breathing motion, in cycles.
    lfo_phase: f64,
    /// Per-frame glide coefficient.
    glide: f64,
}

impl PlaceholderChord {
    /// A silent chord that fades in on the first render.
    pub fn new(sample_rate: f32) -> Self {
        let glide = 0.5f64.powf(1.0 / (GLIDE_HALF_LIFE_S as f64 * sample_rate as f64));
        Self {
            sample_rate,
            phases: [[0.0; PARTIALS]; TONES],
            freqs_hz: [0.0; TONES],
            levels: [0.0; TONES],
            lfo_phase: 0.0,
            glide,
        }
    }

    /// Adds nothing and overwrites `out` with the chord.
    pub fn render(&mut self, settings: &MusicalSettings, out: &mut [Frame]) {
        let targets = chord_frequencies(settings);
        if self.freqs_hz[0] == 0.0 {
            self.freqs_hz = targets;
        }
        let level_targets = [
            1.0,
            1.0,
            1.0,
            ((settings.intensity - 0.3) / 0.4).clamp(0.0, 1.0),
        ];
        // Brightness tilts the partial spectrum: 1/k^2.2 when dark, 1/k^0.8 when bright.
        let tilt = 2.2 - 1.4 * settings.brightness as f64;
        let mut partial_amps = [0.0f64; PARTIALS];
        for (k, amp) in partial_amps.iter_mut().enumerate() {
            *amp = 1.0 / ((k + 1) as f64).powf(tilt);
        }
        let nyquist = self.sample_rate as f64 * 0.5;
        let dt = 1.0 / self.sample_rate as f64;
        let level_step = 1.0 / (0.5 * self.sample_rate);
        for frame in out.iter_mut() {
            let breath = 0.8 + 0.2 * (TAU * self.lfo_phase).sin();
            self.lfo_phase = (self.lfo_phase + 0.07 * dt).fract();
            let mut left = 0.0f64;
            let mut right = 0.0f64;
            for tone in 0..TONES {
                self.freqs_hz[tone] =
                    targets[tone] + (self.freqs_hz[tone] - targets[tone]) * self.glide;
                let level = &mut self.levels[tone];
                *level += (level_targets[tone] - *level).clamp(-level_step, level_step);
                let mut sum = 0.0;
                for (k, phase) in self.phases[tone].iter_mut().enumerate() {
                    let freq = self.freqs_hz[tone] * (k + 1) as f64;
                    if freq < nyquist {
                        sum += partial_amps[k] * (TAU * *phase).sin();
                    }
                    *phase = (*phase + freq * dt).fract();
                }
                let pan = tone as f64 / (TONES - 1) as f64;
                let gain = sum * (*level * TONE_LEVEL) as f64 * breath;
                left += gain * (1.0 - 0.5 * pan);
                right += gain * (0.5 + 0.5 * pan);
            }
            *frame = [left as f32, right as f32];
        }
    }
}

/// Semitones above the tonic of scale degrees 1, 3, 5 and 7 (pentatonic scales borrow the 7th of
/// their parent scale's chord colour from the nearest scale tone).
fn chord_semitones(scale: ScaleName) -> [u8; TONES] {
    match scale {
        ScaleName::Major | ScaleName::Lydian => [0, 4, 7, 11],
        ScaleName::Mixolydian => [0, 4, 7, 10],
        ScaleName::Minor | ScaleName::Dorian | ScaleName::Phrygian => [0, 3, 7, 10],
        ScaleName::MajorPentatonic => [0, 4, 7, 9],
        ScaleName::MinorPentatonic => [0, 3, 7, 10],
    }
}

fn chord_frequencies(settings: &MusicalSettings) -> [f64; TONES] {
    // Root around C3..B3 (MIDI 48..59).
    let root = 48 + settings.key.pitch_class() as i32;
    chord_semitones(settings.scale).map(|s| midi_to_hz((root + s as i32) as f64))
}

fn midi_to_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}
