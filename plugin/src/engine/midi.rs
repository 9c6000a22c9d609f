//! The composed notes as MIDI for the host: which layers go out, on which channels, and the
//! note-offs that follow them.
//!
//! Each layer has its own channel so a DAW can split them: melody 1, pad 2, drone 3, texture 4,
//! bell 5, and the other percussion on 10 with General MIDI drum notes. Notes are stamped with
//! the engine frame they fall on and reach the audio thread through the note ring
//! ([`crate::realtime::notes`]) in frame order.

use crate::compose::{Layer, NoteEvent, PercussionKind};
use crate::params::MidiLayers;
use crate::realtime::{NoteOut, NoteOutKind, NoteOutProducer};

/// Each layer's MIDI channel (0-based) and the name a MIDI file's track for it carries: the one
/// place the channel plan lives, for the host's MIDI out and for `render --midi`.
pub const LAYER_CHANNELS: [(&str, u8); 6] = [
    ("melody", MELODY_CHANNEL),
    ("pad", PAD_CHANNEL),
    ("drone", DRONE_CHANNEL),
    ("texture", TEXTURE_CHANNEL),
    ("bell", BELL_CHANNEL),
    ("percussion", DRUM_CHANNEL),
];
const MELODY_CHANNEL: u8 = 0;
const PAD_CHANNEL: u8 = 1;
const DRONE_CHANNEL: u8 = 2;
const TEXTURE_CHANNEL: u8 = 3;
const BELL_CHANNEL: u8 = 4;
/// General MIDI's drum channel (10, 0-based 9): pulse, tick and shaker.
const DRUM_CHANNEL: u8 = 9;

/// Notes that may be pending at once; more than the voice budget of every layer together.
const MAX_PENDING: usize = 512;

/// Sends the chosen layers' notes and ends every note it starts.
#[derive(Default)]
pub struct MidiOut {
    /// The ring to the audio thread; `None` when nobody listens (offline renders).
    notes: Option<NoteOutProducer>,
    /// Note-offs not yet due.
    pending_offs: Vec<NoteOut>,
    /// Events of the current engine block, sorted before they are sent.
    outbox: Vec<NoteOut>,
}

impl MidiOut {
    /// Sends into `notes`.
    pub fn new(notes: NoteOutProducer) -> Self {
        Self {
            notes: Some(notes),
            pending_offs: Vec::with_capacity(MAX_PENDING),
            outbox: Vec::with_capacity(MAX_PENDING),
        }
    }

    /// Plays `event` at `frame` for `duration_frames` if its layer is among `layers`.
    pub fn note(
        &mut self,
        layers: MidiLayers,
        event: &NoteEvent,
        frame: u64,
        duration_frames: u64,
    ) {
        if self.notes.is_none() || !sends(layers, event.layer) {
            return;
        }
        let (channel, note) = channel_and_note(event);
        // The same key on the same channel again: end the old note first, or the new one's
        // note-off would be ambiguous.
        if let Some(i) = self
            .pending_offs
            .iter()
            .position(|off| off.channel == channel && off.note == note)
        {
            let mut off = self.pending_offs.swap_remove(i);
            off.frame = frame;
            self.outbox.push(off);
        }
        if self.pending_offs.len() >= MAX_PENDING || self.outbox.len() >= MAX_PENDING - 1 {
            return;
        }
        let on = NoteOut {
            frame,
            kind: NoteOutKind::On,
            channel,
            note,
            velocity: event.velocity.clamp(0.0, 1.0),
        };
        self.outbox.push(on);
        self.pending_offs.push(NoteOut {
            frame: frame + duration_frames.max(1),
            kind: NoteOutKind::Off,
            velocity: 0.0,
            ..on
        });
    }

    /// Sends everything that falls before `frame`, in frame order.
    pub fn flush_until(&mut self, frame: u64) {
        let Some(notes) = self.notes.as_mut() else {
            return;
        };
        let mut i = 0;
        while i < self.pending_offs.len() {
            if self.pending_offs[i].frame < frame {
                self.outbox.push(self.pending_offs.swap_remove(i));
            } else {
                i += 1;
            }
        }
        // Unstable sort does not allocate; the key is total, so the order is still defined.
        self.outbox
            .sort_unstable_by_key(|n| (n.frame, n.kind == NoteOutKind::On, n.channel, n.note));
        for note in self.outbox.drain(..) {
            if !notes.push(note) {
                // Nobody drains the ring (the host stopped processing); the notes are moot.
                break;
            }
        }
        self.outbox.clear();
    }

