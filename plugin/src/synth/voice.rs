//! One sounding note of an additive instrument.
//!
//! A voice keeps its own time (`age_s`), each partial's phase in f64 cycles, and its envelope
//! level. Per block it writes one [`PartialParams`] per audible partial: the phase at the block's
//! start and linear amplitude ramps between the values at the block's two ends. Envelope,
//! decays, drift and pan are evaluated exactly at block boundaries and interpolated linearly
//! inside, which is inaudible at block lengths of a few milliseconds. Phases advance in f64 and
//! wrap to 0..1, so after hours the pitch is exactly what it was.

use super::block::PartialParams;
use super::instrument::{Instrument, MAX_PARTIALS};
use super::turns::{cos_turns, sin_turns};

/// Partials at or above this fraction of the sample rate are silent; between
/// [`FADE_START_RATIO`] and it they fade. Below Nyquist with margin at every sample rate.
pub const CUTOFF_RATIO: f64 = 0.45;
/// Start of the fade towards [`CUTOFF_RATIO`].
pub const FADE_START_RATIO: f64 = 0.40;
/// Release time (to -60 dB) after a voice is stolen: quick, yet long enough not to click.
pub const STEAL_RELEASE_S: f32 = 0.06;
/// ln(1000): a time constant is `t60 / T60_TAUS`, where `t60` is the time to fall by 60 dB.
const T60_TAUS: f64 = 6.907_755;
/// Level below which a releasing voice is finished (-90 dB).
const SILENT_LEVEL: f32 = 3.0e-5;
/// Rate of each partial's second swell (and of its pitch wander) relative to its first.
const SECOND_SWELL: f64 = 0.37;

/// Where the envelope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Rising linearly to 1.
    Attack,
    /// Falling towards sustain, then holding it.
    Sustain,
    /// Falling to silence.
    Release,
    /// Silent; the allocator removes the voice.
    Done,
}

/// A note being played.
#[derive(Debug, Clone)]
pub struct Voice {
    /// The preset.
    instrument: &'static Instrument,
    /// Allocation order, used for stealing decisions and per-voice motion offsets.
    pub id: u64,
    /// Note frequency in Hz.
    freq_hz: f64,
    /// 0..=1.
    velocity: f32,
    /// Centre of the voice in the stereo field, -1..=1.
    pan: f32,
    /// Seconds since the note started.
    age_s: f64,
    /// Seconds until the release starts (the note's length); counts down.
    hold_s: f64,
    /// Envelope stage.
    stage: Stage,
    /// Envelope level at the current time.
    level: f32,
    /// Release time to -60 dB: the instrument's, or [`STEAL_RELEASE_S`] once stolen.
    release_s: f32,
    /// Per-partial phase in cycles, 0..1.
    phases: [f64; MAX_PARTIALS],
    /// Offset of the slow motions in cycles, so voices don't move in unison.
    motion_offset: f64,
    /// Each partial's decay-and-swell shape at `shapes_age_s` (NaN: not computed): the end of
    /// one block is the start of the next, so each shape is evaluated once per block, not twice.
    shapes: [f32; MAX_PARTIALS],
    /// The age the cached shapes belong to (NaN: none).
    shapes_age_s: f64,
    /// Each partial's brightness tilt gain for `tilt_gains_for` (`ratio^-tilt`), recomputed only
    /// when Brightness moves: a `powf` per partial per block is most of a voice's cost.
    tilt_gains: [f32; MAX_PARTIALS],
    /// The tilt exponent `tilt_gains` belong to (NaN: none).
    tilt_gains_for: f32,
    /// Linear attack time of this note, seconds: the instrument's, plus its soft attack as far
    /// as the note asked for softness.
    attack_s: f32,
    /// `ln(ratio)` of each partial, for the spectral sweep's `ratio^-s` as one `exp`.
    ln_ratios: [f32; MAX_PARTIALS],
}

