//! Motifs: a two-bar cell of rhythm and contour (scale steps between
//! successive notes), generated once per section and returned varied:
//! inverted as an answer, with one note altered, or bent into a cadence.
//!
//! The motif says nothing about pitch; the melody planner realises the
//! contour over whatever chord is sounding, which is how a motif comes back
//! "transposed to the new chord". Engine thread.

use crate::compose::dice::{Dice, Purpose};

/// Length of a motif cell in beats (two bars).
pub(crate) const CELL_BEATS: f64 = 8.0;
/// Most notes in a cell.
pub(crate) const MAX_MOTIF_NOTES: usize = 8;
/// Latest onset in a cell, so the last note and a breath fit before the next cell.
const LAST_ONSET_BEATS: f64 = 6.0;
/// Longest melody note, in beats.
const LONGEST_NOTE_BEATS: f64 = 4.0;

/// One note of a motif.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MotifNote {
    /// Onset from the start of the cell, in beats (multiples of 0.5).
    pub onset_beats: f64,
    /// Duration in beats, 0.5..=4.
    pub duration_beats: f64,
    /// Desired motion from the previous note in scale steps (ignored for the
    /// first note, which the planner anchors on a chord tone).
    pub step: i32,
}

/// A rhythm-and-contour cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Motif {
    /// Notes in onset order; only the first `len` are meaningful.
    notes: [MotifNote; MAX_MOTIF_NOTES],
    /// Number of notes, at least 1.
    len: usize,
}

/// Contour archetypes, as the step pattern a motif of `n` notes follows.
#[derive(Clone, Copy)]
enum Shape {
    /// Up then down.
    Arch,
    /// Steadily up (answered by a descent).
    Rise,
    /// Steadily down.
    Fall,
    /// Around a pivot note.
    Neighbour,
    /// A leap of a fourth or fifth, filled in by steps the other way.
    LeapAndFill,
}

impl Motif {
    /// The notes in onset order.
    pub(crate) fn notes(&self) -> &[MotifNote] {
        &self.notes[..self.len]
    }

    /// The motif of `section` at melody `density` (0..=1): one long note at
    /// density 0 up to seven notes (several per bar) at density 1. Onsets
    /// favour beats 1 and 3, then other beats, then off-beat eighths.
    pub(crate) fn generate(seed: u64, section: u64, density: f32) -> Motif {
        let mut dice = Dice::new(seed, Purpose::Motif, section);
        let count = (1.0 + (density.clamp(0.0, 1.0) * 6.0).round()) as usize;

        // Grid of eighth notes after the downbeat, up to the last onset.
        let slots = (LAST_ONSET_BEATS * 2.0) as usize;
        let mut weights = [0.0f32; 16];
        for (i, w) in weights.iter_mut().enumerate().take(slots + 1).skip(1) {
            // Beats over off-beats, but weak beats as often as strong ones:
            // notes between the strong beats are where the line can pass
            // by step from one chord tone to the next.
            *w = match i % 4 {
                0 => 1.6,
                2 => 2.0,
                _ => 0.5 + density,
            };
        }
        let mut onsets = [0.0f64; MAX_MOTIF_NOTES];
        for onset in onsets.iter_mut().take(count).skip(1) {
            let Some(slot) = dice.weighted(&weights) else {
                break;
            };
            weights[slot] = 0.0;
            *onset = slot as f64 * 0.5;
        }
        onsets[..count].sort_unstable_by(f64::total_cmp);

        let shape = [
            Shape::Arch,
            Shape::Rise,
            Shape::Fall,
            Shape::Neighbour,
            Shape::LeapAndFill,
        ][dice.below(5)];
        let mut notes = [MotifNote {
            onset_beats: 0.0,
            duration_beats: 1.0,
            step: 0,
        }; MAX_MOTIF_NOTES];
        for i in 0..count {
            let next = if i + 1 < count {
                onsets[i + 1]
            } else {
                CELL_BEATS - 1.0
            };
            let mut step = shape_step(shape, i, count);
            // Occasional skip of a third, kept in the contour's direction.
            if i > 0 && step != 0 && dice.chance(0.06) {
                step *= 2;
            }
            notes[i] = MotifNote {
                onset_beats: onsets[i],
                duration_beats: (next - onsets[i]).clamp(0.5, LONGEST_NOTE_BEATS),
                step,
            };
        }
        Motif { notes, len: count }
    }

