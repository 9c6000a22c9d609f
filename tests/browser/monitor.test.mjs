// End-to-end test of the web monitor in a real headless Chromium: the page loads, shows what
// /status says, plays non-silent audio after Play without running dry, and reconnects by
// itself when the server side closes its stream.
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
