// @vitest-environment node
/**
 * A network drop under a real browser: every TCP connection of the page is cut
 * while the server keeps the session, and messages are published while the page
 * is away. Chromium's own reactions differ per transport (a WebSocket `close`, an
 * EventSource that would retry by itself, an iframe that fires nothing at all, a
 * `fetch` that fails); with the `ack` extension the page must still get every
 * message once, in order, on the same session and transport. Also: offline
 * (Chromium's emulation) spends no attempts and `online` reconnects at once; a
 * server restart that lost every session is followed by a new handshake and the
 * subscription renewed, on every transport.
 */
import { expect, onTestFinished, test } from 'vitest';
import { openBundlePage, useChromium } from '../helpers/browser-fixture.js';
import { expectCleanPage, numbers, probeSnapshot, receivedNumbers, startProbe, TRANSPORTS } from '../helpers/browser-page.js';
import { startBundleServer } from '../helpers/browser-server.js';

/**
 * A short backoff: a client that ignored `navigator.onLine` would make attempts within
 * the test's offline second, and one that schedules none while offline has only the
 * `online` event to bring it back.
 */
const QUICK = { initialDelay: 100, maxDelay: 100, jitter: false };
const browser = useChromium();

/** What Chromium logs when a connection is cut or refused: expected here, not a page error. */
const NETWORK_ERRORS = [/net::ERR_|Failed to load resource|ERR_CONNECTION|WebSocket connection/];

for (const name of TRANSPORTS) {
  test(`${name}: a cut connection loses nothing published meanwhile, and repeats nothing`, async () => {
    const { server, page, problems } = await openBundlePage(browser());
    const start = await startProbe(page, { url: server.endpoint, transports: [name], channel: '/numbers', reconnect: { initialDelay: 200, maxDelay: 500 } });
    expect(start.transport).toBe(name);
    for (const n of numbers(1, 10)) await server.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toHaveLength(10);

    server.dropConnections();
    for (const n of numbers(11, 20)) await server.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 15_000 }).toHaveLength(20);
    // Anything repeated would have arrived by now, behind the last one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await receivedNumbers(page)).toEqual(numbers(1, 20));

    const end = await probeSnapshot(page);
    expect(end.clientId).toBe(start.clientId);
    expect(end.transport).toBe(name);
    expect(end.state).toBe('connected');
    // The browser logs the failed requests of the cut; nothing else may appear.
    expectCleanPage(problems, NETWORK_ERRORS);
  });
}

test('offline, the client spends no attempts; back online, it reconnects at once and gets what it missed', async () => {
  const { server, page, problems } = await openBundlePage(browser());
  // Traced: an attempt made offline never reaches the server, but its WebSocket shows in the page.
  const start = await startProbe(page, { url: server.endpoint, transports: ['websocket'], channel: '/numbers', reconnect: QUICK, trace: true });
  for (const n of numbers(1, 5)) await server.comet.publish('/numbers', { n });
  await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toHaveLength(5);

  await page.context().setOffline(true);
  server.dropConnections();
  await expect.poll(async () => (await probeSnapshot(page)).state, { timeout: 10_000 }).toBe('reconnecting');
  for (const n of numbers(6, 10)) await server.comet.publish('/numbers', { n });
  const sockets = async () => (await probeSnapshot(page)).timeline.filter((e) => e === 'websocket:new').length;
  const seen = await sockets();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await sockets()).toBe(seen);

  await page.context().setOffline(false);
  await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toEqual(numbers(1, 10));
  const end = await probeSnapshot(page);
  expect(end.clientId).toBe(start.clientId);
  expect(end.state).toBe('connected');
  expectCleanPage(problems, NETWORK_ERRORS);
});

for (const name of TRANSPORTS) {
  test(`${name}: after a server restart (sessions lost) the page handshakes again, renews its subscription and receives`, async () => {
    const { server, page } = await openBundlePage(browser());
    const start = await startProbe(page, { url: server.endpoint, transports: [name], channel: '/numbers', reconnect: { initialDelay: 200, maxDelay: 500 } });
    for (const n of numbers(1, 5)) await server.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toHaveLength(5);

    const port = Number(new URL(server.origin).port);
    await server.stop();
    const restarted = await startBundleServer({ port });
    onTestFinished(() => restarted.stop());
    const renewed = new Promise<void>((resolve) => restarted.comet.on('subscribe', ({ subscription }) => subscription === '/numbers' && resolve()));
    await renewed;
    for (const n of numbers(6, 10)) await restarted.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toEqual(numbers(1, 10));
    const end = await probeSnapshot(page);
    expect(end).toMatchObject({ state: 'connected', transport: name });
    expect(end.clientId).not.toBe(start.clientId);
    expect(restarted.comet.stats().sessions).toBe(1);
  }, 60_000);
}
