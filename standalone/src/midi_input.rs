//! `render --midi-in`: a Standard MIDI File played into the engine, as a host plays its MIDI
//! track into the plugin, so Follow hears a whole song's chords offline.
//!
//! Every track's note-ons, note-offs, sustain pedal and all-notes-off messages, on any
//! channel, are placed at the frame their time falls on: ticks become seconds through the
//! file's tempo map (or its SMPTE timing), seconds become frames at the render's rate. `midly`
//! parses the file; anything it rejects is an error naming the file, never a panic.

use std::path::Path;

use anyhow::{Context, Result, bail};
use auralis::realtime::{MidiIn, MidiInKind};
use auralis::signal::SampleRate;
use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

/// Microseconds per quarter note before the file sets a tempo (120 BPM, the standard's default).
const DEFAULT_TEMPO_US: f64 = 500_000.0;
/// The controllers that mean something to Follow.
const SUSTAIN_CC: u8 = 64;
const ALL_SOUND_OFF_CC: u8 = 120;
const ALL_NOTES_OFF_CC: u8 = 123;

/// The input events of the MIDI file at `path`, in frame order, for a render at `sample_rate`.
///
/// # Errors
/// When the file cannot be read or is not a Standard MIDI File.
pub fn read(path: &Path, sample_rate: SampleRate) -> Result<Vec<MidiIn>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
    let smf = Smf::parse(&bytes)
        .with_context(|| format!("{} is not a Standard MIDI File", path.display()))?;
    events(&smf, sample_rate)
}

/// The events of `smf` at `sample_rate`.
fn events(smf: &Smf, sample_rate: SampleRate) -> Result<Vec<MidiIn>> {
    // Every event of every track at its absolute tick, with its track's order kept for ties.
    let mut timed = Vec::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        for event in track {
            tick += u64::from(event.delta.as_int());
            timed.push((tick, event.kind));
        }
    }
    timed.sort_by_key(|&(tick, _)| tick);
    let seconds_of = seconds_per_tick(smf.header.timing)?;
    let mut seconds = 0.0;
    let mut last_tick = 0;
    let mut tempo_us = DEFAULT_TEMPO_US;
    let mut out = Vec::new();
    for (tick, kind) in timed {
        seconds += (tick - last_tick) as f64 * seconds_of(tempo_us);
        last_tick = tick;
        let input = match kind {
            TrackEventKind::Meta(MetaMessage::Tempo(us)) => {
                // A tempo of 0 µs per quarter would put every later event at one instant.
                tempo_us = f64::from(us.as_int()).max(1.0);
                None
            }
            TrackEventKind::Midi { message, .. } => input_kind(message),
            _ => None,
        };
        if let Some(kind) = input {
            let frame = (seconds * f64::from(sample_rate.hz())).round() as u64;
            out.push(MidiIn { frame, kind });
        }
    }
    Ok(out)
}

/// Seconds per tick at a tempo in µs per quarter note, for the file's timing.
fn seconds_per_tick(timing: Timing) -> Result<impl Fn(f64) -> f64> {
    let (per_quarter, fixed) = match timing {
        Timing::Metrical(ticks) => {
            let ticks = f64::from(ticks.as_int());
            if ticks == 0.0 {
                bail!("the file's timing has 0 ticks per quarter note");
            }
            (Some(ticks), 0.0)
        }
        Timing::Timecode(fps, subframes) => {
            let per_second = f64::from(fps.as_f32()) * f64::from(subframes.max(1));
            (None, 1.0 / per_second)
        }
    };
    Ok(move |tempo_us: f64| match per_quarter {
        Some(ticks) => tempo_us / 1e6 / ticks,
        None => fixed,
    })
}

/// What a channel message means to Follow, if anything.
fn input_kind(message: MidiMessage) -> Option<MidiInKind> {
    match message {
        MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => Some(MidiInKind::NoteOn {
            note: key.as_int(),
            velocity: f32::from(vel.as_int()) / 127.0,
        }),
        MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
            Some(MidiInKind::NoteOff { note: key.as_int() })
        }
        MidiMessage::Controller { controller, value } => match controller.as_int() {
            SUSTAIN_CC => Some(MidiInKind::Sustain(value.as_int() >= 64)),
            ALL_SOUND_OFF_CC | ALL_NOTES_OFF_CC => Some(MidiInKind::AllOff),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midly::num::{u4, u7, u15, u24, u28};
    use midly::{Format, Header, TrackEvent};

    fn midi(delta: u32, message: MidiMessage) -> TrackEvent<'static> {
        TrackEvent {
            delta: u28::new(delta),
            kind: TrackEventKind::Midi {
                channel: u4::new(3),
                message,
            },
        }
    }

    #[test]
    fn notes_land_on_their_frames_through_the_tempo_map() {
        let mut smf = Smf::new(Header::new(
            Format::Parallel,
            Timing::Metrical(u15::new(480)),
        ));
        // Conductor: 120 BPM, then 60 BPM from beat 2.
        smf.tracks.push(vec![
            TrackEvent {
                delta: u28::new(960),
                kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(1_000_000))),
            },
            TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
            },
        ]);
        let on = |key| MidiMessage::NoteOn {
            key: u7::new(key),
            vel: u7::new(127),
        };
        smf.tracks.push(vec![
            midi(480, on(60)),
            // A note-on of velocity 0 is a note-off.
            midi(
                960,
                MidiMessage::NoteOn {
                    key: u7::new(60),
                    vel: u7::new(0),
                },
            ),
            midi(
                0,
                MidiMessage::Controller {
                    controller: u7::new(64),
                    value: u7::new(127),
                },
            ),
            midi(
                0,
                MidiMessage::ProgramChange {
                    program: u7::new(5),
                },
            ),
        ]);
        let events = events(&smf, SampleRate::DEFAULT).unwrap();
        let frames: Vec<u64> = events.iter().map(|e| e.frame).collect();
        // Beat 1 at 120 BPM is 0.5 s; beat 3 is 1 s (two beats at 120) plus 1 s (one at 60).
        assert_eq!(frames, [24_000, 96_000, 96_000]);
        assert_eq!(
            events[0].kind,
            MidiInKind::NoteOn {
                note: 60,
                velocity: 1.0
            }
        );
        assert_eq!(events[1].kind, MidiInKind::NoteOff { note: 60 });
        assert_eq!(events[2].kind, MidiInKind::Sustain(true));
    }

    #[test]
    fn a_file_that_is_not_midi_is_refused_with_its_name() {
        let dir = std::env::temp_dir().join(format!("auralis-midi-in-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("song.mid");
        std::fs::write(&path, b"MThd but not really").unwrap();
        let error = read(&path, SampleRate::DEFAULT).unwrap_err();
        assert!(format!("{error:#}").contains("song.mid"), "{error:#}");
        let missing = read(&dir.join("missing.mid"), SampleRate::DEFAULT).unwrap_err();
        assert!(format!("{missing:#}").contains("missing.mid"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
