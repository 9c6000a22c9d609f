//! One engine instance's rendering state, driven block by block: timeline → composer → voices
//! → renderer → percussion → effects.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::compose::{Composer, ComposerSettings, Layer, NoteEvent, PercussionKind};
use crate::music::{Scale, midi_to_hz};
use crate::params::{FollowMode, MusicalSettings};
use crate::realtime::{Frame, MidiIn, NoteOutProducer, TransportSnapshot};
use crate::signal::{SampleRate, sanitize};
use crate::synth::air::Air;
use crate::synth::effects::Effects;
use crate::synth::percussion::{Percussion, PercussionVoice};
use crate::synth::{
    CpuRenderer, GpuError, GpuRenderer, GpuSelection, InstrumentId, NoteRequest, PartialBlock,
    Renderer, RendererChain, RendererChoice, RendererKind, SilentRenderer, VoiceAllocator,
};

use super::adoption::{Adoption, ChordFollowing};
use super::feed::{FixedText, NowPlaying, NowPlayingFeed};
use super::follow::Follower;
use super::midi::MidiOut;
use super::settings::composer_settings;
use super::timeline::{BlockTiming, Timeline};

/// Frames the engine renders per step. Small enough that a settings change is heard within a
/// few milliseconds, large enough to amortise per-block work.
pub const ENGINE_BLOCK_FRAMES: usize = 256;
/// Note starts are placed on this grid of frames (0.7 ms at 48 kHz): inaudible as timing, and
/// it bounds how many slices a block is cut into.
const ONSET_GRID_FRAMES: usize = 32;
/// How far ahead of the frames being rendered the composer plans, in beats: what the GUI and
/// the web monitor show as upcoming.
const LOOKAHEAD_BEATS: f64 = 4.0;
/// Voices that may sound at once.
const VOICE_BUDGET: usize = 40;
/// Output level of the mix before the effects, calibrated so that the default patch sits near
/// -18 LUFS after them.
const MIX_GAIN: f32 = 5.0;
/// Dry level of the lead voices (the melody's bell) against the bed: under the pads, not on top.
const LEAD_DRY: f32 = 0.6;
/// Extra reverb send of the lead voices, on top of what the dry mix sends.
const LEAD_SEND: f32 = 0.6;
/// Dry level of the percussion against the bed.
const PERCUSSION_DRY: f32 = 0.5;
/// Extra reverb send of the percussion: hits heard in the room more than at the ear.
const PERCUSSION_SEND: f32 = 0.8;
/// How often the now-playing feed is refreshed, in seconds (20 times a second).
const FEED_INTERVAL_S: f64 = 0.05;

/// Renders the music for one instance. Deterministic: the same sequence of settings and block
/// lengths gives the same frames.
pub struct EngineCore {
    /// Frames per second of the output.
    sample_rate: SampleRate,
    /// Beat position of the next frame.
    timeline: Timeline,
    /// The music; rebuilt when the seed changes.
    composer: Composer,
    /// Seed the composer was built with.
    seed: u32,
    /// The settings the composer was last given.
    applied: ComposerSettings,
    /// Events the composer has planned that have not started yet, in start order.
    scheduled: VecDeque<NoteEvent>,
    /// Scratch for the composer's output.
    planned: Vec<NoteEvent>,
    /// The tonal voices and what renders them.
    tonal: TonalVoices,
    /// Pulses, ticks, shakers, bells.
    percussion: Percussion,
    /// Breath noise that follows the bed.
    air: Air,
    /// Reverb, delay, compressor, limiter.
    effects: Effects,
    /// Mix buffers for one engine block: the bed (pads, drone, texture).
    left: Vec<f32>,
    right: Vec<f32>,
    /// The lead voices of the block, mixed apart from the bed.
    lead_left: Vec<f32>,
    lead_right: Vec<f32>,
    /// The percussion of the block, mixed apart from the bed.
    percussion_left: Vec<f32>,
    percussion_right: Vec<f32>,
    /// What the lead and the percussion send into the reverb.
    send_left: Vec<f32>,
    send_right: Vec<f32>,
    /// Notes out as MIDI, if a host listens.
    midi: MidiOut,
    /// What the notes played in say about the key and the chord.
    follower: Follower,
    /// The player's chord the composer plays (Follow = Chords), and the next change.
    chords: ChordFollowing,
    /// What is playing, for the GUI and the web monitor.
    feed: Option<NowPlayingFeed>,
    /// Frames until the feed is refreshed again.
    feed_countdown: usize,
    /// The renderer the feed last described, and its description.
    reported_renderer: RendererKind,
    renderer_label: FixedText<64>,
    /// Frames rendered so far.
    frames_rendered: u64,
    /// The one layer that sounds, when a measurement asks for it; `None` plays them all.
    solo: Option<SoloLayer>,
}

