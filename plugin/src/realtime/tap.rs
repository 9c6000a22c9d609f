//! The output tap: a copy of what the audio thread played, for the web monitor.
//!
//! The audio thread pushes each finished block into a wait-free ring; the monitor's thread pops
//! it at its own pace. When the ring is full (no one reading, or a slow reader) the whole block
//! is dropped and counted, never waited for: the host's audio always comes first. Dropping whole
//! blocks rather than their tails keeps what the monitor receives contiguous within a block.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rtrb::{Consumer, Producer, RingBuffer};

use super::ring::Frame;
use crate::signal::SampleRate;

/// Seconds of audio the tap holds: room for the monitor's thread to be late.
pub const TAP_SECONDS: f64 = 2.0;

/// Creates the tap for a stream at `sample_rate`, holding [`TAP_SECONDS`]. Allocates: call it
/// before audio runs.
pub fn tap_ring_for(sample_rate: SampleRate) -> (TapProducer, TapConsumer) {
    tap_ring(sample_rate.frames(TAP_SECONDS))
}

/// Creates the tap with room for `capacity_frames` frames. Allocates: call it before audio runs.
pub fn tap_ring(capacity_frames: usize) -> (TapProducer, TapConsumer) {
    let (producer, consumer) = RingBuffer::new(capacity_frames.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    (
        TapProducer {
            inner: producer,
            dropped: dropped.clone(),
        },
        TapConsumer {
            inner: consumer,
            dropped,
        },
    )
}

/// The audio thread's end.
pub struct TapProducer {
    /// Ring to the monitor.
    inner: Producer<Frame>,
    /// Frames dropped because the ring was full. Shared with the consumer for status.
    dropped: Arc<AtomicU64>,
}

impl TapProducer {
    /// Copies a block into the tap, or drops it whole if it does not fit. Wait-free.
    pub fn push_block(&mut self, left: &[f32], right: &[f32]) -> bool {
        let frames = left.len().min(right.len());
        let Ok(chunk) = self.inner.write_chunk_uninit(frames) else {
            self.dropped.fetch_add(frames as u64, Ordering::Relaxed);
            return false;
        };
        chunk.fill_from_iter(left.iter().zip(right).map(|(l, r)| [*l, *r]));
        true
    }
}

/// The monitor's end.
pub struct TapConsumer {
    /// Ring from the audio thread.
    inner: Consumer<Frame>,
    /// Frames the producer dropped.
    dropped: Arc<AtomicU64>,
}

impl TapConsumer {
    /// Frames waiting.
    pub fn queued_frames(&self) -> usize {
        self.inner.slots()
    }

    /// Moves up to `out.len()` frames into `out`; returns how many.
    pub fn pop_into(&mut self, out: &mut [Frame]) -> usize {
        super::ring::pop_frames(&mut self.inner, out)
    }

    /// Frames dropped at the producer because the tap was full.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the audio side is gone (the plugin was deactivated or the server stopped).
    pub fn is_abandoned(&self) -> bool {
        self.inner.is_abandoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_pass_whole_or_are_dropped_whole_without_allocating() {
        let (mut tx, mut rx) = tap_ring(1000);
        let left: Vec<f32> = (0..600).map(|i| i as f32).collect();
        let right: Vec<f32> = (0..600).map(|i| -(i as f32)).collect();
        let (mut first, mut second) = (false, true);
        nice_assert_no_alloc::assert_no_alloc(|| {
            first = tx.push_block(&left, &right);
            second = tx.push_block(&left, &right);
        });
        assert!(
            first && !second,
            "the second block does not fit and is dropped"
        );
        assert_eq!(rx.dropped_frames(), 600);
        let mut out = vec![[0.0; 2]; 1000];
        assert_eq!(rx.pop_into(&mut out), 600);
        assert_eq!(out[599], [599.0, -599.0]);
        // Wrapping around the end of the ring keeps the frames in order.
        assert!(tx.push_block(&left, &right));
        assert_eq!(rx.pop_into(&mut out[..300]), 300);
        assert_eq!(rx.pop_into(&mut out[300..]), 300);
        assert_eq!(out[0], [0.0, 0.0]);
        assert_eq!(out[599], [599.0, -599.0]);
        drop(tx);
        assert!(rx.is_abandoned());
    }
}
