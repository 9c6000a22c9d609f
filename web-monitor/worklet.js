// The AudioWorklet processor: moves samples from the shared ring (ring.js) to the output, and
// nothing else. It runs on the audio rendering thread, so process() never allocates, logs or
// waits; the main thread does decoding, resampling and jitter-buffer tuning.
//
// Jitter buffer: after start or an underrun it outputs silence until TARGET frames are queued,
// then fades in over FADE_FRAMES; if the queue grows past LIMIT (the sender's clock is a little
// faster than ours, or a burst arrived) it skips ahead to TARGET. An underrun fades the last
// frames out so running dry never clicks.

import { CHANNELS, SLOT } from './ring.js';

const FADE_FRAMES = 256;
const UNDERRUN_FADE_FRAMES = 64;

class AuralisStreamProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { state, samples, capacity } = options.processorOptions;
    this.state = new Int32Array(state);
    this.samples = new Float32Array(samples);
    this.mask = capacity - 1;
    this.primed = false;
    this.gain = 0;
  }

  process(_inputs, outputs) {
    const output = outputs[0];
    const left = output[0];
    const right = output.length > 1 ? output[1] : null;
    const frames = left.length;
    const state = this.state;
    let read = Atomics.load(state, SLOT.READ);
    let fill = (Atomics.load(state, SLOT.WRITE) - read) >>> 0;

    if (!this.primed) {
      if (fill < Atomics.load(state, SLOT.TARGET)) {
        left.fill(0);
        if (right) right.fill(0);
        return true;
      }
      this.primed = true;
      this.gain = 0;
      Atomics.store(state, SLOT.PRIMED, 1);
    }
    if (fill > Atomics.load(state, SLOT.LIMIT)) {
      const skip = fill - Atomics.load(state, SLOT.TARGET);
      read = (read + skip) | 0;
      fill -= skip;
      Atomics.add(state, SLOT.SKIPPED, skip);
    }

    const count = fill < frames ? fill : frames;
    const samples = this.samples;
    const mask = this.mask;
    const step = 1 / FADE_FRAMES;
    let gain = this.gain;
    for (let i = 0; i < count; i++) {
      const at = ((read + i) & mask) * CHANNELS;
      if (gain < 1) gain = Math.min(1, gain + step);
      left[i] = samples[at] * gain;
      if (right) right[i] = samples[at + 1] * gain;
    }
    this.gain = gain;

    if (count < frames) {
      const fade = Math.min(count, UNDERRUN_FADE_FRAMES);
      for (let i = 0; i < fade; i++) {
        const at = count - fade + i;
        const g = 1 - (i + 1) / fade;
        left[at] *= g;
        if (right) right[at] *= g;
      }
      left.fill(0, count);
      if (right) right.fill(0, count);
      this.primed = false;
      Atomics.add(state, SLOT.UNDERRUNS, 1);
      Atomics.store(state, SLOT.PRIMED, 0);
    }
    Atomics.store(state, SLOT.READ, (read + count) | 0);
    Atomics.add(state, SLOT.PLAYED, count);
    return true;
  }
}

registerProcessor('auralis-stream', AuralisStreamProcessor);
