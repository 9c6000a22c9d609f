//! The reverb: an 8-line feedback delay network (FDN) with input diffusion.
//!
//! Owns its delay lines, filters and modulators, all sized in `new` for the sample rate.
//! Engine thread; never allocates after `new`.
//!
//! Signal path per frame:
//! `input → high-pass 180 Hz → low-pass 9 kHz → predelay 20 ms → diffuser (3 steps) → FDN`.
//! The FDN has eight delay lines of 29–90 ms (nudged to distinct primes in frames, so their
//! modes never coincide), read with cubic (Catmull–Rom) interpolation at a position that a
//! slow sine (0.11–0.37 Hz, ±0.35 ms) moves: the modes drift like a chorus and no resonance
//! stays put long enough to ring metallically. Each line's output passes a damping filter
//! `y[n] = b·x[n] + p·y[n-1]` whose DC gain `b/(1-p)` gives the line exactly the decay of the
//! chosen T60, and whose gain at 4 kHz gives 0.4 × that T60 (Jot's method), so the tail darkens
//! as it decays. The damped outputs are mixed by the orthonormal Hadamard matrix and written
//! back with the diffused input added. Left and right read two orthogonal rows of the same
//! matrix, so the tails of the two channels are uncorrelated.
//!
//! Block-wise: the predelay (20 ms) and the shortest line (29 ms) are both longer than a
//! control block, so everything after the input filters depends only on samples at least one
//! block old. [`Reverb::update`] therefore computes the whole control block's output at its
//! start, in loops along time that vectorise; per frame, [`Reverb::process`] only filters the
//! input into the predelay and returns the precomputed output.

use std::f64::consts::TAU;

use super::CONTROL_FRAMES;
use super::biquad::{self, Filter};
use super::diffuser::{Block, Diffuser};
use super::hadamard::{CHANNELS, hadamard8_lanes};
use super::line::Line;

/// Nominal line lengths in seconds; the actual ones are the next primes in frames.
const LINE_S: [f32; CHANNELS] = [
    0.0293, 0.0359, 0.0427, 0.0503, 0.0581, 0.0667, 0.0773, 0.0899,
];
// `update` reads a whole control block (+3 frames for the interpolator) from each line before
// writing that block, so the shortest line must be longer than that at the lowest rate.
const _: () = assert!(CONTROL_FRAMES + 3 < (LINE_S[0] * 8_000.0) as usize);
/// Peak excursion of each line's read position, in seconds.
const MOD_DEPTH_S: f32 = 0.000_35;
/// Rates of the line modulators in Hz: slow and mutually unrelated. A pitch deviation of
/// 2π·rate·depth is at most 0.08 % (1.4 cents), below what a sustained tail reveals.
const MOD_RATES_HZ: [f64; CHANNELS] = [0.11, 0.13, 0.17, 0.19, 0.23, 0.29, 0.31, 0.37];
/// Gap between the dry sound and the reverb's first arrival, in seconds.
const PREDELAY_S: f32 = 0.02;
/// Input high-pass: keeps the low end of the mix dry and clean.
const INPUT_HIGHPASS_HZ: f32 = 180.0;
/// Input low-pass: takes the edge off what enters the tail.
const INPUT_LOWPASS_HZ: f32 = 9_000.0;
/// Frequency at which the damping sets the tail's decay to [`DAMPING_T60_RATIO`] × T60.
const DAMPING_REF_HZ: f64 = 4_000.0;
/// T60 at [`DAMPING_REF_HZ`] relative to T60 at DC.
const DAMPING_T60_RATIO: f64 = 0.4;
/// ln(1000): a gain of `exp(-LN_1000 · t / T60)` has fallen by 60 dB at `t = T60`.
const LN_1000: f64 = 6.907_755_278_982_137;
/// ±1/√8 taps of Hadamard row 1 for the left output.
const LEFT_TAPS: [f32; CHANNELS] = [
    0.353_553_4,
    -0.353_553_4,
    0.353_553_4,
    -0.353_553_4,
    0.353_553_4,
    -0.353_553_4,
    0.353_553_4,
    -0.353_553_4,
];
/// ±1/√8 taps of Hadamard row 2 for the right output; orthogonal to [`LEFT_TAPS`].
const RIGHT_TAPS: [f32; CHANNELS] = [
    0.353_553_4,
    0.353_553_4,
    -0.353_553_4,
    -0.353_553_4,
    0.353_553_4,
    0.353_553_4,
    -0.353_553_4,
    -0.353_553_4,
];

