//! When chords are taken and let go, and the whole engine playing along with a progression.

use super::*;
use crate::music::{Chord, ChordQuality, Key, PitchClassSet, Scale};
use crate::params::{KeyName, ScaleName};

fn chords_in_c(intensity: f32) -> MusicalSettings {
    MusicalSettings {
        key: KeyName::C,
        scale: ScaleName::Major,
        follow: FollowMode::Chords,
        intensity,
        ..MusicalSettings::default()
    }
}

fn timing(start_beat: f64) -> BlockTiming {
    BlockTiming {
        start_beat,
        // 120 BPM at 48 kHz.
        beats_per_frame: 2.0 / 48_000.0,
        tempo_bpm: 120.0,
        jumped: false,
    }
}

fn held(notes: &[u8]) -> Held {
    Held {
        pitch_classes: notes.iter().map(|n| n % 12).collect::<PitchClassSet>(),
        bass_pc: notes[0] % 12,
    }
}

fn change(notes: &[u8], frame: u64) -> Option<HeldChange> {
    Some(HeldChange {
        held: if notes.is_empty() {
            Held::default()
        } else {
            held(notes)
        },
        frame,
    })
}

#[test]
fn a_chord_lands_on_the_next_beat_or_bar_and_release_waits_the_hold() {
    let mut following = ChordFollowing::default();
    let settings = chords_in_c(0.6);
    following.update(&settings, None, Held::default(), &timing(8.0), 0);
    assert_eq!(
        following.due(f64::MAX),
        None,
        "nothing held, nothing to take"
    );
    // E7 settles 1.3 beats into a block that starts at beat 8.
    following.update(
        &settings,
        change(&[52, 56, 59, 62], 31_200),
        held(&[52]),
        &timing(8.0),
        0,
    );
    assert_eq!(following.due(10.0), None, "not before the beat");
    let adoption = following.due(10.5).expect("settled at beat 9.3, due at 10");
    assert_eq!(adoption.beat, 10.0);
    let harmony = adoption.harmony.unwrap();
    assert_eq!(harmony.chord, Chord::new(4, ChordQuality::Dominant7));
    assert_eq!((harmony.key, harmony.scale), (Key::A, Scale::HarmonicMinor));

    // Released at beat 12.5: held through bar 4 (beats 12-16) plus four bars.
    following.update(&settings, change(&[], 0), Held::default(), &timing(12.5), 0);
    assert_eq!(following.due(31.9), None);
    assert_eq!(following.due(32.1).unwrap().harmony, None);
    assert_eq!(following.adopted(), None);

    let slow = chords_in_c(0.1);
    following.update(
        &slow,
        change(&[57, 60, 64], 0),
        Held::default(),
        &timing(17.0),
        0,
    );
    assert_eq!(following.due(f64::MAX).unwrap().beat, 20.0, "the next bar");
}

#[test]
fn the_same_chord_again_cancels_a_pending_release_and_off_lets_go() {
    let mut following = ChordFollowing::default();
    let settings = chords_in_c(0.6);
    following.update(
        &settings,
        change(&[57, 60, 64], 0),
        held(&[57, 60, 64]),
        &timing(0.0),
        0,
    );
    assert!(following.due(f64::MAX).is_some());
    following.update(&settings, change(&[], 0), Held::default(), &timing(2.0), 0);
    following.update(
        &settings,
        change(&[45, 52, 60], 0),
        Held::default(),
        &timing(3.0),
        0,
    );
    assert_eq!(following.due(f64::MAX), None, "Am again: nothing changes");
    let off = MusicalSettings {
        follow: FollowMode::Off,
        ..settings
    };
    following.update(&off, None, Held::default(), &timing(5.0), 0);
    let adoption = following.due(f64::MAX).unwrap();
    assert_eq!((adoption.beat, adoption.harmony), (8.0, None));
}

#[test]
fn a_chord_played_on_the_beat_lands_at_once() {
    let mut following = ChordFollowing::default();
    let settings = chords_in_c(0.6);
    following.update(&settings, None, Held::default(), &timing(0.0), 0);
    // Settled 0.05 beats (25 ms at 120 BPM) after beat 12.
    following.update(
        &settings,
        change(&[57, 60, 64], 1_200),
        Held::default(),
        &timing(12.0),
        0,
    );
    assert_eq!(following.due(f64::MAX).unwrap().beat, 12.05);
}

mod engine {
    //! The whole engine playing along: what it sends as MIDI while a progression is played in.

    use super::*;
    use crate::engine::{ENGINE_BLOCK_FRAMES, EngineCore};
    use crate::params::MidiLayers;
    use crate::realtime::{Frame, MidiIn, MidiInKind, NoteOut, NoteOutKind, note_ring};
    use crate::signal::SampleRate;

    const SR: SampleRate = SampleRate::DEFAULT;
    /// Frames per beat at 120 BPM and 48 kHz.
    const BEAT: u64 = 24_000;
    const BAR: u64 = 4 * BEAT;
    /// Pad and drone channels of the MIDI output (`engine::midi`).
    const PAD: u8 = 1;
    const DRONE: u8 = 2;

