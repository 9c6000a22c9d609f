//! Percussion: soft, sparse hits for ambient music, synthesised from noise and resonators.
//!
//! Owns a fixed pool of hits and a queue of pending triggers, both sized in
//! [`Percussion::new`]. Runs on the engine thread, one block at a time; it must never allocate,
//! lock or block after `new`, and never draw randomness from anywhere but its seed, so a
//! render is exactly reproducible.
//!
//! Four voices, each built in its own module from fundsp biquads (modal resonators,
//! band-passes) and a seeded noise source: [`PercussionVoice::Pulse`] (felt kick, 40–80 Hz,
//! 0.35–0.5 s), [`PercussionVoice::Tick`] (wood click, ~45 ms), [`PercussionVoice::Shaker`]
//! (noise grain, ~110 ms) and [`PercussionVoice::Bell`] (inharmonic partials, 1–3 s).
//! Brightness opens each of them (harder mallet, higher band, more upper partials).
//!
//! Triggers are queued with a frame offset into the next block; [`Percussion::render_add`]
//! renders the block in segments between trigger offsets and starts each hit exactly at its
//! frame, so voice stealing sees the hits that are really sounding then, and the output does
//! not depend on how blocks are split (as long as each trigger is given to the block that
//! contains it). At most [`MAX_HITS`] hits sound at once; a further one steals the oldest,
//! which fades out over 8 ms instead of stopping with a click.

mod bell;
mod hit;
mod modes;
mod pulse;
mod rng;
mod shaker;
mod strike;
mod synth;
mod tick;

#[cfg(test)]
mod tests;

use self::hit::Hit;
use self::rng::SeedStream;
use self::strike::Strike;
use crate::signal::SampleRate;

/// Hits that may sound at once (not counting stolen hits still fading out).
pub const MAX_HITS: usize = 16;
/// Triggers that may wait for one block; further triggers for the same block are ignored.
pub const MAX_PENDING: usize = 64;
/// Pool slots: room for every hit plus as many stolen ones fading out.
const SLOTS: usize = 2 * MAX_HITS;
/// Fade-out of a stolen hit, in seconds.
const STEAL_FADE_S: f32 = 0.008;

