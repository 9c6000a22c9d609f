//! The tempo-synced ping-pong delay: echoes a dotted eighth apart, alternating sides.
//!
//! Owns a stereo ring buffer sized in `new` for the longest delay (a dotted eighth at
//! 30 BPM, 1.5 s) and the feedback filters. Engine thread, per sample; never allocates.
//!
//! The mono sum of the input enters the left line; each line's output feeds the other line,
//! so the first echo is on the left after one delay, the second on the right after two, and so
//! on. Everything written into the lines passes a 250 Hz high-pass and a 5 kHz low-pass, so
//! each repeat is thinner and darker than the last. When the tempo changes the delay does not
//! slide (that would glide the pitch of every echo): a second read head starts at the new
//! delay and the two cross-fade over [`CROSSFADE_S`].

use super::biquad::{self, Filter};

/// Longest delay supported: a dotted eighth (0.75 beat) at the slowest tempo, 30 BPM.
pub(super) const MAX_DELAY_S: f32 = 1.5;
/// Length of the cross-fade between read heads when the delay time changes.
const CROSSFADE_S: f32 = 0.06;
/// Feedback high-pass: repeats lose their low end.
const FEEDBACK_HIGHPASS_HZ: f32 = 250.0;
/// Feedback low-pass: repeats darken.
const FEEDBACK_LOWPASS_HZ: f32 = 5_000.0;

/// The delay's state.
/// fundsp's biquads have no `Debug`, so neither has this.
#[derive(Clone)]
pub(super) struct TempoDelay {
    /// Left and right lines, interleaved per frame; length a power of two.
    ring: Vec<[f32; 2]>,
    /// `ring.len() - 1`.
    mask: usize,
    /// Frames processed; the write position, wrapped by `mask`.
    write: usize,
    /// Delay of the outgoing read head in frames.
    current_frames: usize,
    /// Delay of the incoming read head in frames (equal to `current_frames` when idle).
    next_frames: usize,
    /// Cross-fade position, 0 (all current) ..= 1 (all next).
    crossfade: f32,
    /// Per-frame increase of `crossfade`; 0 when idle.
    crossfade_step: f32,
    /// `1 / crossfade length in frames`.
    crossfade_rate: f32,
    /// Sample rate in Hz.
    sample_rate: f32,
    /// Feedback high-pass per line.
    highpass: [Filter; 2],
    /// Feedback low-pass per line.
    lowpass: [Filter; 2],
}

impl TempoDelay {
    /// A silent delay for `sample_rate` (Hz), set to a dotted eighth at 120 BPM until the
    /// first [`TempoDelay::update`].
    pub(super) fn new(sample_rate: f32) -> Self {
        let len = ((MAX_DELAY_S * sample_rate) as usize + 2).next_power_of_two();
        let mut delay = Self {
            ring: vec![[0.0; 2]; len],
            mask: len - 1,
            write: 0,
            current_frames: 0,
            next_frames: 0,
            crossfade: 0.0,
            crossfade_step: 0.0,
            crossfade_rate: 1.0 / (CROSSFADE_S * sample_rate).max(1.0),
            sample_rate,
            highpass: [(); 2].map(|()| biquad::highpass(sample_rate, FEEDBACK_HIGHPASS_HZ)),
            lowpass: [(); 2].map(|()| biquad::lowpass(sample_rate, FEEDBACK_LOWPASS_HZ)),
        };
        delay.reset();
        delay
    }

    /// Silences the lines and filters.
    pub(super) fn reset(&mut self) {
        self.ring.fill([0.0; 2]);
        self.write = 0;
        self.current_frames = self.frames_for(0.375);
        self.next_frames = self.current_frames;
        self.crossfade = 0.0;
        self.crossfade_step = 0.0;
        for filter in self.highpass.iter_mut().chain(&mut self.lowpass) {
            fundsp::prelude32::AudioNode::reset(filter);
        }
    }

    /// Delay in whole frames for `delay_s`, kept inside the ring.
    fn frames_for(&self, delay_s: f32) -> usize {
        ((delay_s * self.sample_rate).round() as usize).clamp(1, self.mask - 1)
    }