    /// Ends every sounding note at `frame` (a jump, a new seed).
    pub fn all_off(&mut self, frame: u64) {
        for mut off in self.pending_offs.drain(..) {
            off.frame = frame;
            self.outbox.push(off);
        }
    }
}

/// Whether `layer` goes out under the user's choice.
fn sends(layers: MidiLayers, layer: Layer) -> bool {
    let chords = matches!(layer, Layer::Pad | Layer::Drone);
    match layers {
        MidiLayers::Off => false,
        MidiLayers::Melody => layer == Layer::Melody,
        MidiLayers::Chords => chords,
        MidiLayers::MelodyAndChords => chords || layer == Layer::Melody,
        MidiLayers::All => true,
    }
}

/// MIDI channel (0-based) and note for an event.
fn channel_and_note(event: &NoteEvent) -> (u8, u8) {
    let note = event.midi_note.min(127);
    match event.layer {
        Layer::Melody => (MELODY_CHANNEL, note),
        Layer::Pad => (PAD_CHANNEL, note),
        Layer::Drone => (DRONE_CHANNEL, note),
        Layer::Texture => (TEXTURE_CHANNEL, note),
        Layer::Percussion(PercussionKind::Bell) => (BELL_CHANNEL, note),
        // General MIDI drums: bass drum, side stick, shaker.
        Layer::Percussion(PercussionKind::Pulse) => (DRUM_CHANNEL, 36),
        Layer::Percussion(PercussionKind::Tick) => (DRUM_CHANNEL, 37),
        Layer::Percussion(PercussionKind::Shaker) => (DRUM_CHANNEL, 82),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::note_ring;

    fn event(layer: Layer, midi_note: u8) -> NoteEvent {
        NoteEvent {
            start_beat: 0.0,
            duration_beats: 1.0,
            layer,
            midi_note,
            velocity: 0.5,
            borrowed: false,
        }
    }

    fn drain(rx: &mut crate::realtime::NoteOutConsumer) -> Vec<(u32, NoteOut)> {
        let mut sent = Vec::new();
        rx.drain_block(0, 1 << 20, |offset, n| sent.push((offset, n)));
        sent
    }

    #[test]
    fn chosen_layers_go_out_on_their_channels_and_every_note_ends() {
        let (tx, mut rx) = note_ring();
        let mut midi = MidiOut::new(tx);
        midi.note(
            MidiLayers::MelodyAndChords,
            &event(Layer::Melody, 74),
            10,
            100,
        );
        midi.note(MidiLayers::MelodyAndChords, &event(Layer::Pad, 62), 20, 50);
        midi.note(
            MidiLayers::MelodyAndChords,
            &event(Layer::Texture, 86),
            30,
            50,
        );
        midi.flush_until(256);
        let sent = drain(&mut rx);
        let summary: Vec<(u64, NoteOutKind, u8, u8)> = sent
            .iter()
            .map(|(_, n)| (n.frame, n.kind, n.channel, n.note))
            .collect();
        assert_eq!(
            summary,
            [
                (10, NoteOutKind::On, 0, 74),
                (20, NoteOutKind::On, 1, 62),
                (70, NoteOutKind::Off, 1, 62),
                (110, NoteOutKind::Off, 0, 74),
            ]
        );
    }

    #[test]
    fn a_repeated_key_ends_the_old_note_first_and_all_off_ends_the_rest() {
        let (tx, mut rx) = note_ring();
        let mut midi = MidiOut::new(tx);
        midi.note(MidiLayers::All, &event(Layer::Melody, 70), 0, 1_000);
        midi.note(MidiLayers::All, &event(Layer::Melody, 70), 100, 1_000);
        midi.note(
            MidiLayers::All,
            &event(Layer::Percussion(PercussionKind::Pulse), 40),
            120,
            10,
        );
        midi.flush_until(256);
        midi.all_off(300);
        midi.flush_until(512);
        let kinds: Vec<(u64, NoteOutKind, u8)> = drain(&mut rx)
            .iter()
            .map(|(_, n)| (n.frame, n.kind, n.channel))
            .collect();
        assert_eq!(
            kinds,
            [
                (0, NoteOutKind::On, 0),
                (100, NoteOutKind::Off, 0),
                (100, NoteOutKind::On, 0),
                (120, NoteOutKind::On, 9),
                (130, NoteOutKind::Off, 9),
                (300, NoteOutKind::Off, 0),
            ]
        );
    }
}
