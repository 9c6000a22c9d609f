//! Chord planning for one phrase: harmonic rhythm (how many bars each chord
//! lasts), the chord chain (a Markov walk over scale degrees that opens on a
//! deterministically chosen degree and bends its last step toward the next
//! phrase's opening), colours, and borrowed chords.
//!
//! A phrase's plan depends only on (seed, phrase index, settings) and the
//! next phrase's opening, which is itself drawn from its own stream, so any
//! phrase can be planned without simulating the ones before it. Engine thread.

use crate::compose::ComposerSettings;
use crate::compose::dice::{Dice, Purpose};
use crate::compose::form::{BARS_PER_PHRASE, phrase_role};
use crate::compose::transitions::{borrow_candidates, degree_available, transition_row};
use crate::music::{Chord, ChordColour, ChordQuality, Key, Scale};

/// Most chords in one phrase (one per bar).
pub(crate) const MAX_CHORDS: usize = BARS_PER_PHRASE as usize;
/// Tempo at which the harmonic-rhythm figures below hold as stated.
const REFERENCE_TEMPO_BPM: f32 = 80.0;

/// A chord the player holds (Follow = Chords), with the key and scale the melody uses over
/// it (see [`crate::music::chord_scale`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeldHarmony {
    /// The chord, with the player's bass.
    pub chord: Chord,
    /// Key of the melody's scale over the chord.
    pub key: Key,
    /// The melody's scale over the chord: the music's own when it holds the chord.
    pub scale: Scale,
}

/// One chord of a phrase's plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PlannedChord {
    /// The chord.
    pub chord: Chord,
    /// Root degree, 0 = tonic (of the parallel mode when borrowed).
    pub degree: i32,
    /// Whether the chord comes from the parallel mode.
    pub borrowed: bool,
    /// Key the chord was planned in (changes only at chord boundaries).
    pub key: Key,
    /// Scale the chord was planned in.
    pub scale: Scale,
    /// First bar, counted from the phrase start.
    pub start_bar: u32,
    /// Length in bars (at least 1).
    pub bars: u32,
    /// Whether this is the player's held chord, which a key change leaves alone and whose
    /// bass the drone takes.
    pub held: bool,
}

impl PlannedChord {
    /// Bar after the last one, counted from the phrase start.
    pub(crate) fn end_bar(&self) -> u32 {
        self.start_bar + self.bars
    }
}

/// The chords of one phrase, covering its bars without gaps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Progression {
    /// Chords in order; only the first `len` are meaningful.
    chords: [PlannedChord; MAX_CHORDS],
    /// Number of chords, 1..=MAX_CHORDS.
    len: usize,
}

impl Progression {
    /// The chords in order.
    pub(crate) fn chords(&self) -> &[PlannedChord] {
        &self.chords[..self.len]
    }

    /// Index of the chord sounding in `bar` (counted from the phrase start).
    pub(crate) fn index_at_bar(&self, bar: u32) -> usize {
        self.chords()
            .iter()
            .rposition(|c| c.start_bar <= bar)
            .unwrap_or(0)
    }

    /// Index of the chord that starts exactly at `bar`, if any.
    pub(crate) fn index_starting_at(&self, bar: u32) -> Option<usize> {
        self.chords().iter().position(|c| c.start_bar == bar)
    }

