// The listener page's wiring: connection → player → speakers, status → display, and
// `window.auralisMonitor` for tests and the curious.

import { Connection, fetchStatus } from './connection.js';
import { Controls } from './controls.js';
import { Display } from './display.js';
import { Player } from './player.js';
import { Visuals } from './visuals.js';

const STATUS_POLL_MS = 3000;
const STATS_INTERVAL_MS = 250;
const DEFAULT_RATE = 48000;

const query = new URLSearchParams(location.search);
const token = query.get('token');
const codec = query.get('codec'); // 'opus' opts in where the server offers it
const display = new Display(document);
const player = new Player();
const visuals = new Visuals(document.getElementById('visual'), document.getElementById('meter-fill'));
let streamRate = null;
let streamCodec = null;
let statusTimer = null;

const connection = new Connection(token, {
  onHello(hello) {
    streamRate = hello.sample_rate;
    streamCodec = hello.codec ?? null;
    display.showStatus(hello.status);
  },
  onStatus: (status) => display.showStatus(status),
  onPacket(header) {
    if (header.pcm) player.pushPcm16(header.pcm, header.frameCount, header.sampleRate);
    else if (header.opus) player.pushOpus(header.opus, header.sampleRate, header.sequence);
  },
  onState: (state, detail) => display.showConnection(state, detail),
}, codec);

const controls = new Controls(document, {
  onPlay() {
    stopStatusPolling();
    player.setVolume(controls.volume);
    player.start(streamRate ?? DEFAULT_RATE).then(
      () => visuals.attach(player.analyser),
      (error) => display.showConnection('closed', `audio failed: ${error}`),
    );
    connection.open();
  },
  onStop() {
    streamCodec = null;
    connection.close();
    player.stop();
    visuals.attach(null);
    display.showConnection('idle');
    startStatusPolling();
  },
  onVolume: (volume) => player.setVolume(volume),
});

async function pollStatus() {
  try {
    const status = await fetchStatus(token);
    streamRate = status.sample_rate || streamRate;
    display.showStatus(status);
    if (connection.state === 'closed') display.showConnection('idle');
  } catch (error) {
    display.showConnection(error.status === 401 ? 'unauthorized' : 'offline',
      error.status === 401 ? 'open the URL the server printed, with its ?token=' : '');
  }
}

function startStatusPolling() {
  stopStatusPolling();
  pollStatus();
  statusTimer = setInterval(pollStatus, STATUS_POLL_MS);
}

function stopStatusPolling() {
  clearInterval(statusTimer);
  statusTimer = null;
}

setInterval(() => {
  player.adapt();
  display.showStats({ ...player.stats(), codec: streamCodec });
  display.showLevel(visuals.level);
}, STATS_INTERVAL_MS);

startStatusPolling();

window.auralisMonitor = Object.freeze({
  /** {playing, bufferedMs, underruns, framesPlayed, rms, codec, …} plus the connection's
   *  state. `codec` is the stream's ('pcm16' or 'opus'), null before the server's hello. */
  stats: () => ({
    ...player.stats(),
    codec: streamCodec,
    connection: connection.state,
    reconnects: connection.reconnects,
    lostPackets: connection.lostPackets,
  }),
});
