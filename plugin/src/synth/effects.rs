//! The master effects: reverb, tempo delay, bus compressor and true-peak limiter.
//!
//! Owns every buffer of the chain, sized in [`Effects::new`] for the sample rate
//! (8 kHz..=768 kHz). Runs on the engine thread, one block at a time, in place; it must
//! never allocate, lock or block after `new`, and never let a NaN or infinity reach a
//! feedback loop (input is sanitised first).
//!
//! ```text
//! in ─ sanitise ─┬───────────────────── dry ──────────────────┐
//!                ├─ tempo delay ─┬─────────── delay wet ─────(+)─ compressor ─ limiter ─ out
//!                │               └─ × 0.6 ─┐                  │
//!                └────────────────────────(+)─ reverb ─ wet ──┘
//! ```
//!
//! The reverb hears the dry input plus 0.6 × the echoes, so repeats blur into the tail.
//!
//! One knob, Space (0..=1), drives it all: the reverb's T60 rises exponentially from 0.8 s to
//! 10 s, its wet level from a hint to lush, the dry level dips by up to 2 dB to make room, and
//! the delay fades in from nothing (wet `0.3·space^1.5`, feedback `0.55·space`). Space is
//! smoothed (100 ms) and everything derived from it is recomputed once per control block of
//! 64 frames (`CONTROL_FRAMES`) counted from the last reset, with gains ramped linearly per frame
//! in between; so the output does not depend on how the caller splits its blocks (tested
//! bit-exact). Tempo changes cross-fade the delay's read head (60 ms) instead of sliding it.
//!
//! The output is delayed by [`Effects::latency_frames`] (the limiter's 3 ms lookahead plus
//! 7 frames), and band-limited to 0.45 × fs by the limiter (-0.3 dB at 18 kHz at 44.1 kHz) so
//! that its true-peak detector sees every peak: the output never exceeds -1.5 dBFS sample
//! peak or -1 dBTP true peak, whatever comes in (tested to +12 dBFS; NaN and ±inf read as 0,
//! and finite input is clamped to ±100). Feedback loops carry a -400 dBFS noise floor so that
//! they never decay into subnormal numbers; the output is flushed to exact 0 below -300 dBFS,
//! so silence in gives exact silence out once the tail has died.

mod biquad;
mod compressor;
mod diffuser;
mod guard;
mod hadamard;
mod limiter;
mod line;
mod ramp;
mod reverb;
mod tempo_delay;
mod true_peak;

#[cfg(test)]
mod tests;

use self::compressor::Compressor;
use self::guard::NoiseFloor;
use self::limiter::Limiter;
use self::ramp::Ramp;
use self::reverb::Reverb;
use self::tempo_delay::TempoDelay;
use crate::signal::{SampleRate, sanitize};

/// Frames per control block: parameters derived from Space and tempo update this often
/// (1.3 ms at 48 kHz), at fixed positions in the stream. Must stay below the reverb's
/// predelay and shortest line at 8 kHz (160 frames), which the block-wise reverb relies on.
const CONTROL_FRAMES: usize = 64;
/// Tempo range in BPM; other values are clamped into it.
pub const TEMPO_RANGE_BPM: (f32, f32) = (30.0, 180.0);
/// Reverb T60 at Space 0 and Space 1, in seconds; exponential in between.
pub const T60_RANGE_S: (f32, f32) = (0.8, 10.0);
/// The delay's echo spacing in beats: a dotted eighth.
const DELAY_BEATS: f32 = 0.75;
/// Time constant of the Space smoother.
const SPACE_SMOOTHING_S: f32 = 0.1;
/// Reverb wet level at Space 0 and Space 1, relative to a tail of T60 = 1 s (the level is
/// divided by √T60 so that the tail's loudness does not grow with its length).
const REVERB_WET: (f32, f32) = (0.35, 1.3);
/// Delay wet level at Space 1 (scaled by Space^1.5, so it is off at 0).
const DELAY_WET_MAX: f32 = 0.3;
/// Delay feedback at Space 1 (scaled by Space).
const DELAY_FEEDBACK_MAX: f32 = 0.55;
/// How much of the echoes also enters the reverb.
const ECHO_TO_REVERB: f32 = 0.6;
/// Dry level loss at Space 1, as a fraction: the wet signal takes its place.
const DRY_DUCK_MAX: f32 = 0.2;