/// A composed layer heard alone (`render --solo-layer`): how the figures of one layer of the
/// mix are measured (the pad's movement, say). The others are not played at all, not even
/// sent as MIDI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoloLayer {
    /// The tonic pedal.
    Drone,
    /// The chord pad.
    Pad,
    /// The melody.
    Melody,
    /// The high texture notes.
    Texture,
    /// Every percussion voice, the bell included.
    Percussion,
}

impl SoloLayer {
    /// Every layer with its name on the command line.
    pub const NAMED: [(&'static str, SoloLayer); 5] = [
        ("drone", SoloLayer::Drone),
        ("pad", SoloLayer::Pad),
        ("melody", SoloLayer::Melody),
        ("texture", SoloLayer::Texture),
        ("percussion", SoloLayer::Percussion),
    ];

    /// Whether notes of `layer` sound while this one is soloed.
    pub fn admits(self, layer: Layer) -> bool {
        matches!(
            (self, layer),
            (SoloLayer::Drone, Layer::Drone)
                | (SoloLayer::Pad, Layer::Pad)
                | (SoloLayer::Melody, Layer::Melody)
                | (SoloLayer::Texture, Layer::Texture)
                | (SoloLayer::Percussion, Layer::Percussion(_))
        )
    }
}

impl EngineCore {
    /// Prepares an engine at `sample_rate`, starting at beat 0 with `settings`, whose voices
    /// the CPU renders (then silence, should it fail).
    pub fn new(sample_rate: SampleRate, settings: &MusicalSettings) -> Self {
        Self::with_chain(sample_rate, settings, |_| {
            RendererChain::new(vec![
                Box::new(CpuRenderer::with_max_frames(ENGINE_BLOCK_FRAMES)) as Box<dyn Renderer>,
                Box::new(SilentRenderer),
            ])
        })
    }

    /// Prepares an engine like [`Self::new`] whose voices `choice` renders (GPU → CPU →
    /// silence, or CPU → silence), giving the GPU at most `gpu_timeout` per block. Sets the GPU
    /// up, so call it on the engine thread.
    pub fn with_renderer(
        sample_rate: SampleRate,
        settings: &MusicalSettings,
        choice: RendererChoice,
        gpu_timeout: Duration,
    ) -> Self {
        Self::with_chain(sample_rate, settings, |max_partials| {
            renderer_chain(choice, gpu_timeout, max_partials)
        })
    }

