//! Measurements of rendered audio, shared by every test that listens to Auralis: the plugin's
//! unit tests, the end-to-end tests in real hosts, and the examples that print calibration
//! figures. One home, so that "RMS" or "a click" means the same thing in every test.
//!
//! Conventions: samples are `f32` at full scale ±1.0; sums and levels are `f64`, so long
//! renders do not lose precision; levels in dB are relative to full scale (dBFS, where a
//! full-scale square wave is 0 dBFS and a full-scale sine −3 dBFS); times are in seconds,
//! frequencies in Hz, positions in frames (samples of one channel). Nothing here allocates on
//! anyone's audio thread: these run in tests, after the audio was rendered.

#![deny(missing_docs)]

mod compare;
mod decay;
mod level;
mod loudness;
mod signals;
mod spectrum;
mod steps;

pub use compare::{correlation, dropouts, max_difference};
pub use decay::{decay_time_s, t60_s};
pub use level::{energy, peak, peak_db, peak_index, rms, rms_dbfs, to_db};
pub use loudness::{loudness_lufs, normalize_lufs, true_peak_db};
pub use signals::{XorShift, pink_noise};
pub use spectrum::{Bins, PITCH_CLASSES, Spectrum, best_transposition, strongest_class};
pub use steps::{largest_second_difference, largest_step};
