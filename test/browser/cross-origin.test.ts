// @vitest-environment node
/**
 * A page on one origin and the Bayeux endpoint on another, in real Chromium: what
 * a site that loads cometkit from its own pages and talks to a push server on
 * another host does. jsdom has no same-origin policy, so only a browser can show
 * that CORS (with a preflighted POST), the cross-origin EventSource, the WebSocket
 * origin check and the iframe's postMessage to the page's origin all work, and that
 * an endpoint that does not allow the page's origin lets nothing through.
 */
import { expect, onTestFinished, test } from 'vitest';
import { openPage, useChromium } from '../helpers/browser-fixture.js';
import { expectCleanPage, probeSnapshot, publishFromPage, receivedNumbers, startProbe, TRANSPORTS } from '../helpers/browser-page.js';
import { startBundleServer, type BundleServer } from '../helpers/browser-server.js';

const browser = useChromium();

/** The page's server and, on another port (another origin), the endpoint's. */
async function twoOrigins(allowPage: boolean): Promise<{ site: BundleServer; api: BundleServer }> {
  const site = await startBundleServer();
  onTestFinished(() => site.stop());
  // The endpoint must know the page's origin before the page exists: allow it by function.
  const api = await startBundleServer({ server: { allowedOrigins: (origin) => allowPage && origin === site.origin } });
  onTestFinished(() => api.stop());
  return { site, api };
}

for (const name of TRANSPORTS) {
  test(`${name} works from a page on another origin the endpoint allows, with a custom header`, async () => {
    const { site, api } = await twoOrigins(true);
    const { page, problems } = await openPage(browser(), `${site.origin}/`);
    const published: unknown[] = [];
    api.comet.on('publish', ({ data }) => published.push(data));

    const start = await startProbe(page, { url: api.endpoint, transports: [name], channel: '/numbers', headers: { 'X-App': 'cross-origin' } });
    expect(start.transport).toBe(name);
    for (let n = 1; n <= 10; n++) await api.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await publishFromPage(page, '/from-page', { over: name });
    expect(published).toEqual([{ over: name }]);
    // The custom header made the browser preflight the POSTs (the handshake's too, on every transport).
    expect(api.requests.some((r) => r.method === 'OPTIONS')).toBe(true);
    expect((await probeSnapshot(page)).errors).toEqual([]);
    expectCleanPage(problems);
  });
}

test('an endpoint that does not allow the page origin refuses the handshake: no session, no connection', async () => {
  const { site, api } = await twoOrigins(false);
  const { page } = await openPage(browser(), `${site.origin}/`);
  await startProbe(page, { url: api.endpoint, channel: '/numbers', noWait: true, connectTimeout: 1_000, fallbackDelay: 100 });
  await expect.poll(async () => (await probeSnapshot(page)).errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
  const snapshot = await probeSnapshot(page);
  expect(snapshot.errors[0]).toMatchObject({ code: 'transport_failed' });
  expect(snapshot.state).not.toBe('connected');
  expect(snapshot.clientId).toBeNull();
  expect(api.comet.stats().sessions).toBe(0);
});
