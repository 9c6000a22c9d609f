//! One hit's sound generator: which voice it is and that voice's state.
//!
//! Engine thread; `new` does a little trigonometry, `render` is per-sample arithmetic inside
//! one `match` per call (never per sample). Nothing allocates.
//!
//! Every voice renders mono at a peak level near 1 (±3 dB over its parameter range, tested);
//! velocity, pan and the -12 dBFS target are applied by the hit.

use super::PercussionVoice;
use super::bell::Bell;
use super::pulse::Pulse;
use super::shaker::Shaker;
use super::strike::Strike;
use super::tick::Tick;

/// A voice's state.
#[derive(Clone)]
pub(super) enum Synth {
    /// A felt kick.
    Pulse(Pulse),
    /// A wood click.
    Tick(Tick),
    /// A shaker grain.
    Shaker(Shaker),
    /// A struck bell.
    Bell(Bell),
}

impl Synth {
    /// A fresh `voice` for `strike`.
    pub(super) fn new(voice: PercussionVoice, strike: &Strike) -> Self {
        match voice {
            PercussionVoice::Pulse => Self::Pulse(Pulse::new(strike)),
            PercussionVoice::Tick => Self::Tick(Tick::new(strike)),
            PercussionVoice::Shaker => Self::Shaker(Shaker::new(strike)),
            PercussionVoice::Bell => Self::Bell(Bell::new(strike)),
        }
    }

    /// Frames until the sound has fallen 90 dB below its peak; the hit ends there.
    pub(super) fn length_frames(&self) -> usize {
        match self {
            Self::Pulse(v) => v.length_frames(),
            Self::Tick(v) => v.length_frames(),
            Self::Shaker(v) => v.length_frames(),
            Self::Bell(v) => v.length_frames(),
        }
    }

    /// Writes the next `out.len()` samples (overwriting).
    pub(super) fn render(&mut self, out: &mut [f32]) {
        match self {
            Self::Pulse(v) => v.render(out),
            Self::Tick(v) => v.render(out),
            Self::Shaker(v) => v.render(out),
            Self::Bell(v) => v.render(out),
        }
    }
}