/// The reverb's state.
///
/// fundsp's biquads have no `Debug`, so neither has this.
#[derive(Clone)]
pub(super) struct Reverb {
    /// The eight feedback delay lines.
    lines: [Line; CHANNELS],
    /// Each line's unmodulated length in frames (a distinct prime).
    base_frames: [f32; CHANNELS],
    /// Peak modulation in frames.
    mod_depth_frames: f32,
    /// Modulator phasors `(cos, sin)` of each line's phase, rotated once per control block
    /// (a rotation instead of a `sin` per line and block; renormalised, so it never drifts).
    lfo: [(f64, f64); CHANNELS],
    /// Rotation per control block, `(cos, sin)` of `2π·rate·CONTROL_FRAMES/fs`.
    lfo_rotation: [(f64, f64); CHANNELS],
    /// Read delay of each line in frames at the start of the current control block.
    delay_frames: [f32; CHANNELS],
    /// Damping filter input gain `b` per line.
    feed: [f32; CHANNELS],
    /// Damping filter pole `p` per line (0 ≤ p < 1).
    pole: [f32; CHANNELS],
    /// Damping filter state (its last output) per line.
    damp_state: [f32; CHANNELS],
    /// The T60 the damping was designed for; NaN forces a redesign.
    t60_s: f32,
    /// Sample rate in Hz.
    sample_rate: f32,
    /// Input high-pass, left and right.
    highpass: [Filter; 2],
    /// Input low-pass, left and right.
    lowpass: [Filter; 2],
    /// Filtered input, left and right, read after the predelay.
    predelay: [Line; 2],
    /// Predelay in frames (≥ one control block).
    predelay_frames: usize,
    /// Input diffusion.
    diffuser: Diffuser,
    /// The current control block's wet output: `[frame][left, right]`.
    wet: [[f32; 2]; CONTROL_FRAMES],
    /// Frame of the current control block that `process` handles next.
    frame_in_block: usize,
}

impl Reverb {
    /// A silent reverb for `sample_rate` (Hz, ≥ 8 kHz). [`Reverb::update`] must be called at
    /// the start of every control block of [`CONTROL_FRAMES`] frames.
    pub(super) fn new(sample_rate: f32) -> Self {
        let base_frames = LINE_S.map(|s| next_prime((s * sample_rate).round() as usize) as f32);
        let mod_depth_frames = MOD_DEPTH_S * sample_rate;
        let longest = base_frames.iter().copied().fold(0.0, f32::max) + mod_depth_frames;
        // +4: the interpolator reads one frame on each side and the position may round up.
        let history = longest as usize + 4;
        let predelay_frames = ((PREDELAY_S * sample_rate).round() as usize).max(CONTROL_FRAMES);
        let lfo_rotation = MOD_RATES_HZ.map(|hz| {
            let angle = TAU * hz * CONTROL_FRAMES as f64 / f64::from(sample_rate);
            (angle.cos(), angle.sin())
        });
        let mut reverb = Self {
            lines: std::array::from_fn(|_| Line::new(history, CONTROL_FRAMES)),
            base_frames,
            mod_depth_frames,
            lfo: [(1.0, 0.0); CHANNELS],
            lfo_rotation,
            delay_frames: base_frames,
            feed: [0.0; CHANNELS],
            pole: [0.0; CHANNELS],
            damp_state: [0.0; CHANNELS],
            t60_s: f32::NAN,
            sample_rate,
            highpass: [(); 2].map(|()| biquad::highpass(sample_rate, INPUT_HIGHPASS_HZ)),
            lowpass: [(); 2].map(|()| biquad::lowpass(sample_rate, INPUT_LOWPASS_HZ)),
            predelay: std::array::from_fn(|_| Line::new(predelay_frames, CONTROL_FRAMES)),
            predelay_frames,
            diffuser: Diffuser::new(sample_rate),
            wet: [[0.0; 2]; CONTROL_FRAMES],
            frame_in_block: 0,
        };
        reverb.reset();
        reverb
    }

    /// Silences every buffer and filter and restarts the modulators.
    pub(super) fn reset(&mut self) {
        self.lines
            .iter_mut()
            .chain(&mut self.predelay)
            .for_each(Line::reset);
        self.damp_state = [0.0; CHANNELS];
        self.t60_s = f32::NAN;
        for filter in self.highpass.iter_mut().chain(&mut self.lowpass) {
            fundsp::prelude32::AudioNode::reset(filter);
        }
        self.diffuser.reset();
        self.wet = [[0.0; 2]; CONTROL_FRAMES];
        self.frame_in_block = 0;
        for i in 0..CHANNELS {
            // Spread start phases so the lines never move in step.
            let phase = TAU * i as f64 / CHANNELS as f64;
            self.lfo[i] = (phase.cos(), phase.sin());
            self.delay_frames[i] = self.modulated_delay(i);
        }
    }

