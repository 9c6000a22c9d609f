//! Voice allocation: a fixed budget of voices, and graceful stealing when it is exceeded.
//!
//! When a note arrives and the budget is full, the voice that will be missed least is stolen:
//! one already releasing, else the quietest, else the oldest. A stolen voice is not cut; it
//! fades over [`super::voice::STEAL_RELEASE_S`] while the new one starts, so the storage holds
//! up to twice the budget (stolen voices are gone within ~0.1 s). All storage is reserved in
//! `new`.

use super::block::PartialBlock;
use super::instrument::{InstrumentId, MAX_PARTIALS};
use super::voice::{Stage, Voice};

/// Default number of voices that may sound at once.
pub const DEFAULT_VOICE_BUDGET: usize = 40;

/// A note for the allocator to start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteRequest {
    /// Which preset plays it.
    pub instrument: InstrumentId,
    /// Frequency in Hz.
    pub freq_hz: f64,
    /// 0..=1.
    pub velocity: f32,
    /// Stereo position, -1..=1.
    pub pan: f32,
    /// Seconds until the release starts.
    pub duration_s: f64,
    /// How softly a struck instrument begins, 0 (as struck) ..= 1 (its attack lengthened by
    /// its soft attack): the engine asks for more when the music is quieter.
    pub softness: f32,
}

/// Owns the sounding voices.
#[derive(Clone)]
pub struct VoiceAllocator {
    /// Sounding and fading voices.
    voices: Vec<Voice>,
    /// How many non-stolen voices may sound.
    budget: usize,
    /// Id for the next voice.
    next_id: u64,
    /// Voices stolen so far, for status.
    steals: u64,
}

impl VoiceAllocator {
    /// An allocator for up to `budget` voices (at least 1).
    pub fn new(budget: usize) -> Self {
        let budget = budget.max(1);
        Self {
            voices: Vec::with_capacity(2 * budget),
            budget,
            next_id: 0,
            steals: 0,
        }
    }

    /// The most partials a block can hold, to size a [`PartialBlock`].
    pub fn max_partials(&self) -> usize {
        2 * self.budget * MAX_PARTIALS
    }

    /// Voices currently sounding or fading.
    pub fn active_voices(&self) -> usize {
        self.voices.len()
    }

    /// The bed's envelope: the sum of the envelope levels × velocities of the sounding
    /// voices that are not leads (pads, drone, texture), what the air follows.
    pub fn bed_level(&self) -> f32 {
        self.voices
            .iter()
            .filter(|v| !v.instrument().lead && !v.is_stolen())
            .map(|v| v.level() * v.velocity())
            .sum()
    }

    /// Voices stolen so far.
    pub fn steals(&self) -> u64 {
        self.steals
    }

    /// Starts a note, stealing a voice if the budget is full.
    pub fn note_on(&mut self, request: NoteRequest) {
        let sounding = self.voices.iter().filter(|v| !v.is_stolen()).count();
        if sounding >= self.budget {
            self.steal_one();
        }
        if self.voices.len() == self.voices.capacity() {
            // Only reachable if notes arrive faster than stolen voices fade; dropping the
            // quietest stolen voice then costs less than refusing the note.
            if let Some(i) = self.quietest(|v| v.is_stolen()) {
                self.voices.swap_remove(i);
            } else {
                return;
            }
        }
        let instrument = request.instrument.instrument();
        self.voices.push(
            Voice::new(
                instrument,
                self.next_id,
                request.freq_hz,
                request.velocity,
                request.pan,
                request.duration_s,
            )
            .with_softness(request.softness),
        );
        self.next_id += 1;
    }

    /// Releases every voice normally (a section ending, a transport stop).
    pub fn release_all(&mut self) {
        for voice in &mut self.voices {
            voice.release();
        }
    }

    /// Silences every voice at once. Only for a restart, whose output starts from silence
    /// anyway; anything audible uses [`Self::steal_all`].
    pub fn clear(&mut self) {
        self.voices.clear();
        // Voice ids seed start phases and motion: a cleared allocator starts them over too.
        self.next_id = 0;
    }

    /// Fades every voice out quickly (a host jump).
    pub fn steal_all(&mut self) {
        for voice in &mut self.voices {
            voice.steal();
        }
    }

    fn steal_one(&mut self) {
        let victim = self
            .quietest(|v| !v.is_stolen() && v.stage() == Stage::Release)
            .or_else(|| self.quietest(|v| !v.is_stolen()));
        if let Some(i) = victim {
            self.voices[i].steal();
            self.steals += 1;
        }
    }

