//! Counters and flags shared by the audio thread, the engine thread and whoever reports status.
//!
//! Plain atomics with relaxed ordering: each value is independent and only ever read for display
//! or tests, so no ordering between them is needed.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the engine block render time histogram's buckets, besides the last,
/// unbounded one. An engine block is 256 frames, 5.3 ms at 48 kHz: the buckets are dense below
/// that budget, where a healthy renderer lives, and sparse above it, where blocks are late.
pub const BLOCK_RENDER_BUCKETS_S: [f64; 10] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.003_5, 0.005, 0.01, 0.025, 0.1,
];

/// Blocks counted per bucket of [`BLOCK_RENDER_BUCKETS_S`] (not cumulative), the last entry
/// for blocks slower than every bound, and the total render time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BlockRenderTimes {
    /// Blocks per bucket; `counts[i]` took at most `BLOCK_RENDER_BUCKETS_S[i]` and more than the
    /// bound before it.
    pub counts: [u64; BLOCK_RENDER_BUCKETS_S.len() + 1],
    /// Time spent rendering all of them, seconds.
    pub sum_s: f64,
}

/// What happened, counted where it happened. Owned in an `Arc` by the plugin; the audio thread
/// only ever sees a shared reference.
///
/// The counters are grouped by who writes them and how often, each group on cache lines of its
/// own. Side by side, the engine's per-block stores and the audio thread's could share lines,
/// and a callback would then wait for a line to come back from the engine's core (false
/// sharing): the audio thread writes only [`AudioSide`] and, every block, reads only
/// [`EngineNews`], which changes once per restart or splice.
#[derive(Debug, Default)]
pub struct Telemetry {
    audio: AudioSide,
    news: EngineNews,
    stats: EngineStats,
}

/// Written by the audio thread, every block.
///
/// 128 bytes: x86 CPUs fetch cache lines in adjacent pairs, so a 64-byte neighbour would still
/// be pulled across with this group.
#[derive(Debug, Default)]
#[repr(align(128))]
struct AudioSide {
    /// Times the audio ring ran dry while playing.
    underruns: AtomicU64,
    /// Frames handed to the host, including faded and silent ones.
    frames_played: AtomicU64,
    /// Frames the audio side took from the ring and dropped unplayed: stale audio after a
    /// restart or a splice.
    frames_skipped: AtomicU64,
    /// Highest absolute sample per channel since the meter last read it, as `f32` bits,
    /// written with `fetch_max`: for non-negative floats the bit patterns sort like the
    /// values, so the integer maximum is the float maximum.
    peak_bits: [AtomicU32; 2],
    /// Smoothed RMS level per channel, as `f32` bits.
    rms_bits: [AtomicU32; 2],
}

/// Written by the engine thread when something changes, read by the audio thread every block.
#[derive(Debug, Default)]
#[repr(align(128))]
struct EngineNews {
    /// Restarts the engine has carried out. Written (release) after `restart_frame`.
    restart_generation: AtomicU64,
    /// The engine frame where the newest restart's music begins: every frame before it in the
    /// ring is stale.
    restart_frame: AtomicU64,
    /// Splices the engine has published: re-rendered frames that replace part of the queued
    /// lead. Written (release) after `splice_from` and `splice_to`.
    splice_generation: AtomicU64,
    /// The newest splice's first stale frame: from it on, the queued frames are replaced.
    splice_from: AtomicU64,
    /// The ring frame that plays in place of `splice_from`: the replacement's first frame.
    splice_to: AtomicU64,
    /// Set while the engine thread runs its loop.
    engine_running: AtomicBool,
    /// Panics the engine thread caught and recovered from (or gave up after).
    engine_panics: AtomicU64,
}

/// Written by the engine thread every engine block, read for status and `/metrics`.
#[derive(Debug, Default)]
#[repr(align(128))]
struct EngineStats {
    /// Frames the engine has pushed into the ring.
    frames_rendered: AtomicU64,
    /// Engine blocks per render time bucket ([`BlockRenderTimes::counts`]).
    block_render_counts: [AtomicU64; BLOCK_RENDER_BUCKETS_S.len() + 1],
    /// Total engine block render time, nanoseconds (wraps after 584 years).
    block_render_ns: AtomicU64,
    /// Whether the newest engine block was rendered on the GPU, to notice a fallback.
    rendering_on_gpu: AtomicBool,
    /// Times rendering moved from the GPU to the CPU (or silence) mid-stream.
    gpu_fallbacks: AtomicU64,
}