    /// Plays `held` from `from_bar` (counted from the phrase start) to the end of the phrase:
    /// the chord sounding before it is cut at `from_bar`, the ones after give way.
    pub(crate) fn hold_from(&mut self, from_bar: u32, held: &HeldHarmony) {
        let last_bar = BARS_PER_PHRASE as u32 - 1;
        let from_bar = from_bar.min(last_bar);
        let index = self.index_at_bar(from_bar);
        let cut = &mut self.chords[index];
        // Chords tile the phrase a bar or more each, so one that starts before `from_bar`
        // (at most the last bar) is never the last of eight: `slot` stays in bounds.
        let slot = if cut.start_bar < from_bar {
            cut.bars = from_bar - cut.start_bar;
            index + 1
        } else {
            index
        };
        self.chords[slot] = PlannedChord {
            chord: held.chord,
            degree: held
                .scale
                .degree_of_pitch_class(held.key, held.chord.root_pc)
                .map_or(0, |degree| degree as i32),
            borrowed: false,
            key: held.key,
            scale: held.scale,
            start_bar: from_bar,
            bars: BARS_PER_PHRASE as u32 - from_bar,
            held: true,
        };
        self.len = slot + 1;
    }

    /// Replaces chords from `index` on with `other`'s (same bar layout).
    pub(crate) fn splice_from(&mut self, index: usize, other: &Progression) {
        let end = self.len.min(other.len);
        self.chords[index..end].copy_from_slice(&other.chords[index..end]);
    }
}

/// Average chord length in bars the harmonic rhythm aims for: about 3 bars at
/// intensity 0 and 1.15 at intensity 1, at 80 BPM; scaled by tempo / 80 so a
/// chord lasts about as many seconds at any tempo.
pub(crate) fn mean_bars_per_chord(intensity: f32, tempo_bpm: f32) -> f32 {
    let at_reference = 3.0 + (1.15 - 3.0) * intensity.clamp(0.0, 1.0);
    at_reference * (tempo_bpm / REFERENCE_TEMPO_BPM).clamp(0.5, 4.0)
}

/// Chord lengths in bars for `phrase`, summing to [`BARS_PER_PHRASE`]. Lengths
/// are drawn around the mean with even lengths (2, 4) favoured, never
/// shorter than about two thirds of the mean, so chords land on bar lines.
pub(crate) fn harmonic_rhythm(
    seed: u64,
    phrase: u64,
    intensity: f32,
    tempo_bpm: f32,
) -> ([u32; MAX_CHORDS], usize) {
    let mean = mean_bars_per_chord(intensity, tempo_bpm);
    let total = BARS_PER_PHRASE as u32;
    let shortest = ((mean * 0.67).round() as u32).clamp(1, total);
    let longest = ((mean * 1.4).round() as u32).clamp(shortest, total);
    let spread = 0.2 + 0.35 * mean;
    let mut dice = Dice::new(seed, Purpose::HarmonicRhythm, phrase);
    let mut lengths = [0u32; MAX_CHORDS];
    let mut count = 0;
    let mut remaining = total;
    while remaining > 0 {
        let mut weights = [0.0f32; MAX_CHORDS + 1];
        for len in shortest..=longest.min(remaining) {
            let left = remaining - len;
            if left == 0 || left >= shortest {
                let z = (len as f32 - mean) / spread;
                let even = if len % 2 == 0 { 1.3 } else { 1.0 };
                weights[len as usize] = (-0.5 * z * z).exp() * even;
            }
        }
        let len = dice.weighted(&weights).map_or(remaining, |l| l as u32);
        lengths[count] = len;
        count += 1;
        remaining -= len;
    }
    (lengths, count)
}

/// The degree `phrase` opens on: the tonic when it opens a section, else the
/// tonic about half the time and otherwise a chord the tonic moves to.
pub(crate) fn opening_degree(seed: u64, phrase: u64, scale: Scale) -> usize {
    if phrase_role(seed, phrase).opens_section() {
        return 0;
    }
    let mut dice = Dice::new(seed, Purpose::Opening, phrase);
    if dice.chance(0.45) {
        return 0;
    }
    let mut row = transition_row(scale, 0);
    row[0] = 0.0;
    dice.weighted(&row).unwrap_or(0)
}

/// Colour weights in [`ChordColour::ALL`] order: sevenths and added ninths
/// are the ambient staples; full ninths grow with energy.
fn colour_weights(energy: f32) -> [f32; 8] {
    [1.0, 1.6, 0.2 + 1.2 * energy, 1.4, 0.6, 0.4, 0.3, 0.3]
}

