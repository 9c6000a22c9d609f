//! The lookahead true-peak limiter at the end of the chain.
//!
//! Owns its detector, gain-smoothing buffers and the signal delay, all sized in `new` for the
//! sample rate. Engine thread, one control block at a time; never allocates.
//!
//! The input first passes a low-pass at 0.45 × fs (second-order Butterworth, -0.3 dB at
//! 18 kHz at 44.1 kHz): the detector's 16-tap interpolator is exact only below that, and
//! full-band noise near Nyquist would otherwise peak between samples unseen.
//!
//! Per frame: the [`TruePeak`] estimator gives the stereo-linked true peak `p[k]` of sample
//! `k` (the largest of the intervals on either side of it); the gain it needs is
//! `g[k] = min(1, CEILING / p[k])`. A sliding minimum over the lookahead `L` (≈ 3 ms) holds
//! that gain from `L - 1` frames before the peak; a one-pole release lets the held gain
//! rise again with a 250 ms time constant (falls are followed at once); a moving average over
//! `L` frames turns every step into a ramp lasting `L`. The signal is delayed so that each
//! sample meets the average of `L` gains that were all held at or below its own requirement:
//! the ceiling is reached without overshoot and without clipping. A final clamp at
//! [`CEILING`] guards the sample peak against rounding.

use super::CONTROL_FRAMES;
use super::biquad::{self, Filter};
use super::true_peak::{self, Phases, TruePeak};

/// Output ceiling: -1.5 dBFS, for both the estimated true peak and the sample peak. The
/// 0.5 dB below the -1 dBTP target covers the estimator's error and the gain's variation
/// between samples.
pub(super) const CEILING: f32 = 0.841_395_1;
/// Lookahead in seconds.
const LOOKAHEAD_S: f32 = 0.003;
/// Time constant of the gain's recovery.
const RELEASE_S: f32 = 0.25;

/// Sliding minimum over the last `window` values: a monotonic deque in a fixed ring.
#[derive(Debug, Clone)]
struct SlidingMin {
    /// Frame index of each queued value.
    index: Vec<u64>,
    /// Queued values, increasing from head to tail.
    value: Vec<f32>,
    /// Ring mask (capacity - 1; capacity ≥ window + 1).
    mask: usize,
    /// Position of the oldest queued value.
    head: usize,
    /// One past the newest queued value.
    tail: usize,
    /// Window length in frames.
    window: u64,
}

impl SlidingMin {
    /// An empty deque for windows of `window` frames.
    fn new(window: usize) -> Self {
        let capacity = (window + 1).next_power_of_two();
        Self {
            index: vec![0; capacity],
            value: vec![0.0; capacity],
            mask: capacity - 1,
            head: 0,
            tail: 0,
            window: window as u64,
        }
    }

    /// Empties the deque.
    fn reset(&mut self) {
        self.head = 0;
        self.tail = 0;
    }

    /// Adds `value` for frame `frame` and returns the minimum over frames
    /// `frame - window + 1 ..= frame`. Amortised O(1): each value is queued and dropped once.
    #[inline]
    fn push(&mut self, frame: u64, value: f32) -> f32 {
        while self.tail != self.head && self.value[(self.tail - 1) & self.mask] >= value {
            self.tail -= 1;
        }
        self.index[self.tail & self.mask] = frame;
        self.value[self.tail & self.mask] = value;
        self.tail += 1;
        while self.index[self.head & self.mask] + self.window <= frame {
            self.head += 1;
        }
        // Keep the counters small; the deque never holds more than `mask + 1` entries.
        let wrapped = self.head & !self.mask;
        self.head -= wrapped;
        self.tail -= wrapped;
        self.value[self.head & self.mask]
    }
}

/// Upper band edge of the limiter's input, as a fraction of the sample rate.
const BAND_LIMIT_RATIO: f32 = 0.45;

