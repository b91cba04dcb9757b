// @vitest-environment node
/**
 * The built CDN bundle (`dist/cometkit.min.js`, global `cometkit`) in real headless
 * Chromium against the reference server on loopback, each transport forced alone: the
 * page is served from the same origin as the Bayeux endpoint and loads the bundle with a
 * `<script src>` tag, exactly like a CDN user's page.
 *
 * Each test: connect with `transports: [name]`, check the client really runs on `name`,
 * receive a numbered sequence from a server-side publish complete and in order, then
 * publish from the page and see the server receive it. The same runs again under a strict
 * Content-Security-Policy with Trusted Types. A separate test proves the iframe
 * transport streams: each batch is handed over while the iframe document is still open.
 */
import { expect, test } from 'vitest';
import {
  expectCleanPage,
  numbers,
  probeSnapshot,
  publishFromPage,
  receivedNumbers,
  startProbe,
  TRANSPORTS,
} from '../helpers/browser-page.js';
import { openBundlePage, useChromium, type BundlePage } from '../helpers/browser-fixture.js';

const COUNT = 30;

const browser = useChromium();

/** A server and a fresh page on it, with the CDN bundle loaded. */
async function open(): Promise<BundlePage> {
  const fixture = await openBundlePage(browser());
  expect(await fixture.page.evaluate(() => typeof (window as unknown as { cometkit?: unknown }).cometkit)).toBe('object');
  return fixture;
}

for (const name of TRANSPORTS) {
  test(`${name} alone delivers a server-side sequence in order and carries a page publish to the server`, async () => {
    const { server, page, problems } = await open();
    const published: Array<{ clientId: string; channel: string; data: unknown }> = [];
    server.comet.on('publish', ({ clientId, channel, data }) => published.push({ clientId, channel, data }));

    const start = await startProbe(page, { url: server.endpoint, transports: [name], channel: '/numbers' });
    expect(start.transport).toBe(name);
    expect(start.state).toBe('connected');
    expect(start.transports).toEqual([{ transport: name, previous: null }]);

    for (const n of numbers(1, COUNT)) await server.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toHaveLength(COUNT);
    expect(await receivedNumbers(page)).toEqual(numbers(1, COUNT));

    await publishFromPage(page, '/from-page', { text: `hello over ${name}` });
    expect(published).toEqual([{ clientId: start.clientId, channel: '/from-page', data: { text: `hello over ${name}` } }]);

    const end = await probeSnapshot(page);
    expect(end.transport).toBe(name);
    expect(end.states).toEqual(['connecting', 'connected']);
    expect(end.errors).toEqual([]);
    expectCleanPage(problems);
  });
}

// A strict policy of the kind security-minded sites send: scripts only from the page's own
// origin (no inline script, no eval), connections and frames only to it, and Trusted Types,
// so no string may reach an HTML or script sink. Any violation is a console error.
const STRICT_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; frame-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'";

for (const name of TRANSPORTS) {
  test(`${name} works in a page under a strict Content-Security-Policy (no inline script, no eval, Trusted Types)`, async () => {
    const { server, page, problems } = await openBundlePage(browser(), { pageHeaders: { 'Content-Security-Policy': STRICT_CSP } });
    const start = await startProbe(page, { url: server.endpoint, transports: [name], channel: '/numbers' });
    expect(start.transport).toBe(name);
    for (const n of numbers(1, 5)) await server.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toEqual(numbers(1, 5));
    await publishFromPage(page, '/from-page', 'under CSP');
    expect((await probeSnapshot(page)).errors).toEqual([]);
    expectCleanPage(problems);
    // The policy is in force: the page itself may not run a string as script.
    const blocked = await page.evaluate(() => {
      try {
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true';
        document.body.append(script);
      } catch {
        return 'refused by Trusted Types';
      }
      return (window as unknown as { inlineRan?: boolean }).inlineRan ? 'ran' : 'refused';
    });
    expect(blocked).toBe('refused by Trusted Types');
  });
}

test('iframe hands each batch over while its document is still open', async () => {
  const { server, page, problems } = await open();
  await startProbe(page, { url: server.endpoint, transports: ['iframe'], channel: '/numbers' });

  // Lockstep: the next message is published only once the page has the previous one, so
  // every message must come through the one open document, chunk by chunk.
  for (const n of numbers(1, 10)) {
    await server.comet.publish('/numbers', { n });
    await expect.poll(() => receivedNumbers(page), { timeout: 5_000 }).toHaveLength(n);
  }
  const { received } = await probeSnapshot(page);
  expect(received.map((r) => (r.data as { n: number }).n)).toEqual(numbers(1, 10));
  for (const r of received) expect(r).toMatchObject({ frameState: 'loading', frames: 1 });
  // One stream carried all of them: the iframe was never reopened.
  expect(server.requests.filter((r) => r.kind === 'iframe')).toHaveLength(1);
  expectCleanPage(problems);
});
