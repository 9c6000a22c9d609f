//! The plugin's parameters: what a DAW automates and what a saved project stores.
//!
//! Every `#[id]` here (and every enum variant `#[id]`) is stable forever: saved projects, presets
//! and host automation lanes refer to them. Fields may be renamed; ids may not. Display names are
//! part of the contract too, because hosts and scripts address parameters by name.
//!
//! Values are read from two threads: the engine thread takes a [`MusicalSettings`] snapshot
//! (plain atomics, already validated), and the audio thread reads only the gain smoother.

mod vocabulary;

use std::sync::Arc;

use nice_plug::prelude::*;

pub use self::vocabulary::{
    BRIGHTNESS, INTENSITY, NumberRange, SEED, SPACE, TEMPO, default_key_name, default_scale_name,
    key_names, parse_key, parse_scale, scale_names,
};

/// Tempo range in beats per minute.
pub const TEMPO_MIN_BPM: f32 = 30.0;
/// Upper end of the tempo range in beats per minute.
pub const TEMPO_MAX_BPM: f32 = 180.0;
/// The tempo a new instance starts at: slow enough to breathe, fast enough to move.
pub const TEMPO_DEFAULT_BPM: f32 = 70.0;
/// Lowest output gain; below this the output is effectively silent.
pub const GAIN_MIN_DB: f32 = -60.0;
/// Highest output gain. The limiter downstream keeps peaks safe.
pub const GAIN_MAX_DB: f32 = 6.0;
/// Largest seed. Kept within f32's exact integer range so that a host's normalised value
/// round-trips to the same seed.
pub const SEED_MAX: i32 = 65_535;
/// The seed a new instance starts with, chosen by ear.
pub const SEED_DEFAULT: i32 = 7;
/// The key a new instance starts in.
pub const KEY_DEFAULT: KeyName = KeyName::D;
/// The scale a new instance starts in: minor, with the raised sixth's glow.
pub const SCALE_DEFAULT: ScaleName = ScaleName::Dorian;
/// How much happens in a new instance: some movement, room to breathe.
pub const INTENSITY_DEFAULT: f32 = 0.45;
/// A new instance's timbre: neither dark nor bright.
pub const BRIGHTNESS_DEFAULT: f32 = 0.5;
/// A new instance's reverb and delay: wide, not washed out.
pub const SPACE_DEFAULT: f32 = 0.6;
/// How long a gain change takes to settle, in milliseconds: long enough to never click.
const GAIN_SMOOTHING_MS: f32 = 30.0;

/// The tonic of the music. Displayed with exactly these names.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    /// C
    #[id = "c"]
    #[name = "C"]
    C,
    /// C sharp
    #[id = "c#"]
    #[name = "C#"]
    CSharp,
    /// D
    #[id = "d"]
    #[name = "D"]
    D,
    /// D sharp
    #[id = "d#"]
    #[name = "D#"]
    DSharp,
    /// E
    #[id = "e"]
    #[name = "E"]
    E,
    /// F
    #[id = "f"]
    #[name = "F"]
    F,
    /// F sharp
    #[id = "f#"]
    #[name = "F#"]
    FSharp,
    /// G
    #[id = "g"]
    #[name = "G"]
    G,
    /// G sharp
    #[id = "g#"]
    #[name = "G#"]
    GSharp,
    /// A
    #[id = "a"]
    #[name = "A"]
    A,
    /// A sharp
    #[id = "a#"]
    #[name = "A#"]
    ASharp,
    /// B
    #[id = "b"]
    #[name = "B"]
    B,
}

impl KeyName {
    /// The pitch class, 0 (C) to 11 (B).
    pub fn pitch_class(self) -> u8 {
        self as u8
    }

    /// The key whose tonic is `pitch_class` (taken modulo 12).
    pub fn from_pitch_class(pitch_class: u8) -> Self {
        Self::from_index(usize::from(pitch_class % 12))
    }
}

/// The scale or mode the music is written in. New scales are only ever appended.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleName {
    /// Ionian.
    #[id = "major"]
    Major,
    /// Natural minor (Aeolian).
    #[id = "minor"]
    Minor,
    /// Minor with a raised sixth.
    #[id = "dorian"]
    Dorian,
    /// Minor with a lowered second.
    #[id = "phrygian"]
    Phrygian,
    /// Major with a raised fourth.
    #[id = "lydian"]
    Lydian,
    /// Major with a lowered seventh.
    #[id = "mixolydian"]
    Mixolydian,
    /// Five notes of the major scale, no half steps.
    #[id = "majpent"]
    #[name = "Major Pentatonic"]
    MajorPentatonic,
    /// Five notes of the natural minor scale, no half steps.
    #[id = "minpent"]
    #[name = "Minor Pentatonic"]
    MinorPentatonic,
}