/// The effects chain's state.
#[derive(Clone)]
pub struct Effects {
    /// Sample rate in Hz.
    sample_rate: f32,
    /// Smoothed Space (0..=1), advanced once per control block.
    space: f32,
    /// Space smoother coefficient per control block.
    space_coef: f32,
    /// False until the first block after `new`/`reset`, which jumps the smoother to its target.
    primed: bool,
    /// Frames into the current control block (0..CONTROL_FRAMES).
    control_phase: usize,
    /// Gain of the dry signal.
    dry: Ramp,
    /// Gain of the reverb's output.
    reverb_wet: Ramp,
    /// Gain of the delay's output.
    delay_wet: Ramp,
    /// Feedback of the delay.
    delay_feedback: Ramp,
    /// Anti-denormal floor added to the sends into the feedback loops.
    noise: NoiseFloor,
    /// The reverb.
    reverb: Reverb,
    /// The tempo delay.
    delay: TempoDelay,
    /// The bus compressor.
    compressor: Compressor,
    /// The limiter.
    limiter: Limiter,
}

impl Effects {
    /// A silent chain for `sample_rate`. Allocates all buffers: about 1.5 MB at 48 kHz (most
    /// of it the delay's 1.5 s), 24 MB at 768 kHz.
    pub fn new(sample_rate: SampleRate) -> Self {
        let sample_rate = sample_rate.hz();
        let control_s = CONTROL_FRAMES as f32 / sample_rate;
        Self {
            sample_rate,
            space: 0.0,
            space_coef: 1.0 - (-control_s / SPACE_SMOOTHING_S).exp(),
            primed: false,
            control_phase: 0,
            dry: Ramp::new(1.0),
            reverb_wet: Ramp::new(0.0),
            delay_wet: Ramp::new(0.0),
            delay_feedback: Ramp::new(0.0),
            noise: NoiseFloor::new(),
            reverb: Reverb::new(sample_rate),
            delay: TempoDelay::new(sample_rate),
            compressor: Compressor::new(sample_rate, CONTROL_FRAMES),
            limiter: Limiter::new(sample_rate),
        }
    }

    /// Silences every buffer and returns to the state `new` gives.
    pub fn reset(&mut self) {
        self.primed = false;
        self.control_phase = 0;
        self.dry = Ramp::new(1.0);
        self.reverb_wet = Ramp::new(0.0);
        self.delay_wet = Ramp::new(0.0);
        self.delay_feedback = Ramp::new(0.0);
        self.noise.reset();
        self.reverb.reset();
        self.delay.reset();
        self.compressor.reset();
        self.limiter.reset();
    }

    /// Current gain reduction of the compressor plus the limiter, in dB (≥ 0), for display.
    pub fn gain_reduction_db(&self) -> f32 {
        self.compressor.reduction_db() + self.limiter.reduction_db()
    }

    /// Delay of the dry signal from input to output in frames: the limiter's lookahead
    /// (3 ms) plus its detector's 8 frames, minus one.
    pub fn latency_frames(&self) -> usize {
        self.limiter.latency_frames()
    }

    /// Processes one block of stereo in place. `space` is 0..=1 and `tempo_bpm` 30..=180
    /// (both clamped; non-finite values read as 0 and 120). Left and right should have the
    /// same length (any, typically 1..=8192); if not, only the common length is processed.
    pub fn process(&mut self, space: f32, tempo_bpm: f32, left: &mut [f32], right: &mut [f32]) {
        self.process_with_send(space, tempo_bpm, left, right, None);
    }

