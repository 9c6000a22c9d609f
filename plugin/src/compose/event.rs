//! What the composer hands the synth: note events tagged by layer, and the
//! chord currently in effect.
//!
//! Small `Copy` values with no heap data, so they can cross to the audio
//! thread through a ring.

use std::fmt;

use crate::music::Chord;

/// Kinds of unpitched (or lightly pitched) percussion the synth renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PercussionKind {
    /// Soft low thump on downbeats; `midi_note` is the chord root around MIDI 32..=43.
    Pulse,
    /// Short click on off-beats; `midi_note` is nominal (60).
    Tick,
    /// Airy noise on sixteenths; `midi_note` is nominal (60).
    Shaker,
    /// Rare struck bell on a chord tone, MIDI 76..=88.
    Bell,
}

/// Which part of the arrangement a note belongs to; the synth gives each its
/// own instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Tonic (or chord-root) pedal in MIDI 26..=45.
    Drone,
    /// Sustained voice-led chord tones in MIDI 48..=72.
    Pad,
    /// The tune, MIDI 62..=84.
    Melody,
    /// Sparse, quiet high chord tones, MIDI 72..=96.
    Texture,
    /// Percussion of the given kind.
    Percussion(PercussionKind),
}

impl Layer {
    /// Order among events that start together, so output order is total and
    /// deterministic: low layers first.
    pub(crate) const fn rank(self) -> u8 {
        match self {
            Layer::Drone => 0,
            Layer::Pad => 1,
            Layer::Melody => 2,
            Layer::Texture => 3,
            Layer::Percussion(PercussionKind::Pulse) => 4,
            Layer::Percussion(PercussionKind::Tick) => 5,
            Layer::Percussion(PercussionKind::Shaker) => 6,
            Layer::Percussion(PercussionKind::Bell) => 7,
        }
    }
}

/// One note to play.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoteEvent {
    /// When the note starts, in beats from the start of the piece.
    pub start_beat: f64,
    /// How long it sounds, in beats (pads overlap the next chord slightly).
    pub duration_beats: f64,
    /// Which instrument plays it.
    pub layer: Layer,
    /// MIDI note number (pitch, or a nominal value for Tick and Shaker).
    pub midi_note: u8,
    /// Loudness, 0..=1.
    pub velocity: f32,
    /// True exactly when the pitch lies outside the current scale because
    /// it comes from a chord borrowed from the parallel mode (modal mixture).
    pub borrowed: bool,
}

impl NoteEvent {
    /// Total order used to sort events: start, then layer, pitch, duration
    /// and velocity, so equal-start events always come out the same way.
    pub(crate) fn order(&self, other: &NoteEvent) -> std::cmp::Ordering {
        self.start_beat
            .total_cmp(&other.start_beat)
            .then(self.layer.rank().cmp(&other.layer.rank()))
            .then(self.midi_note.cmp(&other.midi_note))
            .then(self.duration_beats.total_cmp(&other.duration_beats))
            .then(self.velocity.total_cmp(&other.velocity))
            .then(self.borrowed.cmp(&other.borrowed))
    }
}

/// The chord in effect at the composer's position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChordInfo {
    /// The chord.
    pub chord: Chord,
    /// Beat at which this chord started.
    pub start_beat: f64,
    /// Scale degree of the root, 0 = tonic, counted in the seven-note mode
    /// the chord was built from (the parent mode for pentatonic scales, the
    /// parallel mode when borrowed).
    pub degree: i32,
    /// True when the chord is borrowed from the parallel mode.
    pub borrowed: bool,
}

impl fmt::Display for ChordInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.chord, f)
    }
}
