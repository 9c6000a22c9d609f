// End-to-end test of the web monitor in a real headless Chromium: the page loads, shows what
// /status says, plays non-silent audio after Play without running dry, draws a spectrum that
// fills its canvas, names its codec, keeps every text at 4.5:1 contrast or better, and
// reconnects by itself when the server side closes its stream.
//
//   AURALIS_MONITOR_URL=http://127.0.0.1:8040/ node monitor.test.mjs
//
// Environment: AURALIS_MONITOR_URL (required: the page's URL, with ?token= if the server has
// one), CHROMIUM (default /usr/bin/chromium), AURALIS_TEST_TIMEOUT_S (default 90),
// AURALIS_SCREENSHOT (optional PNG path), AURALIS_MONITOR_CODEC (optional: 'opus' to test
// the Opus stream of a server built with it). Exits non-zero with a message on the first
// failure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const pageUrl = withCodec(process.env.AURALIS_MONITOR_URL, process.env.AURALIS_MONITOR_CODEC);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeoutS = Number(process.env.AURALIS_TEST_TIMEOUT_S || 90);
const PLAY_SECONDS = 3;

let passed = 0;

function withCodec(url, codec) {
  if (!url || !codec) return url;
  const withParam = new URL(url);
  withParam.searchParams.set('codec', codec);
  return withParam.href;
}
let context = null;
const userDataDir = mkdtempSync(join(tmpdir(), 'auralis-chromium-'));

async function finish(code, message) {
  if (message) console.error(message);
  console.log(`${passed} passed, ${code === 0 ? 0 : 1} failed`);
  try {
    await context?.close();
  } catch {
    // The browser may already be gone; nothing left to clean up then.
  }
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(code);
}

function check(condition, what, details) {
  if (!condition) throw new Error(`FAIL: ${what}${details === undefined ? '' : `\n  got: ${JSON.stringify(details)}`}`);
  passed++;
  console.log(`ok ${passed} - ${what}`);
}

async function waitFor(what, probe, timeoutMs = 10000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last.ok) return last;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`FAIL: timed out waiting for ${what}\n  last: ${JSON.stringify(last)}`);
}

async function serverStatus() {
  const url = new URL('status', pageUrl);
  const token = new URL(pageUrl).searchParams.get('token');
  if (token) url.searchParams.set('token', token);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`FAIL: GET /status answered ${response.status}`);
  return response.json();
}

/**
 * Runs in the page: every visible text's colour against the grounds it may sit on, the
 * worst case taken. The ground is the page's own (--bg) under each aurora glow at its full
 * strength and under all of them at once (they only ever fade from there), then each
 * background of the element's ancestors, translucent ones composited. Returns the texts
 * below 4.5:1 and how many were measured.
 */
function measureContrast() {
  const parse = (text) => [...String(text).matchAll(/rgba?\(([^)]+)\)/g)].map((m) => {
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [r, g, b, a];
  });
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
  };
  const luminance = (c) => {
    const channel = (v) => {
      const x = v / 255;
      return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  };
  const ratio = (a, b) => {
    const [la, lb] = [luminance(a), luminance(b)];
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  };
  const root = getComputedStyle(document.documentElement);
  const hex = (name) => {
    const value = root.getPropertyValue(name).trim().replace('#', '');
    return [0, 2, 4].map((i) => parseInt(value.slice(i, i + 2), 16)).concat(1);
  };
  const glows = parse(getComputedStyle(document.querySelector('.aurora')).backgroundImage)
    .filter((c) => c[3] > 0);
  // The ground, each glow on it alone, and all of them stacked: the aurora drifts, so any of
  // these may lie behind any text.
  const ground = hex('--bg');
  let stacked = ground;
  for (const glow of glows) stacked = over(glow, stacked);
  const bases = [ground, ...glows.map((glow) => over(glow, ground)), stacked];
  const failures = [];
  let measured = 0;
  for (const element of document.querySelectorAll('body *')) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = element.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(element);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    const chain = [];
    let opacity = 1;
    for (let node = element; node && node !== document.documentElement; node = node.parentElement) {
      chain.unshift(node);
      opacity *= Number(getComputedStyle(node).opacity);
    }
    let grounds = bases;
    for (const node of chain) {
      // The body's own ground is already in `bases`, under the aurora.
      if (node === document.body) continue;
      const nodeStyle = getComputedStyle(node);
      const layers = [...parse(nodeStyle.backgroundColor), ...parse(nodeStyle.backgroundImage)]
        .filter((c) => c[3] > 0);
      if (layers.length) grounds = grounds.flatMap((g) => layers.map((layer) => over(layer, g)));
    }
    const [ink] = parse(style.color);
    for (const ground of grounds) {
      const seen = over([ink[0], ink[1], ink[2], ink[3] * opacity], ground);
      const r = ratio(seen, ground);
      if (r < 4.5) {
        failures.push({ text: element.textContent.trim().slice(0, 40), color: style.color, opacity, ground: ground.map(Math.round), ratio: Number(r.toFixed(2)) });
        break;
      }
    }
    measured++;
  }
  return { failures, measured };
}