/// The name a host shows for a value of an enum parameter ("F#", "Major Pentatonic").
pub fn display_name<E: Enum>(value: E) -> &'static str {
    E::variants()[value.to_index()]
}

/// Which of the composed layers the plugin sends out as MIDI notes, so they can drive other
/// instruments. Each layer has its own channel (see `engine::midi`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidiLayers {
    /// No notes out.
    #[id = "off"]
    Off,
    /// The melody only.
    #[id = "melody"]
    Melody,
    /// The chords: pad voicing and drone.
    #[id = "chords"]
    Chords,
    /// Melody and chords.
    #[id = "mel+chd"]
    #[name = "Melody + Chords"]
    MelodyAndChords,
    /// Every layer, percussion included.
    #[id = "all"]
    All,
}

/// What Auralis follows of the notes the host sends it. New modes are only ever appended.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowMode {
    /// Nothing: the notes sent in are ignored, and the music is exactly what it was before
    /// following existed.
    #[id = "off"]
    Off,
    /// The key: a rolling estimate of the key the notes are in sets the key and scale (major or
    /// minor); the composer writes its own progressions in it.
    #[id = "key"]
    Key,
    /// The chords: the notes held (any channel, the sustain pedal honoured) are named as a
    /// chord, which the composer plays from the next beat (the next bar at low Intensity) until
    /// a few bars after they are released.
    #[id = "chords"]
    Chords,
}

/// Auralis's parameters. See the module docs for the stability rules.
#[derive(Params)]
pub struct AuralisParams {
    /// Tonic of the music.
    #[id = "key"]
    pub key: EnumParam<KeyName>,
    /// Scale or mode.
    #[id = "scale"]
    pub scale: EnumParam<ScaleName>,
    /// Own tempo, used unless following the host.
    #[id = "tempo"]
    pub tempo_bpm: FloatParam,
    /// Follow the host's tempo and position while its transport plays.
    #[id = "sync"]
    pub sync_to_host: BoolParam,
    /// How much happens: density, layers, movement.
    #[id = "intens"]
    pub intensity: FloatParam,
    /// Timbre, from dark to bright.
    #[id = "bright"]
    pub brightness: FloatParam,
    /// Reverb and delay amount.
    #[id = "space"]
    pub space: FloatParam,
    /// Seed of every random choice the composer makes.
    #[id = "seed"]
    pub seed: IntParam,
    /// Output gain in decibels, smoothed on the audio thread.
    #[id = "gain"]
    pub gain_db: FloatParam,
    /// Which layers are sent out as MIDI notes.
    #[id = "midi"]
    pub midi_out: EnumParam<MidiLayers>,
    /// What the music follows of the notes played into it.
    #[id = "follow"]
    pub follow: EnumParam<FollowMode>,
}

/// The range of the Tempo parameter, shared with the GUI and the command line.
pub fn tempo_range() -> FloatRange {
    FloatRange::Linear {
        min: TEMPO_MIN_BPM,
        max: TEMPO_MAX_BPM,
    }
}

/// The range of the Gain parameter in decibels.
pub fn gain_range() -> FloatRange {
    FloatRange::Linear {
        min: GAIN_MIN_DB,
        max: GAIN_MAX_DB,
    }
}

/// The range of the Seed parameter.
pub fn seed_range() -> IntRange {
    IntRange::Linear {
        min: 0,
        max: SEED_MAX,
    }
}

fn unit_param(name: &str, default: f32) -> FloatParam {
    FloatParam::new(name, default, FloatRange::Linear { min: 0.0, max: 1.0 })
        .with_unit("%")
        .with_value_to_string(formatters::v2s_f32_percentage(0))
        .with_string_to_value(formatters::s2v_f32_percentage())
}

impl Default for AuralisParams {
    fn default() -> Self {
        Self {
            key: EnumParam::new("Key", KEY_DEFAULT),
            scale: EnumParam::new("Scale", SCALE_DEFAULT),
            tempo_bpm: FloatParam::new("Tempo", TEMPO_DEFAULT_BPM, tempo_range())
                .with_step_size(0.1)
                .with_unit(" BPM")
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            sync_to_host: BoolParam::new("Sync to Host", true),
            intensity: unit_param("Intensity", INTENSITY_DEFAULT),
            brightness: unit_param("Brightness", BRIGHTNESS_DEFAULT),
            space: unit_param("Space", SPACE_DEFAULT),
            seed: IntParam::new("Seed", SEED_DEFAULT, seed_range()),
            gain_db: FloatParam::new("Gain", 0.0, gain_range())
                .with_smoother(SmoothingStyle::Linear(GAIN_SMOOTHING_MS))
                .with_step_size(0.1)
                .with_unit(" dB")
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            midi_out: EnumParam::new("MIDI Out", MidiLayers::MelodyAndChords),
            follow: EnumParam::new("Follow", FollowMode::Off),
        }
    }
}