    /// An engine whose renderer chain `chain` builds for blocks of up to the given number of
    /// partials.
    fn with_chain(
        sample_rate: SampleRate,
        settings: &MusicalSettings,
        chain: impl FnOnce(usize) -> RendererChain,
    ) -> Self {
        let voices = VoiceAllocator::new(VOICE_BUDGET);
        let renderer = chain(voices.max_partials());
        Self {
            sample_rate,
            timeline: Timeline::new(sample_rate),
            composer: Composer::new(settings.seed as u64, composer_settings(settings)),
            seed: settings.seed,
            applied: composer_settings(settings),
            scheduled: VecDeque::with_capacity(1024),
            planned: Vec::with_capacity(1024),
            tonal: TonalVoices {
                partials: PartialBlock::with_capacity(voices.max_partials()),
                lead_partials: PartialBlock::with_capacity(voices.max_partials()),
                voices,
                renderer,
            },
            percussion: Percussion::new(sample_rate, settings.seed as u64),
            air: Air::new(sample_rate.hz(), settings.seed as u64),
            effects: Effects::new(sample_rate),
            left: vec![0.0; ENGINE_BLOCK_FRAMES],
            right: vec![0.0; ENGINE_BLOCK_FRAMES],
            lead_left: vec![0.0; ENGINE_BLOCK_FRAMES],
            lead_right: vec![0.0; ENGINE_BLOCK_FRAMES],
            percussion_left: vec![0.0; ENGINE_BLOCK_FRAMES],
            percussion_right: vec![0.0; ENGINE_BLOCK_FRAMES],
            send_left: vec![0.0; ENGINE_BLOCK_FRAMES],
            send_right: vec![0.0; ENGINE_BLOCK_FRAMES],
            midi: MidiOut::default(),
            follower: Follower::default(),
            chords: ChordFollowing::default(),
            feed: None,
            feed_countdown: 0,
            reported_renderer: RendererKind::Silent,
            renderer_label: FixedText::default(),
            frames_rendered: 0,
            solo: None,
        }
    }

    /// Plays only `layer` from now on (see [`SoloLayer`]).
    pub fn with_solo(mut self, layer: SoloLayer) -> Self {
        self.solo = Some(layer);
        self
    }

    /// The renderer producing the voices now, described for people ("gpu: llvmpipe …").
    pub fn renderer_description(&self) -> String {
        let current = self.tonal.renderer.current();
        format!("{}: {}", current.kind().as_str(), current.describe())
    }

    /// Sends the notes of the chosen layers out through `notes`.
    pub fn with_midi_out(mut self, notes: NoteOutProducer) -> Self {
        self.midi = MidiOut::new(notes);
        self
    }

    /// Ends every note sent out as MIDI at the frame rendered last, and sends the note-offs:
    /// the end of an offline render, whose notes must not hang.
    pub fn end_midi_notes(&mut self) {
        self.midi.all_off(self.frames_rendered);
        self.midi.flush_until(self.frames_rendered);
    }

    /// Publishes what is playing into `feed`.
    pub fn with_feed(mut self, feed: NowPlayingFeed) -> Self {
        self.feed = Some(feed);
        self
    }

    /// The output sample rate.
    pub fn sample_rate(&self) -> SampleRate {
        self.sample_rate
    }

    /// Frames rendered since creation.
    pub fn frames_rendered(&self) -> u64 {
        self.frames_rendered
    }

    /// The renderer in use.
    pub fn renderer_kind(&self) -> RendererKind {
        self.tonal.renderer.current().kind()
    }

    /// Starts the music over from its beginning with `settings`, from the next frame, with
    /// every voice, hit and tail cleared: what follows is exactly what a new engine would play
    /// (the audio thread skips what was rendered before and fades the new music in).
    pub fn restart(&mut self, settings: &MusicalSettings) {
        let composer_settings = composer_settings(settings);
        self.composer = Composer::new(settings.seed as u64, composer_settings);
        self.seed = settings.seed;
        self.applied = composer_settings;
        self.scheduled.clear();
        self.timeline.restart();
        self.tonal.voices.clear();
        self.percussion.reset();
        self.air.reset();
        self.effects.reset();
        self.feed_countdown = 0;
        self.midi.all_off(self.frames_rendered);
        self.follower.reset();
        self.chords = ChordFollowing::default();
    }