impl Telemetry {
    /// Underruns since the instance was created.
    pub fn underruns(&self) -> u64 {
        self.audio.underruns.load(Ordering::Relaxed)
    }

    /// Counts one underrun.
    pub fn count_underrun(&self) {
        self.audio.underruns.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames played since the instance was created.
    pub fn frames_played(&self) -> u64 {
        self.audio.frames_played.load(Ordering::Relaxed)
    }

    /// Adds played frames.
    pub fn add_frames_played(&self, frames: usize) {
        self.audio
            .frames_played
            .fetch_add(frames as u64, Ordering::Relaxed);
    }

    /// Frames the engine has rendered since the instance was created.
    pub fn frames_rendered(&self) -> u64 {
        self.stats.frames_rendered.load(Ordering::Relaxed)
    }

    /// Adds rendered frames.
    pub fn add_frames_rendered(&self, frames: usize) {
        self.stats
            .frames_rendered
            .fetch_add(frames as u64, Ordering::Relaxed);
    }

    /// Whether the engine thread is running.
    pub fn engine_running(&self) -> bool {
        self.news.engine_running.load(Ordering::Relaxed)
    }

    /// Panics the engine thread has caught since the instance was created.
    pub fn engine_panics(&self) -> u64 {
        self.news.engine_panics.load(Ordering::Relaxed)
    }

    /// Counts one caught engine panic.
    pub fn count_engine_panic(&self) {
        self.news.engine_panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that the engine restarted the music at `frame` (engine thread).
    pub fn acknowledge_restart(&self, frame: u64) {
        self.news.restart_frame.store(frame, Ordering::Relaxed);
        self.news.restart_generation.fetch_add(1, Ordering::Release);
    }

    /// Restarts carried out so far, and the frame where the newest one begins.
    pub fn restarts(&self) -> (u64, u64) {
        let generation = self.news.restart_generation.load(Ordering::Acquire);
        (generation, self.news.restart_frame.load(Ordering::Relaxed))
    }

    /// Publishes a splice (engine thread): the frames queued from `from` on are stale, and
    /// the ring frame `to` (≥ `from`) and those after it replace them.
    pub fn publish_splice(&self, from: u64, to: u64) {
        self.news.splice_from.store(from, Ordering::Relaxed);
        self.news.splice_to.store(to, Ordering::Relaxed);
        self.news.splice_generation.fetch_add(1, Ordering::Release);
    }

    /// Splices published so far.
    pub fn splices(&self) -> u64 {
        self.news.splice_generation.load(Ordering::Acquire)
    }

    /// Splices published so far, and the newest one's stale and replacement frames. The engine
    /// publishes a splice only after the audio side has played past the one before, so the
    /// three values belong together.
    pub fn newest_splice(&self) -> (u64, u64, u64) {
        let generation = self.news.splice_generation.load(Ordering::Acquire);
        (
            generation,
            self.news.splice_from.load(Ordering::Relaxed),
            self.news.splice_to.load(Ordering::Relaxed),
        )
    }

    /// Records one block's levels (audio thread, the only writer): the block's peak per channel
    /// and the smoothed RMS per channel. Non-finite or negative values are recorded as 0.
    pub fn record_levels(&self, peak: [f32; 2], rms: [f32; 2]) {
        for channel in 0..2 {
            let level = |v: f32| if v.is_finite() && v > 0.0 { v } else { 0.0 };
            // A load and a store rather than `fetch_max`, which x86 runs as a locked
            // compare-exchange loop. With one writer, a reader's `take_peaks` between the two
            // can only make a peak show twice (the store puts back the larger of the two),
            // never lose this block's.
            let held = &self.audio.peak_bits[channel];
            let bits = level(peak[channel]).to_bits();
            held.store(bits.max(held.load(Ordering::Relaxed)), Ordering::Relaxed);
            self.audio.rms_bits[channel].store(level(rms[channel]).to_bits(), Ordering::Relaxed);
        }
    }

    /// The highest peak per channel since the last call, which starts the next period.
    pub fn take_peaks(&self) -> [f32; 2] {
        [0, 1]
            .map(|channel| f32::from_bits(self.audio.peak_bits[channel].swap(0, Ordering::Relaxed)))
    }

    /// The smoothed RMS level per channel (linear, 1.0 = full scale).
    pub fn rms(&self) -> [f32; 2] {
        [0, 1].map(|channel| f32::from_bits(self.audio.rms_bits[channel].load(Ordering::Relaxed)))
    }

    /// Counts frames dropped unplayed (audio thread).
    pub fn add_frames_skipped(&self, frames: usize) {
        self.audio
            .frames_skipped
            .fetch_add(frames as u64, Ordering::Relaxed);
    }

    /// Frames rendered but not yet played: how far the engine is ahead of the output. The
    /// stale frames of a splice the audio side has not reached yet count, though they will be
    /// skipped.
    pub fn lead_frames(&self) -> u64 {
        self.frames_rendered().saturating_sub(
            self.frames_played() + self.audio.frames_skipped.load(Ordering::Relaxed),
        )
    }

    /// Records one engine block (engine thread): how long it took, and whether the GPU
    /// rendered it. A block off the GPU right after one on it counts a GPU fallback; a renderer
    /// that starts on the CPU (no GPU, or `cpu` chosen) never does.
    pub fn record_block_render(&self, elapsed: Duration, on_gpu: bool) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BLOCK_RENDER_BUCKETS_S
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BLOCK_RENDER_BUCKETS_S.len());
        self.stats.block_render_counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.stats
            .block_render_ns
            .fetch_add(nanos, Ordering::Relaxed);
        if self.stats.rendering_on_gpu.swap(on_gpu, Ordering::Relaxed) && !on_gpu {
            self.stats.gpu_fallbacks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The engine block render times recorded so far.
    pub fn block_render_times(&self) -> BlockRenderTimes {
        BlockRenderTimes {
            counts: std::array::from_fn(|i| {
                self.stats.block_render_counts[i].load(Ordering::Relaxed)
            }),
            sum_s: self.stats.block_render_ns.load(Ordering::Relaxed) as f64 * 1e-9,
        }
    }

    /// Times rendering fell back from the GPU mid-stream since the instance was created.
    pub fn gpu_fallbacks(&self) -> u64 {
        self.stats.gpu_fallbacks.load(Ordering::Relaxed)
    }

    /// Marks the engine thread as running or stopped.
    pub fn set_engine_running(&self, running: bool) {
        self.news.engine_running.store(running, Ordering::Relaxed);
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

    #[test]
    fn block_render_times_land_in_their_buckets() {
        let telemetry = Telemetry::default();
        telemetry.record_block_render(Duration::from_micros(50), false);
        telemetry.record_block_render(Duration::from_micros(100), false);
        telemetry.record_block_render(Duration::from_micros(4_000), false);
        telemetry.record_block_render(Duration::from_secs(1), false);
        let times = telemetry.block_render_times();
        assert_eq!(times.counts[0], 2, "a bound is inclusive: {times:?}");
        assert_eq!(times.counts[6], 1, "4 ms is in (3.5 ms, 5 ms]: {times:?}");
        assert_eq!(times.counts[BLOCK_RENDER_BUCKETS_S.len()], 1);
        assert_eq!(times.counts.iter().sum::<u64>(), 4);
        assert!((times.sum_s - 1.004_15).abs() < 1e-9, "{}", times.sum_s);
    }

    #[test]
    fn only_leaving_the_gpu_counts_a_fallback() {
        let telemetry = Telemetry::default();
        let block = Duration::from_micros(300);
        telemetry.record_block_render(block, false);
        assert_eq!(
            telemetry.gpu_fallbacks(),
            0,
            "starting on the CPU is no fallback"
        );
        telemetry.record_block_render(block, true);
        telemetry.record_block_render(block, true);
        telemetry.record_block_render(block, false);
        telemetry.record_block_render(block, false);
        assert_eq!(telemetry.gpu_fallbacks(), 1);
    }

    #[test]
    fn the_lead_is_what_was_rendered_and_not_yet_played() {
        let telemetry = Telemetry::default();
        telemetry.add_frames_rendered(1_024);
        telemetry.add_frames_played(256);
        assert_eq!(telemetry.lead_frames(), 768);
        telemetry.add_frames_played(2_000);
        assert_eq!(
            telemetry.lead_frames(),
            0,
            "an underrun leaves no lead, not a negative one"
        );
    }
}
