//! The host's transport, carried from the audio thread to the engine thread.
//!
//! The audio thread pushes one small `Copy` snapshot per block into a ring (dropping it if the
//! ring is full, never waiting); the engine drains the ring and keeps the newest. A ring rather
//! than separate atomics keeps tempo, position and the frame they refer to consistent.

use rtrb::{Consumer, Producer, RingBuffer};

/// Snapshots the ring holds; the engine drains it every few milliseconds, so this covers far more
/// blocks than can arrive in between.
pub const MAX_TRANSPORT_SNAPSHOTS: usize = 256;

/// The host's transport at the start of one block.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TransportSnapshot {
    /// Whether the host's transport is playing.
    pub playing: bool,
    /// The host's tempo, if it reports one (finite and positive).
    pub tempo_bpm: Option<f64>,
    /// The host's position in quarter-note beats at the block's first frame, if it reports one.
    pub pos_beats: Option<f64>,
    /// The plugin's own played-frame counter at the block's first frame, which ties the host's
    /// position to a point in the audio stream.
    pub at_frame: u64,
}

impl TransportSnapshot {
    /// Builds a snapshot, dropping values that are not finite or not sensible.
    pub fn new(
        playing: bool,
        tempo_bpm: Option<f64>,
        pos_beats: Option<f64>,
        at_frame: u64,
    ) -> Self {
        Self {
            playing,
            tempo_bpm: tempo_bpm.filter(|t| t.is_finite() && *t > 0.0),
            pos_beats: pos_beats.filter(|p| p.is_finite()),
            at_frame,
        }
    }
}

/// Creates the transport ring. Allocates: call it in `activate`.
pub fn transport_ring() -> (TransportProducer, TransportConsumer) {
    let (producer, consumer) = RingBuffer::new(MAX_TRANSPORT_SNAPSHOTS);
    (
        TransportProducer { inner: producer },
        TransportConsumer {
            inner: consumer,
            latest: None,
        },
    )
}

/// The audio thread's end.
pub struct TransportProducer {
    inner: Producer<TransportSnapshot>,
}

impl TransportProducer {
    /// Publishes a snapshot; if the engine has fallen behind and the ring is full, this one is
    /// dropped and the engine catches up with the next.
    pub fn publish(&mut self, snapshot: TransportSnapshot) {
        let _ = self.inner.push(snapshot);
    }
}

/// The engine's end.
pub struct TransportConsumer {
    inner: Consumer<TransportSnapshot>,
    latest: Option<TransportSnapshot>,
}

impl TransportConsumer {
    /// Drains the ring and returns the newest snapshot seen so far, if any ever arrived.
    pub fn latest(&mut self) -> Option<TransportSnapshot> {
        while let Ok(snapshot) = self.inner.pop() {
            self.latest = Some(snapshot);
        }
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_snapshot_wins_and_garbage_is_dropped() {
        let (mut tx, mut rx) = transport_ring();
        assert_eq!(rx.latest(), None);
        tx.publish(TransportSnapshot::new(true, Some(120.0), Some(0.0), 0));
        tx.publish(TransportSnapshot::new(
            true,
            Some(f64::NAN),
            Some(f64::INFINITY),
            512,
        ));
        let latest = rx.latest().expect("a snapshot arrived");
        assert_eq!(latest.at_frame, 512);
        assert_eq!(latest.tempo_bpm, None);
        assert_eq!(latest.pos_beats, None);
        // Nothing new: the last one stays.
        assert_eq!(rx.latest().map(|s| s.at_frame), Some(512));
    }

    #[test]
    fn a_full_ring_drops_instead_of_blocking() {
        let (mut tx, mut rx) = transport_ring();
        for i in 0..(MAX_TRANSPORT_SNAPSHOTS as u64 * 2) {
            tx.publish(TransportSnapshot::new(false, None, None, i));
        }
        assert_eq!(
            rx.latest().map(|s| s.at_frame),
            Some(MAX_TRANSPORT_SNAPSHOTS as u64 - 1)
        );
    }
}
