//! The beat timeline: where in the music each rendered frame falls.
//!
//! Free-running, the timeline advances at the Tempo parameter. With Sync to Host on and the host
//! playing, it follows the host: the host reports its position for the ring frame the audio
//! thread was about to play, and since the engine renders ahead, the timeline extrapolates that
//! position to the frame being rendered. Small differences (tempo ramps, rounding) are pulled in
//! gently; a difference of more than [`JUMP_BEATS`] is a jump or a loop, and the timeline moves
//! there at once so the composer can re-position.

use crate::params::{MusicalSettings, TEMPO_MAX_BPM, TEMPO_MIN_BPM};
use crate::realtime::TransportSnapshot;
use crate::signal::SampleRate;

/// A host position this far (in beats) from ours is a jump, not drift.
pub const JUMP_BEATS: f64 = 0.5;
/// Fraction of a small host/engine difference corrected per block.
const PULL_IN: f64 = 0.1;

/// The timeline's answer for one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockTiming {
    /// Beat at the block's first frame.
    pub start_beat: f64,
    /// Beats per frame across the block (> 0).
    pub beats_per_frame: f64,
    /// Tempo in effect, BPM.
    pub tempo_bpm: f64,
    /// The host jumped: the music should re-position at `start_beat`.
    pub jumped: bool,
}

/// Tracks the beat position of the next frame to render.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Frames per second, as the beat arithmetic needs it.
    sample_rate: f64,
    /// Beat of the next frame to render.
    beat: f64,
    /// Ring frames rendered so far (the same count the audio thread reports consumption in).
    frames: u64,
    /// Whether the previous block followed the host.
    following_host: bool,
}

impl Timeline {
    /// A timeline at beat 0.
    pub fn new(sample_rate: SampleRate) -> Self {
        Self {
            sample_rate: f64::from(sample_rate.hz()),
            beat: 0.0,
            frames: 0,
            following_host: false,
        }
    }

    /// Starts over at beat 0 from the next frame. The frame count goes on: it ties the
    /// timeline to the frames the audio thread reports.
    pub fn restart(&mut self) {
        self.beat = 0.0;
        self.following_host = false;
    }

    /// Beat of the next frame to render.
    pub fn beat(&self) -> f64 {
        self.beat
    }

    /// Times the next `frames` frames and advances past them.
    pub fn next_block(
        &mut self,
        settings: &MusicalSettings,
        transport: Option<TransportSnapshot>,
        frames: usize,
    ) -> BlockTiming {
        let host = transport.filter(|_| settings.sync_to_host);
        let tempo_bpm = host
            .and_then(|t| t.tempo_bpm)
            .unwrap_or(settings.tempo_bpm as f64)
            .clamp(TEMPO_MIN_BPM as f64 / 4.0, TEMPO_MAX_BPM as f64 * 4.0);
        let beats_per_frame = tempo_bpm / 60.0 / self.sample_rate;

        let mut jumped = false;
        let mut start_beat = self.beat;
        let mut rate = beats_per_frame;
        match host
            .filter(|t| t.playing)
            .and_then(|t| t.pos_beats.map(|p| (t, p)))
        {
            Some((snapshot, pos_beats)) => {
                let ahead = self.frames as f64 - snapshot.at_frame as f64;
                let host_beat = pos_beats + ahead * beats_per_frame;
                let error = host_beat - self.beat;
                if !self.following_host || error.abs() > JUMP_BEATS {
                    jumped = true;
                    start_beat = host_beat;
                } else if frames > 0 {
                    rate = beats_per_frame + error * PULL_IN / frames as f64;
                }
                self.following_host = true;
            }
            None => self.following_host = false,
        }

        self.beat = start_beat + rate * frames as f64;
        self.frames += frames as u64;
        BlockTiming {
            start_beat,
            beats_per_frame: rate.max(f64::MIN_POSITIVE),
            tempo_bpm,
            jumped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: SampleRate = SampleRate::DEFAULT;

    fn settings(sync: bool) -> MusicalSettings {
        MusicalSettings {
            tempo_bpm: 60.0,
            sync_to_host: sync,
            ..MusicalSettings::default()
        }
    }

    #[test]
    fn free_running_follows_the_tempo_parameter() {
        let mut timeline = Timeline::new(SR);
        for _ in 0..1875 {
            timeline.next_block(&settings(false), None, 256);
        }
        // 1875 × 256 frames = 10 s at 60 BPM.
        assert!((timeline.beat() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn synced_follows_host_position_tempo_and_jumps() {
        let mut timeline = Timeline::new(SR);
        let s = settings(true);
        let host = |pos: f64, at: u64| TransportSnapshot::new(true, Some(120.0), Some(pos), at);
        let first = timeline.next_block(&s, Some(host(16.0, 0)), 256);
        assert!(first.jumped && first.start_beat == 16.0);
        assert!((first.tempo_bpm - 120.0).abs() < 1e-9);
        // The engine rendered 256 frames ahead; the host still reports frame 0.
        let second = timeline.next_block(&s, Some(host(16.0, 0)), 256);
        assert!(!second.jumped);
        assert!((second.start_beat - (16.0 + 256.0 * 2.0 / f64::from(SR.hz()))).abs() < 1e-9);
        // A loop back to bar 1.
        let looped = timeline.next_block(&s, Some(host(0.0, 512)), 256);
        assert!(looped.jumped && looped.start_beat == 0.0);
    }

    #[test]
    fn a_stopped_host_or_sync_off_free_runs() {
        let mut timeline = Timeline::new(SR);
        let stopped = TransportSnapshot::new(false, Some(100.0), Some(40.0), 0);
        let timing = timeline.next_block(&settings(true), Some(stopped), 480);
        assert!(!timing.jumped && timing.start_beat == 0.0);
        assert!(
            (timing.tempo_bpm - 100.0).abs() < 1e-9,
            "still the host's tempo"
        );
        let playing = TransportSnapshot::new(true, Some(100.0), Some(40.0), 0);
        let timing = timeline.next_block(&settings(false), Some(playing), 480);
        assert!(!timing.jumped);
        assert!((timing.tempo_bpm - 60.0).abs() < 1e-9);
    }

    #[test]
    fn small_drift_is_pulled_in_without_a_jump() {
        let mut timeline = Timeline::new(SR);
        let s = settings(true);
        timeline.next_block(
            &s,
            Some(TransportSnapshot::new(true, Some(60.0), Some(0.0), 0)),
            480,
        );
        let mut last_error = f64::MAX;
        for block in 1..200u64 {
            // The host is 0.1 beat ahead of what the engine expects.
            let pos = 0.1 + (block * 480) as f64 / f64::from(SR.hz()) - 0.0;
            let snapshot = TransportSnapshot::new(true, Some(60.0), Some(pos), block * 480);
            let timing = timeline.next_block(&s, Some(snapshot), 480);
            assert!(!timing.jumped);
            last_error = (pos - timing.start_beat).abs();
        }
        assert!(last_error < 1e-3, "converged: {last_error}");
    }
}