/// Sorts triggers by frame offset, stably (same-frame triggers keep their call order).
/// Insertion sort in place: a handful of items, and the standard library's stable sort may
/// allocate scratch space.
fn sort_by_offset(pending: &mut [Option<Trigger>]) {
    let key = |t: &Option<Trigger>| t.map_or(usize::MAX, |t| t.frame_offset);
    for i in 1..pending.len() {
        let mut j = i;
        while j > 0 && key(&pending[j - 1]) > key(&pending[j]) {
            pending.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The percussion sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PercussionVoice {
    /// A soft low thump with a falling pitch, like a felt kick; `pitch_hz` folded by octaves
    /// into 40–80 Hz; 0.35 s (bright) … 0.5 s (soft) to -60 dB.
    Pulse,
    /// A short woody click: a mallet on two resonators at `pitch_hz` folded into 900–1800 Hz
    /// and 2.71 × that; about 45 ms.
    Tick,
    /// Band-passed noise (3 kHz soft … 8 kHz bright) with a rounded swell; about 110 ms;
    /// `pitch_hz` is ignored.
    Shaker,
    /// Inharmonic partials (× 1, 2.76, 5.40, 8.93) at `pitch_hz` (kept in 60–4000 Hz) that
    /// ring for 1–3 s (longer when lower).
    Bell,
}

/// A trigger waiting for the next block.
#[derive(Debug, Clone, Copy)]
struct Trigger {
    /// Which sound.
    voice: PercussionVoice,
    /// Frame of the next block at which it starts.
    frame_offset: usize,
    /// 0..=1.
    velocity: f32,
    /// Finite, > 0.
    pitch_hz: f32,
    /// 0..=1.
    brightness: f32,
    /// -1..=1.
    pan: f32,
}

/// The percussion synthesiser.
#[derive(Clone)]
pub struct Percussion {
    /// Sample rate in Hz.
    sample_rate: f32,
    /// The seed given to `new`, for `reset`.
    seed: u64,
    /// Seeds for each hit's noise, drawn in start order.
    seeds: SeedStream,
    /// The pool; `None` is a free slot.
    slots: Vec<Option<Hit>>,
    /// Triggers for the next block, in call order.
    pending: [Option<Trigger>; MAX_PENDING],
    /// Number of `Some` entries at the front of `pending`.
    pending_len: usize,
    /// Hits started since reset (the next hit's order).
    started: u64,
    /// Fade-out length of a stolen hit in frames (≥ 1).
    fade_frames: usize,
}

impl std::fmt::Debug for Percussion {
    // fundsp's filters have no `Debug`; show what a status line would.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Percussion")
            .field("sample_rate", &self.sample_rate)
            .field("active_hits", &self.active_hits())
            .field("pending", &self.pending_len)
            .finish_non_exhaustive()
    }
}

impl Percussion {
    /// A silent synthesiser for `sample_rate` whose noise comes from `seed`: the same seed and
    /// the same calls give the same output, bit for bit.
    pub fn new(sample_rate: SampleRate, seed: u64) -> Self {
        let sample_rate = sample_rate.hz();
        Self {
            sample_rate,
            seed,
            seeds: SeedStream::new(seed),
            slots: vec![None; SLOTS],
            pending: [None; MAX_PENDING],
            pending_len: 0,
            started: 0,
            fade_frames: ((STEAL_FADE_S * sample_rate) as usize).max(1),
        }
    }

    /// Silences every hit, forgets pending triggers and restarts the noise from the seed.
    pub fn reset(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
        self.pending = [None; MAX_PENDING];
        self.pending_len = 0;
        self.started = 0;
        self.seeds = SeedStream::new(self.seed);
    }

    /// Hits sounding now, not counting stolen ones fading out (0..=[`MAX_HITS`]).
    pub fn active_hits(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|hit| !hit.is_stolen())
            .count()
    }

    /// Schedules a hit `frame_offset` frames into the next [`Percussion::render_add`] block.
    /// An offset at or past that block's length starts the hit at the block's end, that is
    /// on the first frame of the block after. `velocity` 0..=1 (gain `velocity²`; 0 is
    /// ignored), `pitch_hz` > 0 (each voice maps it into its range; invalid reads as 220 Hz),
    /// `brightness` 0..=1, `pan` -1 (left)..=1 (right); out-of-range values are clamped.
    /// Beyond [`MAX_PENDING`] triggers per block, further ones are ignored.
    pub fn trigger(
        &mut self,
        voice: PercussionVoice,
        frame_offset: usize,
        velocity: f32,
        pitch_hz: f32,
        brightness: f32,
        pan: f32,
    ) {
        let clean = |x: f32, low: f32, high: f32| {
            if x.is_finite() {
                x.clamp(low, high)
            } else {
                low
            }
        };
        let velocity = clean(velocity, 0.0, 1.0);
        if velocity == 0.0 || self.pending_len == MAX_PENDING {
            return;
        }
        let pitch_hz = if pitch_hz.is_finite() && pitch_hz > 0.0 {
            pitch_hz.clamp(1.0, 20_000.0)
        } else {
            220.0
        };
        self.pending[self.pending_len] = Some(Trigger {
            voice,
            frame_offset,
            velocity,
            pitch_hz,
            brightness: clean(brightness, 0.0, 1.0),
            pan: if pan.is_finite() {
                pan.clamp(-1.0, 1.0)
            } else {
                0.0
            },
        });
        self.pending_len += 1;
    }

    /// Adds every sounding hit into the block (mixing into what is there; left and right of
    /// equal length, or only the common length is used). Starts the pending triggers at their
    /// frames. With nothing sounding, the block is left exactly as it was.
    pub fn render_add(&mut self, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        sort_by_offset(&mut self.pending[..self.pending_len]);
        let mut position = 0;
        for index in 0..self.pending_len {
            let Some(trigger) = self.pending[index].take() else {
                continue;
            };
            let at = trigger.frame_offset.min(frames);
            self.render_segment(&mut left[position..at], &mut right[position..at]);
            position = at;
            self.start(&trigger);
        }
        self.pending_len = 0;
        self.render_segment(&mut left[position..frames], &mut right[position..frames]);
    }

    /// Renders every hit over one segment and frees the slots of hits that ended.
    fn render_segment(&mut self, left: &mut [f32], right: &mut [f32]) {
        if left.is_empty() {
            return;
        }
        for slot in &mut self.slots {
            if let Some(hit) = slot {
                hit.render_add(left, right);
                if hit.is_done() {
                    *slot = None;
                }
            }
        }
    }

    /// Starts a hit now, stealing the oldest if [`MAX_HITS`] are sounding.
    fn start(&mut self, trigger: &Trigger) {
        if self.active_hits() >= MAX_HITS {
            let oldest = self
                .slots
                .iter_mut()
                .flatten()
                .filter(|hit| !hit.is_stolen())
                .min_by_key(|hit| hit.order);
            if let Some(hit) = oldest {
                hit.steal(self.fade_frames);
            }
        }
        // A free slot, or else the fading hit closest to silence (all slots are only ever
        // taken when more than MAX_HITS hits start within one fade time).
        let free = self.slots.iter().position(Option::is_none);
        let quietest = || {
            (0..SLOTS).min_by(|&a, &b| {
                let fade = |i: usize| self.slots[i].as_ref().map_or(0.0, Hit::fade);
                fade(a).total_cmp(&fade(b))
            })
        };
        let Some(index) = free.or_else(quietest) else {
            return;
        };
        let strike = Strike {
            sample_rate: self.sample_rate,
            pitch_hz: trigger.pitch_hz,
            brightness: trigger.brightness,
            noise_seed: self.seeds.next(),
        };
        self.slots[index] = Some(Hit::new(
            trigger.voice,
            &strike,
            self.started,
            trigger.velocity,
            trigger.pan,
        ));
        self.started += 1;
    }
}
