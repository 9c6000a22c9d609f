//! Notes the host sends in, on their way from the audio thread to the engine, which follows
//! the key (and later the chords) they play.
//!
//! The audio thread turns each host event into a small `Copy` [`MidiIn`] stamped with its
//! engine frame and pushes it before the block's request, so the engine has every event of a
//! block when it answers that block: what the engine makes of them depends only on the events
//! and their frames, never on timing. Pushing is wait-free; when the ring is full (the engine
//! stalled for thousands of events) the event is dropped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nice_plug::midi::Key;
use nice_plug::prelude::NoteEvent;
use rtrb::{Consumer, Producer, RingBuffer};

/// Events the ring holds: far more than a block of even a dense MIDI stream.
pub const MAX_MIDI_IN: usize = 4096;

/// What an input event says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MidiInKind {
    /// A key goes down (velocity 0..=1, never 0: a note-on of velocity 0 is a note-off).
    NoteOn {
        /// MIDI note number, 0..=127.
        note: u8,
        /// 0..=1.
        velocity: f32,
    },
    /// A key comes up.
    NoteOff {
        /// MIDI note number, 0..=127.
        note: u8,
    },
    /// The sustain pedal (CC 64) goes down or up.
    Sustain(bool),
    /// Every note ends (all notes off, all sound off, a choke of everything).
    AllOff,
}

/// One input event at the engine frame it falls on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidiIn {
    /// Engine frame (since activation) of the event.
    pub frame: u64,
    /// What happened. The channel is not kept: any channel counts.
    pub kind: MidiInKind,
}

impl MidiIn {
    /// The input event a host's `event` means, at `at_frame` plus its timing in the block;
    /// `None` for events that say nothing about notes (pressure, expression, SysEx, …).
    pub fn from_host<S>(event: &NoteEvent<S>, at_frame: u64) -> Option<Self> {
        let kind = match *event {
            NoteEvent::NoteOn {
                key: Key::Number(note),
                velocity,
                ..
            } => {
                let velocity = if velocity.is_finite() {
                    velocity.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let note = note.min(127);
                if velocity > 0.0 {
                    MidiInKind::NoteOn { note, velocity }
                } else {
                    MidiInKind::NoteOff { note }
                }
            }
            NoteEvent::NoteOff {
                key: Key::Number(note),
                ..
            }
            | NoteEvent::Choke {
                key: Key::Number(note),
                ..
            } => MidiInKind::NoteOff {
                note: note.min(127),
            },
            // A note-off or choke for any key ends them all.
            NoteEvent::NoteOff {
                key: Key::Wildcard, ..
            }
            | NoteEvent::Choke {
                key: Key::Wildcard, ..
            } => MidiInKind::AllOff,
            NoteEvent::MidiCC { cc: 64, value, .. } => MidiInKind::Sustain(value >= 0.5),
            NoteEvent::MidiCC { cc: 120 | 123, .. } => MidiInKind::AllOff,
            _ => return None,
        };
        Some(Self {
            frame: at_frame + u64::from(event.timing()),
            kind,
        })
    }
}

/// Creates the input ring. Allocates: call it when the engine starts.
pub fn midi_in_ring() -> (MidiInProducer, MidiInConsumer) {
    let (producer, consumer) = RingBuffer::new(MAX_MIDI_IN);
    let dropped = Arc::new(AtomicU64::new(0));
    (
        MidiInProducer {
            inner: producer,
            dropped: dropped.clone(),
        },
        MidiInConsumer {
            inner: consumer,
            dropped,
        },
    )
}

/// The audio thread's end.
pub struct MidiInProducer {
    /// Ring into the engine.
    inner: Producer<MidiIn>,
    /// Events dropped because the ring was full; shared with the consumer for reporting.
    dropped: Arc<AtomicU64>,
}

impl MidiInProducer {
    /// Queues `event`, or drops and counts it if the ring is full. Wait-free.
    pub fn push(&mut self, event: MidiIn) {
        if self.inner.push(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The engine's end.
pub struct MidiInConsumer {
    /// Ring from the audio thread.
    inner: Consumer<MidiIn>,
    /// Events the producer dropped.
    dropped: Arc<AtomicU64>,
}

impl MidiInConsumer {
    /// Hands every queued event before `until_frame` to `take`, in the order they were sent.
    pub fn drain_until(&mut self, until_frame: u64, mut take: impl FnMut(MidiIn)) {
        while let Ok(event) = self.inner.peek() {
            if event.frame >= until_frame {
                break;
            }
            let event = *event;
            let _ = self.inner.pop();
            take(event);
        }
    }

    /// Events dropped at the producer because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::midi::{Channel, VoiceID};

    fn note_on(note: u8, velocity: f32, timing: u32) -> NoteEvent<()> {
        NoteEvent::NoteOn {
            timing,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(15),
            key: Key::Number(note),
            velocity,
        }
    }

    #[test]
    fn host_events_become_input_events_at_their_frame() {
        assert_eq!(
            MidiIn::from_host(&note_on(60, 0.5, 10), 1000),
            Some(MidiIn {
                frame: 1010,
                kind: MidiInKind::NoteOn {
                    note: 60,
                    velocity: 0.5
                }
            })
        );
        // Velocity 0 is a note-off, as in MIDI; garbage velocities too.
        for velocity in [0.0, -1.0, f32::NAN] {
            assert_eq!(
                MidiIn::from_host(&note_on(60, velocity, 0), 0).map(|e| e.kind),
                Some(MidiInKind::NoteOff { note: 60 })
            );
        }
        assert_eq!(
            MidiIn::from_host(&note_on(200, 1.0, 0), 0).map(|e| e.kind),
            Some(MidiInKind::NoteOn {
                note: 127,
                velocity: 1.0
            })
        );
    }

    #[test]
    fn a_flood_is_dropped_and_counted_without_allocating_and_order_is_kept() {
        let (mut tx, mut rx) = midi_in_ring();
        let event = |frame| MidiIn {
            frame,
            kind: MidiInKind::NoteOff { note: 1 },
        };
        nice_assert_no_alloc::assert_no_alloc(|| {
            for frame in 0..(MAX_MIDI_IN as u64 + 100) {
                tx.push(event(frame));
            }
        });
        assert_eq!(rx.dropped(), 100);
        let mut seen = Vec::new();
        rx.drain_until(10, |e| seen.push(e.frame));
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        seen.clear();
        rx.drain_until(u64::MAX, |e| seen.push(e.frame));
        assert_eq!(seen.len(), MAX_MIDI_IN - 10);
    }
}