    /// As [`Self::process`], with `send` (left and right, as long as the block) added to the
    /// reverb's input only: what should sit deeper in the room than the dry mix puts it
    /// (struck and plucked layers, kept inside the bed). Shorter sends are read as silence
    /// past their end.
    pub fn process_with_send(
        &mut self,
        space: f32,
        tempo_bpm: f32,
        left: &mut [f32],
        right: &mut [f32],
        send: Option<(&[f32], &[f32])>,
    ) {
        let space = if space.is_finite() {
            space.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let tempo_bpm = if tempo_bpm.is_finite() {
            tempo_bpm.clamp(TEMPO_RANGE_BPM.0, TEMPO_RANGE_BPM.1)
        } else {
            120.0
        };
        let delay_s = DELAY_BEATS * 60.0 / tempo_bpm;
        if !self.primed {
            self.primed = true;
            self.space = space;
            self.delay.snap(delay_s);
            let targets = Targets::new(space);
            self.dry = Ramp::new(targets.dry);
            self.reverb_wet = Ramp::new(targets.reverb_wet);
            self.delay_wet = Ramp::new(targets.delay_wet);
            self.delay_feedback = Ramp::new(targets.delay_feedback);
        }
        let frames = left.len().min(right.len());
        let mut start = 0;
        while start < frames {
            if self.control_phase == 0 {
                self.update_control(space, delay_s);
            }
            let end = frames.min(start + CONTROL_FRAMES - self.control_phase);
            let mut send_block = [[0.0f32; 2]; CONTROL_FRAMES];
            if let Some((send_left, send_right)) = send {
                for (n, frame) in send_block[..end - start].iter_mut().enumerate() {
                    let i = start + n;
                    *frame = [
                        send_left
                            .get(i)
                            .map_or(0.0, |&x| sanitize(x, guard::INPUT_LIMIT)),
                        send_right
                            .get(i)
                            .map_or(0.0, |&x| sanitize(x, guard::INPUT_LIMIT)),
                    ];
                }
            }
            self.process_control_block(&mut left[start..end], &mut right[start..end], &send_block);
            self.control_phase = (self.control_phase + end - start) % CONTROL_FRAMES;
            start = end;
        }
    }

    /// Start of a control block: smooths Space and retargets everything derived from it.
    fn update_control(&mut self, space: f32, delay_s: f32) {
        self.space += self.space_coef * (space - self.space);
        let targets = Targets::new(self.space);
        self.reverb.update(targets.t60_s);
        self.delay.update(delay_s);
        self.compressor.update();
        self.dry.retarget(targets.dry, CONTROL_FRAMES);
        self.reverb_wet.retarget(targets.reverb_wet, CONTROL_FRAMES);
        self.delay_wet.retarget(targets.delay_wet, CONTROL_FRAMES);
        self.delay_feedback
            .retarget(targets.delay_feedback, CONTROL_FRAMES);
    }

    /// Up to one control block (≤ [`CONTROL_FRAMES`] frames) through the whole chain, stage
    /// by stage, with the intermediate signals in stack arrays.
    fn process_control_block(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        send: &[[f32; 2]; CONTROL_FRAMES],
    ) {
        let frames = left.len();
        let mut echo = [[0.0f32; 2]; CONTROL_FRAMES];
        let mut verb = [[0.0f32; 2]; CONTROL_FRAMES];
        for n in 0..frames {
            left[n] = sanitize(left[n], guard::INPUT_LIMIT);
            right[n] = sanitize(right[n], guard::INPUT_LIMIT);
        }
        for n in 0..frames {
            let send = 0.5 * (left[n] + right[n]) + self.noise.next();
            let (l, r) = self.delay.process(send, self.delay_feedback.tick());
            echo[n] = [l, r];
        }
        for n in 0..frames {
            let send_left = left[n] + ECHO_TO_REVERB * echo[n][0] + send[n][0] + self.noise.next();
            let send_right =
                right[n] + ECHO_TO_REVERB * echo[n][1] + send[n][1] + self.noise.next();
            let (l, r) = self.reverb.process(send_left, send_right);
            verb[n] = [l, r];
        }
        for n in 0..frames {
            let dry = self.dry.tick();
            let reverb_wet = self.reverb_wet.tick();
            let delay_wet = self.delay_wet.tick();
            left[n] = dry * left[n] + delay_wet * echo[n][0] + reverb_wet * verb[n][0];
            right[n] = dry * right[n] + delay_wet * echo[n][1] + reverb_wet * verb[n][1];
        }
        self.compressor.process(left, right);
        self.limiter.process(left, right);
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            *l = guard::flush(*l);
            *r = guard::flush(*r);
        }
    }

    /// True when any stored state is subnormal (for the denormal tests).
    #[cfg(test)]
    fn has_subnormal_state(&self) -> bool {
        self.reverb.has_subnormal() || self.delay.has_subnormal()
    }
}

impl std::fmt::Debug for Effects {
    // fundsp's filters have no `Debug`; show what a status line would.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("sample_rate", &self.sample_rate)
            .field("space", &self.space)
            .field("latency_frames", &self.latency_frames())
            .finish_non_exhaustive()
    }
}

/// Everything Space sets, at one value of Space.
#[derive(Debug, Clone, Copy)]
struct Targets {
    /// Reverb decay time, `0.8 s × 12.5^space`.
    t60_s: f32,
    /// Dry gain, `1 - 0.2·space`.
    dry: f32,
    /// Reverb output gain, `(0.35 + 0.95·space) / √T60`.
    reverb_wet: f32,
    /// Delay output gain, `0.3·space^1.5`.
    delay_wet: f32,
    /// Delay feedback, `0.55·space`.
    delay_feedback: f32,
}

impl Targets {
    /// The targets for `space` in 0..=1.
    fn new(space: f32) -> Self {
        let t60_s = T60_RANGE_S.0 * (T60_RANGE_S.1 / T60_RANGE_S.0).powf(space);
        let wet = REVERB_WET.0 + (REVERB_WET.1 - REVERB_WET.0) * space;
        Self {
            t60_s,
            dry: 1.0 - DRY_DUCK_MAX * space,
            reverb_wet: wet / t60_s.sqrt(),
            delay_wet: DELAY_WET_MAX * space * space.sqrt(),
            delay_feedback: DELAY_FEEDBACK_MAX * space,
        }
    }
}