/// A validated snapshot of the musical parameters, taken by the engine thread once per block.
///
/// Every field is in range and finite whatever the host or a state blob sent, so nothing
/// downstream has to check again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MusicalSettings {
    /// Tonic.
    pub key: KeyName,
    /// Scale or mode.
    pub scale: ScaleName,
    /// Own tempo in BPM, within [`TEMPO_MIN_BPM`, `TEMPO_MAX_BPM`].
    pub tempo_bpm: f32,
    /// Whether to follow the host's tempo and position when it plays.
    pub sync_to_host: bool,
    /// 0..=1.
    pub intensity: f32,
    /// 0..=1.
    pub brightness: f32,
    /// 0..=1.
    pub space: f32,
    /// 0..=[`SEED_MAX`].
    pub seed: u32,
    /// Layers sent out as MIDI notes.
    pub midi_out: MidiLayers,
    /// What the music follows of the notes played in.
    pub follow: FollowMode,
}

impl Default for MusicalSettings {
    fn default() -> Self {
        AuralisParams::default().settings()
    }
}

/// Clamps `value` into `min..=max`, replacing NaN and infinities with `fallback`.
pub fn sanitize(value: f32, min: f32, max: f32, fallback: f32) -> f32 {
    if value.is_finite() {
        value.clamp(min, max)
    } else {
        fallback
    }
}

impl AuralisParams {
    /// Reads every musical parameter into a validated snapshot. Lock-free: atomics only.
    pub fn settings(&self) -> MusicalSettings {
        MusicalSettings {
            key: self.key.value(),
            scale: self.scale.value(),
            tempo_bpm: sanitize(
                self.tempo_bpm.value(),
                TEMPO_MIN_BPM,
                TEMPO_MAX_BPM,
                TEMPO_DEFAULT_BPM,
            ),
            sync_to_host: self.sync_to_host.value(),
            intensity: sanitize(self.intensity.value(), 0.0, 1.0, INTENSITY_DEFAULT),
            brightness: sanitize(self.brightness.value(), 0.0, 1.0, BRIGHTNESS_DEFAULT),
            space: sanitize(self.space.value(), 0.0, 1.0, SPACE_DEFAULT),
            seed: self.seed.value().clamp(0, SEED_MAX) as u32,
            midi_out: self.midi_out.value(),
            follow: self.follow.value(),
        }
    }
}

/// Shared handle type used by the plugin, the engine and the editor.
pub type SharedParams = Arc<AuralisParams>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_the_contract() {
        let params = AuralisParams::default();
        let names: Vec<String> = params
            .param_map()
            .iter()
            .map(|(_, ptr, _)| unsafe { ptr.name() }.to_string())
            .collect();
        for expected in [
            "Key",
            "Scale",
            "Tempo",
            "Sync to Host",
            "Intensity",
            "Brightness",
            "Space",
            "Seed",
            "Gain",
            "MIDI Out",
            "Follow",
        ] {
            assert!(names.iter().any(|n| n == expected), "missing {expected}");
        }
        let keys: Vec<&str> = KeyName::variants().to_vec();
        assert_eq!(
            keys,
            [
                "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"
            ]
        );
        assert_eq!(ScaleName::variants()[6], "Major Pentatonic");
    }

    #[test]
    fn ids_are_short_and_unique() {
        let params = AuralisParams::default();
        let map = params.param_map();
        let mut ids: Vec<&str> = map.iter().map(|(id, _, _)| id.as_str()).collect();
        assert!(ids.iter().all(|id| id.len() <= 6), "{ids:?}");
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), map.len());
    }

    #[test]
    fn sanitize_rejects_non_finite_and_clamps() {
        assert_eq!(sanitize(f32::NAN, 0.0, 1.0, 0.3), 0.3);
        assert_eq!(sanitize(f32::INFINITY, 0.0, 1.0, 0.3), 0.3);
        assert_eq!(sanitize(7.0, 0.0, 1.0, 0.3), 1.0);
        assert_eq!(sanitize(-7.0, 0.0, 1.0, 0.3), 0.0);
        assert_eq!(sanitize(0.25, 0.0, 1.0, 0.3), 0.25);
    }

    #[test]
    fn defaults_are_in_range() {
        let s = MusicalSettings::default();
        assert!((TEMPO_MIN_BPM..=TEMPO_MAX_BPM).contains(&s.tempo_bpm));
        assert!(s.intensity > 0.0 && s.intensity < 1.0);
        assert!(s.sync_to_host);
    }
}