    /// The answer: same rhythm, contour mirrored.
    pub(crate) fn inverted(&self) -> Motif {
        let mut answer = *self;
        for note in &mut answer.notes[..answer.len] {
            note.step = -note.step;
        }
        answer
    }

    /// The same rhythm with one note's step altered by one (never the first).
    pub(crate) fn varied(&self, dice: &mut Dice) -> Motif {
        let mut varied = *self;
        if varied.len > 1 {
            let i = 1 + dice.below(varied.len - 1);
            let delta = if dice.chance(0.5) { 1 } else { -1 };
            let altered = varied.notes[i].step + delta;
            varied.notes[i].step = if altered == 0 {
                varied.notes[i].step - delta
            } else {
                altered
            };
        }
        varied
    }

    /// A closing version: the answer, ending with stepwise descent onto a
    /// longer final note.
    pub(crate) fn cadential(&self) -> Motif {
        let mut close = self.inverted();
        let len = close.len;
        for note in close.notes[..len].iter_mut().skip(1).rev().take(2) {
            note.step = -1;
        }
        let last = &mut close.notes[len - 1];
        last.duration_beats = (CELL_BEATS - 0.5 - last.onset_beats).clamp(0.5, LONGEST_NOTE_BEATS);
        close
    }
}

/// Step from note `i - 1` to note `i` for a shape over `n` notes.
fn shape_step(shape: Shape, i: usize, n: usize) -> i32 {
    if i == 0 {
        return 0;
    }
    match shape {
        Shape::Arch => {
            if i <= n / 2 {
                1
            } else {
                -1
            }
        }
        Shape::Rise => 1,
        Shape::Fall => -1,
        Shape::Neighbour => {
            if i % 2 == 1 {
                1
            } else {
                -1
            }
        }
        Shape::LeapAndFill => {
            if i == 1 && n >= 3 {
                3
            } else {
                -1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_sets_note_count_and_rhythm_is_well_formed() {
        for section in 0..50 {
            let sparse = Motif::generate(1, section, 0.0);
            let dense = Motif::generate(1, section, 1.0);
            assert_eq!(sparse.notes().len(), 1);
            assert_eq!(dense.notes().len(), 7);
            for motif in [sparse, dense, Motif::generate(1, section, 0.5)] {
                let notes = motif.notes();
                assert_eq!(notes[0].onset_beats, 0.0);
                for pair in notes.windows(2) {
                    assert!(pair[0].onset_beats < pair[1].onset_beats);
                    assert!(pair[0].onset_beats + pair[0].duration_beats <= pair[1].onset_beats);
                }
                for n in notes {
                    assert!((0.5..=4.0).contains(&n.duration_beats));
                    assert!(n.onset_beats + n.duration_beats <= CELL_BEATS);
                }
            }
        }
    }

    #[test]
    fn variations_keep_rhythm_and_change_one_step() {
        let motif = Motif::generate(4, 2, 0.8);
        let mut dice = Dice::new(4, Purpose::Melody, 0);
        let varied = motif.varied(&mut dice);
        let changed = motif
            .notes()
            .iter()
            .zip(varied.notes())
            .filter(|(a, b)| a.step != b.step)
            .count();
        assert_eq!(changed, 1);
        for (a, b) in motif.notes().iter().zip(varied.notes()) {
            assert_eq!(
                (a.onset_beats, a.duration_beats),
                (b.onset_beats, b.duration_beats)
            );
        }
        let answer = motif.inverted();
        assert!(
            motif
                .notes()
                .iter()
                .zip(answer.notes())
                .all(|(a, b)| a.step == -b.step)
        );
        let close = motif.cadential();
        assert_eq!(close.notes().last().map(|n| n.step), Some(-1));
    }
}