    /// Takes over from `failed`, an engine that panicked, as if this engine had rendered its
    /// first `start_frame` frames: the ring's frame count goes on, and the MIDI output and
    /// now-playing feed move here. `failed` may be in any state, so only those plain outputs
    /// are taken from it; its sounding MIDI notes are ended at `start_frame`.
    pub fn take_over_from(&mut self, failed: &mut EngineCore, start_frame: u64) {
        self.frames_rendered = start_frame;
        self.midi = std::mem::take(&mut failed.midi);
        self.midi.all_off(start_frame);
        // Plain data, whatever state the failed engine was in: what has been played in goes on.
        self.follower = std::mem::take(&mut failed.follower);
        self.feed = failed.feed.take();
        self.feed_countdown = 0;
    }

    /// The music's state between two blocks, to come back to with [`Self::rewind`]. Copies
    /// every voice and the effects' delay lines (a few hundred kilobytes): engine thread only.
    pub fn save_state(&self) -> CoreState {
        CoreState {
            timeline: self.timeline.clone(),
            composer: self.composer.clone(),
            seed: self.seed,
            applied: self.applied,
            scheduled: self.scheduled.clone(),
            voices: self.tonal.voices.clone(),
            percussion: self.percussion.clone(),
            air: self.air.clone(),
            effects: self.effects.clone(),
            follower: self.follower.clone(),
            chords: self.chords.clone(),
        }
    }

    /// Puts the music back where `state` was saved: the next frames are what this engine
    /// rendered after that point, but for the settings the coming blocks bring. The frame count
    /// goes on from `frame`, the ring's count, since the frames rendered after the save are
    /// not played but stay in the ring to be skipped. Notes already sent out as MIDI cannot be
    /// taken back, so an engine that sends MIDI is never rewound.
    pub fn rewind(&mut self, state: &CoreState, frame: u64) {
        let CoreState {
            timeline,
            composer,
            seed,
            applied,
            scheduled,
            voices,
            percussion,
            air,
            effects,
            follower,
            chords,
        } = state;
        self.timeline.clone_from(timeline);
        self.composer.clone_from(composer);
        self.seed = *seed;
        self.applied = *applied;
        self.scheduled.clone_from(scheduled);
        self.tonal.voices.clone_from(voices);
        self.percussion.clone_from(percussion);
        self.air.clone_from(air);
        self.effects.clone_from(effects);
        self.follower.clone_from(follower);
        self.chords.clone_from(chords);
        self.frames_rendered = frame;
        // The feed shows what the rewound music plays from its next block on.
        self.feed_countdown = 0;
    }

    /// Takes a note the host played in, to be followed at its frame (see [`Follower`]).
    pub fn receive_midi(&mut self, event: MidiIn) {
        self.follower.receive(event);
    }

    /// Renders `out.len()` frames with the given settings. `transport` is the host's transport
    /// for the block this render belongs to, if a host reports one.
    pub fn render(
        &mut self,
        settings: &MusicalSettings,
        transport: Option<TransportSnapshot>,
        out: &mut [Frame],
    ) {
        for chunk in out.chunks_mut(ENGINE_BLOCK_FRAMES) {
            self.render_chunk(settings, transport, chunk);
        }
    }

    /// One engine block, step by step.
    fn render_chunk(
        &mut self,
        settings: &MusicalSettings,
        transport: Option<TransportSnapshot>,
        out: &mut [Frame],
    ) {
        let frames = out.len();
        let timing = self.timeline.next_block(settings, transport, frames);
        self.follower.advance(
            self.frames_rendered,
            frames,
            self.sample_rate,
            timing.start_beat,
            timing.tempo_bpm,
        );
        let followed = self.follower.apply_to(settings);
        let settings = &followed;
        self.follow_settings(settings, &timing);
        let end_beat = timing.start_beat + timing.beats_per_frame * frames as f64;
        self.follow_chords(settings, &timing, end_beat);
        self.plan_until(end_beat + LOOKAHEAD_BEATS);
        self.play_due_notes(settings, &timing, end_beat, frames);
        self.mix_and_finish(settings, &timing, out);
        self.frames_rendered += frames as u64;
        self.midi.flush_until(self.frames_rendered);
        self.publish_feed(settings, timing.start_beat, timing.tempo_bpm, frames);
    }