/// The chord on `degree` of `scale` in `key` with `colour`, kept inside the
/// scale (pentatonics fall back to a colour that fits), and a bare
/// diminished triad upgraded to its half-diminished seventh.
fn build_chord(key: Key, scale: Scale, degree: i32, colour: ChordColour) -> Chord {
    let chord = Chord::diatonic_within(key, scale, degree, colour)
        .unwrap_or_else(|| Chord::diatonic(key, scale.parent(), degree, ChordColour::Triad));
    if chord.quality == ChordQuality::Diminished {
        Chord::diatonic(key, scale.parent(), degree, ChordColour::Seventh)
    } else {
        chord
    }
}

/// The chord plan of `phrase` under `settings`, with `energy` from the form.
pub(crate) fn plan_progression(
    seed: u64,
    phrase: u64,
    settings: &ComposerSettings,
    energy: f32,
) -> Progression {
    let (key, scale) = (settings.key, settings.scale);
    let (lengths, count) = harmonic_rhythm(seed, phrase, settings.intensity, settings.tempo_bpm);
    let next_opening = opening_degree(seed, phrase + 1, scale);
    let cadence = phrase_role(seed, phrase).closes_section();

    let mut degrees = [0usize; MAX_CHORDS];
    degrees[0] = opening_degree(seed, phrase, scale);
    let mut dice = Dice::new(seed, Purpose::Progression, phrase);
    for i in 1..count {
        let mut row = transition_row(scale, degrees[i - 1]);
        if i + 1 == count {
            // Bend the last step toward the next phrase's opening chord.
            for (degree, weight) in row.iter_mut().enumerate() {
                *weight *= transition_row(scale, degree)[next_opening] + 0.05;
            }
            if cadence && next_opening == 0 && degree_available(scale, 3) {
                row[3] *= 1.8; // sections close plagally
            }
        }
        degrees[i] = dice.weighted(&row).unwrap_or(0);
    }

    let mut colours = Dice::new(seed, Purpose::Colour, phrase);
    let weights = colour_weights(energy);
    let mut chords = [PlannedChord {
        chord: Chord::new(key.index(), ChordQuality::Major),
        degree: 0,
        borrowed: false,
        key,
        scale,
        start_bar: 0,
        bars: 0,
        held: false,
    }; MAX_CHORDS];
    let mut start_bar = 0;
    for i in 0..count {
        let colour = ChordColour::ALL[colours.weighted(&weights).unwrap_or(0)];
        chords[i] = PlannedChord {
            chord: build_chord(key, scale, degrees[i] as i32, colour),
            degree: degrees[i] as i32,
            start_bar,
            bars: lengths[i],
            ..chords[i]
        };
        start_bar += lengths[i];
    }
    borrow_chords(seed, phrase, settings, &mut chords[..count]);
    Progression { chords, len: count }
}

