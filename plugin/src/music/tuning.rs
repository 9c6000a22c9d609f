//! Equal-tempered tuning: MIDI note numbers to frequencies and back
//! (A4 = MIDI 69 = 440 Hz). Pure math; any thread.

/// MIDI note of the reference pitch A4.
const A4_MIDI: f64 = 69.0;
/// Frequency of A4 in hertz.
const A4_HZ: f64 = 440.0;

/// Frequency in hertz of a (possibly fractional) MIDI note:
/// `440 · 2^((note − 69) / 12)`. Accepts `u8`, `i32`, `f32` or `f64`.
pub fn midi_to_hz(note: impl Into<f64>) -> f64 {
    A4_HZ * ((note.into() - A4_MIDI) / 12.0).exp2()
}

/// Fractional MIDI note of a frequency: `69 + 12 · log2(freq_hz / 440)`.
/// Non-positive or NaN frequencies have no pitch and give `f64::NEG_INFINITY`.
pub fn hz_to_midi(freq_hz: f64) -> f64 {
    if freq_hz > 0.0 {
        A4_MIDI + 12.0 * (freq_hz / A4_HZ).log2()
    } else {
        f64::NEG_INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_pitches() {
        assert_eq!(midi_to_hz(69), 440.0);
        assert!((midi_to_hz(60u8) - 261.625_565).abs() < 1e-5);
        assert!((midi_to_hz(81.0f32) - 880.0).abs() < 1e-9);
        assert_eq!(hz_to_midi(440.0), 69.0);
        assert_eq!(hz_to_midi(0.0), f64::NEG_INFINITY);
        assert_eq!(hz_to_midi(f64::NAN), f64::NEG_INFINITY);
    }

    proptest! {
        #[test]
        fn round_trip(note in 0.0f64..127.0) {
            prop_assert!((hz_to_midi(midi_to_hz(note)) - note).abs() < 1e-9);
        }
    }
}