    /// Read delay of line `i` in frames at its modulator's current phase.
    fn modulated_delay(&self, i: usize) -> f32 {
        self.base_frames[i] + self.mod_depth_frames * self.lfo[i].1 as f32
    }

    /// Advances line `i`'s modulator by one control block.
    fn rotate_lfo(&mut self, i: usize) {
        let (c, s) = self.lfo[i];
        let (rc, rs) = self.lfo_rotation[i];
        let (c, s) = (c * rc - s * rs, c * rs + s * rc);
        // One Newton step towards |z| = 1 (|z| is 1 to within rounding already).
        let norm = 1.5 - 0.5 * (c * c + s * s);
        self.lfo[i] = (c * norm, s * norm);
    }

    /// Start of a control block: sets the decay to `t60_s` seconds (time for the tail to fall
    /// by 60 dB at low frequencies; > 0) and computes the block's output.
    pub(super) fn update(&mut self, t60_s: f32) {
        // Redesigning costs 16 exp and 8 sqrt; only when the decay actually moved.
        if t60_s != self.t60_s {
            self.t60_s = t60_s;
            self.design_damping();
        }
        self.frame_in_block = 0;
        self.lines
            .iter_mut()
            .chain(&mut self.predelay)
            .for_each(|line| line.reserve(CONTROL_FRAMES));
        let reads = self.read_lines();
        let mut y = [[0.0f32; CONTROL_FRAMES]; CHANNELS];
        for k in 0..CONTROL_FRAMES {
            for i in 0..CHANNELS {
                self.damp_state[i] = self.feed[i] * reads[i][k] + self.pole[i] * self.damp_state[i];
                y[i][k] = self.damp_state[i];
            }
        }
        self.wet = [[0.0; 2]; CONTROL_FRAMES];
        for (i, lane) in y.iter().enumerate() {
            for (wet, v) in self.wet.iter_mut().zip(lane) {
                wet[0] += LEFT_TAPS[i] * v;
                wet[1] += RIGHT_TAPS[i] * v;
            }
        }
        hadamard8_lanes(&mut y);
        let injected = self.diffused_input();
        for ((lane, input), line) in y.iter_mut().zip(&injected).zip(&mut self.lines) {
            for (v, x) in lane.iter_mut().zip(input) {
                *v += x;
            }
            line.push_run(lane);
        }
    }

    /// The block's interpolated reads of every line. The read position moves linearly from
    /// this block's modulated delay to the next one's; the cubic is evaluated around the
    /// integer part of the start, with `t` allowed a hair outside 0..1 as the position moves
    /// (by < 0.06 frames per block), so that every read is one contiguous run.
    fn read_lines(&mut self) -> Block {
        let mut reads = [[0.0f32; CONTROL_FRAMES]; CHANNELS];
        for (i, lane) in reads.iter_mut().enumerate() {
            self.rotate_lfo(i);
            let start = self.delay_frames[i];
            let end = self.modulated_delay(i);
            let step = (end - start) / CONTROL_FRAMES as f32;
            // Truncation is floor here: delays are positive.
            let whole = start as usize;
            let offset = start - whole as f32;
            // run[k + 2] is `whole` frames before frame k of this block.
            let run = self.lines[i].run::<{ CONTROL_FRAMES + 3 }>(whole + 2);
            for (k, read) in lane.iter_mut().enumerate() {
                // Through i32: SSE2 converts four i32 to f32 at once, but a usize one by one.
                let t = offset + step * (k as i32) as f32;
                *read = catmull_rom(run[k + 3], run[k + 2], run[k + 1], run[k], t);
            }
            self.delay_frames[i] = end;
        }
        reads
    }

    /// The predelayed input of this block, spread over eight channels and diffused.
    fn diffused_input(&mut self) -> Block {
        let left: &[f32; CONTROL_FRAMES] = self.predelay[0].run(self.predelay_frames);
        let right: &[f32; CONTROL_FRAMES] = self.predelay[1].run(self.predelay_frames);
        // Four copies of each side: ×0.5 keeps the injected energy equal to the input's.
        let mut x: Block = [[0.0; CONTROL_FRAMES]; CHANNELS];
        for (c, lane) in x.iter_mut().enumerate() {
            let side = if c % 2 == 0 { left } else { right };
            for (v, s) in lane.iter_mut().zip(side) {
                *v = 0.5 * s;
            }
        }
        self.diffuser.process(&mut x);
        x
    }