/** Runs in the page: how much of the spectrum canvas's height the drawing reaches. */
function spectrumSpan() {
  const canvas = document.getElementById('visual');
  const { width, height } = canvas;
  const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const base = height * 0.92;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (pixels[(y * width + x) * 4 + 3] > 24) return { span: (base - y) / height, top: y, height };
    }
  }
  return { span: 0, top: height, height };
}

async function main() {
  if (!pageUrl) {
    await finish(2, 'set AURALIS_MONITOR_URL to the page URL, e.g. http://127.0.0.1:8040/');
  }
  const watchdog = setTimeout(() => finish(1, `FAIL: the test took longer than ${timeoutS} s`), timeoutS * 1000);

  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });

  // 1. The page loads, isolated (the worklet's shared ring needs it), and shows /status.
  const response = await page.goto(pageUrl, { waitUntil: 'load' });
  check(response && response.ok(), 'the page loads', response && response.status());
  check(await page.evaluate(() => window.crossOriginIsolated), 'the page is cross-origin isolated');
  const status = await serverStatus();
  check(typeof status.key === 'string' && typeof status.chord === 'string', '/status has key and chord', status);
  await waitFor('the page to show key, scale and chord from /status', async () => {
    const now = await serverStatus();
    const shown = await page.evaluate(() => ({
      key: document.getElementById('key').textContent,
      scale: document.getElementById('scale').textContent,
      chord: document.getElementById('chord').textContent,
    }));
    return { ok: shown.key === now.key && shown.scale === now.scale && shown.chord === now.chord, shown, now };
  }, 10000, 250);
  passed++;
  console.log(`ok ${passed} - the page shows key, scale and chord from /status`);

  // 2. Play: audio flows, is not silent, and the jitter buffer holds.
  await page.click('#play');
  const stats = () => page.evaluate(() => window.auralisMonitor.stats());
  await waitFor('audio to start playing', async () => {
    const s = await stats();
    return { ok: s.playing && s.framesPlayed > 0, ...s };
  });
  const before = await stats();
  await page.waitForTimeout(PLAY_SECONDS * 1000);
  const after = await stats();
  const played = after.framesPlayed - before.framesPlayed;
  check(after.playing === true, 'playing is true after Play', after);
  check(after.connection === 'live', 'the stream is live', after);
  check(played > 0.8 * PLAY_SECONDS * after.contextRate,
    `framesPlayed grows in real time (${played} frames in ${PLAY_SECONDS} s at ${after.contextRate} Hz)`, { before, after });
  check(after.rms > 0.01, `the audio is not silent (rms ${after.rms.toFixed(4)})`, after);
  check(after.underruns - before.underruns <= 1, `no underruns while playing (${after.underruns - before.underruns})`, after);
  check(after.bufferedMs >= 20 && after.bufferedMs <= 1000, `the buffer holds a sane ${after.bufferedMs.toFixed(0)} ms`, after);
  const wantedCodec = process.env.AURALIS_MONITOR_CODEC || 'pcm16';
  check(after.codec === wantedCodec, `stats() names the codec (${after.codec})`, after);
  const codecShown = await page.evaluate(() => document.getElementById('codec').textContent);
  check(codecShown === { pcm16: 'PCM 16-bit', opus: 'Opus' }[wantedCodec], `the page names the codec (${codecShown})`, codecShown);
  const renderer = await page.evaluate(() => document.getElementById('renderer').textContent);
  check(!renderer.includes(':'), `the renderer reads as words (${renderer})`, renderer);
  let widest = { span: 0 };
  await waitFor('the spectrum to span at least half its canvas', async () => {
    const now = await page.evaluate(spectrumSpan);
    if (now.span > widest.span) widest = now;
    return { ok: now.span >= 0.5, ...now, widest };
  }, 10000, 100);
  passed++;
  console.log(`ok ${passed} - the spectrum spans at least half its canvas while music plays`);
  const contrast = await page.evaluate(measureContrast);
  check(contrast.measured >= 15 && contrast.failures.length === 0,
    `every text reads at 4.5:1 or better (${contrast.measured} measured)`, contrast);
  await waitFor('the page to count itself as a listener', async () => {
    const shown = await page.evaluate(() => Number(document.getElementById('listeners').textContent));
    return { ok: shown >= 1, shown };
  }, 8000, 250);
  passed++;
  console.log(`ok ${passed} - the page shows the listener count`);
  if (process.env.AURALIS_SCREENSHOT) await page.screenshot({ path: process.env.AURALIS_SCREENSHOT });

  // 3. Reconnect: route the next stream through the test, close it from the server's side,
  //    and expect the page to come back by itself and play on.
  let routed = null;
  await context.routeWebSocket(/\/stream/, (socket) => {
    socket.connectToServer();
    routed = socket;
  });
  await page.click('#play'); // Stop…
  await page.click('#play'); // …and Play again, now through the route.
  await waitFor('the routed stream to play', async () => {
    const s = await stats();
    return { ok: routed !== null && s.playing && s.framesPlayed > 0 && s.connection === 'live', ...s };
  });
  const reconnectsBefore = (await stats()).reconnects;
  await context.unrouteAll({ behavior: 'ignoreErrors' });
  await routed.close({ code: 1012, reason: 'test: server restart' });
  await waitFor('the page to reconnect and play again', async () => {
    const s = await stats();
    return { ok: s.reconnects > reconnectsBefore && s.connection === 'live', ...s };
  }, 15000);
  const resumed = await stats();
  await waitFor('audio to play again after the server closed the stream', async () => {
    const s = await stats();
    return { ok: s.framesPlayed - resumed.framesPlayed > s.contextRate && s.rms > 0.01, resumed, now: s };
  }, 10000, 200);
  passed++;
  console.log(`ok ${passed} - audio plays again after the server closed the stream`);

  // 4. The fallback for pages that are not isolated (plain http on a LAN address, where
  //    AudioWorklet and SharedArrayBuffer are unavailable) plays too.
  await page.click('#play'); // Stop the first page.
  const fallback = await context.newPage();
  fallback.on('pageerror', (error) => pageErrors.push(String(error)));
  await fallback.addInitScript(() => Object.defineProperty(window, 'crossOriginIsolated', { value: false }));
  await fallback.goto(pageUrl, { waitUntil: 'load' });
  await fallback.click('#play');
  const fallbackStats = () => fallback.evaluate(() => window.auralisMonitor.stats());
  await waitFor('the fallback player to play', async () => {
    const s = await fallbackStats();
    return { ok: s.sink === 'scheduled' && s.framesPlayed > s.contextRate && s.rms > 0.01, ...s };
  }, 10000, 200);
  passed++;
  console.log(`ok ${passed} - the scheduled-buffer fallback plays without isolation`);

  check(pageErrors.length === 0, 'the page logged no errors', pageErrors);
  clearTimeout(watchdog);
  await finish(0);
}

main().catch((error) => finish(1, error.message || String(error)));