    /// Follows the block's settings: a new seed is new music from here on (what sounds rings
    /// out), a host jump or loop re-positions the music (the old notes fade quickly), and any
    /// other change reaches the composer.
    fn follow_settings(&mut self, settings: &MusicalSettings, timing: &BlockTiming) {
        let mut composer_settings = composer_settings(settings);
        composer_settings.tempo_bpm = timing.tempo_bpm as f32;
        if settings.seed != self.seed {
            self.seed = settings.seed;
            self.composer = Composer::new(settings.seed as u64, composer_settings);
            self.applied = composer_settings;
            self.composer.seek(timing.start_beat);
            self.restart_sustained();
            self.tonal.voices.release_all();
            self.midi.all_off(self.frames_rendered);
            self.chords.restart_at(timing.start_beat);
        } else if timing.jumped {
            self.composer.seek(timing.start_beat);
            self.restart_sustained();
            self.tonal.voices.steal_all();
            self.midi.all_off(self.frames_rendered);
            self.chords.restart_at(timing.start_beat);
        }
        if composer_settings != self.applied {
            self.applied = composer_settings;
            self.composer.set_settings(composer_settings);
        }
    }

    /// Follow = Chords: takes in what the player holds, and when a change lands in this block
    /// hands it to the composer. What was planned from the change on is dropped and planned
    /// again (the percussion comes out the same), the new chord's notes start at the change,
    /// and the old chord's voices and MIDI notes are released at the block's start, a few
    /// milliseconds at most before it.
    fn follow_chords(&mut self, settings: &MusicalSettings, timing: &BlockTiming, end_beat: f64) {
        let change = self.follower.take_held_change();
        let held = self.follower.held();
        self.chords
            .update(settings, change, held, timing, self.frames_rendered);
        let Some(Adoption { beat, harmony }) = self.chords.due(end_beat) else {
            return;
        };
        let beat = beat.max(timing.start_beat);
        self.scheduled
            .retain(|event| event.start_beat < beat && matches!(event.layer, Layer::Percussion(_)));
        self.composer.follow_harmony(beat, harmony);
        self.planned.clear();
        self.composer.sustained_chord_notes(&mut self.planned);
        self.scheduled.extend(self.planned.drain(..));
        self.tonal.voices.release_all();
        self.midi.all_off(self.frames_rendered);
    }

    /// Has the composer plan every note that starts before `until_beat`.
    fn plan_until(&mut self, until_beat: f64) {
        self.planned.clear();
        self.composer.advance_to(until_beat, &mut self.planned);
        self.scheduled.extend(self.planned.drain(..));
    }

    /// Starts every planned note that falls in this block, at its frame: percussion is
    /// triggered at its exact offset, tonal voices on the onset grid, the voices before each
    /// onset rendered first so a new note never sounds early. Renders the voices to the end of
    /// the block into the mix buffers.
    fn play_due_notes(
        &mut self,
        settings: &MusicalSettings,
        timing: &BlockTiming,
        end_beat: f64,
        frames: usize,
    ) {
        let mut cursor = 0;
        let seconds_per_beat = 60.0 / timing.tempo_bpm;
        while let Some(event) = self.scheduled.front().copied() {
            if event.start_beat >= end_beat {
                break;
            }
            self.scheduled.pop_front();
            if self.solo.is_some_and(|solo| !solo.admits(event.layer)) {
                continue;
            }
            let offset = ((event.start_beat - timing.start_beat) / timing.beats_per_frame)
                .floor()
                .clamp(0.0, (frames - 1) as f64) as usize;
            let velocity = event.velocity.clamp(0.0, 1.0);
            let duration_s = event.duration_beats.max(0.0) * seconds_per_beat;
            self.midi.note(
                settings.midi_out,
                &event,
                self.frames_rendered + offset as u64,
                (duration_s * f64::from(self.sample_rate.hz())) as u64,
            );
            let pitch_hz = midi_to_hz(event.midi_note as f64);
            match event.layer {
                Layer::Percussion(kind) => {
                    let (voice, pan) = percussion_voice(kind, event.midi_note);
                    self.percussion.trigger(
                        voice,
                        offset,
                        velocity,
                        pitch_hz as f32,
                        settings.brightness,
                        pan,
                    );
                }
                layer => {
                    let onset = offset / ONSET_GRID_FRAMES * ONSET_GRID_FRAMES;
                    if onset > cursor {
                        self.render_tonal(cursor..onset, settings.brightness);
                        cursor = onset;
                    }
                    self.tonal.voices.note_on(NoteRequest {
                        instrument: instrument_for(layer),
                        freq_hz: pitch_hz,
                        velocity,
                        pan: tonal_pan(layer, event.midi_note),
                        duration_s,
                        softness: softness(settings.intensity),
                    });
                }
            }
        }
        self.render_tonal(cursor..frames, settings.brightness);
    }

