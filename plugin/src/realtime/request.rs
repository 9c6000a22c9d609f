//! Block requests: what the audio thread asks of the engine, one small `Copy` message per block.
//!
//! Each `process()` call pushes a [`BlockRequest`]: how many frames the audio thread has asked for
//! in total, the parameter values and the host transport as they were for that block. The engine
//! renders in response to requests, in their order, with the settings they carry, always a fixed
//! lead ahead of the newest one. That makes the music depend only on the sequence of blocks and
//! parameter values the host sent, never on how fast it sent them: an automated bounce is the
//! same every time, whether the host renders in real time, faster, or pauses.
//!
//! Pushing never waits. If the ring is full (the engine has stalled), the newest request is kept
//! aside and pushed with the next block; intermediate ones are superseded, since the newest
//! carries everything the engine needs.

use std::thread::Thread;

use rtrb::{Consumer, Producer, RingBuffer};

use super::transport::TransportSnapshot;
use crate::params::MusicalSettings;

/// Requests the ring holds: far more blocks than can arrive while the engine renders one.
pub const MAX_BLOCK_REQUESTS: usize = 512;

/// What the audio thread asked for at the start of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockRequest {
    /// Frames the audio thread has asked for since activation, this block included.
    pub until_frame: u64,
    /// Parameter values for this block.
    pub settings: MusicalSettings,
    /// The host transport at this block's first frame (its `at_frame`).
    pub transport: TransportSnapshot,
    /// The host (re)started processing: the music starts over from its beginning with these
    /// settings, from the next frame the engine renders.
    pub restart: bool,
}

/// Creates the request ring. Allocates: call it in `activate`.
pub fn request_ring() -> (RequestProducer, RequestConsumer) {
    let (producer, consumer) = RingBuffer::new(MAX_BLOCK_REQUESTS);
    (
        RequestProducer {
            inner: producer,
            held: None,
            waker: None,
        },
        RequestConsumer { inner: consumer },
    )
}

/// The audio thread's end.
pub struct RequestProducer {
    /// The ring into the engine.
    inner: Producer<BlockRequest>,
    /// The newest request that did not fit, pushed before anything else next time.
    held: Option<BlockRequest>,
    /// The engine thread, woken after each request in offline mode only: waking is a syscall,
    /// which a bounce may afford and a realtime callback may not.
    waker: Option<Thread>,
}

impl RequestProducer {
    /// Wakes `thread` after every request (offline mode). Call before processing starts.
    pub fn wake_after_requests(&mut self, thread: Thread) {
        self.waker = Some(thread);
    }

    /// Sends a request. Never blocks; if the engine has fallen far behind, the request is held
    /// and superseded by newer ones until there is room again.
    pub fn publish(&mut self, request: BlockRequest) {
        if let Some(held) = self.held.take()
            && self.inner.push(held).is_err()
        {
            // A restart must survive being superseded.
            self.held = Some(BlockRequest {
                restart: request.restart || held.restart,
                ..request
            });
            return;
        }
        if self.inner.push(request).is_err() {
            self.held = Some(request);
        }
        if let Some(thread) = &self.waker {
            thread.unpark();
        }
    }
}

/// The engine's end.
pub struct RequestConsumer {
    /// The ring from the audio thread.
    inner: Consumer<BlockRequest>,
}

impl RequestConsumer {
    /// The oldest request not yet handled, if any.
    pub fn pop(&mut self) -> Option<BlockRequest> {
        self.inner.pop().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(until_frame: u64) -> BlockRequest {
        BlockRequest {
            until_frame,
            settings: MusicalSettings::default(),
            transport: TransportSnapshot::new(false, None, None, until_frame),
            restart: false,
        }
    }

    #[test]
    fn requests_arrive_in_order() {
        let (mut tx, mut rx) = request_ring();
        assert_eq!(rx.pop(), None);
        for i in 1..=3 {
            tx.publish(request(i * 512));
        }
        let order: Vec<u64> = std::iter::from_fn(|| rx.pop().map(|r| r.until_frame)).collect();
        assert_eq!(order, [512, 1024, 1536]);
    }

    #[test]
    fn a_full_ring_keeps_the_newest_request_without_blocking() {
        let (mut tx, mut rx) = request_ring();
        let sent = MAX_BLOCK_REQUESTS as u64 * 2;
        let template = request(0);
        nice_assert_no_alloc::assert_no_alloc(|| {
            for i in 1..=sent {
                tx.publish(BlockRequest {
                    until_frame: i,
                    ..template
                });
            }
        });
        let mut last = 0;
        while let Some(r) = rx.pop() {
            assert!(r.until_frame > last, "in order");
            last = r.until_frame;
        }
        assert_eq!(last, MAX_BLOCK_REQUESTS as u64, "the ring filled up");
        // The next block delivers the held (newest) request before its own.
        tx.publish(request(sent + 1));
        assert_eq!(rx.pop().map(|r| r.until_frame), Some(sent));
        assert_eq!(rx.pop().map(|r| r.until_frame), Some(sent + 1));
    }
}
