//! The audio ring: stereo frames from the engine thread to the audio thread.
//!
//! A thin layer over `rtrb` that fixes the element to one stereo frame, so a frame can never be
//! torn in half, and names the two ends after what they carry.

use rtrb::{Consumer, Producer, RingBuffer};

/// One stereo sample pair, left then right.
pub type Frame = [f32; 2];

/// Creates the ring with room for `capacity_frames` frames.
///
/// Allocates: call it in `activate`, never on the audio thread.
pub fn audio_ring(capacity_frames: usize) -> (FrameProducer, FrameConsumer) {
    let (producer, consumer) = RingBuffer::new(capacity_frames.max(1));
    (
        FrameProducer { inner: producer },
        FrameConsumer { inner: consumer },
    )
}

/// The engine's end of the audio ring.
pub struct FrameProducer {
    inner: Producer<Frame>,
}

impl FrameProducer {
    /// Frames the ring can hold in total.
    pub fn capacity_frames(&self) -> usize {
        self.inner.buffer().capacity()
    }

    /// Frames written but not yet consumed by the audio thread.
    pub fn queued_frames(&self) -> usize {
        self.capacity_frames() - self.inner.slots()
    }

    /// Frames that can be pushed right now without waiting.
    pub fn free_frames(&self) -> usize {
        self.inner.slots()
    }

    /// Pushes as many leading frames of `frames` as fit and returns how many that was.
    pub fn push_frames(&mut self, frames: &[Frame]) -> usize {
        let (pushed, _rest) = self.inner.push_partial_slice(frames);
        pushed.len()
    }

    /// Whether the audio side has been dropped (the plugin was deactivated).
    pub fn is_abandoned(&self) -> bool {
        self.inner.is_abandoned()
    }
}

/// The audio thread's end of the audio ring.
pub struct FrameConsumer {
    inner: Consumer<Frame>,
}

impl FrameConsumer {
    /// Frames ready to be read.
    pub fn queued_frames(&self) -> usize {
        self.inner.slots()
    }

    /// Moves up to `left.len()` frames into the two channel slices (which must have equal
    /// lengths) and returns how many frames were read. Wait-free.
    pub fn pop_into(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let wanted = left.len().min(right.len());
        let n = wanted.min(self.inner.slots());
        let Ok(chunk) = self.inner.read_chunk(n) else {
            return 0;
        };
        let (first, second) = chunk.as_slices();
        let frames = first.iter().chain(second.iter());
        for ((l, r), frame) in left.iter_mut().zip(right.iter_mut()).zip(frames) {
            *l = frame[0];
            *r = frame[1];
        }
        chunk.commit_all();
        n
    }

    /// Moves up to `into.len()` frames into `into` and returns how many. Wait-free.
    pub fn pop_frames(&mut self, into: &mut [Frame]) -> usize {
        pop_frames(&mut self.inner, into)
    }

    /// Drops up to `frames` queued frames, returning how many: stale audio after a restart.
    pub fn discard(&mut self, frames: usize) -> usize {
        let frames = frames.min(self.inner.slots());
        match self.inner.read_chunk(frames) {
            Ok(chunk) => {
                chunk.commit_all();
                frames
            }
            Err(_) => 0,
        }
    }
}

/// Moves up to `out.len()` frames from `consumer` into `out` and returns how many: the copy
/// both frame rings read with (the audio ring and the monitor's tap). Wait-free.
pub(super) fn pop_frames(consumer: &mut Consumer<Frame>, out: &mut [Frame]) -> usize {
    let frames = out.len().min(consumer.slots());
    let Ok(chunk) = consumer.read_chunk(frames) else {
        return 0;
    };
    let (first, second) = chunk.as_slices();
    out[..first.len()].copy_from_slice(first);
    out[first.len()..frames].copy_from_slice(second);
    chunk.commit_all();
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_arrive_in_order_across_wraparound() {
        let (mut tx, mut rx) = audio_ring(8);
        let mut left = [0.0; 5];
        let mut right = [0.0; 5];
        let mut next = 0.0f32;
        let mut expected = 0.0f32;
        for _ in 0..20 {
            let frames: Vec<Frame> = (0..5)
                .map(|i| [next + i as f32, -(next + i as f32)])
                .collect();
            let pushed = tx.push_frames(&frames);
            next += pushed as f32;
            let got = rx.pop_into(&mut left, &mut right);
            for i in 0..got {
                assert_eq!(left[i], expected);
                assert_eq!(right[i], -expected);
                expected += 1.0;
            }
        }
        assert!(expected > 50.0);
        assert_eq!(tx.queued_frames(), rx.queued_frames());
    }
}
