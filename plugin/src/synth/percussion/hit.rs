//! One sounding percussion hit: its voice, its level and pan, its lifetime and its fade.
//!
//! Engine thread; never allocates (a hit is a plain value moved into a pool slot).

use super::PercussionVoice;
use super::strike::Strike;
use super::synth::Synth;

/// Per-channel peak of a hit at velocity 1, centre pan, in linear gain: -12 dBFS.
pub(super) const PEAK_LEVEL: f32 = 0.25;
/// Frames rendered per inner chunk (mono scratch on the stack).
const CHUNK_FRAMES: usize = 64;

/// A hit in the pool.
#[derive(Clone)]
pub(super) struct Hit {
    /// The sound generator.
    synth: Synth,
    /// Start order among all hits since reset; the smallest is the oldest.
    pub(super) order: u64,
    /// Frames left before the hit is silent and its slot free.
    remaining_frames: usize,
    /// Gain into the left channel: level, velocity curve and pan.
    gain_left: f32,
    /// Gain into the right channel.
    gain_right: f32,
    /// Frames since the fade-out began (0 until stolen).
    fade_elapsed: usize,
    /// Fade-out per frame, `1 / fade length`; 0 until stolen. The gain at fade frame `n` is
    /// `max(0, 1 - n·rate)`, a function of `n` alone, so block splits cannot change it.
    fade_rate: f32,
}

impl Hit {
    /// Starts `voice` for `strike`. `velocity` (0..=1) maps to gain `velocity²`: about
    /// 40 dB of range with equal steps in loudness (loudness grows roughly as amplitude^0.6).
    /// `pan` (-1..=1) is equal-power and 0 dB per channel at centre, so a hard-panned hit
    /// peaks 3 dB higher in its channel.
    pub(super) fn new(
        voice: PercussionVoice,
        strike: &Strike,
        order: u64,
        velocity: f32,
        pan: f32,
    ) -> Self {
        let synth = Synth::new(voice, strike);
        let level = PEAK_LEVEL * velocity * velocity;
        let angle = (pan + 1.0) * std::f32::consts::FRAC_PI_4;
        Self {
            remaining_frames: synth.length_frames(),
            synth,
            order,
            gain_left: level * std::f32::consts::SQRT_2 * angle.cos(),
            gain_right: level * std::f32::consts::SQRT_2 * angle.sin(),
            fade_elapsed: 0,
            fade_rate: 0.0,
        }
    }

    /// True once the hit has been stolen and is fading out.
    pub(super) fn is_stolen(&self) -> bool {
        self.fade_rate > 0.0
    }

    /// The fade-out gain for the next frame (1 until stolen).
    pub(super) fn fade(&self) -> f32 {
        (1.0 - self.fade_elapsed as f32 * self.fade_rate).max(0.0)
    }

    /// True when the hit is over.
    pub(super) fn is_done(&self) -> bool {
        self.remaining_frames == 0
    }

    /// Fades the hit out linearly over `fade_frames` (≥ 1) from the next frame on (from full
    /// level: a hit is stolen at most once).
    pub(super) fn steal(&mut self, fade_frames: usize) {
        if !self.is_stolen() {
            self.fade_rate = 1.0 / fade_frames as f32;
            self.remaining_frames = self.remaining_frames.min(fade_frames);
        }
    }

    /// Adds the hit's next frames into `left`/`right` (equal lengths), up to its end.
    pub(super) fn render_add(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len()).min(self.remaining_frames);
        let mut mono = [0.0f32; CHUNK_FRAMES];
        for (left, right) in left[..frames]
            .chunks_mut(CHUNK_FRAMES)
            .zip(right[..frames].chunks_mut(CHUNK_FRAMES))
        {
            let mono = &mut mono[..left.len()];
            self.synth.render(mono);
            if self.fade_rate == 0.0 {
                // Not stolen (the usual case): a constant gain, no per-sample recurrence.
                let (gain_left, gain_right) = (self.gain_left, self.gain_right);
                for ((l, r), x) in left.iter_mut().zip(right.iter_mut()).zip(mono.iter()) {
                    *l += x * gain_left;
                    *r += x * gain_right;
                }
            } else {
                // Fading: each frame's gain from its index, with no recurrence.
                for ((l, r), x) in left.iter_mut().zip(right.iter_mut()).zip(mono.iter()) {
                    let x = x * self.fade();
                    self.fade_elapsed += 1;
                    *l += x * self.gain_left;
                    *r += x * self.gain_right;
                }
            }
        }
        self.remaining_frames -= frames;
    }
}
