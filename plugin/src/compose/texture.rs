//! Texture: sparse, quiet, slow high chord tones (MIDI 72..=96) that shimmer
//! above the pad at higher intensity. Planned per bar from the intensity of
//! that moment, so it reacts within a bar. Engine thread.

use crate::compose::accompaniment::LEGATO_OVERLAP_BEATS;
use crate::compose::dice::{Dice, Purpose};
use crate::compose::event::{Layer, NoteEvent};
use crate::compose::harmony::PlannedChord;

/// Lowest texture note.
const TEXTURE_LOW: u8 = 72;
/// Highest texture note.
const TEXTURE_HIGH: u8 = 96;

/// Appends the texture notes of `bar` at `level` (0 = none, 1 = most) over
/// `planned`, starting at `bar_start_beat` and never ringing more than a
/// legato overlap past `chord_end_beat`. Only tones shared by the chord and
/// the scale are used, so texture never sounds a borrowed pitch.
pub(crate) fn plan_texture(
    seed: u64,
    bar: u64,
    level: f32,
    planned: &PlannedChord,
    bar_start_beat: f64,
    chord_end_beat: f64,
    out: &mut Vec<NoteEvent>,
) {
    if level <= 0.0 {
        return;
    }
    let mut dice = Dice::new(seed, Purpose::Texture, bar);
    let level = f64::from(level);
    let count = if dice.chance(0.15 + 0.55 * level) {
        1 + usize::from(dice.chance(0.35 * level))
    } else {
        0
    };
    let tones = planned
        .chord
        .pitch_classes()
        .intersection(planned.scale.pitch_classes(planned.key));
    let mut first_slot = None;
    for _ in 0..count {
        // Eighth-note slots across the bar, never two notes on one slot.
        let mut slot = dice.below(8);
        if first_slot == Some(slot) {
            slot = (slot + 3) % 8;
        }
        first_slot = Some(slot);
        // Higher placements favoured: texture is the sky above the pad.
        let mut weights = [0.0f32; (TEXTURE_HIGH - TEXTURE_LOW + 1) as usize];
        for (i, w) in weights.iter_mut().enumerate() {
            if tones.contains(TEXTURE_LOW + i as u8) {
                *w = 1.0 + i as f32 / 12.0;
            }
        }
        let Some(pick) = dice.weighted(&weights) else {
            return;
        };
        let start_beat = bar_start_beat + slot as f64 * 0.5;
        let wanted = (dice.range(3.0, 6.0) * 2.0).round() / 2.0;
        let limit = chord_end_beat + LEGATO_OVERLAP_BEATS - start_beat;
        out.push(NoteEvent {
            start_beat,
            duration_beats: wanted.min(limit).max(0.5),
            layer: Layer::Texture,
            midi_note: TEXTURE_LOW + pick as u8,
            velocity: (0.1 + 0.12 * level + dice.range(-0.02, 0.02)) as f32,
            borrowed: false,
        });
    }
}
