//! One engine instance's rendering state, driven block by block.

use crate::params::MusicalSettings;
use crate::realtime::{Frame, TransportSnapshot};

use super::placeholder::PlaceholderChord;

/// Frames the engine renders per step. Small enough that a settings change is heard within a
/// few milliseconds, large enough to amortise per-block work.
pub const ENGINE_BLOCK_FRAMES: usize = 256;

/// Renders the music for one instance. Deterministic: the same settings sequence gives the same
/// frames.
pub struct EngineCore {
    /// Frames per second of the output.
    sample_rate: f32,
    /// Stands in for composer + synthesizer until those land.
    voice: PlaceholderChord,
    /// Frames rendered so far.
    frames_rendered: u64,
}

impl EngineCore {
    /// Prepares an engine for `sample_rate` (clamped to 8 kHz..=768 kHz; non-finite becomes 48 kHz).
    pub fn new(sample_rate: f32) -> Self {
        let sample_rate = if sample_rate.is_finite() {
            sample_rate.clamp(8_000.0, 768_000.0)
        } else {
            48_000.0
        };
        Self {
            sample_rate,
            voice: PlaceholderChord::new(sample_rate),
            frames_rendered: 0,
        }
    }

    /// The output sample rate.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// Frames rendered since creation.
    pub fn frames_rendered(&self) -> u64 {
        self.frames_rendered
    }

    /// Renders `out.len()` frames with the given settings. `transport` is the host's newest
    /// transport state, if a host reports one.
    pub fn render(
        &mut self,
        settings: &MusicalSettings,
        _transport: Option<TransportSnapshot>,
        out: &mut [Frame],
    ) {
        self.voice.render(settings, out);
        for frame in out.iter_mut() {
            for sample in frame.iter_mut() {
                if !sample.is_finite() {
                    *sample = 0.0;
                }
            }
        }
        self.frames_rendered += out.len() as u64;
    }
}