    /// Am – F – Dm7 – E7 as a player voices them, against C major on the dial.
    const PROGRESSION: [(&str, &[u8]); 4] = [
        ("Am", &[45, 57, 60, 64]),
        ("F", &[41, 57, 60, 65]),
        ("Dm7", &[38, 57, 60, 65]),
        ("E7", &[40, 56, 59, 62]),
    ];

    /// Bars of input: the progression twice, from bar 1.
    const INPUT_BARS: u64 = 8;

    struct Played {
        notes: Vec<NoteOut>,
        audio: Vec<Frame>,
    }

    fn settings(follow: FollowMode, intensity: f32) -> MusicalSettings {
        MusicalSettings {
            key: KeyName::C,
            scale: ScaleName::Major,
            follow,
            intensity,
            midi_out: MidiLayers::All,
            tempo_bpm: 120.0,
            sync_to_host: false,
            ..MusicalSettings::default()
        }
    }

    /// Renders ten bars with `settings`, the progression played in (each chord held a bar,
    /// released 5 ms before the next, as a player lifts) when `with_input`.
    fn play_along(settings: &MusicalSettings, with_input: bool) -> Played {
        let (notes_tx, mut notes_rx) = note_ring();
        let mut engine = EngineCore::new(SR, settings).with_midi_out(notes_tx);
        if with_input {
            for bar in 1..=INPUT_BARS {
                let (_, keys) = PROGRESSION[(bar as usize - 1) % 4];
                for &note in keys {
                    let on = MidiInKind::NoteOn {
                        note,
                        velocity: 0.7,
                    };
                    engine.receive_midi(MidiIn {
                        frame: bar * BAR,
                        kind: on,
                    });
                    engine.receive_midi(MidiIn {
                        frame: (bar + 1) * BAR - 240,
                        kind: MidiInKind::NoteOff { note },
                    });
                }
            }
        }
        let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
        let mut played = Played {
            notes: Vec::new(),
            audio: Vec::new(),
        };
        while engine.frames_rendered() < (INPUT_BARS + 2) * BAR {
            engine.render(settings, None, &mut block);
            played.audio.extend_from_slice(&block);
            notes_rx.drain_block(0, usize::MAX, |_, note| played.notes.push(note));
        }
        played
    }

    /// Pitch classes of the pad and drone notes sounding anywhere in `[from, to)`.
    fn chord_notes_sounding(notes: &[NoteOut], from: u64, to: u64) -> PitchClassSet {
        let mut sounding = PitchClassSet::EMPTY;
        for (i, on) in notes.iter().enumerate() {
            if on.kind != NoteOutKind::On || !(on.channel == PAD || on.channel == DRONE) {
                continue;
            }
            let off = notes[i..]
                .iter()
                .find(|off| {
                    off.kind == NoteOutKind::Off && off.channel == on.channel && off.note == on.note
                })
                .map_or(u64::MAX, |off| off.frame);
            if on.frame < to && off > from {
                sounding.insert(on.note % 12);
            }
        }
        sounding
    }

    /// The pad and drone play each chord played in from a quarter beat after it starts to the
    /// end of its bar, with at most one tone beyond the chord's.
    fn assert_follows(played: &Played, lag: u64) {
        for bar in 1..=INPUT_BARS {
            let (name, keys) = PROGRESSION[(bar as usize - 1) % 4];
            let chord: PitchClassSet = keys.iter().map(|n| n % 12).collect();
            let from = bar * BAR + lag;
            let sounding = chord_notes_sounding(&played.notes, from, from + BAR - lag);
            assert!(!sounding.is_empty(), "bar {bar}: no chord notes");
            let beyond = sounding.difference(chord);
            assert!(
                beyond.len() <= 1,
                "bar {bar} ({name}): {:?} sound over {:?}",
                sounding.iter().collect::<Vec<_>>(),
                chord.iter().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn the_pads_and_drone_play_the_chords_played_in_from_their_beat() {
        let played = play_along(&settings(FollowMode::Chords, 0.6), true);
        assert_follows(&played, BEAT / 4);
    }

    #[test]
    fn at_low_intensity_a_chord_played_on_the_bar_line_lands_on_it_too() {
        let played = play_along(&settings(FollowMode::Chords, 0.1), true);
        assert_follows(&played, BEAT / 4);
    }

    #[test]
    fn with_follow_off_what_is_played_in_changes_nothing() {
        let off = settings(FollowMode::Off, 0.6);
        let ignored = play_along(&off, true);
        let alone = play_along(&off, false);
        assert_eq!(ignored.notes, alone.notes);
        assert!(
            ignored
                .audio
                .iter()
                .zip(&alone.audio)
                .all(|(a, b)| a[0].to_bits() == b[0].to_bits() && a[1].to_bits() == b[1].to_bits()),
            "the bounce differs"
        );
    }

    #[test]
    fn the_same_input_gives_the_same_bounce() {
        let chords = settings(FollowMode::Chords, 0.6);
        let first = play_along(&chords, true);
        let second = play_along(&chords, true);
        assert_eq!(first.notes, second.notes);
        assert!(first.audio == second.audio, "two bounces differ");
    }
}
