//! `render --midi`: the notes a render played, as a Standard MIDI File a DAW opens for editing.
//!
//! Type 1: a conductor track with the tempo and the 4/4 time signature, then one named track
//! per layer (melody, pad, drone, texture, bell, and percussion on channel 10), on the channels
//! the plugin's MIDI out uses. The notes are the ones the engine handed to its synthesizer, at
//! the frames it played them, with their composed velocities; `midly` writes the file.

use std::path::Path;

use anyhow::{Context, Result};
use auralis::engine::midi::LAYER_CHANNELS;
use auralis::realtime::{NoteOut, NoteOutKind};
use auralis::signal::SampleRate;
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

/// Ticks per quarter note: fine enough that a note lands within 0.7 ms of its frame at 90 BPM.
const TICKS_PER_QUARTER: u16 = 960;

/// The notes of one render, gathered as the engine plays them.
pub struct MidiRecording {
    /// The render's rate, to turn frames into time.
    sample_rate: SampleRate,
    /// The render's tempo: a render has no host, so its tempo never changes.
    tempo_bpm: f32,
    /// Every note-on and note-off, in the order played.
    notes: Vec<NoteOut>,
}

impl MidiRecording {
    /// An empty recording of a render at `sample_rate` and `tempo_bpm`.
    pub fn new(sample_rate: SampleRate, tempo_bpm: f32) -> Self {
        Self {
            sample_rate,
            tempo_bpm,
            notes: Vec::new(),
        }
    }

    /// Adds a note the engine played.
    pub fn record(&mut self, note: NoteOut) {
        self.notes.push(note);
    }

    /// Writes the file to `path`.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut bytes = Vec::new();
        self.to_smf()
            .write_std(&mut bytes)
            .context("could not encode the MIDI file")?;
        std::fs::write(path, bytes).with_context(|| format!("could not write {}", path.display()))
    }

    /// The recording as a type 1 file.
    fn to_smf(&self) -> Smf<'static> {
        let mut smf = Smf::new(Header::new(
            Format::Parallel,
            Timing::Metrical(u15::new(TICKS_PER_QUARTER)),
        ));
        smf.tracks.push(self.conductor_track());
        for (name, channel) in LAYER_CHANNELS {
            smf.tracks.push(self.layer_track(name, channel));
        }
        smf
    }

    /// Tempo and time signature at tick 0.
    fn conductor_track(&self) -> Vec<TrackEvent<'static>> {
        let micros_per_quarter = (60_000_000.0 / f64::from(self.tempo_bpm)).round() as u32;
        let meta = |message| TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(message),
        };
        vec![
            meta(MetaMessage::TrackName(b"auralis")),
            meta(MetaMessage::Tempo(u24::new(micros_per_quarter))),
            // 4/4, a click every quarter, eight 32nds to the quarter.
            meta(MetaMessage::TimeSignature(4, 2, 24, 8)),
            meta(MetaMessage::EndOfTrack),
        ]
    }

    /// The notes on `channel`, named `name`.
    fn layer_track(&self, name: &'static str, channel: u8) -> Vec<TrackEvent<'static>> {
        let mut events = vec![TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::TrackName(name.as_bytes())),
        }];
        let mut notes: Vec<(u64, &NoteOut)> = self
            .notes
            .iter()
            .filter(|note| note.channel == channel)
            .map(|note| (self.tick_of(note.frame), note))
            .collect();
        // Offs before ons at the same tick, so a note struck again is not ended at once.
        notes.sort_by_key(|(tick, note)| (*tick, note.kind == NoteOutKind::On));
        let mut previous = 0;
        for (tick, note) in notes {
            let key = u7::new(note.note.min(127));
            let message = match note.kind {
                NoteOutKind::On => MidiMessage::NoteOn {
                    key,
                    vel: u7::new(velocity(note.velocity)),
                },
                NoteOutKind::Off => MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                },
            };
            events.push(TrackEvent {
                delta: u28::new((tick - previous) as u32),
                kind: TrackEventKind::Midi {
                    channel: u4::new(channel),
                    message,
                },
            });
            previous = tick;
        }
        events.push(TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        });
        events
    }

    /// The tick `frame` falls on, from the start (rounded, never accumulated, so no drift).
    fn tick_of(&self, frame: u64) -> u64 {
        let seconds = frame as f64 / f64::from(self.sample_rate.hz());
        let quarters = seconds * f64::from(self.tempo_bpm) / 60.0;
        (quarters * f64::from(TICKS_PER_QUARTER)).round() as u64
    }
}

/// A 0..=1 velocity as MIDI's 1..=127: a note-on of velocity 0 would be a note-off.
fn velocity(velocity: f32) -> u8 {
    let velocity = if velocity.is_finite() { velocity } else { 0.0 };
    (velocity.clamp(0.0, 1.0) * 127.0).round().clamp(1.0, 127.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(frame: u64, kind: NoteOutKind, channel: u8, key: u8) -> NoteOut {
        NoteOut {
            frame,
            kind,
            channel,
            note: key,
            velocity: 0.5,
        }
    }

    #[test]
    fn notes_land_on_their_layer_track_at_their_time() {
        let mut recording = MidiRecording::new(SampleRate::DEFAULT, 60.0);
        // One second is one quarter at 60 BPM.
        recording.record(note(48_000, NoteOutKind::On, 1, 62));
        recording.record(note(96_000, NoteOutKind::Off, 1, 62));
        recording.record(note(0, NoteOutKind::On, 9, 36));
        let smf = recording.to_smf();
        assert_eq!(smf.tracks.len(), 1 + LAYER_CHANNELS.len());
        let pad = &smf.tracks[2];
        assert_eq!(
            pad[0].kind,
            TrackEventKind::Meta(MetaMessage::TrackName(b"pad"))
        );
        assert_eq!(pad[1].delta.as_int(), u32::from(TICKS_PER_QUARTER));
        assert!(matches!(
            pad[1].kind,
            TrackEventKind::Midi {
                message: MidiMessage::NoteOn { .. },
                ..
            }
        ));
        assert_eq!(pad[2].delta.as_int(), u32::from(TICKS_PER_QUARTER));
        let drums = &smf.tracks[6];
        assert!(matches!(
            drums[1].kind,
            TrackEventKind::Midi { channel, .. } if channel.as_int() == 9
        ));
        let mut bytes = Vec::new();
        smf.write_std(&mut bytes).expect("encodes");
        let parsed = Smf::parse(&bytes).expect("parses back");
        assert_eq!(parsed.tracks.len(), 7);
    }

    #[test]
    fn velocities_stay_note_ons() {
        assert_eq!(velocity(0.0), 1);
        assert_eq!(velocity(1.0), 127);
        assert_eq!(velocity(f32::NAN), 1);
    }
}