    /// Renders the tonal voices over `frames` of the block into the bed and lead buffers.
    fn render_tonal(&mut self, frames: std::ops::Range<usize>, brightness: f32) {
        self.tonal.render(
            self.sample_rate,
            brightness,
            [
                &mut self.left[frames.clone()],
                &mut self.right[frames.clone()],
            ],
            [
                &mut self.lead_left[frames.clone()],
                &mut self.lead_right[frames],
            ],
        );
    }

    /// Adds the percussion to the voices, runs the effects and writes the block out.
    fn mix_and_finish(
        &mut self,
        settings: &MusicalSettings,
        timing: &BlockTiming,
        out: &mut [Frame],
    ) {
        let frames = out.len();
        let left = &mut self.left[..frames];
        let right = &mut self.right[..frames];
        self.air.render_add(
            self.tonal.voices.bed_level(),
            settings.brightness,
            left,
            right,
        );
        let percussion_left = &mut self.percussion_left[..frames];
        let percussion_right = &mut self.percussion_right[..frames];
        percussion_left.fill(0.0);
        percussion_right.fill(0.0);
        self.percussion
            .render_add(percussion_left, percussion_right);
        // The struck layers sit inside the bed: lower than it dry, deeper in the reverb.
        let channels = [
            (
                left,
                &self.lead_left[..frames],
                &*percussion_left,
                &mut self.send_left[..frames],
            ),
            (
                right,
                &self.lead_right[..frames],
                &*percussion_right,
                &mut self.send_right[..frames],
            ),
        ];
        for (bed, lead, percussion, send) in channels {
            for (((b, l), p), s) in bed
                .iter_mut()
                .zip(lead)
                .zip(percussion)
                .zip(send.iter_mut())
            {
                *s = MIX_GAIN * (LEAD_SEND * l + PERCUSSION_SEND * p);
                *b = MIX_GAIN * (*b + LEAD_DRY * l + PERCUSSION_DRY * p);
            }
        }
        let left = &mut self.left[..frames];
        let right = &mut self.right[..frames];
        self.effects.process_with_send(
            settings.space,
            timing.tempo_bpm as f32,
            left,
            right,
            Some((&self.send_left[..frames], &self.send_right[..frames])),
        );
        // The effects end in a limiter; this only keeps a broken number from leaving.
        for (frame, (l, r)) in out.iter_mut().zip(left.iter().zip(right.iter())) {
            *frame = [sanitize(*l, f32::MAX), sanitize(*r, f32::MAX)];
        }
    }

    /// After a seek: forgets the old plan and restarts the notes that would be sounding at the
    /// new position, so a jump into the middle of a long chord is not silent.
    fn restart_sustained(&mut self) {
        self.scheduled.clear();
        self.planned.clear();
        self.composer.sustained_notes(&mut self.planned);
        self.scheduled.extend(self.planned.drain(..));
    }