/// The limiter's state.
///
/// fundsp's biquads have no `Debug`, so neither has this.
#[derive(Clone)]
pub(super) struct Limiter {
    /// Low-pass at 0.45 × fs on the input, left and right: the detector is exact only below
    /// that, and full-band noise near Nyquist would otherwise peak unseen between samples.
    band_limit: [Filter; 2],
    /// Interpolation filters of the detector.
    phases: Phases,
    /// Detectors, left and right.
    detectors: [TruePeak; 2],
    /// Stereo true peak of the previous interval.
    previous_peak: f32,
    /// Sliding minimum of the required gain.
    hold: SlidingMin,
    /// Gain after the release smoother.
    released: f32,
    /// Release coefficient per frame.
    release_coef: f32,
    /// The last `L` released gains, for the moving average.
    average_ring: Vec<f32>,
    /// Next slot of `average_ring`.
    average_pos: usize,
    /// Sum of `average_ring`, in f64 and recomputed at every wrap so it never drifts.
    average_sum: f64,
    /// Gain applied to the last frame (for metering).
    gain: f32,
    /// Delay line of the signal, stereo frames; length a power of two.
    delay: Vec<[f32; 2]>,
    /// `delay.len() - 1`.
    delay_mask: usize,
    /// Total delay from input to output in frames.
    latency_frames: usize,
    /// Frames processed.
    frame: u64,
}

impl Limiter {
    /// A limiter at rest for `sample_rate` (Hz).
    pub(super) fn new(sample_rate: f32) -> Self {
        let lookahead_frames = ((LOOKAHEAD_S * sample_rate).round() as usize).max(1);
        let latency_frames = true_peak::DELAY_FRAMES + lookahead_frames - 1;
        let delay_len = (latency_frames + 1).next_power_of_two();
        let mut limiter = Self {
            band_limit: [(); 2]
                .map(|()| biquad::lowpass(sample_rate, BAND_LIMIT_RATIO * sample_rate)),
            phases: Phases::new(),
            detectors: [TruePeak::new(), TruePeak::new()],
            previous_peak: 0.0,
            hold: SlidingMin::new(lookahead_frames),
            released: 1.0,
            release_coef: 1.0 - (-1.0 / (RELEASE_S * sample_rate)).exp(),
            average_ring: vec![1.0; lookahead_frames],
            average_pos: 0,
            average_sum: lookahead_frames as f64,
            gain: 1.0,
            delay: vec![[0.0; 2]; delay_len],
            delay_mask: delay_len - 1,
            latency_frames,
            frame: 0,
        };
        limiter.reset();
        limiter
    }

    /// Back to rest, with silence in the delay line.
    pub(super) fn reset(&mut self) {
        self.band_limit
            .iter_mut()
            .for_each(fundsp::prelude32::AudioNode::reset);
        self.detectors.iter_mut().for_each(TruePeak::reset);
        self.previous_peak = 0.0;
        self.hold.reset();
        self.released = 1.0;
        self.average_ring.fill(1.0);
        self.average_pos = 0;
        self.average_sum = self.average_ring.len() as f64;
        self.gain = 1.0;
        self.delay.fill([0.0; 2]);
        self.frame = 0;
    }

    /// Delay from input to output in frames: the detector's half length plus `L - 1`.
    pub(super) fn latency_frames(&self) -> usize {
        self.latency_frames
    }

    /// Current gain reduction in dB (≥ 0).
    pub(super) fn reduction_db(&self) -> f32 {
        -20.0 * self.gain.log10()
    }

