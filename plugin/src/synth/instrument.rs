//! Instruments: the voice presets the composer's layers play.
//!
//! An instrument is data, not code: a list of partials (frequency ratio to the note, amplitude,
//! exponential decay rate, slow amplitude motion), an envelope, and how its pitch and pan drift.
//! The voice model in [`super::voice`] reads these tables; nothing else differs between sounds.

/// Partials an instrument may have; sizes the per-voice arrays.
pub const MAX_PARTIALS: usize = 24;

/// One partial of an instrument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartialSpec {
    /// Frequency as a multiple of the note's frequency (inharmonic ratios allowed).
    pub ratio: f32,
    /// Linear amplitude before brightness tilt and envelope, 0..=1.
    pub amp: f32,
    /// Exponential decay rate in 1/s: the partial falls to 1/e after `1/decay_per_s` seconds.
    /// 0 sustains.
    pub decay_per_s: f32,
    /// Rate of this partial's slow amplitude swell in Hz (0 = none): what makes a pad evolve.
    /// A second swell runs at 0.37 × this rate, so the two never line up into a loop.
    pub motion_hz: f32,
}

/// Attack, decay, sustain, release.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope {
    /// Linear rise from 0 to 1, seconds.
    pub attack_s: f32,
    /// Time for the fall from 1 towards `sustain` to cover 60 dB of the distance, seconds.
    pub decay_s: f32,
    /// Level held while the note lasts, 0..=1.
    pub sustain: f32,
    /// Time to fall by 60 dB after the note ends, seconds.
    pub release_s: f32,
}

/// A voice preset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instrument {
    /// Name for status and logs.
    pub name: &'static str,
    /// The partials, at most [`MAX_PARTIALS`].
    pub partials: &'static [PartialSpec],
    /// The amplitude envelope.
    pub envelope: Envelope,
    /// Output level of one voice at velocity 1, linear.
    pub level: f32,
    /// Brightness tilt exponent at Brightness 0: partial `k` is scaled by `ratio^-tilt`.
    pub tilt_dark: f32,
    /// Brightness tilt exponent at Brightness 1.
    pub tilt_bright: f32,
    /// Depth of the slow pitch drift, cents.
    pub drift_cents: f32,
    /// Rate of the slow pitch drift, Hz.
    pub drift_hz: f32,
    /// Depth of the slow pan motion, 0..=1 of the stereo field.
    pub pan_motion: f32,
    /// Rate of the slow pan motion, Hz.
    pub pan_hz: f32,
    /// How deep each partial's swells go, 0..=1: a partial's amplitude wanders between
    /// `1 - breath` and 1 of its value, on its own two slow sines (rates from `motion_hz`).
    pub breath: f32,
    /// How far each partial's pitch wanders from its place, cents, with its second swell: a
    /// slow unison spread, so a chord never settles into a fixed beating pattern.
    pub spread_cents: f32,
    /// Depth of the slow spectral sweep, as an extra tilt exponent 0..=`sweep`: the voice
    /// darkens and opens again, as a slow filter would, without any filter.
    pub sweep: f32,
    /// Rate of the spectral sweep, Hz (a cycle over bars).
    pub sweep_hz: f32,
    /// Whether the voice is struck and stands over the bed (the melody's bell): such voices
    /// are rendered apart, so the engine can send them deeper into the reverb than the pads.
    pub lead: bool,
    /// Attack added at full softness (see [`super::allocator::NoteRequest::softness`]),
    /// seconds: how much a struck voice rounds off when the music is quiet.
    pub soft_attack_s: f32,
}

/// The instruments the composer can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstrumentId {
    /// A warm, slowly evolving pad for chords.
    WarmPad,
    /// A glassy bell/keys voice for the melody.
    GlassBell,
    /// A deep sub/bass drone.
    SubDrone,
    /// High, airy partials for texture lines.
    Shimmer,
}

