//! What an engine thread is started with: its rate, how the audio side waits, how far ahead it
//! renders, which renderer plays the voices, and the sizes that follow from them.

use std::time::Duration;

use super::core::ENGINE_BLOCK_FRAMES;
use crate::realtime::WaitPolicy;
use crate::signal::SampleRate;
use crate::synth::RendererChoice;

/// How far beyond the largest host block the engine keeps the ring filled in realtime mode, in
/// seconds: enough to ride out a scheduling hiccup, little enough that parameter changes feel
/// immediate.
pub const REALTIME_AHEAD_S: f32 = 0.03;

/// What an engine thread is started with.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Output sample rate.
    pub sample_rate: SampleRate,
    /// Whether the audio side may wait for the engine (a bounce) or never (realtime).
    pub policy: WaitPolicy,
    /// The largest block the audio side asks for at once.
    pub max_block_frames: usize,
    /// Frames the engine renders beyond the newest request.
    pub lead_frames: usize,
    /// Which renderer plays the voices.
    pub renderer: RendererChoice,
    /// Whether a change of settings re-renders the part of the lead not yet played (see
    /// `engine/revision.rs`), for a long lead that would otherwise delay every change by its
    /// length. Realtime mode without MIDI out only: the engine ignores it otherwise.
    pub revise_lead: bool,
}

impl EngineConfig {
    /// The configuration for a host's buffer set-up: in realtime mode, a lead of
    /// [`REALTIME_AHEAD_S`] beyond the largest block the host may ask for; offline, none.
    pub fn for_host(sample_rate: SampleRate, policy: WaitPolicy, max_block_frames: usize) -> Self {
        let lead_frames = match policy {
            WaitPolicy::Realtime => {
                (REALTIME_AHEAD_S * sample_rate.hz()) as usize + max_block_frames
            }
            WaitPolicy::Offline => 0,
        };
        Self {
            sample_rate,
            policy,
            max_block_frames,
            lead_frames,
            renderer: RendererChoice::Auto,
            revise_lead: false,
        }
    }

    /// The longest the GPU may take for one block before the engine falls back to the CPU:
    /// within the lead, so the audio thread never notices; offline, generous.
    pub fn gpu_timeout(&self) -> Duration {
        if self.lead_frames == 0 {
            return Duration::from_secs(2);
        }
        Duration::from_secs_f64(self.lead_frames as f64 / f64::from(self.sample_rate.hz()) / 2.0)
    }

    /// Ring capacity that always holds the lead, one more host block and the part of an engine
    /// block beyond them; when the lead is revised, twice over, since the revised frames are
    /// queued behind the ones they replace until the audio side skips those.
    pub fn ring_frames(&self) -> usize {
        let one = self.lead_frames
            + self.max_block_frames.max(ENGINE_BLOCK_FRAMES)
            + 2 * ENGINE_BLOCK_FRAMES;
        if self.revise_lead { 2 * one } else { one }
    }
}
