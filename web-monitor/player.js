// Playback: the AudioContext and its graph, PCM decoding, resampling, and the jitter buffer's
// tuning. The samples reach the speakers through a "sink": the AudioWorklet ring
// (WorkletSink) where the page is cross-origin isolated, else scheduled buffers
// (ScheduledSink, fallback-player.js).
//
//   sink ──┬──▶ gain (volume) ──▶ speakers
//          └──▶ analyser (level, spectrum, rms; before the volume, so it shows the stream)

import { ScheduledSink } from './fallback-player.js';
import { CHANNELS, SLOT, createRing, filledFrames } from './ring.js';

const START_TARGET_MS = 200; // jitter buffer depth to start with
const MIN_TARGET_MS = 120;
const MAX_TARGET_MS = 600;
const UNDERRUN_STEP_MS = 60; // deeper after each underrun…
const CALM_STEP_MS = 10; // …and shallower again after CALM_MS without one
const CALM_MS = 20000;
const HEADROOM_MS = 300; // fill above target + this is skipped (drift, bursts)
const MAX_PACKET_FRAMES = 16384;

class WorkletSink {
  constructor(context) {
    this.context = context;
    this.ring = createRing(context.sampleRate);
    this.state = new Int32Array(this.ring.state);
    this.samples = new Float32Array(this.ring.samples);
    this.mask = this.ring.capacity - 1;
    this.playedTotal = 0;
    this.playedSeen = 0;
  }

  static supported() {
    return (
      globalThis.crossOriginIsolated === true &&
      typeof SharedArrayBuffer !== 'undefined' &&
      typeof AudioWorkletNode !== 'undefined'
    );
  }

  async init() {
    await this.context.audioWorklet.addModule(new URL('worklet.js', import.meta.url));
    return new AudioWorkletNode(this.context, 'auralis-stream', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [CHANNELS],
      processorOptions: {
        state: this.ring.state,
        samples: this.ring.samples,
        capacity: this.ring.capacity,
      },
    });
  }

  setTarget(targetFrames, limitFrames) {
    Atomics.store(this.state, SLOT.TARGET, targetFrames);
    Atomics.store(this.state, SLOT.LIMIT, Math.min(limitFrames, this.ring.capacity - 1));
  }

  write(interleaved, frames) {
    const write = Atomics.load(this.state, SLOT.WRITE);
    if (filledFrames(this.state) + frames > this.ring.capacity) return; // full: drop, never overwrite
    const samples = this.samples;
    for (let i = 0; i < frames; i++) {
      const at = ((write + i) & this.mask) * CHANNELS;
      samples[at] = interleaved[2 * i];
      samples[at + 1] = interleaved[2 * i + 1];
    }
    Atomics.store(this.state, SLOT.WRITE, (write + frames) | 0);
  }

  bufferedFrames() {
    return filledFrames(this.state);
  }

  framesPlayed() {
    // The shared counter wraps at 2^32; accumulate its increments into a float.
    const played = Atomics.load(this.state, SLOT.PLAYED) >>> 0;
    this.playedTotal += (played - this.playedSeen) >>> 0;
    this.playedSeen = played;
    return this.playedTotal;
  }

  underruns() {
    return Atomics.load(this.state, SLOT.UNDERRUNS);
  }
}

/** Linear interpolation between stream and context rates, carrying its phase across packets. */
class LinearResampler {
  constructor(fromRate, toRate) {
    this.step = fromRate / toRate;
    this.position = 0; // in input frames, relative to the current packet's first frame
    this.last = [0, 0]; // the previous packet's last frame, at position -1
    this.output = new Float32Array(Math.ceil(MAX_PACKET_FRAMES / this.step + 2) * CHANNELS);
  }

