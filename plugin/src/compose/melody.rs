//! The melody of one phrase, realised from the section's motif by a small
//! constraint solver, note by note.
//!
//! Four two-bar cells per phrase (call, answer, varied call, cadence); each
//! note's rhythm comes from the motif and its pitch is the scale note that
//! best follows the motif's contour and the phrase's arch-shaped register,
//! subject to hard rules: chord tones on beats 1 and 3 and at the ends of
//! answers and of the phrase, no semitone clash on long notes, leaps
//! (> 4 semitones) only where the next note can step back the other way,
//! and that step taken. Engine thread.

use crate::compose::dice::{Dice, Purpose};
use crate::compose::event::{Layer, NoteEvent};
use crate::compose::form::{Arrangement, BEATS_PER_BAR, PHRASE_BEATS, PhraseRole};
use crate::compose::harmony::{PlannedChord, Progression};
use crate::compose::motif::{CELL_BEATS, MAX_MOTIF_NOTES, Motif};
use crate::music::{PitchClassSet, Scale};

/// Lowest melody note (D4).
pub(crate) const MELODY_LOW: u8 = 62;
/// Highest melody note (C6).
pub(crate) const MELODY_HIGH: u8 = 84;
/// Cells (two bars each) per phrase.
const CELLS: usize = 4;
/// Semitones beyond which an interval is a leap that must be resolved.
pub(crate) const LEAP_SEMITONES: u8 = 4;
/// Widest interval allowed at all.
const WIDEST_SEMITONES: u8 = 9;
/// Most notes a phrase can hold.
const MAX_NOTES: usize = CELLS * MAX_MOTIF_NOTES;

/// One note to be pitched.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Onset from the phrase start, in beats.
    onset_beats: f64,
    /// Duration in beats (clipped to the chord).
    duration_beats: f64,
    /// Index of the chord sounding at the onset.
    chord: usize,
    /// Desired step from the previous note; `None` for a cell's first note.
    step: Option<i32>,
    /// Must be a chord tone (beats 1 and 3, and answers' last notes).
    chord_tone: bool,
    /// Last note of the phrase: no leap into it.
    last: bool,
    /// Phrase-closing note: prefers the chord root.
    prefer_root: bool,
}

/// Scale the melody uses over `planned`: the home scale, or over a
/// borrowed chord the parallel mode it came from (modal mixture colours the
/// tune as well as the harmony; such notes are flagged `borrowed`).
fn melodic_scale(planned: &PlannedChord) -> Scale {
    if planned.borrowed {
        planned.scale.parallel()
    } else {
        planned.scale
    }
}

/// Pitch classes the melody may use over `planned`, and the chord tones among them.
fn melodic_set(planned: &PlannedChord) -> (PitchClassSet, PitchClassSet) {
    let allowed = melodic_scale(planned).pitch_classes(planned.key);
    (allowed, planned.chord.pitch_classes().intersection(allowed))
}

/// Whether `note` is safe to hold over `chord_tones`: a chord tone, or at
/// least a whole tone from each of them.
fn consonant(note: u8, chord_tones: PitchClassSet) -> bool {
    chord_tones.contains(note)
        || !(chord_tones.contains(note + 1) || chord_tones.contains(note + 11))
}

/// Appends the melody of `phrase` to `out`.
pub(crate) fn plan_melody(
    seed: u64,
    phrase: u64,
    role: PhraseRole,
    arrangement: &Arrangement,
    progression: &Progression,
    out: &mut Vec<NoteEvent>,
) {
    if !arrangement.melody {
        return;
    }
    let phrase_start_beat = phrase as f64 * PHRASE_BEATS;
    let mut dice = Dice::new(seed, Purpose::Melody, phrase);
    let density = arrangement.melody_density;
    let motif = Motif::generate(seed, role.section, density);
    let (slots, count) = layout(&motif, role, density, progression, &mut dice);
    if count == 0 {
        return;
    }

    let arch = Arch::new(arrangement.energy, &mut dice);

    let mut previous: Option<u8> = None;
    let mut resolve: Option<i32> = None; // direction the next note must step
    let chords = progression.chords();
    for i in 0..count {
        let slot = slots[i];
        let next = (i + 1 < count).then(|| slots[i + 1]);
        let note = choose(
            &slot,
            next.as_ref(),
            chords,
            previous,
            resolve,
            arch.target(slot.onset_beats),
            &mut dice,
        );
        resolve = previous.and_then(|p| {
            let interval = i32::from(note) - i32::from(p);
            (interval.unsigned_abs() > u32::from(LEAP_SEMITONES)).then(|| -interval.signum())
        });
        previous = Some(note);
        let lift = arch.lift(slot.onset_beats);
        let accent = if slot.chord_tone { 0.04 } else { 0.0 };
        let velocity =
            0.4 + 0.2 * density + 0.08 * lift as f32 + accent + dice.range(-0.03, 0.03) as f32;
        let planned = &chords[slot.chord];
        out.push(NoteEvent {
            start_beat: phrase_start_beat + slot.onset_beats,
            duration_beats: slot.duration_beats,
            layer: Layer::Melody,
            midi_note: note,
            velocity: velocity.clamp(0.2, 0.85),
            borrowed: !planned.scale.contains(planned.key, note),
        });
    }
}