    fn publish_feed(
        &mut self,
        settings: &MusicalSettings,
        beat: f64,
        tempo_bpm: f64,
        frames: usize,
    ) {
        let Some(feed) = self.feed.as_ref() else {
            return;
        };
        if self.feed_countdown > frames {
            self.feed_countdown -= frames;
            return;
        }
        self.feed_countdown = self.sample_rate.frames(FEED_INTERVAL_S);
        let mut now = NowPlaying::new(settings, beat, tempo_bpm, self.composer.current_chord());
        now.active_voices = self.tonal.voices.active_voices() as u32;
        now.renderer = self.tonal.renderer.current().kind();
        if now.renderer != self.reported_renderer {
            // A fallback happened (or this is the first report): describe the new renderer.
            self.reported_renderer = now.renderer;
            self.renderer_label = FixedText::from_str_lossy(&self.renderer_description());
        }
        now.renderer_name = self.renderer_label;
        now.gain_reduction_db = self.effects.gain_reduction_db();
        if settings.follow == FollowMode::Chords {
            now.following = match self.chords.adopted() {
                Some(harmony) => {
                    let mut text = FixedText::default();
                    // Always fits: the longest is "C#m(maj7)/G#".
                    let _ = write!(text, "{}", harmony.chord);
                    text
                }
                None => FixedText::from_str_lossy("listening…"),
            };
        } else if settings.follow == FollowMode::Key {
            now.following = match self.follower.key() {
                Some((key, scale)) => {
                    let mut text = FixedText::default();
                    let mode = if scale == Scale::Minor {
                        "minor"
                    } else {
                        "major"
                    };
                    // Always fits: the longest is "C# minor".
                    let _ = write!(text, "{key} {mode}");
                    text
                }
                None => FixedText::from_str_lossy("listening…"),
            };
        }
        for event in self.scheduled.iter() {
            if !now.push_upcoming(event) {
                break;
            }
        }
        feed.publish(now);
    }
}

/// What [`EngineCore::save_state`] keeps: everything that carries the music from one block to
/// the next (the renderer, the scratch buffers and the outputs carry nothing).
#[derive(Clone)]
pub struct CoreState {
    timeline: Timeline,
    composer: Composer,
    seed: u32,
    applied: ComposerSettings,
    scheduled: VecDeque<NoteEvent>,
    voices: VoiceAllocator,
    percussion: Percussion,
    air: Air,
    effects: Effects,
    follower: Follower,
    chords: ChordFollowing,
}

/// The tonal voices, their partials for the slice being rendered, and the renderer that sums
/// them: what renders the sustained and melodic layers between note onsets.
struct TonalVoices {
    /// The sounding voices.
    voices: VoiceAllocator,
    /// The bed voices' partials for the slice being rendered.
    partials: PartialBlock,
    /// The lead voices' partials for the slice being rendered.
    lead_partials: PartialBlock,
    /// GPU → CPU → silence.
    renderer: RendererChain,
}

impl TonalVoices {
    /// Writes the voices' next frames, as many as `bed[0]` holds: the bed voices into `bed`,
    /// the lead voices into `lead` (left, right each).
    fn render(
        &mut self,
        sample_rate: SampleRate,
        brightness: f32,
        [left, right]: [&mut [f32]; 2],
        [lead_left, lead_right]: [&mut [f32]; 2],
    ) {
        if left.is_empty() {
            return;
        }
        self.voices.write_blocks(
            left.len(),
            f64::from(sample_rate.hz()),
            brightness,
            &mut self.partials,
            &mut self.lead_partials,
        );
        self.renderer.render(&self.partials, left, right);
        if self.lead_partials.partials.is_empty() {
            // Most slices have no melody note sounding: skip a renderer pass (a GPU dispatch).
            lead_left.fill(0.0);
            lead_right.fill(0.0);
        } else {
            self.renderer
                .render(&self.lead_partials, lead_left, lead_right);
        }
    }
}

/// Whether `auto` found no hardware GPU in this process, once it has looked. Adapters do not
/// appear mid-session, and probing takes long enough (loading Vulkan drivers) to delay an
/// engine's first block at every activation, so the answer is kept (and was logged once).
static NO_HARDWARE_GPU: AtomicBool = AtomicBool::new(false);

/// The fallback chain for `choice`. A GPU that cannot be set up is reported and skipped.
fn renderer_chain(
    choice: RendererChoice,
    gpu_timeout: Duration,
    max_partials: usize,
) -> RendererChain {
    let selection = match choice {
        RendererChoice::Auto if NO_HARDWARE_GPU.load(Ordering::Relaxed) => None,
        RendererChoice::Auto => Some(GpuSelection::Auto),
        RendererChoice::Gpu => Some(GpuSelection::Force),
        RendererChoice::Cpu => None,
    };
    let mut chain: Vec<Box<dyn Renderer>> = Vec::with_capacity(3);
    if let Some(selection) = selection {
        let gpu = GpuRenderer::new(selection).and_then(|mut gpu| {
            gpu.reserve(ENGINE_BLOCK_FRAMES, max_partials)?;
            gpu.set_timeout(gpu_timeout);
            Ok(gpu)
        });
        match gpu {
            Ok(gpu) => {
                nice_plug::nice_log!("renderer {}: the GPU, {}", choice.as_str(), gpu.describe());
                chain.push(Box::new(gpu));
            }
            Err(err) if choice == RendererChoice::Gpu => {
                nice_plug::nice_warn!("renderer gpu: {err}; rendering on the CPU");
            }
            Err(err) => {
                nice_plug::nice_log!("renderer auto: {err}; rendering on the CPU");
                if matches!(err, GpuError::NoAdapter | GpuError::OnlySoftware(_)) {
                    NO_HARDWARE_GPU.store(true, Ordering::Relaxed);
                }
            }
        }
    }
    chain.push(Box::new(CpuRenderer::with_max_frames(ENGINE_BLOCK_FRAMES)));
    chain.push(Box::new(SilentRenderer));
    RendererChain::new(chain)
}

/// How softly struck voices begin at `intensity` (0..=1): fully soft up to 0.35, as struck
/// from 0.95, linear between, so the bell's attack rounds off at low and mid Intensity.
fn softness(intensity: f32) -> f32 {
    if intensity.is_finite() {
        ((0.95 - intensity) / 0.6).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// The instrument that plays a tonal layer.
fn instrument_for(layer: Layer) -> InstrumentId {
    match layer {
        Layer::Drone => InstrumentId::SubDrone,
        Layer::Pad => InstrumentId::WarmPad,
        Layer::Melody => InstrumentId::GlassBell,
        Layer::Texture | Layer::Percussion(_) => InstrumentId::Shimmer,
    }
}

/// Where a tonal note sits in the stereo field: drone centred, chord tones spread by pitch,
/// melody near the centre, texture wide and alternating.
fn tonal_pan(layer: Layer, midi_note: u8) -> f32 {
    let pitch = midi_note as f32;
    match layer {
        Layer::Drone => 0.0,
        Layer::Pad => ((pitch - 60.0) / 14.0).clamp(-0.6, 0.6),
        Layer::Melody => ((pitch - 72.0) / 40.0).clamp(-0.25, 0.25),
        Layer::Texture => {
            if midi_note.is_multiple_of(2) {
                -0.7
            } else {
                0.7
            }
        }
        Layer::Percussion(_) => 0.0,
    }
}

/// The percussion voice and pan for a composed hit.
fn percussion_voice(kind: PercussionKind, midi_note: u8) -> (PercussionVoice, f32) {
    let side = if midi_note.is_multiple_of(2) {
        -1.0
    } else {
        1.0
    };
    match kind {
        PercussionKind::Pulse => (PercussionVoice::Pulse, 0.0),
        PercussionKind::Tick => (PercussionVoice::Tick, 0.35 * side),
        PercussionKind::Shaker => (PercussionVoice::Shaker, -0.3 * side),
        PercussionKind::Bell => (PercussionVoice::Bell, 0.5 * side),
    }
}

#[cfg(test)]
mod tests;
