// @vitest-environment node
/**
 * The CDN bundle in real Chromium against CometD's own Node server
 * (`cometd-nodejs-server`), same origin: the server finds a session by its
 * `BAYEUX_BROWSER` cookie as well as by clientId, which only a browser sends
 * on its own (the Node interop tests need a fetch that keeps cookies). Two
 * pages in one browser context share the cookie, as two tabs do.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCometDServer } from 'cometd-nodejs-server';
import { expect, onTestFinished, test } from 'vitest';
import { openPage, useChromium } from '../helpers/browser-fixture.js';
import { expectCleanPage, probeSnapshot, publishFromPage, receivedNumbers, startProbe } from '../helpers/browser-page.js';
import { BUNDLE_PATH } from '../helpers/browser-server.js';

const browser = useChromium();

const PAGE = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>cometkit and CometD</title></head><body><script src="/cometkit.min.js"></script></body></html>';

/** The test page, the bundle and, under /cometd, CometD's server, on one origin. */
async function startSite() {
  const cometd = createCometDServer({ timeout: 2000 });
  const advice: Array<Record<string, unknown>> = [];
  cometd.addExtension({
    outgoing(_server, _sender, _session, message, callback) {
      if (message.advice) advice.push(message.advice);
      callback(undefined, true);
    },
  });
  const bundle = await readFile(BUNDLE_PATH);
  const server = http.createServer((req, res) => {
    if (req.url === '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
    if (req.url === '/cometkit.min.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    if (req.url?.startsWith('/cometd')) return cometd.handle(req, res);
    if (req.url === '/favicon.ico') return res.writeHead(204).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    cometd.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { cometd, advice, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('connects with the default options on long-polling and delivers both ways, on its cookie', async () => {
  const { cometd, origin } = await startSite();
  const { page, problems } = await openPage(browser(), `${origin}/`);
  const start = await startProbe(page, { url: '/cometd', channel: '/numbers' });
  expect(start.transport).toBe('long-poll');
  const channel = cometd.createServerChannel('/numbers');
  for (let n = 1; n <= 10; n++) channel.publish(null, { n });
  await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // A publish from the page comes back to it through the server.
  await publishFromPage(page, '/numbers', { n: 11 });
  await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toHaveLength(11);
  // The session was found through the browser's cookie: one handshake, no 402.
  const snapshot = await probeSnapshot(page);
  expect(snapshot.errors).toEqual([]);
  expect(snapshot.state).toBe('connected');
  expect((await page.context().cookies()).map((c) => c.name)).toContain('BAYEUX_BROWSER');
  expectCleanPage(problems);
});

test('two tabs on one cookie both keep delivering (the server tells one of them to poll)', async () => {
  const { cometd, advice, origin } = await startSite();
  const { page: first, problems } = await openPage(browser(), `${origin}/`);
  const second = await first.context().newPage();
  await second.goto(`${origin}/`);
  await startProbe(first, { url: '/cometd', channel: '/numbers' });
  await startProbe(second, { url: '/cometd', channel: '/numbers' });
  const channel = cometd.createServerChannel('/numbers');
  for (let n = 1; n <= 5; n++) channel.publish(null, { n });
  for (const page of [first, second]) await expect.poll(() => receivedNumbers(page), { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5]);
  expect(advice.some((a) => a['multiple-clients'] === true)).toBe(true);
  for (const page of [first, second]) expect((await probeSnapshot(page)).errors).toEqual([]);
  expectCleanPage(problems);
});
