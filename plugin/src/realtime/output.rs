//! The audio thread's read side: frames from the ring into the host's buffers, with a click-free
//! fade on underrun and on recovery.
//!
//! On an underrun the last frame played is held and ramped linearly to zero over
//! [`FADE_S`], so the waveform never jumps; the underrun is counted once, and playback resumes
//! with a fade-in as soon as a whole block is queued again. In realtime mode the audio thread
//! never sleeps: if the ring is short it may spin (no syscall: `Instant` reads the vDSO clock)
//! for at most [`MAX_SPIN_FRACTION`] of the block's own duration, which lets hosts that call
//! `process()` faster than real time while declaring realtime mode get gap-free audio while
//! a real-time host loses at most that slice of its budget in a genuine underrun. In offline mode
//! (a bounce) it sleeps until the engine delivers, up to [`OFFLINE_MAX_WAIT`] per block, so a
//! bounce is complete and deterministic yet a dead engine cannot hang the host.
//!
//! An engine that revises its lead (a server's, whose lead is a second long) re-renders the
//! frames not yet played when the settings change and queues them behind the stale ones; it
//! publishes a splice (`Telemetry::publish_splice`). At the first block from the splice on,
//! the stale frames are skipped and the replacement fades in over [`SPLICE_FADE_S`] while the
//! first stale ones fade out under it: the same music until the change, so no seam is heard.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ring::{Frame, FrameConsumer};
use super::telemetry::Telemetry;
use crate::signal::SampleRate;

/// Length of the fade-out on underrun and the fade-in on recovery, in seconds. Short enough to
/// lose little audio, long enough to be inaudible as a click.
pub const FADE_S: f32 = 0.004;
/// In realtime mode, the longest the audio thread spins for missing frames, as a fraction of the
/// block's duration.
pub const MAX_SPIN_FRACTION: f64 = 0.5;
/// In realtime mode, the longest the audio thread spins for the engine to acknowledge a
/// restart, as a fraction of the block's duration; the wait for frames may follow.
pub const RESTART_SPIN_FRACTION: f64 = 0.25;
/// Length of the crossfade from the stale frames to their replacement at a splice, in seconds.
pub const SPLICE_FADE_S: f32 = 0.005;
/// In offline mode, the longest the audio thread waits for the engine per block.
pub const OFFLINE_MAX_WAIT: Duration = Duration::from_secs(2);
/// Sleep between checks of the ring while waiting in offline mode.
const OFFLINE_POLL: Duration = Duration::from_micros(50);

/// How `fill` behaves when the ring holds less than a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitPolicy {
    /// Realtime host: never block; spin briefly (bounded), then fade.
    Realtime,
    /// Offline bounce: wait for the engine (bounded), then fade.
    Offline,
}

/// What one `fill` call produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillOutcome {
    /// Every frame came from the engine.
    Complete,
    /// The ring ran dry: this many trailing frames are fade-out or silence.
    Underrun {
        /// Frames not delivered by the engine.
        missing_frames: usize,
    },
}

/// Reads the audio ring on the audio thread. Built in `activate`, dropped in `deactivate`,
/// never allocates or drops anything in between.
pub struct AudioOutput {
    /// The ring the engine fills.
    consumer: FrameConsumer,
    /// Counters shared with the engine and status. Only read and incremented here; the `Arc` is
    /// dropped with the output, on the host's main thread.
    telemetry: Arc<Telemetry>,
    /// Whether to spin or sleep for missing frames.
    policy: WaitPolicy,
    /// Frames per second, for the spin budget.
    sample_rate: f32,
    /// Per-frame increment of the fade ramps.
    fade_step: f32,
    /// Gain of the fade-in after a recovery, 0..=1; 1 while healthy.
    fade_in_gain: f32,
    /// Gain of the held frame during a fade-out, 1..=0.
    fade_out_gain: f32,
    /// The last frame handed to the host, held and faded during an underrun.
    last_frame: Frame,
    /// Set from the first missing frame until a whole block is queued again.
    dry: bool,
    /// Frames taken from the ring since activation: the engine's frame index of the next frame
    /// to play, which ties the host's transport position to the engine's timeline.
    frames_consumed: u64,
    /// Restarts asked of the engine; while the engine has acknowledged fewer, the ring holds
    /// stale audio and the output plays silence.
    restarts_requested: u64,
    /// Restarts whose stale frames have been skipped.
    restarts_handled: u64,
    /// Splices (see `Telemetry::publish_splice`) played through.
    splices_handled: u64,
    /// The first stale frames of the newest splice, faded out under their replacement.
    /// Allocated with the output, [`SPLICE_FADE_S`] long.
    splice_tail: Vec<Frame>,
    /// Frames of `splice_tail` in use, and how many have been mixed in so far.
    tail_len: usize,
    tail_mixed: usize,
}