    /// Limits one control block in place (≤ [`CONTROL_FRAMES`] frames; left and right of
    /// equal length). The output is the input from `latency_frames` ago, scaled.
    pub(super) fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len()).min(CONTROL_FRAMES);
        if frames == 0 {
            return;
        }
        for (l, r) in left[..frames].iter_mut().zip(right[..frames].iter_mut()) {
            *l = biquad::tick(&mut self.band_limit[0], *l);
            *r = biquad::tick(&mut self.band_limit[1], *r);
        }
        let mut peaks_left = [0.0; CONTROL_FRAMES];
        let mut peaks_right = [0.0; CONTROL_FRAMES];
        // Peaks at or below the ceiling all ask for gain 1, so the detector may skip them.
        self.detectors[0].process(&left[..frames], &self.phases, CEILING, &mut peaks_left);
        self.detectors[1].process(&right[..frames], &self.phases, CEILING, &mut peaks_right);
        // Per frame: the true peak around each sample and the gain it requires (vectorised).
        let mut required = [0.0f32; CONTROL_FRAMES];
        let mut previous = self.previous_peak;
        for n in 0..CONTROL_FRAMES {
            let peak = peaks_left[n].max(peaks_right[n]);
            // CEILING / 0 = inf, so silence asks for gain 1.
            required[n] = (CEILING / peak.max(previous)).min(1.0);
            previous = peak;
        }
        self.previous_peak = peaks_left[frames - 1].max(peaks_right[frames - 1]);

        let mut gains = [0.0f32; CONTROL_FRAMES];
        let len = self.average_ring.len();
        for (n, gain) in gains.iter_mut().enumerate().take(frames) {
            let held = self.hold.push(self.frame + n as u64, required[n]);
            self.released = held.min(self.released + self.release_coef * (held - self.released));
            self.average_sum +=
                f64::from(self.released) - f64::from(self.average_ring[self.average_pos]);
            self.average_ring[self.average_pos] = self.released;
            self.average_pos += 1;
            if self.average_pos == len {
                self.average_pos = 0;
                self.average_sum = self.average_ring.iter().map(|&g| f64::from(g)).sum();
            }
            *gain = (self.average_sum / len as f64) as f32;
        }
        self.gain = gains[frames - 1];

        for n in 0..frames {
            let write = (self.frame as usize + n) & self.delay_mask;
            self.delay[write] = [left[n], right[n]];
            let [l, r] = self.delay[write.wrapping_sub(self.latency_frames) & self.delay_mask];
            left[n] = (l * gains[n]).clamp(-CEILING, CEILING);
            right[n] = (r * gains[n]).clamp(-CEILING, CEILING);
        }
        self.frame += frames as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_min_matches_brute_force() {
        let window = 7;
        let mut deque = SlidingMin::new(window);
        let values: Vec<f32> = (0..500).map(|n| ((n * 7919) % 101) as f32).collect();
        for (n, &v) in values.iter().enumerate() {
            let got = deque.push(n as u64, v);
            let from = (n + 1).saturating_sub(window);
            let expected = values[from..=n]
                .iter()
                .copied()
                .fold(f32::INFINITY, f32::min);
            assert_eq!(got, expected, "frame {n}");
        }
    }

    /// Runs `left`/`right` through a fresh limiter in control blocks.
    fn limit(left: &mut [f32], right: &mut [f32]) -> Limiter {
        let mut limiter = Limiter::new(48_000.0);
        for (l, r) in left
            .chunks_mut(CONTROL_FRAMES)
            .zip(right.chunks_mut(CONTROL_FRAMES))
        {
            limiter.process(l, r);
        }
        limiter
    }

    #[test]
    fn quiet_signal_passes_unchanged_after_the_latency() {
        // A low sine: the band limit leaves it alone (0.1 frame of group delay), the gain is 1.
        let input: Vec<f32> = (0..2_000).map(|n| 0.3 * (n as f32 * 0.01).sin()).collect();
        let mut left = input.clone();
        let mut right: Vec<f32> = input.iter().map(|x| -x).collect();
        let limiter = limit(&mut left, &mut right);
        let latency = limiter.latency_frames();
        assert!(left[..latency].iter().all(|&x| x == 0.0));
        for n in latency + 20..input.len() {
            assert!((left[n] - input[n - latency]).abs() < 1e-3, "frame {n}");
            assert!((right[n] + input[n - latency]).abs() < 1e-3, "frame {n}");
        }
        assert_eq!(limiter.reduction_db(), 0.0);
    }

    #[test]
    fn loud_step_is_ramped_down_before_it_arrives() {
        // 0.1 for 0.1 s, then 4.0 (+12 dBFS) for 1.9 s.
        let mut left: Vec<f32> = (0..96_000)
            .map(|n| if n < 4_800 { 0.1 } else { 4.0 })
            .collect();
        let mut right = left.clone();
        let limiter = limit(&mut left, &mut right);
        let largest = left.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(largest <= CEILING);
        // The quiet part passes untouched; the loud part settles at the ceiling.
        assert_eq!(left[limiter.latency_frames() + 100], 0.1);
        assert!(left[95_000] > 0.99 * CEILING, "{}", left[95_000]);
        assert!((limiter.reduction_db() - 20.0 * (4.0 / CEILING).log10()).abs() < 0.1);
    }
}