    /// Index of the quietest voice matching `filter`; ties go to the oldest.
    fn quietest(&self, filter: impl Fn(&Voice) -> bool) -> Option<usize> {
        self.voices
            .iter()
            .enumerate()
            .filter(|(_, v)| filter(v))
            .min_by(|(_, a), (_, b)| a.level().total_cmp(&b.level()).then(a.id.cmp(&b.id)))
            .map(|(i, _)| i)
    }

    /// Writes every voice's partials for a block of `frames` frames into `block` (cleared
    /// first), advances the voices, and removes the finished ones.
    pub fn write_block(
        &mut self,
        frames: usize,
        sample_rate: f64,
        brightness: f32,
        block: &mut PartialBlock,
    ) {
        block.clear(frames);
        for voice in &mut self.voices {
            voice.write_block(frames, sample_rate, brightness, &mut block.partials);
        }
        // `retain` keeps order, so the summation order (and the output) is deterministic.
        self.voices.retain(|v| v.stage() != Stage::Done);
    }

    /// As [`Self::write_block`], with the partials of lead instruments
    /// ([`super::Instrument::lead`]) written into `lead` and all others into `bed`, so the two
    /// can be rendered and mixed apart.
    pub fn write_blocks(
        &mut self,
        frames: usize,
        sample_rate: f64,
        brightness: f32,
        bed: &mut PartialBlock,
        lead: &mut PartialBlock,
    ) {
        bed.clear(frames);
        lead.clear(frames);
        for voice in &mut self.voices {
            let block = if voice.instrument().lead {
                &mut *lead
            } else {
                &mut *bed
            };
            voice.write_block(frames, sample_rate, brightness, &mut block.partials);
        }
        self.voices.retain(|v| v.stage() != Stage::Done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{CpuRenderer, Renderer};

    fn note(instrument: InstrumentId, freq_hz: f64) -> NoteRequest {
        NoteRequest {
            instrument,
            freq_hz,
            velocity: 0.8,
            pan: 0.0,
            duration_s: 30.0,
            softness: 0.0,
        }
    }

    /// Renders `blocks` blocks and returns the mono mix.
    fn render(alloc: &mut VoiceAllocator, blocks: usize) -> Vec<f32> {
        let mut block = PartialBlock::with_capacity(alloc.max_partials());
        let mut renderer = CpuRenderer::with_max_frames(256);
        let mut left = vec![0.0; 256];
        let mut right = vec![0.0; 256];
        let mut out = Vec::new();
        for _ in 0..blocks {
            alloc.write_block(256, 48_000.0, 0.5, &mut block);
            renderer.render(&block, &mut left, &mut right).unwrap();
            out.extend_from_slice(&left);
        }
        out
    }

    #[test]
    fn the_budget_holds_and_stealing_does_not_click() {
        let mut alloc = VoiceAllocator::new(4);
        for i in 0..4 {
            alloc.note_on(note(InstrumentId::GlassBell, 300.0 + 50.0 * i as f64));
        }
        let before = render(&mut alloc, 40);
        for i in 0..4 {
            alloc.note_on(note(InstrumentId::GlassBell, 700.0 + 50.0 * i as f64));
        }
        assert_eq!(alloc.steals(), 4);
        let during = render(&mut alloc, 40);
        assert_eq!(alloc.active_voices(), 4, "stolen voices finished fading");
        let peak = during.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let mut steps = vec![(during[0] - before[before.len() - 1]).abs()];
        steps.extend(during.windows(2).map(|w| (w[1] - w[0]).abs()));
        let max_step = steps.into_iter().fold(0.0f32, f32::max);
        // A sine at 900 Hz moves at most 2π·900/48000 ≈ 0.12 of its amplitude per sample; a
        // click would be a jump of the order of the peak.
        assert!(max_step < 0.2 * peak, "step {max_step} vs peak {peak}");
    }

    #[test]
    fn finished_voices_are_removed() {
        let mut alloc = VoiceAllocator::new(8);
        alloc.note_on(NoteRequest {
            duration_s: 0.05,
            ..note(InstrumentId::GlassBell, 440.0)
        });
        render(&mut alloc, 2_000);
        assert_eq!(alloc.active_voices(), 0);
    }

    #[test]
    fn writing_blocks_does_not_allocate() {
        let mut alloc = VoiceAllocator::new(16);
        for i in 0..16 {
            alloc.note_on(note(InstrumentId::WarmPad, 100.0 + 20.0 * i as f64));
        }
        let mut block = PartialBlock::with_capacity(alloc.max_partials());
        nice_assert_no_alloc::assert_no_alloc(|| {
            for _ in 0..100 {
                alloc.write_block(256, 48_000.0, 0.5, &mut block);
            }
        });
        assert!(block.partials.len() >= 16 * 20);
    }
}