/// Above intensity 0.6, swaps some chords (never the first, never two in a
/// row; at most one in six at intensity 1) for a chord of the parallel mode
/// that really leaves the scale.
fn borrow_chords(seed: u64, phrase: u64, settings: &ComposerSettings, chords: &mut [PlannedChord]) {
    if settings.intensity <= 0.6 {
        return;
    }
    let chance = f64::from(settings.intensity - 0.6) * 0.4;
    let home = settings.scale.pitch_classes(settings.key);
    let parallel = settings.scale.parallel();
    let candidates = borrow_candidates(settings.scale);
    let mut dice = Dice::new(seed, Purpose::Borrow, phrase);
    for i in 1..chords.len() {
        let roll = dice.chance(chance);
        let colour = if dice.chance(0.5) {
            ChordColour::Seventh
        } else {
            ChordColour::Triad
        };
        if !roll || chords[i - 1].borrowed {
            continue;
        }
        let mut options = [(0i32, Chord::new(0, ChordQuality::Major)); 4];
        let mut weights = [0.0f32; 4];
        for (slot, &(degree, weight)) in candidates.iter().enumerate().take(4) {
            let chord = build_chord(settings.key, parallel, degree, colour);
            options[slot] = (degree, chord);
            if !chord.pitch_classes().is_subset(home) {
                weights[slot] = weight;
            }
        }
        if let Some(pick) = dice.weighted(&weights) {
            let (degree, chord) = options[pick];
            chords[i] = PlannedChord {
                chord,
                degree,
                borrowed: true,
                ..chords[i]
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(scale: Scale, intensity: f32) -> ComposerSettings {
        ComposerSettings {
            key: Key::A,
            scale,
            intensity,
            tempo_bpm: 80.0,
        }
    }

    #[test]
    fn rhythm_fills_the_phrase_and_tracks_intensity_and_tempo() {
        let average = |intensity, tempo| {
            let (mut bars, mut chords) = (0, 0);
            for phrase in 0..300 {
                let (lengths, count) = harmonic_rhythm(11, phrase, intensity, tempo);
                assert_eq!(lengths[..count].iter().sum::<u32>(), BARS_PER_PHRASE as u32);
                assert!(lengths[..count].iter().all(|&l| l >= 1));
                if intensity == 0.0 && tempo == 80.0 {
                    assert!(lengths[..count].iter().all(|&l| l >= 2));
                }
                bars += BARS_PER_PHRASE as usize;
                chords += count;
            }
            bars as f32 / chords as f32
        };
        let (calm, busy, fast) = (average(0.0, 80.0), average(1.0, 80.0), average(0.5, 160.0));
        assert!(calm >= 2.4 && busy <= 1.4, "calm {calm} busy {busy}");
        assert!(
            fast > average(0.5, 80.0),
            "faster tempo → more bars per chord"
        );
    }

    #[test]
    fn sections_open_on_the_tonic() {
        for phrase in 0..100 {
            if phrase_role(5, phrase).opens_section() {
                let plan = plan_progression(5, phrase, &settings(Scale::Dorian, 0.5), 0.5);
                assert_eq!(plan.chords()[0].degree, 0);
            }
        }
    }

    #[test]
    fn no_borrowing_at_or_below_intensity_point_six_and_some_above() {
        let borrowed = |intensity| {
            (0..200)
                .flat_map(|p| {
                    let plan = plan_progression(9, p, &settings(Scale::Major, intensity), 0.5);
                    plan.chords().iter().map(|c| c.borrowed).collect::<Vec<_>>()
                })
                .filter(|&b| b)
                .count()
        };
        assert_eq!(borrowed(0.6), 0);
        assert!(borrowed(1.0) > 20);
    }

    #[test]
    fn non_borrowed_chords_stay_in_scale() {
        for scale in Scale::ALL {
            for phrase in 0..60 {
                let plan = plan_progression(phrase, phrase, &settings(scale, 1.0), 0.8);
                for c in plan.chords() {
                    let inside = c
                        .chord
                        .pitch_classes()
                        .is_subset(scale.pitch_classes(Key::A));
                    assert_eq!(inside, !c.borrowed, "{scale} {}", c.chord);
                }
            }
        }
    }

    #[test]
    fn plagal_cadences_outnumber_authentic() {
        let (mut plagal, mut authentic) = (0, 0);
        for seed in 0..20 {
            for phrase in 0..40 {
                let plan = plan_progression(seed, phrase, &settings(Scale::Major, 0.5), 0.5);
                let d: Vec<i32> = plan.chords().iter().map(|c| c.degree).collect();
                for pair in d.windows(2) {
                    match pair {
                        [3, 0] => plagal += 1,
                        [4, 0] => authentic += 1,
                        _ => {}
                    }
                }
            }
        }
        assert!(plagal > authentic, "plagal {plagal} authentic {authentic}");
    }
}