impl InstrumentId {
    /// The preset's data.
    pub fn instrument(self) -> &'static Instrument {
        match self {
            InstrumentId::WarmPad => &WARM_PAD,
            InstrumentId::GlassBell => &GLASS_BELL,
            InstrumentId::SubDrone => &SUB_DRONE,
            InstrumentId::Shimmer => &SHIMMER,
        }
    }
}

const fn p(ratio: f32, amp: f32, decay_per_s: f32, motion_hz: f32) -> PartialSpec {
    PartialSpec {
        ratio,
        amp,
        decay_per_s,
        motion_hz,
    }
}

/// Harmonics 1–12 in two slightly detuned copies (±4 cents), rolling off like a soft saw, each
/// swelling at its own slow rate (periods of 1.6 to 5.6 s, and 1/0.37 × those) so the timbre
/// breathes: the partials rise and fall independently, like the bow changes of a section.
const WARM_PAD_PARTIALS: [PartialSpec; 24] = [
    p(0.9977, 0.70, 0.0, 0.179),
    p(1.0023, 0.70, 0.0, 0.217),
    p(1.9954, 0.42, 0.0, 0.258),
    p(2.0046, 0.42, 0.0, 0.193),
    p(2.9931, 0.28, 0.0, 0.298),
    p(3.0069, 0.28, 0.0, 0.232),
    p(3.9908, 0.20, 0.0, 0.328),
    p(4.0092, 0.20, 0.0, 0.266),
    p(4.9885, 0.15, 0.0, 0.372),
    p(5.0115, 0.15, 0.0, 0.307),
    p(5.9862, 0.11, 0.0, 0.400),
    p(6.0138, 0.11, 0.0, 0.339),
    p(6.9839, 0.08, 0.0, 0.434),
    p(7.0161, 0.08, 0.0, 0.365),
    p(7.9816, 0.06, 0.0, 0.477),
    p(8.0184, 0.06, 0.0, 0.406),
    p(8.9793, 0.05, 0.0, 0.508),
    p(9.0207, 0.05, 0.0, 0.445),
    p(9.9770, 0.04, 0.0, 0.542),
    p(10.0230, 0.04, 0.0, 0.477),
    p(10.9747, 0.03, 0.0, 0.585),
    p(11.0253, 0.03, 0.0, 0.519),
    p(11.9724, 0.02, 0.0, 0.613),
    p(12.0276, 0.02, 0.0, 0.553),
];

/// The warm pad.
pub const WARM_PAD: Instrument = Instrument {
    name: "warm pad",
    partials: &WARM_PAD_PARTIALS,
    envelope: Envelope {
        attack_s: 4.0,
        decay_s: 8.0,
        sustain: 0.8,
        release_s: 8.0,
    },
    level: 0.068,
    tilt_dark: 1.4,
    tilt_bright: 0.1,
    drift_cents: 3.0,
    drift_hz: 0.09,
    pan_motion: 0.25,
    pan_hz: 0.03,
    breath: 0.95,
    spread_cents: 6.0,
    sweep: 2.4,
    sweep_hz: 0.2,
    lead: false,
    soft_attack_s: 0.0,
};

/// A struck glass: a near-harmonic fundamental and octave with inharmonic upper modes (ratios
/// of a free bar and a bowl) that die away faster the higher they are.
const GLASS_BELL_PARTIALS: [PartialSpec; 10] = [
    p(1.0, 0.80, 0.45, 0.0),
    p(2.0, 0.35, 0.7, 0.0),
    p(2.756, 0.30, 1.1, 0.0),
    p(3.01, 0.12, 1.3, 0.0),
    p(4.07, 0.14, 1.8, 0.0),
    p(5.404, 0.12, 2.4, 0.0),
    p(6.27, 0.06, 3.0, 0.0),
    p(8.933, 0.07, 4.0, 0.0),
    p(11.34, 0.04, 5.5, 0.0),
    p(13.34, 0.03, 7.0, 0.0),
];

