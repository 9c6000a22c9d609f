//! Counters and flags shared by the audio thread, the engine thread and whoever reports status.
//!
//! Plain atomics with relaxed ordering: each value is independent and only ever read for display
//! or tests, so no ordering between them is needed.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// What happened, counted where it happened. Owned in an `Arc` by the plugin; the audio thread
/// only ever sees a shared reference.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// Times the audio ring ran dry while playing. Written by the audio thread.
    underruns: AtomicU64,
    /// Frames handed to the host, including faded and silent ones. Written by the audio thread.
    frames_played: AtomicU64,
    /// Frames the engine has pushed into the ring. Written by the engine thread.
    frames_rendered: AtomicU64,
    /// Set while the engine thread runs its loop. Written by the engine thread.
    engine_running: AtomicBool,
    /// Panics the engine thread caught and recovered from (or gave up after). Written by the
    /// engine thread.
    engine_panics: AtomicU64,
    /// Restarts the engine has carried out. Written by the engine thread (release), after
    /// `restart_frame`.
    restart_generation: AtomicU64,
    /// The engine frame where the newest restart's music begins: every frame before it in the
    /// ring is stale. Written by the engine thread.
    restart_frame: AtomicU64,
    /// Highest absolute sample per channel since the meter last read it, as `f32` bits. Written
    /// by the audio thread with `fetch_max`: for non-negative floats the bit patterns sort like
    /// the values, so the integer maximum is the float maximum.
    peak_bits: [AtomicU32; 2],
    /// Smoothed RMS level per channel, as `f32` bits. Written by the audio thread.
    rms_bits: [AtomicU32; 2],
}

impl Telemetry {
    /// Underruns since the instance was created.
    pub fn underruns(&self) -> u64 {
        self.underruns.load(Ordering::Relaxed)
    }

    /// Counts one underrun.
    pub fn count_underrun(&self) {
        self.underruns.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames played since the instance was created.
    pub fn frames_played(&self) -> u64 {
        self.frames_played.load(Ordering::Relaxed)
    }

    /// Adds played frames.
    pub fn add_frames_played(&self, frames: usize) {
        self.frames_played
            .fetch_add(frames as u64, Ordering::Relaxed);
    }

    /// Frames the engine has rendered since the instance was created.
    pub fn frames_rendered(&self) -> u64 {
        self.frames_rendered.load(Ordering::Relaxed)
    }

    /// Adds rendered frames.
    pub fn add_frames_rendered(&self, frames: usize) {
        self.frames_rendered
            .fetch_add(frames as u64, Ordering::Relaxed);
    }

    /// Whether the engine thread is running.
    pub fn engine_running(&self) -> bool {
        self.engine_running.load(Ordering::Relaxed)
    }

    /// Panics the engine thread has caught since the instance was created.
    pub fn engine_panics(&self) -> u64 {
        self.engine_panics.load(Ordering::Relaxed)
    }

    /// Counts one caught engine panic.
    pub fn count_engine_panic(&self) {
        self.engine_panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that the engine restarted the music at `frame` (engine thread).
    pub fn acknowledge_restart(&self, frame: u64) {
        self.restart_frame.store(frame, Ordering::Relaxed);
        self.restart_generation.fetch_add(1, Ordering::Release);
    }

    /// Restarts carried out so far, and the frame where the newest one begins.
    pub fn restarts(&self) -> (u64, u64) {
        let generation = self.restart_generation.load(Ordering::Acquire);
        (generation, self.restart_frame.load(Ordering::Relaxed))
    }

    /// Records one block's levels (audio thread): the block's peak per channel and the smoothed
    /// RMS per channel. Non-finite or negative values are recorded as 0.
    pub fn record_levels(&self, peak: [f32; 2], rms: [f32; 2]) {
        for channel in 0..2 {
            let level = |v: f32| if v.is_finite() && v > 0.0 { v } else { 0.0 };
            self.peak_bits[channel].fetch_max(level(peak[channel]).to_bits(), Ordering::Relaxed);
            self.rms_bits[channel].store(level(rms[channel]).to_bits(), Ordering::Relaxed);
        }
    }

    /// The highest peak per channel since the last call, which starts the next period.
    pub fn take_peaks(&self) -> [f32; 2] {
        [0, 1].map(|channel| f32::from_bits(self.peak_bits[channel].swap(0, Ordering::Relaxed)))
    }

    /// The smoothed RMS level per channel (linear, 1.0 = full scale).
    pub fn rms(&self) -> [f32; 2] {
        [0, 1].map(|channel| f32::from_bits(self.rms_bits[channel].load(Ordering::Relaxed)))
    }

    /// Marks the engine thread as running or stopped.
    pub fn set_engine_running(&self, running: bool) {
        self.engine_running.store(running, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_hold_the_maximum_until_read() {
        let telemetry = Telemetry::default();
        telemetry.record_levels([0.5, 0.1], [0.2, 0.05]);
        telemetry.record_levels([0.25, 0.75], [0.1, 0.3]);
        telemetry.record_levels([f32::NAN, -3.0], [f32::INFINITY, -1.0]);
        assert_eq!(telemetry.take_peaks(), [0.5, 0.75]);
        assert_eq!(telemetry.take_peaks(), [0.0, 0.0]);
        assert_eq!(telemetry.rms(), [0.0, 0.0]);
    }
}
