//! The composer: turns a seed and [`ComposerSettings`] into a stream of
//! [`NoteEvent`]s, bar by bar, deterministically.
//!
//! Runs on the engine thread (never the audio thread): planning a phrase
//! allocates a little. Every decision is drawn from a seeded stream keyed by
//! what is decided and where (see `dice`), so the music at any beat is a pure
//! function of (seed, settings, beat): chunk boundaries do not matter, and
//! [`Composer::seek`] re-plans only the phrase it lands in.
//!
//! Layout of the time line: 4/4 bars, 8-bar phrases (chord plan, melody
//! call and answer), sections of 2–4 phrases (motif, groove), blocks of 12
//! phrases, and a slow energy curve over all of it (see `form`).

mod accompaniment;
mod dice;
mod event;
mod form;
mod harmony;
mod melody;
mod motif;
mod percussion;
mod phrase;
mod settings;
mod texture;
mod transitions;

#[cfg(test)]
mod tests;

pub use event::{ChordInfo, Layer, NoteEvent, PercussionKind};
pub use harmony::HeldHarmony;
pub use settings::{ComposerSettings, DEFAULT_TEMPO_BPM, MAX_TEMPO_BPM, MIN_TEMPO_BPM};

use form::{BARS_PER_PHRASE, BEATS_PER_BAR, percussion_level, texture_level};
use phrase::{Hold, LeadIn, PhrasePlan};

/// Initial capacity of the phrase event buffer (a dense phrase holds ~100).
const PHRASE_EVENT_CAPACITY: usize = 160;
/// Initial capacity of the bar event buffer.
const BAR_EVENT_CAPACITY: usize = 64;

/// Events of the bar being played, and how many have been handed out.
#[derive(Clone, Debug)]
struct BarEvents {
    /// Which bar these are; `None` before the first bar is entered or after a seek.
    index: Option<u64>,
    /// Phrase events starting in the bar plus the bar's texture and
    /// percussion, sorted by [`NoteEvent::order`].
    events: Vec<NoteEvent>,
    /// Events before this index have been emitted (or lie before a seek).
    cursor: usize,
}

/// The generative composer. See the module docs. Cloning gives an
/// independent composer that continues identically.
#[derive(Clone, Debug)]
pub struct Composer {
    /// Seed of every random stream.
    seed: u64,
    /// Latest settings (sanitized); phrase-level layers pick them up at the
    /// next phrase, key and scale at the next chord change.
    settings: ComposerSettings,
    /// Beats from the start of the piece; everything before has been emitted.
    position_beats: f64,
    /// Plan of the phrase containing `position_beats`.
    plan: PhrasePlan,
    /// The bar being emitted.
    bar: BarEvents,
    /// The player's held chord, while the engine follows one (Follow = Chords).
    hold: Option<Hold>,
}

/// Bar containing `beat` (beats are never negative here).
fn bar_of(beat: f64) -> u64 {
    (beat / BEATS_PER_BAR).floor() as u64
}

impl Composer {
    /// A composer at beat 0 playing `settings` (clamped to valid ranges).
    pub fn new(seed: u64, settings: ComposerSettings) -> Self {
        let settings = settings.sanitized();
        let events = Vec::with_capacity(PHRASE_EVENT_CAPACITY);
        Composer {
            seed,
            settings,
            position_beats: 0.0,
            plan: PhrasePlan::new(seed, 0, settings, LeadIn::Lookback, events, None, None),
            bar: BarEvents {
                index: None,
                events: Vec::with_capacity(BAR_EVENT_CAPACITY),
                cursor: 0,
            },
            hold: None,
        }
    }

    /// Changes the settings. Intensity reaches percussion and texture at the
    /// next bar and harmony, melody and arrangement at the next phrase; a key
    /// or scale change lands at the next chord change, voice-led, never
    /// mid-chord. Tempo only scales how many bars a chord lasts. If nothing
    /// of the current phrase has played yet, it is re-planned at once.
    pub fn set_settings(&mut self, settings: ComposerSettings) {
        self.settings = settings.sanitized();
        self.settle();
    }

    /// The settings in force (after clamping).
    pub fn settings(&self) -> ComposerSettings {
        self.settings
    }