/// The glassy bell for the melody.
pub const GLASS_BELL: Instrument = Instrument {
    name: "glass bell",
    partials: &GLASS_BELL_PARTIALS,
    envelope: Envelope {
        attack_s: 0.006,
        decay_s: 5.0,
        sustain: 0.35,
        release_s: 3.0,
    },
    level: 0.10,
    tilt_dark: 1.6,
    tilt_bright: 0.2,
    drift_cents: 1.0,
    drift_hz: 0.2,
    pan_motion: 0.15,
    pan_hz: 0.05,
    breath: 0.0,
    spread_cents: 0.0,
    sweep: 0.0,
    sweep_hz: 0.0,
    // Struck at high Intensity, bowed glass when the music is quiet: a 6 ms attack becomes
    // up to 0.2 s, and the ring no longer steps out of the pad.
    lead: true,
    soft_attack_s: 0.2,
};

/// A sine-heavy sub with a little second and third harmonic so it is heard on small speakers.
const SUB_DRONE_PARTIALS: [PartialSpec; 5] = [
    p(1.0, 1.0, 0.0, 0.021),
    p(1.0012, 0.5, 0.0, 0.033),
    p(2.0, 0.30, 0.0, 0.047),
    p(3.0, 0.12, 0.0, 0.039),
    p(4.0, 0.05, 0.0, 0.052),
];

/// The sub/bass drone.
pub const SUB_DRONE: Instrument = Instrument {
    name: "sub drone",
    partials: &SUB_DRONE_PARTIALS,
    // Slower than the pad, so a piece opens on the chord rather than on the bare pedal.
    envelope: Envelope {
        attack_s: 6.0,
        decay_s: 10.0,
        sustain: 0.9,
        release_s: 9.0,
    },
    level: 0.11,
    tilt_dark: 1.0,
    tilt_bright: 0.3,
    drift_cents: 1.5,
    drift_hz: 0.05,
    pan_motion: 0.05,
    pan_hz: 0.02,
    breath: 0.35,
    spread_cents: 1.0,
    sweep: 0.4,
    sweep_hz: 0.021,
    lead: false,
    soft_attack_s: 0.0,
};

/// Octave-spread soft sines: air above the pad.
const SHIMMER_PARTIALS: [PartialSpec; 6] = [
    p(1.0, 0.6, 0.15, 0.11),
    p(2.0, 0.35, 0.25, 0.17),
    p(2.004, 0.25, 0.25, 0.13),
    p(3.0, 0.12, 0.35, 0.23),
    p(4.0, 0.10, 0.45, 0.19),
    p(6.0, 0.05, 0.6, 0.29),
];

/// The shimmer texture.
pub const SHIMMER: Instrument = Instrument {
    name: "shimmer",
    partials: &SHIMMER_PARTIALS,
    envelope: Envelope {
        attack_s: 2.5,
        decay_s: 6.0,
        sustain: 0.5,
        release_s: 6.0,
    },
    level: 0.05,
    tilt_dark: 1.2,
    tilt_bright: 0.0,
    drift_cents: 4.0,
    drift_hz: 0.15,
    pan_motion: 0.6,
    pan_hz: 0.07,
    breath: 0.7,
    spread_cents: 6.0,
    sweep: 0.6,
    sweep_hz: 0.06,
    lead: false,
    soft_attack_s: 0.0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_fits_the_voice_arrays_and_is_sane() {
        for id in [
            InstrumentId::WarmPad,
            InstrumentId::GlassBell,
            InstrumentId::SubDrone,
            InstrumentId::Shimmer,
        ] {
            let inst = id.instrument();
            assert!(inst.partials.len() <= MAX_PARTIALS, "{}", inst.name);
            assert!(inst.partials.iter().all(|p| p.ratio > 0.0 && p.amp > 0.0));
            assert!(inst.envelope.attack_s > 0.0 && inst.envelope.release_s > 0.0);
            assert!((0.0..=1.0).contains(&inst.envelope.sustain));
        }
    }
}