    /// Jumps straight to `delay_s` with no cross-fade: for the first block after a reset.
    pub(super) fn snap(&mut self, delay_s: f32) {
        self.current_frames = self.frames_for(delay_s);
        self.next_frames = self.current_frames;
        self.crossfade = 0.0;
        self.crossfade_step = 0.0;
    }

    /// Control-rate update towards a delay of `delay_s` seconds (≤ [`MAX_DELAY_S`]). A change
    /// waits for a running cross-fade to finish, then starts a new one.
    pub(super) fn update(&mut self, delay_s: f32) {
        if self.crossfade >= 1.0 {
            self.current_frames = self.next_frames;
            self.crossfade = 0.0;
            self.crossfade_step = 0.0;
        }
        let target = self.frames_for(delay_s);
        if self.crossfade_step == 0.0 && target != self.current_frames {
            self.next_frames = target;
            self.crossfade_step = self.crossfade_rate;
        }
    }

    /// One frame: `input` is the mono send, `feedback` the gain (0..1) from each line into the
    /// other. Returns the left and right echoes.
    #[inline]
    pub(super) fn process(&mut self, input: f32, feedback: f32) -> (f32, f32) {
        let mask = self.mask;
        let old = self.ring[self.write.wrapping_sub(self.current_frames) & mask];
        let new = self.ring[self.write.wrapping_sub(self.next_frames) & mask];
        // Both heads are always read (they coincide when idle): no branch per frame.
        let fade = self.crossfade;
        let left = old[0] + fade * (new[0] - old[0]);
        let right = old[1] + fade * (new[1] - old[1]);
        self.crossfade = (fade + self.crossfade_step).min(1.0);

        let into_left = input + feedback * right;
        let into_right = feedback * left;
        let into_left = biquad::tick(
            &mut self.lowpass[0],
            biquad::tick(&mut self.highpass[0], into_left),
        );
        let into_right = biquad::tick(
            &mut self.lowpass[1],
            biquad::tick(&mut self.highpass[1], into_right),
        );
        self.ring[self.write & mask] = [into_left, into_right];
        self.write = self.write.wrapping_add(1);
        (left, right)
    }

    /// True when any stored value is subnormal (for the denormal tests).
    #[cfg(test)]
    pub(super) fn has_subnormal(&self) -> bool {
        self.ring.iter().flatten().any(|v| v.is_subnormal())
    }
}

#[cfg(test)]
mod tests {
    use auralis_checks::{peak, peak_index};

    use super::*;

    #[test]
    fn echoes_ping_pong_at_the_delay_time() {
        let sample_rate = 48_000.0;
        let mut delay = TempoDelay::new(sample_rate);
        delay.snap(0.375);
        let frames = 48_000;
        let (mut left, mut right) = (vec![0.0; frames], vec![0.0; frames]);
        for n in 0..frames {
            let input = if n == 0 { 1.0 } else { 0.0 };
            (left[n], right[n]) = delay.process(input, 0.5);
        }
        // The band-pass adds a few frames of group delay; allow 1 ms.
        let tolerance = 48;
        assert!(peak_index(&left[..27_000]).abs_diff(18_000) < tolerance);
        assert!(peak_index(&right[..45_000]).abs_diff(36_000) < tolerance);
        let first = peak(&left[..27_000]);
        let second = peak(&right);
        assert!(second < 0.7 * first, "repeats decay: {first} then {second}");
    }

    #[test]
    fn tempo_change_does_not_glide() {
        // A steady sine through the delay at 0.375 s, then switched to 0.25 s: the output
        // never jumps by more than the sine itself moves per frame (no click).
        let sample_rate = 48_000.0;
        let mut delay = TempoDelay::new(sample_rate);
        delay.snap(0.375);
        let step = std::f32::consts::TAU * 440.0 / sample_rate;
        let mut last = 0.0f32;
        let mut largest_jump = 0.0f32;
        for n in 0..96_000 {
            if n % 16 == 0 {
                delay.update(if n < 48_000 { 0.375 } else { 0.25 });
            }
            let (left, _) = delay.process((n as f32 * step).sin() * 0.5, 0.0);
            if n > 20_000 {
                largest_jump = largest_jump.max((left - last).abs());
            }
            last = left;
        }
        assert!(largest_jump < 0.05, "jump {largest_jump}");
        assert_eq!(delay.current_frames, 12_000);
    }
}