    /// Appends to `out`, in start order, every event starting in
    /// `[position_beats(), until_beat)`, and moves the position to
    /// `until_beat`. Does nothing if `until_beat` is not after the position
    /// or is not finite. Allocates only when it plans a new phrase (or
    /// `out` lacks capacity); emitting planned events does not.
    pub fn advance_to(&mut self, until_beat: f64, out: &mut Vec<NoteEvent>) {
        if !until_beat.is_finite() {
            return;
        }
        while self.position_beats < until_beat {
            let bar = bar_of(self.position_beats);
            if self.bar.index != Some(bar) {
                self.enter_bar(bar);
            }
            let end = until_beat.min((bar + 1) as f64 * BEATS_PER_BAR);
            while let Some(event) = self.bar.events.get(self.bar.cursor) {
                if event.start_beat >= end {
                    break;
                }
                out.push(*event);
                self.bar.cursor += 1;
            }
            self.position_beats = end;
        }
        self.settle();
    }

    /// Current position in beats from the start of the piece.
    pub fn position_beats(&self) -> f64 {
        self.position_beats
    }

    /// Jumps to `beat` (clamped to ≥ 0; NaN → 0), e.g. for a host loop or
    /// relocation. Afterwards the composer emits exactly what a fresh
    /// composer with the same seed and settings emits from `beat` on. Notes
    /// that started before `beat` are not re-sent; see
    /// [`sustained_notes`](Self::sustained_notes).
    pub fn seek(&mut self, beat: f64) {
        self.position_beats = if beat.is_finite() { beat.max(0.0) } else { 0.0 };
        self.bar.index = None;
        self.bar.cursor = 0;
        let bar = bar_of(self.position_beats);
        if let Some(hold) = &mut self.hold {
            // The player still holds the chord wherever the host jumped to.
            hold.from_bar = hold.from_bar.min(bar);
        }
        let events = std::mem::take(&mut self.plan.events);
        self.plan = PhrasePlan::new(
            self.seed,
            bar / BARS_PER_PHRASE,
            self.settings,
            LeadIn::Lookback,
            events,
            self.hold,
            None,
        );
    }

    /// Plays `harmony`, the chord the player holds, from `beat` on, or with `None` ends the
    /// hold there and goes back to the composer's own progression. The chord there is
    /// voice-led from the one sounding, and the position moves to `beat` (clamped to ≥ 0) to
    /// emit the new plan from there: the caller drops what it was sent for `beat` on and
    /// restarts the [`sustained_notes`](Self::sustained_notes), as after a seek.
    pub fn follow_harmony(&mut self, beat: f64, harmony: Option<HeldHarmony>) {
        let beat = if beat.is_finite() { beat.max(0.0) } else { 0.0 };
        let bar = bar_of(beat);
        let (phrase, bar_in_phrase) = (bar / BARS_PER_PHRASE, (bar % BARS_PER_PHRASE) as u32);
        let sounding = if self.plan.index == phrase {
            self.plan.voicing_at_bar(bar_in_phrase)
        } else {
            self.plan.last_voicing()
        };
        self.hold = harmony.map(|harmony| Hold {
            harmony,
            from_bar: bar,
        });
        self.position_beats = beat;
        self.bar.index = None;
        self.bar.cursor = 0;
        let events = std::mem::take(&mut self.plan.events);
        self.plan = PhrasePlan::new(
            self.seed,
            phrase,
            self.settings,
            LeadIn::Lookback,
            events,
            self.hold,
            Some((bar_in_phrase, sounding)),
        );
    }

    /// Appends the drone, pad and melody notes of the current phrase that
    /// started before the position and are still sounding, restarted at the
    /// position with their remaining duration. Useful after
    /// [`seek`](Self::seek) so a jump into a long chord is not silent.
    pub fn sustained_notes(&self, out: &mut Vec<NoteEvent>) {
        self.restart_sounding(f64::NEG_INFINITY, out);
    }

    /// Like [`sustained_notes`](Self::sustained_notes), but only the notes of the chord in
    /// effect at the position: what a harmony change restarts, without the legato tail of the
    /// chord before it.
    pub fn sustained_chord_notes(&self, out: &mut Vec<NoteEvent>) {
        self.restart_sounding(self.current_chord().start_beat, out);
    }

    /// The drone, pad and melody notes that started at or after `since` and before the
    /// position and still sound, restarted at the position.
    fn restart_sounding(&self, since: f64, out: &mut Vec<NoteEvent>) {
        let now = self.position_beats;
        for event in &self.plan.events {
            let end = event.start_beat + event.duration_beats;
            if event.start_beat >= since && event.start_beat < now && end > now {
                out.push(NoteEvent {
                    start_beat: now,
                    duration_beats: end - now,
                    ..*event
                });
            }
        }
    }

