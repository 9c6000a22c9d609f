//! Music theory vocabulary: keys, scales, pitch-class sets, chords, voicings
//! and tuning.
//!
//! Owns nothing but pure functions and constants; callable from any thread,
//! including the audio thread (nothing here allocates except chord naming).
//! It knows no randomness and no time: the composer (`compose`) decides what
//! to play, this module only says what notes a decision means.

pub mod chord;
pub mod chord_finding;
pub mod chord_quality;
pub mod key;
pub mod key_finding;
pub mod pitch_class_set;
pub mod scale;
pub mod tuning;
pub mod voice_leading;
pub mod voicing;

pub use chord::{Chord, ChordColour};
pub use chord_finding::{chord_scale, recognize_chord};
pub use chord_quality::ChordQuality;
pub use key::{Key, pitch_class_name};
pub use key_finding::{KeyEstimate, estimate_key, fit_to};
pub use pitch_class_set::PitchClassSet;
pub use scale::Scale;
pub use tuning::{hz_to_midi, midi_to_hz};
pub use voice_leading::{voice_lead, voice_lead_with_voices};
pub use voicing::{MAX_VOICES, VoiceRange, Voicing};
