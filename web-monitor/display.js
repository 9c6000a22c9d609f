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

export class Display {
  constructor(root) {
    const get = (id) => root.getElementById(id);
    this.fields = {
      chord: get('chord'), key: get('key'), scale: get('scale'), tempo: get('tempo'),
      listeners: get('listeners'), renderer: get('renderer'), buffer: get('buffer'),
      underruns: get('underruns'), intensity: get('intensity'), brightness: get('brightness'),
      space: get('space'), seed: get('seed'),
    };
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
    set(f.listeners, String(status.listeners ?? '–'));
    set(f.renderer, status.renderer || '–');
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
    f.buffer.textContent = stats.playing
      ? `${Math.round(stats.bufferedMs)} ms (target ${Math.round(stats.targetMs)})`
      : '–';
    f.underruns.textContent = String(stats.underruns);
  }
}