    /// Per line: DC gain `g = 10^(-3·L/(fs·T60))`; pole `p` so that the gain at
    /// [`DAMPING_REF_HZ`] is `g·r`, with `r` the extra loss for [`DAMPING_T60_RATIO`]. From
    /// `(1-p)² = r²(1 - 2p·cos ω + p²)`: `p = 1/(B + √(B²-1))`, `B = (1 - r²cos ω)/(1 - r²)`.
    fn design_damping(&mut self) {
        let sample_rate = f64::from(self.sample_rate);
        let decay_per_frame = LN_1000 / (sample_rate * f64::from(self.t60_s));
        let ref_hz = DAMPING_REF_HZ.min(0.45 * sample_rate);
        let cos_ref = (TAU * ref_hz / sample_rate).cos();
        for i in 0..CHANNELS {
            let len = f64::from(self.base_frames[i]);
            let gain_dc = (-decay_per_frame * len).exp();
            let r = (-decay_per_frame * len * (1.0 / DAMPING_T60_RATIO - 1.0)).exp();
            let r2 = r * r;
            let b = (1.0 - r2 * cos_ref) / (1.0 - r2);
            let pole = 1.0 / (b + (b * b - 1.0).max(0.0).sqrt());
            self.pole[i] = pole as f32;
            self.feed[i] = (gain_dc * (1.0 - pole)) as f32;
        }
    }

    /// One stereo frame in (it enters the predelay), the reverb's wet stereo frame out (no dry
    /// signal). The tail's level for steady input grows with √T60; the caller scales it. At
    /// most [`CONTROL_FRAMES`] frames per [`Reverb::update`].
    #[inline]
    pub(super) fn process(&mut self, left: f32, right: f32) -> (f32, f32) {
        let left = biquad::tick(
            &mut self.lowpass[0],
            biquad::tick(&mut self.highpass[0], left),
        );
        let right = biquad::tick(
            &mut self.lowpass[1],
            biquad::tick(&mut self.highpass[1], right),
        );
        self.predelay[0].push(left);
        self.predelay[1].push(right);
        let [wet_left, wet_right] = self.wet[self.frame_in_block];
        self.frame_in_block += 1;
        (wet_left, wet_right)
    }

    /// True when any stored value is subnormal (for the denormal tests).
    #[cfg(test)]
    pub(super) fn has_subnormal(&self) -> bool {
        self.lines
            .iter()
            .chain(&self.predelay)
            .any(Line::has_subnormal)
            || self.diffuser.has_subnormal()
            || self.damp_state.iter().any(|v| v.is_subnormal())
    }
}

/// Catmull–Rom cubic through four consecutive samples, evaluated between `at` (t = 0) and
/// `older` (t = 1). Flat to within 1 dB up to fs/4, unlike linear interpolation, whose
/// moving dip at Nyquist would make the tail's brightness wobble with the modulation.
#[inline]
fn catmull_rom(newer: f32, at: f32, older: f32, oldest: f32, t: f32) -> f32 {
    let c1 = 0.5 * (older - newer);
    let c2 = newer - 2.5 * at + 2.0 * older - 0.5 * oldest;
    let c3 = 0.5 * (oldest - newer) + 1.5 * (at - older);
    ((c3 * t + c2) * t + c1) * t + at
}

/// The smallest prime ≥ `n` (n ≥ 2); trial division, called only in `new`.
fn next_prime(n: usize) -> usize {
    let is_prime = |k: usize| {
        k >= 2
            && (2..)
                .take_while(|d| d * d <= k)
                .all(|d| !k.is_multiple_of(d))
    };
    (n.max(2)..).find(|&k| is_prime(k)).unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_lengths_are_distinct_primes_at_every_rate() {
        for sample_rate in [8_000.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 768_000.0] {
            let reverb = Reverb::new(sample_rate);
            let lengths = reverb.base_frames.map(|f| f as usize);
            for (i, &a) in lengths.iter().enumerate() {
                assert_eq!(next_prime(a), a);
                assert!(lengths[i + 1..].iter().all(|&b| b != a));
            }
        }
    }

    #[test]
    fn damping_gives_the_designed_decay_per_pass() {
        let mut reverb = Reverb::new(48_000.0);
        reverb.update(2.0);
        for i in 0..CHANNELS {
            let dc_gain = reverb.feed[i] / (1.0 - reverb.pole[i]);
            let expected = (-LN_1000 * f64::from(reverb.base_frames[i]) / (48_000.0 * 2.0)).exp();
            assert!((f64::from(dc_gain) - expected).abs() < 1e-4, "line {i}");
            assert!(dc_gain < 1.0);
        }
    }
}