/// The phrase's register arch: the line rises to a peak somewhere mid-phrase, then settles.
struct Arch {
    /// Where the line starts and ends, as a fractional MIDI note.
    base: f64,
    /// Where in the phrase the peak falls, 0..1.
    peak_at: f64,
    /// How far above the base the peak is, in semitones.
    height: f64,
}

impl Arch {
    /// An arch for a phrase at `energy` (0..=1): higher energy, higher peak.
    fn new(energy: f32, dice: &mut Dice) -> Self {
        let base = 65.0 + dice.range(0.0, 4.0);
        let peak_at = dice.range(0.35, 0.65);
        Self {
            base,
            peak_at,
            height: 4.0 + 4.0 * f64::from(energy),
        }
    }

    /// How far up the arch the line is at `onset` beats into the phrase, 0..=1.
    fn rise(&self, onset: f64) -> f64 {
        let t = onset / (CELLS as f64 * CELL_BEATS);
        if t < self.peak_at {
            t / self.peak_at
        } else {
            (1.0 - t) / (1.0 - self.peak_at)
        }
    }

    /// The register the line aims for at `onset`, as a fractional MIDI note.
    fn target(&self, onset: f64) -> f64 {
        self.base + self.height * self.rise(onset)
    }

    /// The arch's height at `onset` as a share of a semitone-normalised peak, for dynamics.
    fn lift(&self, onset: f64) -> f64 {
        (self.target(onset) - self.base) / self.height.max(1.0)
    }
}

/// Which cells play and with which version of the motif, flattened into slots.
fn layout(
    motif: &Motif,
    role: PhraseRole,
    density: f32,
    progression: &Progression,
    dice: &mut Dice,
) -> ([Slot; MAX_NOTES], usize) {
    let active = active_cells(density, dice);
    let versions = motif_versions(motif, role, dice);

    let chords = progression.chords();
    let mut slots = [Slot {
        onset_beats: 0.0,
        duration_beats: 1.0,
        chord: 0,
        step: None,
        chord_tone: true,
        last: false,
        prefer_root: false,
    }; MAX_NOTES];
    let mut count = 0;
    for (cell, version) in versions.iter().enumerate() {
        if !active[cell] {
            continue;
        }
        let cell_start = cell as f64 * CELL_BEATS;
        let notes = version.notes();
        for (k, note) in notes.iter().enumerate() {
            let onset = cell_start + note.onset_beats;
            let bar = (onset / BEATS_PER_BAR) as u32;
            let chord = progression.index_at_bar(bar);
            let chord_end = f64::from(chords[chord].end_bar()) * BEATS_PER_BAR;
            let end = (onset + note.duration_beats)
                .min(chord_end)
                .max(onset + 0.5);
            let in_bar = onset % BEATS_PER_BAR;
            let ends_answer = k + 1 == notes.len() && cell % 2 == 1;
            slots[count] = Slot {
                onset_beats: onset,
                duration_beats: end - onset,
                chord,
                step: (k > 0).then_some(note.step),
                chord_tone: in_bar == 0.0 || in_bar == 2.0 || ends_answer,
                last: false,
                prefer_root: ends_answer && cell == CELLS - 1 && role.closes_section(),
            };
            count += 1;
        }
    }
    if count > 0 {
        slots[count - 1].last = true;
        slots[count - 1].chord_tone = true;
    }
    (slots, count)
}

/// Which of the phrase's cells play: sparse phrases leave two out, middling ones one.
fn active_cells(density: f32, dice: &mut Dice) -> [bool; CELLS] {
    if density < 0.25 {
        if dice.chance(0.5) {
            [true, false, true, false]
        } else {
            [true, false, false, true]
        }
    } else if density < 0.55 {
        if dice.chance(0.5) {
            [true, true, true, false]
        } else {
            [true, false, true, true]
        }
    } else {
        [true; CELLS]
    }
}

/// The motif as each cell plays it: call, inversion, variation, cadence. Later phrases of a
/// section bring the call back altered.
fn motif_versions(motif: &Motif, role: PhraseRole, dice: &mut Dice) -> [Motif; CELLS] {
    let call = if role.phrase_in_section == 0 {
        *motif
    } else {
        motif.varied(dice)
    };
    [
        call,
        motif.inverted(),
        motif.varied(dice),
        motif.cadential(),
    ]
}

/// Hard rules a candidate must pass, loosened level by level if nothing fits.
fn allowed(note: u8, slot: &Slot, chords: &[PlannedChord], strictness: u8) -> bool {
    let (scale_set, chord_tones) = melodic_set(&chords[slot.chord]);
    if !scale_set.contains(note) {
        return false;
    }
    let tone_ok = !slot.chord_tone || chord_tones.contains(note) || strictness < 1;
    let clash_ok = slot.duration_beats < 1.5 || consonant(note, chord_tones) || strictness < 2;
    tone_ok && clash_ok
}