impl Voice {
    /// Starts a note. `duration_s` is how long it is held before its release.
    pub fn new(
        instrument: &'static Instrument,
        id: u64,
        freq_hz: f64,
        velocity: f32,
        pan: f32,
        duration_s: f64,
    ) -> Self {
        // A cheap, deterministic hash of the id spreads start phases and motion offsets.
        let hash = (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
        let mut phases = [0.0; MAX_PARTIALS];
        for (k, phase) in phases.iter_mut().enumerate() {
            *phase = (hash * (k as f64 * 7.31 + 1.0)).fract();
        }
        let mut ln_ratios = [0.0; MAX_PARTIALS];
        for (ln_ratio, partial) in ln_ratios.iter_mut().zip(instrument.partials) {
            *ln_ratio = partial.ratio.ln();
        }
        Self {
            instrument,
            id,
            freq_hz: if freq_hz.is_finite() {
                freq_hz.max(0.0)
            } else {
                0.0
            },
            velocity: if velocity.is_finite() {
                velocity.clamp(0.0, 1.0)
            } else {
                0.0
            },
            pan: if pan.is_finite() {
                pan.clamp(-1.0, 1.0)
            } else {
                0.0
            },
            age_s: 0.0,
            hold_s: if duration_s.is_finite() {
                duration_s.max(0.0)
            } else {
                0.0
            },
            stage: Stage::Attack,
            level: 0.0,
            release_s: instrument.envelope.release_s,
            phases,
            motion_offset: hash,
            shapes: [f32::NAN; MAX_PARTIALS],
            shapes_age_s: f64::NAN,
            tilt_gains: [1.0; MAX_PARTIALS],
            tilt_gains_for: f32::NAN,
            attack_s: instrument.envelope.attack_s,
            ln_ratios,
        }
    }

    /// The same note with its attack softened by `softness` (0 = as the instrument strikes,
    /// 1 = its [`Instrument::soft_attack_s`] longer; anything else is clamped, NaN reads as 0).
    /// Only before the first block: it sets how the note begins.
    pub fn with_softness(mut self, softness: f32) -> Self {
        let softness = if softness.is_finite() {
            softness.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.attack_s =
            self.instrument.envelope.attack_s + softness * self.instrument.soft_attack_s;
        self
    }

    /// The envelope stage.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The current envelope level, 0..=1.
    pub fn level(&self) -> f32 {
        self.level
    }

    /// The note's velocity, 0..=1.
    pub fn velocity(&self) -> f32 {
        self.velocity
    }

    /// The instrument playing the note.
    pub fn instrument(&self) -> &'static Instrument {
        self.instrument
    }

    /// Seconds since the note started.
    pub fn age_s(&self) -> f64 {
        self.age_s
    }

    /// Whether the voice was stolen (it is fading out quickly).
    pub fn is_stolen(&self) -> bool {
        self.release_s == STEAL_RELEASE_S
    }

    /// Ends the note now with its normal release.
    pub fn release(&mut self) {
        if matches!(self.stage, Stage::Attack | Stage::Sustain) {
            self.stage = Stage::Release;
        }
        self.hold_s = 0.0;
    }

    /// Ends the note now with a fast, click-free fade, to make room for another.
    pub fn steal(&mut self) {
        self.release();
        self.release_s = STEAL_RELEASE_S;
    }

    /// Writes this voice's audible partials for a block of `frames` frames and advances it.
    pub fn write_block(
        &mut self,
        frames: usize,
        sample_rate: f64,
        brightness: f32,
        out: &mut Vec<PartialParams>,
    ) {
        let dt = frames as f64 / sample_rate;
        let level_start = self.level;
        let age_start = self.age_s;
        self.advance_envelope(dt);
        let level_end = self.level;
        let age_end = self.age_s;
        if frames == 0 || (level_start == 0.0 && level_end == 0.0) {
            self.advance_phases(dt, age_start);
            return;
        }

        let inst = self.instrument;
        self.update_tilt(brightness);
        let (left_start, right_start) = self.pan_gains(age_start);
        let (left_end, right_end) = self.pan_gains(age_end);
        let drift = self.drift_ratio(age_start);
        let inv_frames = 1.0 / frames as f32;
        let voice_gain = inst.level * self.velocity;
        let shapes_valid = self.shapes_age_s == age_start;
        let sweep_start = self.sweep(age_start);
        let sweep_end = self.sweep(age_end);
        for k in 0..inst.partials.len() {
            let freq = self.partial_freq_hz(k, age_start, drift);
            let band = band_limit_gain(freq / sample_rate);
            if band > 0.0 {
                let base = voice_gain * inst.partials[k].amp * self.tilt_gains[k] * band;
                let shape_start = match self.shapes[k] {
                    shape if shapes_valid && !shape.is_nan() => shape,
                    _ => self.partial_shape(k, age_start, sweep_start),
                };
                let shape_end = self.partial_shape(k, age_end, sweep_end);
                self.shapes[k] = shape_end;
                let amp_start = base * level_start * shape_start;
                let amp_end = base * level_end * shape_end;
                out.push(PartialParams {
                    phase: self.phases[k] as f32,
                    increment: (freq / sample_rate) as f32,
                    amp_left: amp_start * left_start,
                    amp_left_step: (amp_end * left_end - amp_start * left_start) * inv_frames,
                    amp_right: amp_start * right_start,
                    amp_right_step: (amp_end * right_end - amp_start * right_start) * inv_frames,
                });
            } else {
                self.shapes[k] = f32::NAN;
            }
            // As `advance_phases` would, with the frequency already in hand.
            self.phases[k] = (self.phases[k] + freq * dt).fract();
        }
        self.shapes_age_s = age_end;
    }

    /// Recomputes the partials' spectral tilt gains if `brightness` (0..=1; anything else is
    /// taken as 0.5) asks for a different tilt than they were computed for.
    fn update_tilt(&mut self, brightness: f32) {
        let inst = self.instrument;
        let brightness = if brightness.is_finite() {
            brightness.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let tilt = inst.tilt_dark + (inst.tilt_bright - inst.tilt_dark) * brightness;
        if tilt != self.tilt_gains_for {
            for (gain, partial) in self.tilt_gains.iter_mut().zip(inst.partials) {
                *gain = partial.ratio.powf(-tilt);
            }
            self.tilt_gains_for = tilt;
        }
    }

    /// Decay, breathing swells and spectral sweep of partial `k` at `age_s`, where the sweep's
    /// extra tilt exponent is `sweep` (from [`Self::sweep`] at the same age).
    fn partial_shape(&self, k: usize, age_s: f64, sweep: f32) -> f32 {
        let inst = self.instrument;
        let spec = &inst.partials[k];
        let decay = (-(spec.decay_per_s as f64) * age_s).exp();
        let swell = if spec.motion_hz > 0.0 && inst.breath > 0.0 {
            // Two sines at unrelated rates, weighted 0.3 and 0.2 around 0.5: a dip in 0..=1
            // that never repeats exactly, scaled by how deep this instrument breathes.
            let dip = 0.5
                - 0.3 * sin_turns(self.swell_phase(k, age_s, 1.0))
                - 0.2 * sin_turns(self.swell_phase(k, age_s, SECOND_SWELL));
            1.0 - inst.breath as f64 * dip
        } else {
            1.0
        };
        let swept = if sweep > 0.0 {
            (-(sweep * self.ln_ratios[k]) as f64).exp()
        } else {
            1.0
        };
        (decay * swell * swept) as f32
    }

    /// Phase in turns of partial `k`'s swell at `rate` × its `motion_hz`, at `age_s`.
    fn swell_phase(&self, k: usize, age_s: f64, rate: f64) -> f64 {
        let spec = &self.instrument.partials[k];
        spec.motion_hz as f64 * rate * age_s + self.motion_offset * (k as f64 * rate + 1.0)
    }

    /// The spectral sweep's extra tilt exponent at `age_s`, 0..=`sweep`: 0 is the
    /// instrument's own spectrum, more is darker.
    fn sweep(&self, age_s: f64) -> f32 {
        let inst = self.instrument;
        if inst.sweep <= 0.0 {
            return 0.0;
        }
        let phase = inst.sweep_hz as f64 * age_s + 3.0 * self.motion_offset;
        (inst.sweep as f64 * (0.5 + 0.5 * sin_turns(phase))) as f32
    }

    /// Frequency of partial `k` over the block starting at `age_s`, with the voice's `drift`:
    /// its ratio, detuned by its own slow wander of up to ±`spread_cents`.
    fn partial_freq_hz(&self, k: usize, age_s: f64, drift: f64) -> f64 {
        let inst = self.instrument;
        let ratio = inst.partials[k].ratio as f64;
        let spread = if inst.spread_cents > 0.0 {
            // A few cents: 2^(c/1200) ≈ 1 + c·ln2/1200 to within 1e-7.
            let cents =
                inst.spread_cents as f64 * cos_turns(self.swell_phase(k, age_s, SECOND_SWELL));
            1.0 + cents * (std::f64::consts::LN_2 / 1200.0)
        } else {
            1.0
        };
        self.freq_hz * ratio * drift * spread
    }

    /// Equal-power gains for the pan position at `age_s`.
    fn pan_gains(&self, age_s: f64) -> (f32, f32) {
        let inst = self.instrument;
        let motion =
            inst.pan_motion as f64 * sin_turns(inst.pan_hz as f64 * age_s + self.motion_offset);
        let pan = (self.pan as f64 + motion).clamp(-1.0, 1.0);
        // A quarter turn across the field: hard left (1, 0) to hard right (0, 1).
        let angle = (pan + 1.0) / 8.0;
        (cos_turns(angle) as f32, sin_turns(angle) as f32)
    }

    /// Frequency multiplier of the slow pitch drift at `age_s`.
    fn drift_ratio(&self, age_s: f64) -> f64 {
        let inst = self.instrument;
        let cents = inst.drift_cents as f64
            * sin_turns(inst.drift_hz as f64 * age_s + 2.0 * self.motion_offset);
        (cents / 1200.0).exp2()
    }

    fn advance_phases(&mut self, dt: f64, age_start: f64) {
        let drift = self.drift_ratio(age_start);
        for k in 0..self.instrument.partials.len() {
            let cycles = self.partial_freq_hz(k, age_start, drift) * dt;
            self.phases[k] = (self.phases[k] + cycles).fract();
        }
    }

    /// Moves the envelope `dt` seconds on, through stage changes.
    fn advance_envelope(&mut self, dt: f64) {
        let env = self.instrument.envelope;
        let mut remaining = dt;
        self.age_s += dt;
        while remaining > 0.0 {
            if self.stage != Stage::Release && self.stage != Stage::Done && self.hold_s <= 0.0 {
                self.stage = Stage::Release;
            }
            match self.stage {
                Stage::Attack => {
                    let rate = 1.0 / self.attack_s.max(1e-4) as f64;
                    let to_top = (1.0 - self.level as f64) / rate;
                    let step = remaining.min(to_top).min(self.hold_s);
                    self.level = (self.level as f64 + rate * step).min(1.0) as f32;
                    self.hold_s -= step;
                    remaining -= step;
                    if self.level >= 1.0 {
                        self.stage = Stage::Sustain;
                    }
                }
                Stage::Sustain => {
                    let step = remaining.min(self.hold_s);
                    let target = env.sustain;
                    let tau = env.decay_s.max(1e-3) as f64 / T60_TAUS;
                    let k = (-step / tau).exp() as f32;
                    self.level = target + (self.level - target) * k;
                    self.hold_s -= step;
                    remaining -= step;
                }
                Stage::Release => {
                    let tau = self.release_s.max(1e-4) as f64 / T60_TAUS;
                    let k = (-remaining / tau).exp() as f32;
                    self.level *= k;
                    remaining = 0.0;
                    if self.level < SILENT_LEVEL {
                        self.level = 0.0;
                        self.stage = Stage::Done;
                    }
                }
                Stage::Done => {
                    self.level = 0.0;
                    remaining = 0.0;
                }
            }
        }
    }
}

/// 1 well below Nyquist, 0 at and above [`CUTOFF_RATIO`] of the sample rate, linear between.
fn band_limit_gain(cycles_per_frame: f64) -> f32 {
    if cycles_per_frame >= CUTOFF_RATIO || cycles_per_frame <= 0.0 {
        0.0
    } else if cycles_per_frame <= FADE_START_RATIO {
        1.0
    } else {
        ((CUTOFF_RATIO - cycles_per_frame) / (CUTOFF_RATIO - FADE_START_RATIO)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::instrument::{GLASS_BELL, SHIMMER, WARM_PAD};

    #[test]
    fn no_partial_reaches_nyquist_at_any_sample_rate() {
        for sample_rate in [44_100.0, 48_000.0, 96_000.0, 192_000.0] {
            for midi in [24.0f64, 60.0, 96.0, 120.0, 127.0] {
                let freq = 440.0 * ((midi - 69.0) / 12.0).exp2();
                let mut voice = Voice::new(&SHIMMER, 1, freq, 1.0, 0.0, 10.0);
                let mut out = Vec::new();
                for _ in 0..200 {
                    out.clear();
                    voice.write_block(256, sample_rate, 1.0, &mut out);
                    assert!(out.iter().all(|p| (p.increment as f64) < CUTOFF_RATIO));
                }
            }
        }
    }

    #[test]
    fn envelope_rises_holds_and_releases_to_done() {
        let mut voice = Voice::new(&GLASS_BELL, 1, 440.0, 1.0, 0.0, 1.0);
        let mut out = Vec::with_capacity(64);
        voice.write_block(480, 48_000.0, 0.5, &mut out);
        assert!(voice.level() > 0.9, "6 ms attack is over after 10 ms");
        for _ in 0..100 {
            out.clear();
            voice.write_block(480, 48_000.0, 0.5, &mut out);
        }
        assert_eq!(voice.stage(), Stage::Release, "released after its 1 s");
        for _ in 0..10_000 {
            out.clear();
            voice.write_block(480, 48_000.0, 0.5, &mut out);
            if voice.stage() == Stage::Done {
                break;
            }
        }
        assert_eq!(voice.stage(), Stage::Done);
    }

    #[test]
    fn amplitude_ramps_are_continuous_across_blocks() {
        let mut voice = Voice::new(&WARM_PAD, 3, 220.0, 0.8, 0.3, 5.0);
        let mut previous: Option<Vec<PartialParams>> = None;
        for _ in 0..400 {
            let mut out = Vec::new();
            voice.write_block(256, 48_000.0, 0.7, &mut out);
            if let Some(prev) = &previous {
                for (a, b) in prev.iter().zip(out.iter()) {
                    let end = a.amp_left + a.amp_left_step * 256.0;
                    assert!((end - b.amp_left).abs() < 1e-5, "{end} vs {}", b.amp_left);
                    let phase_end = (a.phase as f64 + a.increment as f64 * 256.0).fract();
                    let gap = (phase_end - b.phase as f64).abs();
                    assert!(gap.min(1.0 - gap) < 1e-3, "phase continuity");
                }
            }
            previous = Some(out);
        }
    }

    #[test]
    fn brightness_tilts_energy_towards_upper_partials() {
        let upper_share = |brightness: f32| {
            let mut voice = Voice::new(&WARM_PAD, 1, 110.0, 1.0, 0.0, 10.0);
            let mut out = Vec::new();
            for _ in 0..300 {
                out.clear();
                voice.write_block(256, 48_000.0, brightness, &mut out);
            }
            let total: f32 = out.iter().map(|p| p.amp_left.powi(2)).sum();
            let upper: f32 = out[8..].iter().map(|p| p.amp_left.powi(2)).sum();
            upper / total
        };
        assert!(upper_share(1.0) > 3.0 * upper_share(0.0));
    }
}
