//! Composed notes on their way out of the plugin as MIDI, from the engine to the audio thread.
//!
//! The engine pushes a [`NoteOut`] for every note-on and note-off it plays on a layer the user
//! chose, stamped with the engine frame it falls on. Because the engine renders ahead of the
//! audio thread, each note reaches the ring before its block is played; the audio thread hands
//! the notes of each block to the host at their exact offsets. Wait-free on both ends.

use nice_plug::midi::{Channel, Key, NoteEvent, VoiceID};
use rtrb::{Consumer, Producer, RingBuffer};

/// Notes the ring holds: a dense second of music is a few dozen, so this is ample headroom
/// for the engine's lead.
pub const MAX_NOTES_OUT: usize = 4096;

/// Whether a note starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteOutKind {
    /// Note-on.
    On,
    /// Note-off.
    Off,
}

/// One note event for the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteOut {
    /// Engine frame (since activation) the event falls on.
    pub frame: u64,
    /// Start or end.
    pub kind: NoteOutKind,
    /// MIDI channel, 0..=15.
    pub channel: u8,
    /// MIDI note number, 0..=127.
    pub note: u8,
    /// 0..=1.
    pub velocity: f32,
}

impl NoteOut {
    /// The note as the host's event, `timing` frames into the block it falls in.
    pub fn to_event<S>(&self, timing: u32) -> NoteEvent<S> {
        let (voice_id, channel, key) = (
            VoiceID::Wildcard,
            Channel::Number(self.channel),
            Key::Number(self.note),
        );
        match self.kind {
            NoteOutKind::On => NoteEvent::NoteOn {
                timing,
                voice_id,
                channel,
                key,
                velocity: self.velocity,
            },
            NoteOutKind::Off => NoteEvent::NoteOff {
                timing,
                voice_id,
                channel,
                key,
                velocity: self.velocity,
            },
        }
    }
}

/// Creates the note ring. Allocates: call it in `activate`.
pub fn note_ring() -> (NoteOutProducer, NoteOutConsumer) {
    let (producer, consumer) = RingBuffer::new(MAX_NOTES_OUT);
    (
        NoteOutProducer { inner: producer },
        NoteOutConsumer { inner: consumer },
    )
}

/// The engine's end.
pub struct NoteOutProducer {
    /// Ring into the audio thread.
    inner: Producer<NoteOut>,
}

impl NoteOutProducer {
    /// Queues a note. Returns false if the ring is full (nobody is playing the notes out: the
    /// host stopped calling `process()`).
    pub fn push(&mut self, note: NoteOut) -> bool {
        self.inner.push(note).is_ok()
    }

    /// Free slots left.
    pub fn free_slots(&self) -> usize {
        self.inner.slots()
    }
}

/// The audio thread's end.
pub struct NoteOutConsumer {
    /// Ring from the engine.
    inner: Consumer<NoteOut>,
}

impl NoteOutConsumer {
    /// Hands every queued note that falls before `at_frame + frames` to `send`, with its offset
    /// into the block (notes that are late, which only happens after an underrun, go at 0).
    pub fn drain_block(
        &mut self,
        at_frame: u64,
        frames: usize,
        mut send: impl FnMut(u32, NoteOut),
    ) {
        let end = at_frame + frames as u64;
        while let Ok(note) = self.inner.peek() {
            if note.frame >= end {
                break;
            }
            let offset = note
                .frame
                .saturating_sub(at_frame)
                .min(frames.saturating_sub(1) as u64);
            let note = *note;
            let _ = self.inner.pop();
            send(offset as u32, note);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(frame: u64, kind: NoteOutKind) -> NoteOut {
        NoteOut {
            frame,
            kind,
            channel: 0,
            note: 60,
            velocity: 0.5,
        }
    }

    #[test]
    fn notes_go_out_in_the_block_they_fall_in_at_their_offset() {
        let (mut tx, mut rx) = note_ring();
        assert!(tx.push(note(10, NoteOutKind::On)));
        assert!(tx.push(note(700, NoteOutKind::Off)));
        let mut sent = Vec::new();
        rx.drain_block(0, 512, |offset, n| sent.push((offset, n.kind)));
        assert_eq!(sent, [(10, NoteOutKind::On)]);
        sent.clear();
        rx.drain_block(512, 512, |offset, n| sent.push((offset, n.kind)));
        assert_eq!(sent, [(188, NoteOutKind::Off)]);
    }

    #[test]
    fn late_notes_go_at_the_start_and_draining_never_allocates() {
        let (mut tx, mut rx) = note_ring();
        for frame in 0..100 {
            tx.push(note(frame, NoteOutKind::On));
        }
        let mut offsets = [u32::MAX; 100];
        let mut count = 0;
        nice_assert_no_alloc::assert_no_alloc(|| {
            rx.drain_block(50, 64, |offset, _| {
                offsets[count] = offset;
                count += 1;
            });
        });
        assert_eq!(count, 100);
        assert!(offsets[..50].iter().all(|&o| o == 0));
        assert_eq!(offsets[99], 49);
    }
}
