//! Revising the lead: a settings change heard within tens of milliseconds even when the engine
//! renders a second ahead.
//!
//! A server renders far ahead of what it plays (`serve` keeps a one-second lead, which rides
//! out a busy machine), so a change made through its API would reach the listeners only when
//! the frames rendered before it have played. Instead, the engine keeps the music's state
//! ([`CoreState`]) every [`SAVE_INTERVAL_S`] of the lead. When a request brings new settings it
//! goes back to the first saved state at least [`MARGIN_S`] ahead of what the audio side is
//! playing, renders again from there with the new settings, and queues the new frames behind
//! the stale ones, then publishes a splice: the audio side skips the stale frames when it
//! reaches the saved state's frame and crossfades into the new ones
//! (`realtime::output::SPLICE_FADE_S`). Up to that frame nothing changes, so a change is heard
//! after the margin plus at most one save interval, wherever the lead is.
//!
//! One splice at a time: a change that comes while the audio side has not reached the
//! previous splice waits until it has (a few tens of milliseconds), and is then revised with
//! the newest settings. The audio side handles a late splice by switching at the next block
//! after the splice point, with the matching replacement frame, so a slow engine delays a
//! change but never breaks the music.
//!
//! Revised frames depend on when the change came, so only a realtime engine whose output is
//! not recorded as a bounce revises, and only one that sends no MIDI: notes already sent
//! cannot be taken back.

use std::collections::VecDeque;

use super::core::{CoreState, EngineCore};
use crate::params::MusicalSettings;
use crate::signal::SampleRate;

/// How often the state is saved along the lead, in seconds. Half of it, on average, is added
/// to a change's latency; each save costs a copy of the state (a few hundred kilobytes).
pub const SAVE_INTERVAL_S: f64 = 0.02;
/// How far ahead of the audio side a splice starts, at least, in seconds: time for the engine
/// to render the first revised frames and for the audio side to see the splice before it
/// reaches it.
pub const MARGIN_S: f64 = 0.02;

/// A splice the audio side has not played past yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Splice {
    /// The first stale frame.
    from: u64,
    /// The frame of the ring that replaces it.
    to: u64,
}

/// The saved states along the lead and the splice in flight.
pub(super) struct Revisions {
    /// Saved states, oldest first, each with the ring frame it renders next.
    saved: VecDeque<(u64, CoreState)>,
    /// Frames between saves.
    interval: u64,
    /// Frames a splice starts ahead of the audio side, at least.
    margin: u64,
    /// Frames of the audio side's crossfade at a splice.
    fade: u64,
    /// Frames rendered since the newest save.
    since_save: u64,
    /// The splice the audio side has not played past yet.
    pending: Option<Splice>,
    /// The settings of the newest request.
    settings: Option<MusicalSettings>,
    /// The settings changed since the newest splice, which is yet to be revised.
    changed: bool,
}

impl Revisions {
    /// Revisions for an engine at `sample_rate` whose audio side crossfades over `fade_frames`.
    pub(super) fn new(sample_rate: SampleRate, fade_frames: usize) -> Self {
        Self {
            saved: VecDeque::new(),
            interval: sample_rate.frames(SAVE_INTERVAL_S).max(1) as u64,
            margin: sample_rate.frames(MARGIN_S) as u64,
            fade: fade_frames as u64,
            since_save: u64::MAX,
            pending: None,
            settings: None,
            changed: false,
        }
    }

    /// Frames the request for `until` (a frame the audio side asked for) must have queued
    /// beyond the lead: while a splice is pending, the stale frames it will skip.
    pub(super) fn skipped_ahead(&self, until: u64) -> u64 {
        match self.pending {
            Some(splice) if until < splice.to => splice.to - splice.from,
            _ => 0,
        }
    }

    /// Takes in a request for frames up to `until` with `settings`, and returns where to
    /// revise from if the lead is to be revised now: the saved state and its frame, the first
    /// at least the margin ahead of `playing` (the audio side's next frame) that has stale
    /// frames after it to fade out. `pushed` is the ring's frame count.
    pub(super) fn take_request(
        &mut self,
        until: u64,
        settings: &MusicalSettings,
        playing: u64,
        pushed: u64,
    ) -> Option<(u64, CoreState)> {
        if self.settings.is_some_and(|s| s != *settings) {
            self.changed = true;
        }
        self.settings = Some(*settings);
        if self.pending.is_some_and(|splice| until >= splice.to) {
            self.pending = None;
        }
        if !self.changed || self.pending.is_some() {
            return None;
        }
        // Whatever happens now, the frames rendered from here on carry the new settings; only
        // those already queued are at stake.
        self.changed = false;
        let earliest = playing + self.margin;
        while self.saved.front().is_some_and(|&(at, _)| at < earliest) {
            self.saved.pop_front();
        }
        let (at, _) = self.saved.front()?;
        if at + self.fade > pushed {
            // Too little of the lead is left to revise: it plays out as it is.
            return None;
        }
        self.saved.pop_front()
    }

    /// Records the splice made after reverting to the state saved at `from`, whose revised
    /// frames start at the ring frame `to`: the saved states are all stale now.
    pub(super) fn spliced(&mut self, from: u64, to: u64) {
        self.pending = Some(Splice { from, to });
        self.forget_saved();
    }

    /// Called after each block of `frames` rendered, with the ring's frame count: saves the
    /// state every interval, and forgets states the audio side has played past (`playing`).
    pub(super) fn after_block(
        &mut self,
        core: &EngineCore,
        frames: u64,
        pushed: u64,
        playing: u64,
    ) {
        self.since_save = self.since_save.saturating_add(frames);
        while self.saved.front().is_some_and(|&(at, _)| at < playing) {
            self.saved.pop_front();
        }
        if self.since_save >= self.interval {
            self.saved.push_back((pushed, core.save_state()));
            self.since_save = 0;
        }
    }

    /// Forgets every saved state: after a fresh engine took over from one that panicked, they
    /// may hold what made it panic.
    pub(super) fn forget_saved(&mut self) {
        self.saved.clear();
        self.since_save = u64::MAX;
    }

    /// Forgets everything: after a restart, the music starts over and the audio side skips
    /// every frame before it, a pending splice's too.
    pub(super) fn restart(&mut self) {
        self.forget_saved();
        self.pending = None;
        self.changed = false;
    }
}
