// Playback without an AudioWorklet, for pages that are not a secure context (a phone opening
// http://192.168.x.y:8040): AudioWorklet and SharedArrayBuffer need https or localhost, but
// scheduled AudioBufferSourceNodes work everywhere. Each packet becomes a buffer started
// exactly where the previous one ends, TARGET seconds ahead of the clock: that lead is the
// jitter buffer. Same interface as the worklet sink in player.js.

export class ScheduledSink {
  constructor(context) {
    this.context = context;
    this.output = context.createGain();
    this.nextTime = 0;
    this.targetS = 0.2;
    this.limitS = 0.5;
    this.scheduledFrames = 0;
    this.underrunCount = 0;
    this.started = false;
  }

  async init() {
    return this.output;
  }

  setTarget(targetFrames, limitFrames) {
    this.targetS = targetFrames / this.context.sampleRate;
    this.limitS = limitFrames / this.context.sampleRate;
  }

  /** Schedules `frames` interleaved stereo frames from `interleaved`. */
  write(interleaved, frames) {
    const now = this.context.currentTime;
    if (this.nextTime < now) {
      if (this.started) this.underrunCount++;
      this.started = true;
      this.nextTime = now + this.targetS;
    }
    if (this.nextTime - now > this.limitS) return; // too far ahead: skip this packet
    const buffer = this.context.createBuffer(2, frames, this.context.sampleRate);
    const left = buffer.getChannelData(0);
    const right = buffer.getChannelData(1);
    for (let i = 0; i < frames; i++) {
      left[i] = interleaved[2 * i];
      right[i] = interleaved[2 * i + 1];
    }
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output);
    source.start(this.nextTime);
    this.nextTime += frames / this.context.sampleRate;
    this.scheduledFrames += frames;
  }

  bufferedFrames() {
    return Math.max(0, this.nextTime - this.context.currentTime) * this.context.sampleRate;
  }

  framesPlayed() {
    return Math.max(0, this.scheduledFrames - this.bufferedFrames());
  }

  underruns() {
    return this.underrunCount;
  }
}
