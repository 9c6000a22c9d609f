//! Follow = Chords in a real host: chords played into the plugin become the chords its pads
//! and drone play (heard on its MIDI out), from within a beat of each change; with Follow off
//! the same input changes nothing, to the bit.

use auralis_tests::checks::assert_sane;
use auralis_tests::clap_host::{InEvent, OutNote, Rendered};
use clack_extensions::render::RenderMode;

use crate::new_instance;

const BLOCK: u32 = 512;
/// Frames per beat at 120 BPM and 48 kHz.
const BEAT: usize = 24_000;
const BAR: usize = 4 * BEAT;
/// Am – F – Dm7 – E7 as a player voices them, with C major on the plugin's dial.
const PROGRESSION: [(&str, [u16; 4]); 4] = [
    ("Am", [45, 57, 60, 64]),
    ("F", [41, 57, 60, 65]),
    ("Dm7", [38, 57, 60, 65]),
    ("E7", [40, 56, 59, 62]),
];
/// Bars of input: the progression twice, from bar 1.
const INPUT_BARS: usize = 8;
/// The plugin's MIDI channels for the pad and the drone.
const PAD: u8 = 1;
const DRONE: u8 = 2;

/// Ten bars from a fresh instance set to C major at 120 BPM, every layer out as MIDI, Follow
/// set to `follow`, rendered offline; the progression is played in (each chord a bar, lifted
/// 5 ms before the next) when `with_input`.
fn play_along(follow: &str, with_input: bool) -> Rendered {
    let mut instance = new_instance();
    let setup: Vec<InEvent> = [
        ("Key", "C"),
        ("Scale", "Major"),
        ("Tempo", "120"),
        ("Sync to Host", "Off"),
        ("MIDI Out", "All"),
        ("Follow", follow),
    ]
    .into_iter()
    .map(|(name, text)| {
        let param = instance.param(name).expect("param").id;
        let value = instance
            .text_to_value(param, text)
            .unwrap_or_else(|e| panic!("{name} from {text:?}: {e:#}"));
        InEvent::ParamValue {
            time: 0,
            param,
            value,
        }
    })
    .collect();
    // Every input note as (frame, on, key), in frame order.
    let mut input: Vec<(usize, bool, u16)> = Vec::new();
    if with_input {
        for bar in 1..=INPUT_BARS {
            for key in PROGRESSION[(bar - 1) % 4].1 {
                input.push((bar * BAR, true, key));
                input.push(((bar + 1) * BAR - 240, false, key));
            }
        }
        input.sort_by_key(|&(frame, on, _)| (frame, on));
    }
    instance
        .set_render_mode(RenderMode::Offline)
        .expect("render.set(offline)");
    instance.activate(48_000.0, BLOCK).expect("activate");
    let blocks = (INPUT_BARS + 2) * BAR / BLOCK as usize;
    let rendered = instance
        .process_blocks(blocks, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&setup);
            }
            let start = i * BLOCK as usize;
            for &(frame, on, key) in &input {
                if !(start..start + BLOCK as usize).contains(&frame) {
                    continue;
                }
                let time = (frame - start) as u32;
                block.events.push(if on {
                    InEvent::NoteOn {
                        time,
                        key,
                        velocity: 0.7,
                    }
                } else {
                    InEvent::NoteOff { time, key }
                });
            }
        })
        .expect("process");
    assert_sane(&rendered, "playing along");
    rendered
}

/// Pitch classes of the pad and drone notes sounding anywhere in `[from, to)`.
fn chord_notes_sounding(notes: &[OutNote], from: usize, to: usize) -> Vec<u8> {
    let mut sounding = Vec::new();
    for (i, on) in notes.iter().enumerate() {
        if !on.on || !(on.channel == PAD || on.channel == DRONE) {
            continue;
        }
        let off = notes[i..]
            .iter()
            .find(|off| !off.on && off.channel == on.channel && off.key == on.key)
            .map_or(usize::MAX, |off| off.frame);
        if on.frame < to && off > from && !sounding.contains(&(on.key % 12)) {
            sounding.push(on.key % 12);
        }
    }
    sounding.sort_unstable();
    sounding
}

#[test]
fn the_pads_and_drone_play_the_chords_the_host_plays_in() {
    let played = play_along("Chords", true);
    for bar in 1..=INPUT_BARS {
        let (name, keys) = PROGRESSION[(bar - 1) % 4];
        let chord: Vec<u8> = keys.iter().map(|&k| (k % 12) as u8).collect();
        // From one beat into the bar: the change must have landed by then.
        let sounding = chord_notes_sounding(&played.notes, bar * BAR + BEAT, (bar + 1) * BAR);
        let beyond: Vec<u8> = sounding
            .iter()
            .copied()
            .filter(|pc| !chord.contains(pc))
            .collect();
        eprintln!("bar {bar}: {name} played in, pitch classes {sounding:?} sound");
        assert!(!sounding.is_empty(), "bar {bar}: no pad or drone notes");
        assert!(
            beyond.len() <= 1,
            "bar {bar}: {sounding:?} sound over {name} {chord:?}"
        );
    }
}

#[test]
fn with_follow_off_the_notes_played_in_change_nothing() {
    let ignored = play_along("Off", true);
    let alone = play_along("Off", false);
    assert_eq!(ignored.notes, alone.notes, "the MIDI out differs");
    let same = |a: &[f32], b: &[f32]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    };
    assert!(
        same(&ignored.left, &alone.left) && same(&ignored.right, &alone.right),
        "the bounce differs"
    );
}
