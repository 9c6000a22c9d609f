//! What the CLAP host tests read from the audio: which pitch classes sound, the strongest
//! frequency, how noise-like the spectrum is. The math is `auralis_checks`'; this fixes the
//! analysis the host tests share (8192-point frames: 5.9 Hz bins at 48 kHz).

use auralis_tests::checks::Spectrum;

pub use auralis_checks::{PITCH_CLASSES, best_transposition, strongest_class};

/// FFT length of the host tests' spectra.
const FFT_LEN: usize = 8192;

/// Energy per pitch class (C = 0) between 60 Hz and 2 kHz, normalised to sum 1.
pub fn chroma(left: &[f32], right: &[f32], sample_rate: f64) -> [f64; 12] {
    Spectrum::averaged(left, right, sample_rate, FFT_LEN).chroma(60.0..2_000.0)
}

/// Frequency of the strongest spectral bin, in Hz.
pub fn dominant_hz(left: &[f32], right: &[f32], sample_rate: f64) -> f64 {
    Spectrum::averaged(left, right, sample_rate, FFT_LEN).dominant_hz()
}

/// Spectral flatness between 60 Hz and 8 kHz: near 0 for tones, near 1 for white noise.
pub fn spectral_flatness(left: &[f32], right: &[f32], sample_rate: f64) -> f64 {
    Spectrum::averaged(left, right, sample_rate, FFT_LEN).flatness(60.0..8_000.0)
}

/// The chroma as `C:0.12 C#:0.01 …`, for failure messages.
pub fn format_chroma(chroma: &[f64; 12]) -> String {
    (0..12)
        .map(|i| format!("{}:{:.2}", PITCH_CLASSES[i], chroma[i]))
        .collect::<Vec<_>>()
        .join(" ")
}
