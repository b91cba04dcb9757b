// @vitest-environment node
/**
 * Auto mode (no `transports` option) of the built CDN bundle in real headless Chromium
 * when the network breaks WebSocket, the way corporate proxies do:
 * - upgrades refused outright (`403 Forbidden`): the client falls through to the next
 *   transport at once;
 * - upgrades swallowed (TCP accepted, never answered): the staggered race starts the next
 *   transport after `fallbackDelay` while the WebSocket attempt is still pending.
 * Either way messages still arrive complete and in order. Timing is checked by behaviour
 * (the server's request log, the client's event sequence), never by the clock.
 * With WebSocket as the only transport, a hung upgrade must be given up after
 * `connectTimeout` and retried.
 */
import { expect, test } from 'vitest';
import {
  expectCleanPage,
  numbers,
  probeSnapshot,
  publishFromPage,
  receivedNumbers,
  startProbe,
} from '../helpers/browser-page.js';
import { openBundlePage, useChromium, type BundlePage } from '../helpers/browser-fixture.js';
import type { UpgradePolicy } from '../helpers/browser-server.js';

const COUNT = 30;
/** Chromium's own console line for a WebSocket that did not open: expected when WebSocket is broken on purpose. */
const WEBSOCKET_FAILED = /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/cometd' failed/;

const browser = useChromium();
const open = (upgrades: UpgradePolicy) => openBundlePage(browser(), { upgrades });

/** Server publishes 1..COUNT; the page must get all of them, in order; then a page publish reaches the server. */
async function expectDeliveryBothWays({ server, page }: BundlePage): Promise<void> {
  for (const n of numbers(1, COUNT)) await server.comet.publish('/numbers', { n });
  await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toHaveLength(COUNT);
  expect(await receivedNumbers(page)).toEqual(numbers(1, COUNT));

  const published: unknown[] = [];
  const off = server.comet.on('publish', ({ channel, data }) => published.push({ channel, data }));
  await publishFromPage(page, '/from-page', { text: 'still talking' });
  off();
  expect(published).toEqual([{ channel: '/from-page', data: { text: 'still talking' } }]);
}

test('auto mode falls back from a refused WebSocket upgrade and still delivers in order', async () => {
  const fixture = await open('refuse');
  const { server, page, problems } = fixture;

  const start = await startProbe(page, { url: server.endpoint, channel: '/numbers' });
  expect(start.transport).not.toBeNull();
  expect(start.transport).not.toBe('websocket');
  expect(start.transports).toEqual([{ transport: start.transport, previous: null }]);
  expect(start.states).toEqual(['connecting', 'connected']);
  // WebSocket really was tried (and refused) before the transport that won.
  const firstUpgrade = server.requests.findIndex((r) => r.kind === 'upgrade');
  expect(firstUpgrade).toBeGreaterThanOrEqual(0);
  expect(server.requests.slice(firstUpgrade + 1).some((r) => r.kind !== 'upgrade')).toBe(true);

  await expectDeliveryBothWays(fixture);
  expect((await probeSnapshot(page)).transport).toBe(start.transport);
  expectCleanPage(problems, [WEBSOCKET_FAILED]);
});

test('auto mode starts the next transport after fallbackDelay while a WebSocket upgrade hangs', async () => {
  const fixture = await open('hang');
  const { server, page, problems } = fixture;

  // connectTimeout far beyond this test's timeout: only the staggered race (fallbackDelay)
  // can get this client connected in time, never the hung WebSocket timing out.
  const start = await startProbe(page, {
    url: server.endpoint,
    channel: '/numbers',
    fallbackDelay: 300,
    connectTimeout: 60_000,
    trace: true,
  });
  expect(start.transport).toBe('sse');
  // Straight to the fallback: no failed transport in between, no reconnect cycle.
  expect(start.transports).toEqual([{ transport: 'sse', previous: null }]);
  expect(start.states).toEqual(['connecting', 'connected']);
  expect(start.errors).toEqual([]);
  // The race, step by step: SSE (next in the default order) was started while the
  // WebSocket was still pending, and the WebSocket was closed only once SSE had won.
  expect(start.timeline).toEqual([
    'state:connecting',
    'websocket:new',
    'eventsource:new',
    'websocket:close',
    'transport:sse',
    'state:connected',
  ]);
  expect(server.requests.filter((r) => r.kind === 'upgrade')).toHaveLength(1);

  await expectDeliveryBothWays(fixture);
  expect((await probeSnapshot(page)).transport).toBe('sse');
  expectCleanPage(problems, [WEBSOCKET_FAILED]);
});

// Regression: `connectTimeout` is documented as "a transport that has not completed a
// /meta/connect round trip within this time is abandoned, even if it opened". src/link.ts
// once armed that deadline only after the transport reported open, so a WebSocket whose
// upgrade was never answered kept the client 'connecting' forever: no error, no retry.
test('websocket alone abandons a hung upgrade after connectTimeout and tries again', async () => {
  const { server, page, problems } = await open('hang');
  await startProbe(page, {
    url: server.endpoint,
    channel: '/numbers',
    transports: ['websocket'],
    connectTimeout: 1000,
    reconnect: { initialDelay: 100, maxDelay: 200 },
    noWait: true,
  });
  await expect
    .poll(() => server.requests.filter((r) => r.kind === 'upgrade').length, {
      timeout: 4_000,
      message: 'a second WebSocket upgrade after the first one hung for connectTimeout (1000 ms)',
    })
    .toBeGreaterThanOrEqual(2);
  const { states, errors } = await probeSnapshot(page);
  expect(states.slice(0, 2)).toEqual(['connecting', 'reconnecting']);
  expect(errors.length).toBeGreaterThan(0);
  expectCleanPage(problems, [WEBSOCKET_FAILED]);
});

test('once WebSocket works again, a client that fell back moves to it after upgradeDelay, mid-stream, losing and repeating nothing', async () => {
  const { server, page, problems } = await open('refuse');
  const start = await startProbe(page, { url: server.endpoint, channel: '/numbers', upgradeDelay: 1_000 });
  expect(start.transport).not.toBe('websocket');
  server.setUpgrades('accept');

  // Publish throughout the switch: every 20 ms until the page is on WebSocket, then 20 more.
  let n = 0;
  while ((await probeSnapshot(page)).transport !== 'websocket') {
    await server.comet.publish('/numbers', { n: ++n });
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (n > 500) throw new Error('never moved to WebSocket');
  }
  const switchedAt = n;
  for (let i = 0; i < 20; i++) await server.comet.publish('/numbers', { n: ++n });
  await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toHaveLength(n);
  expect(await receivedNumbers(page)).toEqual(numbers(1, n));
  expect(switchedAt).toBeGreaterThan(10); // messages were flowing on the old transport when it switched

  const end = await probeSnapshot(page);
  expect(end.transports).toEqual([
    { transport: start.transport, previous: null },
    { transport: 'websocket', previous: start.transport },
  ]);
  expect(end.clientId).toBe(start.clientId);
  expect(end.states).toEqual(['connecting', 'connected']);
  expectCleanPage(problems, [WEBSOCKET_FAILED]);
});
