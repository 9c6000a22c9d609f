//! Percussion: a soft, sparse groove. Each section has a pattern that gives
//! every sixteenth-note slot a threshold per instrument; a bar plays the
//! slots whose threshold lies below the current percussion level, minus a
//! few seeded drop-outs, plus a rare bell on a chord tone. Raising
//! intensity only ever adds hits, and below intensity 0.1 there are none.
//! Planned per bar, so it reacts within a bar. Engine thread.

use crate::compose::dice::{Dice, Purpose};
use crate::compose::event::{Layer, NoteEvent, PercussionKind};
use crate::compose::harmony::PlannedChord;

/// Sixteenth-note slots in a bar.
const SLOTS: usize = 16;
/// Length of every percussion hit, in beats.
const HIT_BEATS: f64 = 0.25;
/// Nominal pitch for the unpitched kinds.
const NOMINAL_NOTE: u8 = 60;
/// Lowest pulse pitch.
const PULSE_LOW: u8 = 32;
/// Lowest percussion level at which the pulse may play: `percussion_level` stays below it
/// while Intensity is below 0.3.
const PULSE_FROM_LEVEL: f64 = 0.31;
/// Lowest and highest bell pitch.
const BELL_RANGE: (u8, u8) = (76, 88);

/// Thresholds of one section's groove; `f32::INFINITY` never plays.
struct Groove {
    /// Per-slot thresholds for each of Pulse, Tick, Shaker.
    thresholds: [[f32; SLOTS]; 3],
}

impl Groove {
    /// The groove of `section`: pulse on beat 1 and, later, beat 3, ticks on the off-beat
    /// eighths, shakers on the off sixteenths. The pulse is a colour of the busier moods, not
    /// a heartbeat: its thresholds lie above any level that Intensity below 0.3 reaches.
    fn of_section(seed: u64, section: u64) -> Groove {
        let mut dice = Dice::new(seed, Purpose::Groove, section);
        let mut thresholds = [[f32::INFINITY; SLOTS]; 3];
        thresholds[0][0] = dice.range(PULSE_FROM_LEVEL, 0.45) as f32;
        thresholds[0][8] = dice.range(0.6, 0.9) as f32;
        for slot in [2, 6, 10, 14] {
            thresholds[1][slot] = dice.range(0.3, 0.95) as f32;
        }
        for slot in (1..SLOTS).step_by(2) {
            thresholds[2][slot] = dice.range(0.55, 1.05) as f32;
        }
        Groove { thresholds }
    }
}

/// Appends the percussion of `bar` (in `section`) at `level` over `planned`.
pub(crate) fn plan_percussion(
    seed: u64,
    bar: u64,
    section: u64,
    level: f32,
    planned: &PlannedChord,
    bar_start_beat: f64,
    out: &mut Vec<NoteEvent>,
) {
    if level <= 0.0 {
        return;
    }
    let groove = Groove::of_section(seed, section);
    let mut dice = Dice::new(seed, Purpose::Percussion, bar);
    let root = planned.chord.root_pc;
    let root_borrowed = !planned.scale.contains(planned.key, root);
    let pulse_note = PULSE_LOW + (root + 12 - PULSE_LOW % 12) % 12;
    let kinds = [
        (PercussionKind::Pulse, pulse_note, 0.3, 0.45),
        (PercussionKind::Tick, NOMINAL_NOTE, 0.22, 0.35),
        (PercussionKind::Shaker, NOMINAL_NOTE, 0.2, 0.28),
    ];
    for slot in 0..SLOTS {
        for (k, &(kind, midi_note, soft, loud)) in kinds.iter().enumerate() {
            // Draw for every slot and kind so the pattern of decisions does
            // not depend on the level.
            let dropped = dice.chance(0.12);
            let jitter = dice.unit() as f32;
            if groove.thresholds[k][slot] >= level || dropped {
                continue;
            }
            let velocity = (soft + (loud - soft) * jitter) * (0.85 + 0.15 * level);
            out.push(NoteEvent {
                start_beat: bar_start_beat + slot as f64 * 0.25,
                duration_beats: HIT_BEATS,
                layer: Layer::Percussion(kind),
                midi_note,
                velocity: velocity.clamp(0.2, 0.6),
                borrowed: root_borrowed && kind == PercussionKind::Pulse,
            });
        }
    }

    plan_bell(level, planned, bar_start_beat, &mut dice, out);
}

/// Sometimes (more often at higher `level`) a bell on a strong slot of the bar, on a chord tone
/// of `planned` that is in the scale, drawing from the bar's `dice` after the grid's hits.
fn plan_bell(
    level: f32,
    planned: &PlannedChord,
    bar_start_beat: f64,
    dice: &mut Dice,
    out: &mut Vec<NoteEvent>,
) {
    let ring = dice.chance(f64::from(0.05 + 0.12 * level));
    let slot = [0, 4, 8, 12, 6, 10][dice.below(6)];
    let tones = planned
        .chord
        .pitch_classes()
        .intersection(planned.scale.pitch_classes(planned.key));
    let mut weights = [0.0f32; (BELL_RANGE.1 - BELL_RANGE.0 + 1) as usize];
    for (i, w) in weights.iter_mut().enumerate() {
        if tones.contains(BELL_RANGE.0 + i as u8) {
            *w = 1.0;
        }
    }
    if let (true, Some(pick)) = (ring, dice.weighted(&weights)) {
        out.push(NoteEvent {
            start_beat: bar_start_beat + slot as f64 * 0.25,
            duration_beats: HIT_BEATS,
            layer: Layer::Percussion(PercussionKind::Bell),
            midi_note: BELL_RANGE.0 + pick as u8,
            velocity: (0.3 + 0.15 * dice.unit() as f32).clamp(0.2, 0.6),
            borrowed: false,
        });
    }
}
