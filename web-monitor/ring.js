// The audio queue between the page's main thread (the only writer) and the AudioWorklet (the
// only reader): a SharedArrayBuffer ring of interleaved stereo float samples plus a few Int32
// counters, after web-audio-samples' free-queue. No messages, no allocation per block.
//
// WRITE and READ are free-running uint32 frame positions (stored as int32): the fill level is
// `(write - read) >>> 0` and a frame's slot is `position & (capacity - 1)`, which stays right
// across the 2^32 wrap because the capacity is a power of two.

export const CHANNELS = 2;

/** Index of each Int32 counter in the state array. */
export const SLOT = Object.freeze({
  WRITE: 0, // frames written, by the main thread
  READ: 1, // frames consumed, by the worklet
  UNDERRUNS: 2, // times the worklet ran dry while playing
  PLAYED: 3, // frames actually played from the ring (wraps at 2^32)
  TARGET: 4, // frames to buffer before (re)starting: the jitter buffer's depth
  LIMIT: 5, // above this fill the worklet skips ahead to TARGET (clock drift, bursts)
  SKIPPED: 6, // frames skipped that way
  PRIMED: 7, // 1 while the worklet is playing from the ring, 0 while it buffers
});
const SLOT_COUNT = 8;

/** A ring holding about 3 s at `sampleRate`, as shareable buffers for the worklet. */
export function createRing(sampleRate) {
  let capacity = 1024;
  while (capacity < sampleRate * 3) capacity *= 2;
  return {
    capacity,
    state: new SharedArrayBuffer(SLOT_COUNT * 4),
    samples: new SharedArrayBuffer(capacity * CHANNELS * 4),
  };
}

/** Frames waiting in the ring. */
export function filledFrames(state) {
  return (Atomics.load(state, SLOT.WRITE) - Atomics.load(state, SLOT.READ)) >>> 0;
}