impl AudioOutput {
    /// Wraps the consumer end of the audio ring.
    pub fn new(
        consumer: FrameConsumer,
        telemetry: Arc<Telemetry>,
        policy: WaitPolicy,
        sample_rate: SampleRate,
    ) -> Self {
        let splice_fade_frames = sample_rate.frames(f64::from(SPLICE_FADE_S)).max(1);
        let sample_rate = sample_rate.hz();
        let fade_frames = (FADE_S * sample_rate).max(1.0);
        Self {
            consumer,
            telemetry,
            policy,
            sample_rate,
            fade_step: 1.0 / fade_frames,
            // Start as if recovering, so the very first block fades in from silence.
            fade_in_gain: 0.0,
            fade_out_gain: 0.0,
            last_frame: [0.0; 2],
            dry: true,
            frames_consumed: 0,
            restarts_requested: 0,
            restarts_handled: 0,
            splices_handled: 0,
            splice_tail: vec![[0.0; 2]; splice_fade_frames],
            tail_len: 0,
            tail_mixed: 0,
        }
    }

    /// The engine was asked to start the music over (see `BlockRequest::restart`). Until it
    /// acknowledges, blocks are silent; then the stale frames it rendered before the restart
    /// are skipped and the new music fades in from silence.
    pub fn request_restart(&mut self) {
        self.restarts_requested += 1;
    }

    /// Completes a pending restart if the engine has acknowledged it (waiting a bounded time).
    /// Returns false while it has not.
    fn finish_restart(&mut self, frames: usize) -> bool {
        let acknowledged =
            |output: &Self| output.telemetry.restarts().0 >= output.restarts_requested;
        if !acknowledged(self) {
            self.wait_until(frames, RESTART_SPIN_FRACTION, acknowledged);
            if !acknowledged(self) {
                return false;
            }
        }
        // The engine pushed every frame before `restart_frame` before acknowledging.
        let (_, restart_frame) = self.telemetry.restarts();
        let stale = restart_frame.saturating_sub(self.frames_consumed) as usize;
        let skipped = self.consumer.discard(stale);
        self.frames_consumed += skipped as u64;
        self.telemetry.add_frames_skipped(skipped);
        self.restarts_handled = self.restarts_requested;
        // What a splice replaced is older than the restart.
        self.splices_handled = self.telemetry.splices();
        self.tail_len = 0;
        self.dry = true;
        self.fade_in_gain = 0.0;
        self.fade_out_gain = 0.0;
        self.last_frame = [0.0; 2];
        true
    }

    /// Frames taken from the ring since activation.
    pub fn frames_consumed(&self) -> u64 {
        self.frames_consumed
    }

    /// Frames currently queued in the ring.
    pub fn queued_frames(&self) -> usize {
        self.consumer.queued_frames()
    }

