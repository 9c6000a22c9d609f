// What the listener reads: what is playing (key, scale, chord, tempo, the engine's settings),
// the connection's state, and the buffer's latency. Text only; visuals.js draws.

const STATE_TEXT = {
  idle: 'press play to listen',
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting',
  closed: 'stopped',
  unauthorized: 'access token missing or wrong',
  offline: 'server unreachable',
};

const CODEC_TEXT = { pcm16: 'PCM 16-bit', opus: 'Opus' };

/** The engine's renderer as a person reads it: "cpu: CPU" is "CPU", "gpu: <adapter>" is
 *  "GPU · <adapter>" (the plugin window shows the same). */
export function rendererLabel(name) {
  if (!name) return '–';
  const [kind, ...rest] = String(name).split(': ');
  const detail = rest.join(': ').trim();
  if (rest.length === 0) return name.trim();
  if (kind === 'cpu') return 'CPU';
  if (kind === 'gpu') return detail ? `GPU · ${detail.split(' (')[0]}` : 'GPU';
  return detail || kind;
}

/** What a codec id from the server's hello means to a listener. */
export function codecLabel(codec) {
  return CODEC_TEXT[codec] ?? (codec ? String(codec) : '–');
}

export class Display {
  constructor(root) {
    const get = (id) => root.getElementById(id);
    this.fields = {
      chord: get('chord'), key: get('key'), scale: get('scale'), tempo: get('tempo'),
      listeners: get('listeners'), renderer: get('renderer'), buffer: get('buffer'),
      underruns: get('underruns'), intensity: get('intensity'), brightness: get('brightness'),
      space: get('space'), seed: get('seed'), codec: get('codec'), following: get('following'),
    };
    this.meter = get('meter');
    this.connection = get('connection');
    this.detail = get('connection-detail');
  }

  showStatus(status) {
    if (!status) return;
    const f = this.fields;
    const set = (element, text) => {
      if (element.textContent !== text) element.textContent = text;
    };
    set(f.chord, status.chord || '—');
    set(f.key, status.key || '–');
    set(f.scale, status.scale || '');
    set(f.tempo, Number.isFinite(status.tempo_bpm) ? `${Math.round(status.tempo_bpm)} bpm` : '');
    set(f.following, status.following ? `following: ${status.following}` : '');
    set(f.listeners, String(status.listeners ?? '–'));
    set(f.renderer, rendererLabel(status.renderer));
    if (status.renderer && f.renderer.title !== status.renderer) f.renderer.title = status.renderer;
    set(f.seed, String(status.seed ?? '–'));
    for (const name of ['intensity', 'brightness', 'space']) {
      const value = status[name];
      set(f[name], Number.isFinite(value) ? `${Math.round(value * 100)}%` : '–');
    }
  }

  showConnection(state, detail = '') {
    this.connection.dataset.state = state;
    this.connection.textContent = STATE_TEXT[state] ?? state;
    this.detail.textContent = state === 'live' ? '' : detail;
  }

  showStats(stats) {
    const f = this.fields;
    // Short enough for its column at any buffer depth: "180 / 200 ms" (buffered / target).
    f.buffer.textContent = stats.playing
      ? `${Math.round(stats.bufferedMs)} / ${Math.round(stats.targetMs)} ms`
      : '–';
    f.underruns.textContent = String(stats.underruns);
    f.codec.textContent = stats.playing ? codecLabel(stats.codec) : '–';
  }

  /** The level meter's value for assistive technology, 0..1. */
  showLevel(level) {
    this.meter.setAttribute('aria-valuenow', level.toFixed(2));
  }
}
