// What the listener sees move: a soft spectrum on a canvas and a level meter, drawn from the
// player's AnalyserNode once per animation frame while playing, and a slow idle line otherwise.

const BANDS = 96;
const MIN_HZ = 30;
const MAX_HZ = 16000;
// The span of levels the picture shows, dB per analyser bin: quiet ambient music sits around
// -70..-35, so this range fills the canvas without the louder bands hitting the top.
const FLOOR_DB = -100;
const CEILING_DB = -25;

export class Visuals {
  constructor(canvas, meter) {
    this.canvas = canvas;
    this.context2d = canvas.getContext('2d');
    this.meter = meter;
    this.analyser = null;
    this.bins = null;
    this.scope = null;
    this.bands = new Float32Array(BANDS);
    this.level = 0;
    this.frame = 0;
    this.reducedMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;
    new ResizeObserver(() => this.#resize()).observe(canvas);
    this.#resize();
    this.tick = (time) => this.#loop(time);
    requestAnimationFrame(this.tick);
  }

  attach(analyser) {
    this.analyser = analyser;
    this.bins = analyser ? new Float32Array(analyser.frequencyBinCount) : null;
    this.scope = analyser ? new Float32Array(analyser.fftSize) : null;
  }

  #resize() {
    const ratio = Math.min(2, window.devicePixelRatio || 1);
    this.canvas.width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    this.canvas.height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
  }

  #loop(time) {
    requestAnimationFrame(this.tick);
    this.frame++;
    if (this.reducedMotion && this.frame % 4) return;
    const analyser = this.analyser;
    if (analyser) {
      analyser.getFloatFrequencyData(this.bins);
      this.#toBands(analyser.context.sampleRate);
      analyser.getFloatTimeDomainData(this.scope);
      let sum = 0;
      for (let i = 0; i < this.scope.length; i++) sum += this.scope[i] * this.scope[i];
      const rms = Math.sqrt(sum / this.scope.length);
      const db = 20 * Math.log10(rms + 1e-9);
      this.level += (Math.max(0, (db + 60) / 60) - this.level) * 0.25;
    } else {
      for (let i = 0; i < BANDS; i++) this.bands[i] *= 0.94;
      this.level *= 0.9;
    }
    this.meter.style.transform = `scaleX(${this.level.toFixed(3)})`;
    this.#draw(time / 1000);
  }

  /** Log-spaced bands from the analyser's linear bins, each 0..1 of the shown dB range. */
  #toBands(sampleRate) {
    const bins = this.bins;
    const binHz = sampleRate / 2 / bins.length;
    const last = bins.length - 1;
    for (let band = 0; band < BANDS; band++) {
      const lowHz = MIN_HZ * (MAX_HZ / MIN_HZ) ** (band / BANDS);
      const highHz = MIN_HZ * (MAX_HZ / MIN_HZ) ** ((band + 1) / BANDS);
      const lowBin = lowHz / binHz;
      const highBin = highHz / binHz;
      let db;
      if (highBin - lowBin < 1) {
        // Narrower than a bin (the low end): read the spectrum between bins at the band's
        // centre instead of repeating one bin's value, which drew stairs.
        const at = Math.min(last, Math.sqrt(lowBin * highBin));
        const index = Math.min(last - 1, Math.floor(at));
        const frac = at - index;
        const a = Math.max(FLOOR_DB, bins[index]);
        const b = Math.max(FLOOR_DB, bins[index + 1]);
        db = a + (b - a) * frac;
      } else {
        db = FLOOR_DB;
        const high = Math.min(bins.length, Math.ceil(highBin));
        for (let i = Math.floor(lowBin); i < high; i++) db = Math.max(db, bins[i]);
      }
      const value = Math.min(1, Math.max(0, (db - FLOOR_DB) / (CEILING_DB - FLOOR_DB)));
      this.bands[band] += (value - this.bands[band]) * 0.3;
    }
  }

  #draw(seconds) {
    const g = this.context2d;
    const { width, height } = this.canvas;
    g.clearRect(0, 0, width, height);
    const base = height * 0.92;
    const breathing = 0.02 + 0.015 * Math.sin(seconds * 0.6);
    g.beginPath();
    g.moveTo(0, base);
    for (let band = 0; band < BANDS; band++) {
      const x = (band / (BANDS - 1)) * width;
      const value = Math.max(this.bands[band], breathing);
      g.lineTo(x, base - value * base * 0.95);
    }
    g.lineTo(width, base);
    g.closePath();
    // Low to high in the hues of the layers that live there: drone, pad, texture (the window's
    // palette, style.css).
    const fill = g.createLinearGradient(0, 0, width, 0);
    fill.addColorStop(0, 'rgba(80, 168, 255, 0.55)');
    fill.addColorStop(0.5, 'rgba(157, 140, 255, 0.45)');
    fill.addColorStop(1, 'rgba(111, 227, 200, 0.4)');
    g.fillStyle = fill;
    g.shadowColor = 'rgba(157, 140, 255, 0.6)';
    g.shadowBlur = 24;
    g.fill();
    g.shadowBlur = 0;
  }
}