    /// Fills `left` and `right` (equal lengths; extra frames of the longer one are left alone)
    /// with engine audio. Wait-free in realtime mode apart from the bounded spin.
    pub fn fill(&mut self, left: &mut [f32], right: &mut [f32]) -> FillOutcome {
        let frames = left.len().min(right.len());
        let (left, right) = (&mut left[..frames], &mut right[..frames]);
        if frames == 0 {
            return FillOutcome::Complete;
        }
        if self.restarts_handled < self.restarts_requested && !self.finish_restart(frames) {
            // The start of processing: silence until the new music is there, not an underrun.
            left.fill(0.0);
            right.fill(0.0);
            self.telemetry.add_frames_played(frames);
            return FillOutcome::Complete;
        }

        if self.splices_handled != self.telemetry.splices() {
            self.splice(frames);
        }
        if self.consumer.queued_frames() < frames {
            self.wait_until(frames, MAX_SPIN_FRACTION, |output| {
                output.consumer.queued_frames() >= frames
            });
        }
        // After an underrun, resume only with a whole block so recovery is one clean fade-in
        // rather than a stutter of partial blocks.
        let available = self.consumer.queued_frames();
        let got = if self.dry && available < frames {
            0
        } else {
            self.consumer.pop_into(left, right)
        };

        self.frames_consumed += got as u64;
        if got > 0 {
            if self.dry {
                self.dry = false;
            }
            if self.tail_mixed < self.tail_len {
                self.mix_splice_tail(&mut left[..got], &mut right[..got]);
            }
            if self.fade_in_gain < 1.0 {
                self.apply_fade_in(&mut left[..got], &mut right[..got]);
            }
            self.last_frame = [left[got - 1], right[got - 1]];
            self.fade_out_gain = 1.0;
        }

        if got == frames {
            self.telemetry.add_frames_played(frames);
            return FillOutcome::Complete;
        }

        self.fade_out(&mut left[got..], &mut right[got..]);
        self.telemetry.add_frames_played(frames);
        FillOutcome::Underrun {
            missing_frames: frames - got,
        }
    }

    /// Carries out the newest splice if this block starts at or after its first stale frame:
    /// keeps the first stale frames to fade out, skips the rest, and leaves the replacement at
    /// the front of the ring. Waits a block while the replacement is not queued yet, as long
    /// as there are stale frames left to play instead (they are still music, only older).
    fn splice(&mut self, frames: usize) {
        let (generation, from, to) = self.telemetry.newest_splice();
        let at = self.frames_consumed;
        if at < from {
            return;
        }
        let stale = to.saturating_sub(at) as usize;
        let fade = self.splice_tail.len();
        let replacement_queued = self.consumer.queued_frames() >= stale + frames;
        if !replacement_queued && stale >= frames + fade {
            return;
        }
        let tail = stale.min(fade);
        self.tail_len = self.consumer.pop_frames(&mut self.splice_tail[..tail]);
        self.tail_mixed = 0;
        let skipped = self.tail_len + self.consumer.discard(stale - self.tail_len);
        self.frames_consumed += skipped as u64;
        self.telemetry.add_frames_skipped(skipped);
        self.splices_handled = generation;
    }