  /** Returns [interleaved, frames] at the context rate. */
  process(input, frames) {
    let produced = 0;
    let position = this.position;
    const out = this.output;
    while (position < frames - 1 && (produced + 1) * CHANNELS <= out.length) {
      const index = Math.floor(position);
      const frac = position - index;
      for (let c = 0; c < CHANNELS; c++) {
        const a = index < 0 ? this.last[c] : input[index * CHANNELS + c];
        const b = input[(index + 1) * CHANNELS + c];
        out[produced * CHANNELS + c] = a + (b - a) * frac;
      }
      produced++;
      position += this.step;
    }
    this.position = position - frames;
    this.last = [input[(frames - 1) * CHANNELS], input[(frames - 1) * CHANNELS + 1]];
    return [out, produced];
  }
}

export class Player {
  constructor() {
    this.context = null;
    this.sink = null;
    this.analyser = null;
    this.gain = null;
    this.volume = 0.8;
    this.resampler = null;
    this.decoded = new Float32Array(MAX_PACKET_FRAMES * CHANNELS);
    this.scope = new Float32Array(2048);
    this.targetMs = START_TARGET_MS;
    this.lastUnderruns = 0;
    this.lastUnderrunAt = 0;
    this.ready = null;
  }

  /**
   * Starts audio. Call it from the click handler itself: browsers let an AudioContext run only
   * when it is created or resumed during a user gesture.
   */
  start(streamRate) {
    let context;
    try {
      // Chrome and Firefox run a context at the stream's rate, which saves resampling.
      context = new AudioContext({ sampleRate: streamRate, latencyHint: 'playback' });
    } catch {
      context = new AudioContext({ latencyHint: 'playback' });
    }
    context.resume();
    this.context = context;
    this.streamRate = streamRate;
    // The calm period that eases the jitter buffer back counts from Play, not from page load.
    this.lastUnderruns = 0;
    this.lastUnderrunAt = performance.now();
    this.ready = this.#build(context).catch((error) => {
      this.error = String(error);
      throw error;
    });
    return this.ready;
  }

  async #build(context) {
    const sink = WorkletSink.supported() ? new WorkletSink(context) : new ScheduledSink(context);
    const source = await sink.init();
    if (this.context !== context) return; // stopped meanwhile
    this.gain = context.createGain();
    this.gain.gain.value = this.volume;
    this.analyser = context.createAnalyser();
    // 4096 points: 11.7 Hz bins at 48 kHz, twice the low-end detail of 2048 for the spectrum.
    this.analyser.fftSize = 4096;
    this.analyser.smoothingTimeConstant = 0.85;
    source.connect(this.gain).connect(context.destination);
    source.connect(this.analyser);
    this.sink = sink;
    this.sinkKind = sink instanceof WorkletSink ? 'worklet' : 'scheduled';
    this.#applyTarget();
  }

  /** Feeds one PCM16 packet (`samples` interleaved stereo Int16 at `rate` Hz). */
  pushPcm16(samples, frames, rate) {
    if (!this.sink || frames > MAX_PACKET_FRAMES) return;
    const decoded = this.decoded;
    const count = frames * CHANNELS;
    for (let i = 0; i < count; i++) decoded[i] = samples[i] / 32768;
    this.#pushDecoded(frames, rate);
  }

  /** Feeds one Opus packet (`?codec=opus`), decoded by WebCodecs where the browser has it. */
  pushOpus(payload, rate, sequence) {
    if (!this.sink || typeof AudioDecoder === 'undefined') return;
    if (!this.opus) {
      this.opus = new AudioDecoder({
        output: (audio) => this.#onOpusDecoded(audio),
        error: (error) => { this.error = String(error); this.opus = null; },
      });
      this.opus.configure({ codec: 'opus', sampleRate: rate, numberOfChannels: CHANNELS });
      this.left = new Float32Array(MAX_PACKET_FRAMES);
      this.right = new Float32Array(MAX_PACKET_FRAMES);
    }
    // Every Opus packet decodes on its own; the timestamp only has to increase (µs).
    this.opus.decode(new EncodedAudioChunk({ type: 'key', timestamp: sequence * 20000, data: payload }));
  }

  #onOpusDecoded(audio) {
    const frames = Math.min(audio.numberOfFrames, MAX_PACKET_FRAMES);
    if (this.sink && audio.numberOfChannels === CHANNELS) {
      const left = this.left.subarray(0, frames);
      const right = this.right.subarray(0, frames);
      audio.copyTo(left, { planeIndex: 0, format: 'f32-planar', frameCount: frames });
      audio.copyTo(right, { planeIndex: 1, format: 'f32-planar', frameCount: frames });
      for (let i = 0; i < frames; i++) {
        this.decoded[2 * i] = left[i];
        this.decoded[2 * i + 1] = right[i];
      }
      this.#pushDecoded(frames, audio.sampleRate);
    }
    audio.close();
  }

  /** Sends the first `frames` frames of `this.decoded`, at `rate` Hz, to the sink. */
  #pushDecoded(frames, rate) {
    const decoded = this.decoded;
    let [data, length] = [decoded, frames];
    if (rate !== this.context.sampleRate) {
      if (!this.resampler || this.resamplerRate !== rate) {
        this.resampler = new LinearResampler(rate, this.context.sampleRate);
        this.resamplerRate = rate;
      }
      [data, length] = this.resampler.process(decoded, frames);
    }
    this.sink.write(data, length);
  }

  setVolume(volume) {
    this.volume = volume;
    if (this.gain) this.gain.gain.setTargetAtTime(volume, this.context.currentTime, 0.05);
  }

  /** Deepens the jitter buffer after underruns and eases it back when calm; call ~4×/s. */
  adapt() {
    if (!this.sink) return;
    const underruns = this.sink.underruns();
    const now = performance.now();
    if (underruns > this.lastUnderruns) {
      this.targetMs = Math.min(MAX_TARGET_MS, this.targetMs + UNDERRUN_STEP_MS);
      this.lastUnderrunAt = now;
      this.#applyTarget();
    } else if (now - this.lastUnderrunAt > CALM_MS && this.targetMs > MIN_TARGET_MS) {
      this.targetMs = Math.max(MIN_TARGET_MS, this.targetMs - CALM_STEP_MS);
      this.lastUnderrunAt = now - CALM_MS / 2;
      this.#applyTarget();
    }
    this.lastUnderruns = underruns;
  }

  #applyTarget() {
    const rate = this.context.sampleRate;
    const target = Math.round((this.targetMs / 1000) * rate);
    const limit = Math.round(((this.targetMs + HEADROOM_MS) / 1000) * rate);
    this.sink.setTarget(target, limit);
  }

  stop() {
    if (this.opus && this.opus.state !== 'closed') this.opus.close();
    this.opus = null;
    if (this.context) this.context.close();
    this.context = null;
    this.sink = null;
    this.analyser = null;
    this.gain = null;
    this.resampler = null;
  }

  /** Root-mean-square level of the last ~40 ms, before the volume control. */
  rms() {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(this.scope);
    let sum = 0;
    for (let i = 0; i < this.scope.length; i++) sum += this.scope[i] * this.scope[i];
    return Math.sqrt(sum / this.scope.length);
  }

  stats() {
    const sink = this.sink;
    const rate = this.context ? this.context.sampleRate : 0;
    return {
      playing: Boolean(sink) && this.context.state === 'running',
      bufferedMs: sink ? (sink.bufferedFrames() / rate) * 1000 : 0,
      targetMs: this.targetMs,
      underruns: sink ? sink.underruns() : 0,
      framesPlayed: sink ? sink.framesPlayed() : 0,
      rms: this.rms(),
      contextRate: rate,
      streamRate: this.streamRate ?? 0,
      sink: sink ? this.sinkKind : 'none',
      outputLatencyMs: this.context ? (this.context.outputLatency || this.context.baseLatency || 0) * 1000 : 0,
      error: this.error ?? null,
    };
  }
}