    /// The chord in effect at the position.
    pub fn current_chord(&self) -> ChordInfo {
        let bar_in_phrase = (bar_of(self.position_beats) % BARS_PER_PHRASE) as u32;
        let planned = self.plan.chord_at_bar(bar_in_phrase);
        ChordInfo {
            chord: planned.chord,
            start_beat: self.plan.start_beat() + f64::from(planned.start_bar) * BEATS_PER_BAR,
            degree: planned.degree,
            borrowed: planned.borrowed,
        }
    }

    /// The seed this composer was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Makes the plan cover the position's phrase, and lets new settings take
    /// effect at the position if nothing there has been emitted yet: the
    /// whole phrase when at its untouched start, else the key and scale when
    /// a chord starts here.
    fn settle(&mut self) {
        let bar = bar_of(self.position_beats);
        self.ensure_phrase(bar / BARS_PER_PHRASE);
        let at_fresh_bar =
            self.bar.index != Some(bar) && self.position_beats == bar as f64 * BEATS_PER_BAR;
        if !at_fresh_bar {
            return;
        }
        let bar_in_phrase = (bar % BARS_PER_PHRASE) as u32;
        if bar_in_phrase == 0 && self.plan.settings != self.settings {
            let events = std::mem::take(&mut self.plan.events);
            let (index, source) = (self.plan.index, self.plan.lead_in_source);
            self.plan = PhrasePlan::new(
                self.seed,
                index,
                self.settings,
                source,
                events,
                self.hold,
                None,
            );
        } else {
            self.apply_tonality_at(bar_in_phrase);
        }
    }

    /// Plans `phrase` unless it is already planned. Straight after a key
    /// change the new phrase is led from the voicing actually playing;
    /// otherwise from the deterministic lookback.
    fn ensure_phrase(&mut self, phrase: u64) {
        if self.plan.index == phrase {
            return;
        }
        let follows = phrase == self.plan.index + 1;
        let tonality_moved = self.plan.spliced || !self.plan.settings.same_tonality(&self.settings);
        let lead_in = if follows && tonality_moved {
            LeadIn::From(self.plan.last_voicing())
        } else {
            LeadIn::Lookback
        };
        let events = std::mem::take(&mut self.plan.events);
        self.plan = PhrasePlan::new(
            self.seed,
            phrase,
            self.settings,
            lead_in,
            events,
            self.hold,
            None,
        );
    }

    /// Re-plans from the chord starting at `bar_in_phrase`, if one does and
    /// the key or scale has changed since it was planned.
    fn apply_tonality_at(&mut self, bar_in_phrase: u32) {
        let Some(index) = self.plan.progression.index_starting_at(bar_in_phrase) else {
            return;
        };
        let chords = self.plan.progression.chords();
        let planned = chords[index];
        let moved = planned.key != self.settings.key || planned.scale != self.settings.scale;
        // The player's chord keeps its own scale whatever the key, and holds to the end of the
        // phrase: the new key waits for the hold to end or the next phrase.
        if moved && !chords.iter().any(|chord| chord.held) {
            self.plan
                .splice(self.seed, index, self.settings.key, self.settings.scale);
        }
    }

    /// Gathers the events of `bar`: the phrase's drone, pad and melody notes
    /// that start in it, plus texture and percussion planned now from the
    /// current intensity.
    fn enter_bar(&mut self, bar: u64) {
        self.ensure_phrase(bar / BARS_PER_PHRASE);
        let bar_in_phrase = (bar % BARS_PER_PHRASE) as u32;
        self.apply_tonality_at(bar_in_phrase);

        let bar_start = bar as f64 * BEATS_PER_BAR;
        let events = &mut self.bar.events;
        events.clear();
        events.extend_from_slice(self.plan.events_in(bar_start, bar_start + BEATS_PER_BAR));
        let planned = *self.plan.chord_at_bar(bar_in_phrase);
        let chord_end = self.plan.start_beat() + f64::from(planned.end_bar()) * BEATS_PER_BAR;
        let arrangement = self.plan.arrangement;
        let (intensity, energy) = (self.settings.intensity, arrangement.energy);
        let percussion = if arrangement.percussion {
            percussion_level(intensity, energy)
        } else {
            0.0
        };
        texture::plan_texture(
            self.seed,
            bar,
            texture_level(intensity, energy),
            &planned,
            bar_start,
            chord_end,
            events,
        );
        percussion::plan_percussion(
            self.seed,
            bar,
            self.plan.role.section,
            percussion,
            &planned,
            bar_start,
            events,
        );
        events.sort_unstable_by(NoteEvent::order);
        self.bar.index = Some(bar);
        let position = self.position_beats;
        self.bar.cursor = events.partition_point(|e| e.start_beat < position);
    }
}