    /// Fades the splice's stale frames out under the replacement fading in: both are the same
    /// music up to the change, so the sum stays level.
    fn mix_splice_tail(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = self.tail_len as f32;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            if self.tail_mixed == self.tail_len {
                break;
            }
            let gain = (self.tail_mixed + 1) as f32 / (len + 1.0);
            let [old_l, old_r] = self.splice_tail[self.tail_mixed];
            *l = *l * gain + old_l * (1.0 - gain);
            *r = *r * gain + old_r * (1.0 - gain);
            self.tail_mixed += 1;
        }
    }

    /// The ring ran dry: counts the underrun (once per dry spell) and fills the rest of the
    /// block with the last frame played, ramped down to silence.
    fn fade_out(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.dry {
            self.dry = true;
            self.telemetry.count_underrun();
        }
        self.fade_in_gain = 0.0;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            self.fade_out_gain = (self.fade_out_gain - self.fade_step).max(0.0);
            *l = self.last_frame[0] * self.fade_out_gain;
            *r = self.last_frame[1] * self.fade_out_gain;
        }
        if self.fade_out_gain == 0.0 {
            self.last_frame = [0.0; 2];
        }
    }

    fn apply_fade_in(&mut self, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            self.fade_in_gain = (self.fade_in_gain + self.fade_step).min(1.0);
            *l *= self.fade_in_gain;
            *r *= self.fade_in_gain;
        }
    }

    /// Gives the engine a bounded chance to make `ready` true: in realtime mode a spin of at
    /// most `spin_fraction` of the duration of `frames`, offline a sleep of at most
    /// [`OFFLINE_MAX_WAIT`].
    fn wait_until(&self, frames: usize, spin_fraction: f64, ready: impl Fn(&Self) -> bool) {
        match self.policy {
            WaitPolicy::Realtime => {
                // Spinning for a stopped engine would only burn the host's budget.
                if !self.telemetry.engine_running() {
                    return;
                }
                let budget_s = frames as f64 / self.sample_rate as f64 * spin_fraction;
                let budget = Duration::from_secs_f64(budget_s);
                let start = Instant::now();
                while !ready(self) && start.elapsed() < budget {
                    std::hint::spin_loop();
                }
            }
            WaitPolicy::Offline => {
                let start = Instant::now();
                while !ready(self)
                    && self.telemetry.engine_running()
                    && start.elapsed() < OFFLINE_MAX_WAIT
                {
                    std::thread::sleep(OFFLINE_POLL);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use auralis_checks::largest_step;

    use super::*;
    use crate::realtime::ring::audio_ring;

    const SR: SampleRate = SampleRate::DEFAULT;

    fn output(capacity: usize) -> (crate::realtime::FrameProducer, AudioOutput, Arc<Telemetry>) {
        let (tx, rx) = audio_ring(capacity);
        let telemetry = Arc::new(Telemetry::default());
        let out = AudioOutput::new(rx, telemetry.clone(), WaitPolicy::Realtime, SR);
        (tx, out, telemetry)
    }

    fn constant(value: f32, frames: usize) -> Vec<Frame> {
        vec![[value, -value]; frames]
    }

    #[test]
    fn underrun_fades_out_counts_once_and_recovers_with_a_fade_in() {
        let (mut tx, mut out, telemetry) = output(4096);
        let block = 128;
        let mut played = Vec::new();
        let mut left = vec![0.0; block];
        let mut right = vec![0.0; block];
        tx.push_frames(&constant(0.5, block * 4));

        nice_assert_no_alloc::assert_no_alloc(|| {
            for _ in 0..4 {
                assert_eq!(out.fill(&mut left, &mut right), FillOutcome::Complete);
            }
        });
        // The stream restarts from a fade-in, so collect only after it settled.
        for _ in 0..6 {
            let outcome = nice_assert_no_alloc::assert_no_alloc(|| out.fill(&mut left, &mut right));
            assert!(matches!(outcome, FillOutcome::Underrun { .. }));
            played.extend_from_slice(&left);
        }
        assert_eq!(telemetry.underruns(), 1, "one dry spell is one underrun");
        let fade_frames = (FADE_S * SR.hz()) as usize;
        assert!(
            played[..fade_frames / 2].iter().all(|&s| s > 0.0),
            "fades, not cuts"
        );
        assert!(
            played[fade_frames + 2..].iter().all(|&s| s == 0.0),
            "then silence"
        );
        assert!(
            largest_step(&played) < 0.01,
            "no click: {}",
            largest_step(&played)
        );

        tx.push_frames(&constant(0.5, block * 4));
        let mut resumed = Vec::new();
        for _ in 0..4 {
            assert_eq!(out.fill(&mut left, &mut right), FillOutcome::Complete);
            resumed.extend_from_slice(&left);
        }
        assert!(largest_step(&resumed) < 0.01, "recovery fades in");
        assert_eq!(*resumed.last().unwrap(), 0.5, "and reaches full level");
        assert_eq!(telemetry.underruns(), 1);
        assert_eq!(telemetry.frames_played(), 14 * block as u64);
    }

    /// Plays `blocks` blocks of `block` frames, without allocating.
    fn play(out: &mut AudioOutput, blocks: usize, block: usize) -> Vec<f32> {
        let mut played = Vec::with_capacity(blocks * block);
        let mut left = vec![0.0; block];
        let mut right = vec![0.0; block];
        for _ in 0..blocks {
            nice_assert_no_alloc::assert_no_alloc(|| out.fill(&mut left, &mut right));
            played.extend_from_slice(&left);
        }
        played
    }

    #[test]
    fn a_splice_skips_the_stale_frames_and_crossfades_into_their_replacement() {
        let (mut tx, mut out, telemetry) = output(8192);
        let fade = SR.frames(f64::from(SPLICE_FADE_S));
        // The engine rendered up to frame 2048 at 0.5, then went back to the music at frame
        // 512 and queued what replaces it (-0.5) from ring frame 2048 on.
        tx.push_frames(&constant(0.5, 2048));
        tx.push_frames(&constant(-0.5, 2048));
        telemetry.publish_splice(512, 2048);
        let played = play(&mut out, 12, 128);
        let settled = (FADE_S * SR.hz()) as usize + 1;
        assert!(
            played[settled..512].iter().all(|&s| s == 0.5),
            "up to the splice, as rendered"
        );
        assert!(
            played[512 + fade..].iter().all(|&s| s == -0.5),
            "then the replacement"
        );
        assert!(
            played[512..512 + fade].windows(2).all(|w| w[1] < w[0]),
            "crossfaded"
        );
        assert!(
            largest_step(&played) < 0.01,
            "no click: {}",
            largest_step(&played)
        );
        assert_eq!(
            out.frames_consumed(),
            12 * 128 + 1536,
            "the stale frames were skipped"
        );
        assert_eq!(telemetry.underruns(), 0);
    }

    #[test]
    fn a_splice_whose_replacement_is_late_plays_the_stale_frames_meanwhile() {
        let (mut tx, mut out, telemetry) = output(8192);
        tx.push_frames(&constant(0.5, 3000));
        telemetry.publish_splice(512, 3000);
        let waiting = play(&mut out, 6, 128);
        assert!(
            waiting[400..].iter().all(|&s| s == 0.5),
            "the stale music goes on"
        );
        assert_eq!(out.frames_consumed(), 768);
        tx.push_frames(&constant(-0.5, 2048));
        let played = play(&mut out, 12, 128);
        let fade = SR.frames(f64::from(SPLICE_FADE_S));
        assert!(
            played[fade..].iter().all(|&s| s == -0.5),
            "switched at the next block"
        );
        assert!(
            largest_step(&played) < 0.01,
            "no click: {}",
            largest_step(&played)
        );
        assert_eq!(out.frames_consumed(), 3000 + 12 * 128);
        assert_eq!(telemetry.underruns(), 0);
    }

    #[test]
    fn a_partial_block_plays_what_there_is_then_fades() {
        let (mut tx, mut out, telemetry) = output(4096);
        let mut left = vec![0.0; 256];
        let mut right = vec![0.0; 256];
        tx.push_frames(&constant(0.25, 256 + 100));
        out.fill(&mut left, &mut right);
        let outcome = out.fill(&mut left, &mut right);
        assert_eq!(
            outcome,
            FillOutcome::Underrun {
                missing_frames: 156
            }
        );
        assert!(left[..100].iter().all(|&s| s == 0.25));
        assert!(right[..100].iter().all(|&s| s == -0.25));
        assert!(largest_step(&left) < 0.01);
        assert_eq!(telemetry.underruns(), 1);
    }

    #[test]
    fn an_empty_ring_at_start_is_silence_not_garbage() {
        let (_tx, mut out, telemetry) = output(1024);
        let mut left = vec![1.0; 64];
        let mut right = vec![1.0; 64];
        out.fill(&mut left, &mut right);
        assert!(left.iter().chain(right.iter()).all(|&s| s == 0.0));
        // Never having played is not an underrun.
        assert_eq!(telemetry.underruns(), 0);
    }

    #[test]
    fn offline_waits_for_a_slow_engine() {
        let (mut tx, rx) = audio_ring(8192);
        let telemetry = Arc::new(Telemetry::default());
        telemetry.set_engine_running(true);
        let mut out = AudioOutput::new(rx, telemetry.clone(), WaitPolicy::Offline, SR);
        let producer = std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(2));
                tx.push_frames(&constant(0.1, 64));
            }
        });
        let mut left = vec![0.0; 1024];
        let mut right = vec![0.0; 1024];
        assert_eq!(out.fill(&mut left, &mut right), FillOutcome::Complete);
        producer.join().unwrap();
        assert_eq!(telemetry.underruns(), 0);
    }

    #[test]
    fn realtime_spins_briefly_for_a_faster_than_realtime_host() {
        let (mut tx, rx) = audio_ring(8192);
        let telemetry = Arc::new(Telemetry::default());
        telemetry.set_engine_running(true);
        let mut out = AudioOutput::new(rx, telemetry.clone(), WaitPolicy::Realtime, SR);
        // 2048 frames at 48 kHz is 42 ms, so the spin budget is 21 ms; the engine needs ~1 ms.
        tx.push_frames(&constant(0.1, 2048));
        let mut left = vec![0.0; 2048];
        let mut right = vec![0.0; 2048];
        out.fill(&mut left, &mut right);
        let producer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1));
            tx.push_frames(&constant(0.1, 2048));
        });
        assert_eq!(out.fill(&mut left, &mut right), FillOutcome::Complete);
        producer.join().unwrap();
        assert_eq!(telemetry.underruns(), 0);
    }
}
