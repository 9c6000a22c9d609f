//! [`EngineLink`]: the audio thread's end of one engine, made together with the engine thread
//! (`engine::start`), the way rtrb makes a producer and a consumer as a pair.
//!
//! Each block the audio thread asks the engine for it ([`EngineLink::request`]), plays what the
//! engine rendered ([`EngineLink::fill`]) and hands the notes composed for it to the host
//! ([`EngineLink::send_notes`]). Every method is wait-free but for the bounded waits of
//! [`AudioOutput::fill`]; nothing here allocates, locks or logs.

use nice_plug::prelude::NoteEvent;

use super::midi_in::{MidiIn, MidiInProducer};
use super::notes::NoteOutConsumer;
use super::output::{AudioOutput, FillOutcome};
use super::request::{BlockRequest, RequestProducer};
use super::transport::{HostTransport, TransportSnapshot};
use crate::params::MusicalSettings;

/// The audio thread's connection to its engine thread.
pub struct EngineLink {
    /// Plays the audio ring into the host's buffers.
    output: AudioOutput,
    /// Block requests into the engine.
    requests: RequestProducer,
    /// Composed notes out of the engine, when the engine was asked to send them.
    notes: Option<NoteOutConsumer>,
    /// The host's notes into the engine, which follows what they play.
    midi_in: MidiInProducer,
}

impl EngineLink {
    /// The link over rings the engine thread holds the other ends of. Used by `engine::start`.
    pub(crate) fn new(
        output: AudioOutput,
        requests: RequestProducer,
        notes: Option<NoteOutConsumer>,
        midi_in: MidiInProducer,
    ) -> Self {
        Self {
            output,
            requests,
            notes,
            midi_in,
        }
    }

    /// Passes the host's note `event` of the coming block on to the engine. Call it for the
    /// block's events before [`Self::request`], so the engine has them when it answers.
    pub fn receive<S>(&mut self, event: &NoteEvent<S>) {
        if let Some(event) = MidiIn::from_host(event, self.output.frames_consumed()) {
            self.midi_in.push(event);
        }
    }

    /// Asks the engine for the next `frames` frames, rendered with `settings` and, if the host
    /// has one, its transport at the block's start. With `restart` the music starts over from
    /// the top (the host's `reset()`); the output stays silent until the engine has done so.
    /// Returns the engine frame the block starts at.
    pub fn request(
        &mut self,
        frames: usize,
        settings: MusicalSettings,
        host: Option<HostTransport>,
        restart: bool,
    ) -> u64 {
        let at_frame = self.output.frames_consumed();
        if restart {
            self.output.request_restart();
        }
        self.requests.publish(BlockRequest {
            until_frame: at_frame + frames as u64,
            settings,
            transport: TransportSnapshot::of_host(host, at_frame),
            restart,
        });
        at_frame
    }

    /// Plays the next frames the engine rendered into `left` and `right` (see
    /// [`AudioOutput::fill`]).
    pub fn fill(&mut self, left: &mut [f32], right: &mut [f32]) -> FillOutcome {
        self.output.fill(left, right)
    }

    /// Hands every composed note of the block of `frames` frames from `at_frame` to `send` as
    /// a host event, at its offset in the block.
    pub fn send_notes<S>(
        &mut self,
        at_frame: u64,
        frames: usize,
        mut send: impl FnMut(NoteEvent<S>),
    ) {
        if let Some(notes) = self.notes.as_mut() {
            notes.drain_block(at_frame, frames, |timing, note| send(note.to_event(timing)));
        }
    }

    /// Frames played since the engine started: the engine frame of the next block.
    pub fn frames_consumed(&self) -> u64 {
        self.output.frames_consumed()
    }

    /// Frames rendered and waiting to be played.
    pub fn queued_frames(&self) -> usize {
        self.output.queued_frames()
    }
}
