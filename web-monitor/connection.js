// The connection to the server: the /stream WebSocket with automatic reconnection, the binary
// packet header (PROTOCOL.md), and /status polling while not playing.

export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 24;
const MAGIC = 'AURL';
const CODEC_PCM16 = 0;
const CODEC_OPUS = 1;

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15000;
const STABLE_MS = 5000; // a connection that lasted this long resets the backoff
const SILENCE_TIMEOUT_MS = 12000; // no message for this long (heartbeat is 5 s): reconnect

/**
 * Splits a binary message into its header fields and payload, or returns null when it is not
 * a packet of this protocol version.
 */
export function parsePacket(buffer) {
  if (buffer.byteLength < HEADER_BYTES) return null;
  const view = new DataView(buffer);
  const magic = String.fromCharCode(
    view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== MAGIC || view.getUint8(4) !== PROTOCOL_VERSION) return null;
  const header = {
    codec: view.getUint8(5),
    channels: view.getUint8(6),
    flags: view.getUint8(7),
    sampleRate: view.getUint32(8, true),
    frameCount: view.getUint32(12, true),
    sequence: Number(view.getBigUint64(16, true)),
  };
  if (header.codec === CODEC_PCM16) {
    const samples = header.frameCount * header.channels;
    if (HEADER_BYTES + samples * 2 > buffer.byteLength) return null;
    // The payload starts at byte 24, so it can be viewed in place (little-endian hosts; all
    // browsers in use are).
    header.pcm = new Int16Array(buffer, HEADER_BYTES, samples);
  } else if (header.codec === CODEC_OPUS) {
    header.opus = new Uint8Array(buffer, HEADER_BYTES);
  }
  return header;
}

/** Adds the page's token (if any) to a same-origin URL. */
export function withToken(path, token, base = location.href) {
  const url = new URL(path, base);
  if (token) url.searchParams.set('token', token);
  return url;
}

/** GET /status; resolves to the JSON or rejects with an Error whose `status` is set. */
export async function fetchStatus(token) {
  const response = await fetch(withToken('status', token), { cache: 'no-store' });
  if (!response.ok) {
    const error = new Error(`status ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

export class Connection {
  /**
   * handlers: onHello(message), onStatus(message), onPacket(header), onState(state, detail)
   * where state is 'connecting' | 'live' | 'reconnecting' | 'closed'. `codec` is 'pcm16'
   * (default) or 'opus' (servers built with Opus).
   */
  constructor(token, handlers, codec = null) {
    this.token = token;
    this.codec = codec;
    this.handlers = handlers;
    this.socket = null;
    this.wanted = false;
    this.attempt = 0;
    this.reconnects = 0;
    this.timer = null;
    this.watchdog = null;
    this.state = 'closed';
    this.lastSequence = null;
    this.lostPackets = 0;
  }

  open() {
    this.wanted = true;
    this.attempt = 0;
    this.#connect();
  }

  close() {
    this.wanted = false;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    if (this.socket) this.socket.close(1000, 'listener stopped');
    this.socket = null;
    this.#setState('closed');
  }

  #setState(state, detail = '') {
    this.state = state;
    this.handlers.onState(state, detail);
  }

  #connect() {
    const url = withToken('stream', this.token);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.codec) url.searchParams.set('codec', this.codec);
    this.#setState(this.attempt === 0 ? 'connecting' : 'reconnecting', 'connecting…');
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    let openedAt = 0;
    let lastMessageAt = performance.now();

    socket.onopen = () => {
      openedAt = performance.now();
      this.lastSequence = null;
      this.#setState('live');
    };
    socket.onmessage = (event) => {
      lastMessageAt = performance.now();
      if (typeof event.data === 'string') {
        this.#onText(event.data);
        return;
      }
      const header = parsePacket(event.data);
      if (!header) return;
      if (this.lastSequence !== null && header.sequence > this.lastSequence + 1) {
        this.lostPackets += header.sequence - this.lastSequence - 1;
      }
      this.lastSequence = header.sequence;
      this.handlers.onPacket(header);
    };
    socket.onclose = (event) => {
      clearInterval(this.watchdog);
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.wanted) return;
      if (openedAt && performance.now() - openedAt > STABLE_MS) this.attempt = 0;
      this.#scheduleReconnect(event.reason || (openedAt ? 'connection lost' : 'cannot connect'));
    };
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      if (performance.now() - lastMessageAt > SILENCE_TIMEOUT_MS) socket.close(4002, 'silent');
    }, 1000);
  }

  #onText(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === 'hello') {
      if (message.protocol_version !== PROTOCOL_VERSION) {
        this.wanted = false;
        this.socket.close(1000, 'protocol mismatch');
        this.#setState('closed', `server speaks protocol ${message.protocol_version}; reload the page`);
        return;
      }
      this.handlers.onHello(message);
    } else if (message.type === 'status') {
      this.handlers.onStatus(message);
    }
  }

  #scheduleReconnect(reason) {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
    const jittered = delay * (0.8 + 0.4 * Math.random());
    this.attempt++;
    this.reconnects++;
    this.#setState('reconnecting', `${reason} — retrying in ${(jittered / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => {
      if (this.wanted) this.#connect();
    }, jittered);
  }
}
