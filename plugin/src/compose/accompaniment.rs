//! Drone and pad events for a phrase: the tonic pedal under everything and
//! the voice-led chord voicings above it, one sustained event per chord.
//!
//! Engine thread. Draws from a stream per (phrase, chord), so re-planning
//! the tail of a phrase after a key change leaves earlier chords' choices
//! untouched.

use crate::compose::dice::{Dice, Purpose};
use crate::compose::event::{Layer, NoteEvent};
use crate::compose::form::{Arrangement, BARS_PER_PHRASE, BEATS_PER_BAR, PHRASE_BEATS};
use crate::compose::harmony::Progression;
use crate::music::{VoiceRange, Voicing};

/// Register of the pads.
pub(crate) const PAD_RANGE: VoiceRange = VoiceRange::PAD;
/// How far sustained notes ring into the next chord, in beats, so the synth
/// can cross-fade instead of leaving a gap.
pub(crate) const LEGATO_OVERLAP_BEATS: f64 = 0.5;
/// Lowest drone note.
const DRONE_LOW: u8 = 26;
/// Highest drone note.
const DRONE_HIGH: u8 = 45;

/// The drone's MIDI note for a tonic pitch class: the lowest placement at or
/// above MIDI 26 (26..=37), or an octave higher when `high` and it still fits.
pub(crate) fn drone_note(tonic_pc: u8, high: bool) -> u8 {
    let low = 24 + tonic_pc % 12;
    let low = if low < DRONE_LOW { low + 12 } else { low };
    if high && low + 12 <= DRONE_HIGH {
        low + 12
    } else {
        low
    }
}

/// Appends drone and pad events for chords `from_chord..` of `phrase`.
/// `voicings[i]` is chord `i`'s pad voicing.
pub(crate) fn plan_accompaniment(
    seed: u64,
    phrase: u64,
    arrangement: &Arrangement,
    progression: &Progression,
    voicings: &[Voicing],
    from_chord: usize,
    out: &mut Vec<NoteEvent>,
) {
    let energy = arrangement.energy;
    let phrase_start_beat = phrase as f64 * PHRASE_BEATS;
    for (i, planned) in progression.chords().iter().enumerate().skip(from_chord) {
        let mut dice = Dice::new(
            seed,
            Purpose::Accompaniment,
            phrase * BARS_PER_PHRASE + i as u64,
        );
        let start_beat = phrase_start_beat + f64::from(planned.start_bar) * BEATS_PER_BAR;
        let duration_beats = f64::from(planned.bars) * BEATS_PER_BAR + LEGATO_OVERLAP_BEATS;

        // The pedal stays on the tonic, restruck (legato) at each chord so a
        // key change can move it without cutting a note already sent; under a chord the player
        // holds it takes the player's bass, which may not be the key's tonic.
        let pedal = if planned.held {
            planned.chord.bass_pc
        } else {
            planned.key.index()
        };
        let drone = drone_note(pedal, arrangement.drone_high);
        let drone_velocity = 0.3 + 0.1 * energy + dice.range(-0.02, 0.02) as f32;
        let mut push_drone = |midi_note: u8| {
            out.push(NoteEvent {
                start_beat,
                duration_beats,
                layer: Layer::Drone,
                midi_note,
                velocity: drone_velocity,
                borrowed: false,
            });
        };
        push_drone(drone);
        if arrangement.drone_fifth && drone + 7 <= DRONE_HIGH {
            push_drone(drone + 7);
        }

        let home = planned.scale.pitch_classes(planned.key);
        let pad_velocity = 0.28 + 0.12 * energy + dice.range(-0.03, 0.03) as f32;
        let voicing = voicings.get(i).copied().unwrap_or(Voicing::EMPTY);
        let voices = voicing.len();
        for (v, &midi_note) in voicing.notes().iter().enumerate() {
            // The top voice a touch softer so the melody sits above it.
            let top = if v + 1 == voices { 0.9 } else { 1.0 };
            out.push(NoteEvent {
                start_beat,
                duration_beats,
                layer: Layer::Pad,
                midi_note,
                velocity: (pad_velocity * top).clamp(0.1, 0.6),
                borrowed: !home.contains(midi_note),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drone_sits_in_octaves_one_and_two() {
        for pc in 0..12 {
            for high in [false, true] {
                let note = drone_note(pc, high);
                assert!((DRONE_LOW..=DRONE_HIGH).contains(&note));
                assert_eq!(note % 12, pc);
            }
        }
    }
}