/// Picks the pitch for `slot`. Strictness 3 applies every rule; lower levels
/// drop the leap rules, then the clash rule, then the chord-tone rule. In
/// practice level 3 almost always has a candidate.
fn choose(
    slot: &Slot,
    next: Option<&Slot>,
    chords: &[PlannedChord],
    previous: Option<u8>,
    resolve: Option<i32>,
    target: f64,
    dice: &mut Dice,
) -> u8 {
    let planned = &chords[slot.chord];
    let scale = melodic_scale(planned);
    let degree = |n: u8| scale.degree_of(planned.key, n).unwrap_or(0);
    for strictness in (0..=3u8).rev() {
        let mut best: Option<(f64, u8)> = None;
        for note in MELODY_LOW..=MELODY_HIGH {
            if !allowed(note, slot, chords, strictness) {
                continue;
            }
            let mut cost = (f64::from(note) - target).abs() * 0.12;
            if let Some(p) = previous {
                let motion = Motion {
                    note,
                    interval: i32::from(note) - i32::from(p),
                    steps: degree(note) - degree(p),
                    slot,
                    next,
                    chords,
                };
                let Some(with_motion) = motion.add_cost(cost, resolve, strictness) else {
                    continue;
                };
                cost = with_motion;
            }
            // Set up the next strong beat: prefer notes a step from one of
            // its chord tones, so the line can arrive there by step.
            if let Some(next) = next.filter(|n| n.chord_tone)
                && !step_from_chord_tone(note, next, chords)
            {
                cost += 0.8;
            }
            if slot.prefer_root && note % 12 == planned.chord.root_pc {
                cost -= 0.6;
            }
            cost += dice.unit() * 0.35;
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, note));
            }
        }
        if let Some((_, note)) = best {
            return note;
        }
    }
    previous.unwrap_or(MELODY_LOW)
}

/// The move from the previous note to a candidate.
struct Motion<'a> {
    /// The candidate.
    note: u8,
    /// In semitones, signed.
    interval: i32,
    /// In scale degrees, signed.
    steps: i32,
    /// The slot the candidate would fill.
    slot: &'a Slot,
    /// The slot after it, if any.
    next: Option<&'a Slot>,
    /// The phrase's chords.
    chords: &'a [PlannedChord],
}

impl Motion<'_> {
    /// `cost` plus what this move costs (added term by term, so the sums
    /// are the same to the last bit whatever the refactoring), or `None` if the rules of
    /// `strictness` forbid it: an unresolved leap, a leap that cannot resolve, a jump wider
    /// than allowed.
    fn add_cost(&self, mut cost: f64, resolve: Option<i32>, strictness: u8) -> Option<f64> {
        let (note, interval, steps, slot) = (self.note, self.interval, self.steps, self.slot);
        let leap = interval.unsigned_abs() > u32::from(LEAP_SEMITONES);
        if strictness >= 3 {
            if resolve.is_some_and(|direction| steps != direction) {
                return None;
            }
            if leap && !leap_resolvable(note, interval.signum(), slot, self.next, self.chords) {
                return None;
            }
        }
        if interval.unsigned_abs() > u32::from(WIDEST_SEMITONES) && strictness >= 1 {
            return None;
        }
        cost += match slot.step {
            Some(want) => 1.2 * f64::from((steps - want).abs()),
            None => 0.5 * f64::from(steps.abs().min(4)),
        };
        // The line moves mostly by step: skips cost extra, repeats too.
        if steps.abs() >= 2 {
            cost += 0.6;
        }
        if interval == 0 && slot.step != Some(0) {
            cost += 1.0;
        }
        if leap {
            cost += 1.2;
        }
        Some(cost)
    }
}

/// Whether a chord tone of `next`'s chord lies within one scale step of `note`.
fn step_from_chord_tone(note: u8, next: &Slot, chords: &[PlannedChord]) -> bool {
    let planned = &chords[next.chord];
    let scale = melodic_scale(planned);
    let (_, chord_tones) = melodic_set(planned);
    let Some(degree) = scale.degree_of(planned.key, note) else {
        return false;
    };
    (-1..=1).any(|d| {
        let n = scale.note_at_degree(planned.key, degree + d, -1);
        d != 0 && u8::try_from(n).is_ok_and(|n| chord_tones.contains(n))
    })
}

/// Whether a leap in `direction` onto `note` can be followed, at the next
/// slot, by one scale step back: requires a next note in the phrase whose
/// rules the step-back pitch satisfies, and no leap into the final note.
fn leap_resolvable(
    note: u8,
    direction: i32,
    slot: &Slot,
    next: Option<&Slot>,
    chords: &[PlannedChord],
) -> bool {
    let Some(next) = next.filter(|_| !slot.last) else {
        return false;
    };
    let planned = &chords[next.chord];
    let scale = melodic_scale(planned);
    let Some(degree) = scale.degree_of(planned.key, note) else {
        return false;
    };
    let back = scale.note_at_degree(planned.key, degree - direction, -1);
    u8::try_from(back)
        .ok()
        .filter(|b| (MELODY_LOW..=MELODY_HIGH).contains(b))
        .is_some_and(|b| allowed(b, next, chords, 3))
}
