// @vitest-environment jsdom
/**
 * The iframe path under hostile input. jsdom cannot stream a forever-frame, so
 * the test plays the frame: it posts `MessageEvent`s to the window exactly as
 * the server's `<script>c("…")</script>` chunks would, from the transport's own
 * iframe window and the endpoint's origin. The rest (handshake, connect,
 * subscribe) runs over HTTP against the fake endpoint.
 */
import fc from 'fast-check';
import { afterEach, expect, it, vi } from 'vitest';
import { createClient, isCometError, type CometClient, type CometError } from '../../src/index.js';
import { hostileFrame, minimumErrors, polluted } from './arbitraries.js';
import { startFakeEndpoint, type FakeEndpoint } from './fake-endpoint.js';
import { watchEscapes } from './escapes.js';

const MAX = 20_000;
const RUNS = Number(process.env.HOSTILE_RUNS ?? 40);

const escaped = watchEscapes();

let endpoint: FakeEndpoint;
let client: CometClient;

afterEach(async () => {
  await client?.disconnect();
  await endpoint?.stop();
  document.body.innerHTML = '';
});

const frameWindow = () => document.querySelector('iframe')?.contentWindow ?? null;

/** Post `data` to the page as a frame chunk would (by default from our frame, at the endpoint's origin). */
function post(data: unknown, { source = frameWindow(), origin = new URL(endpoint.url).origin }: { source?: Window | null; origin?: string } = {}) {
  window.dispatchEvent(new MessageEvent('message', { data, origin, source }));
}

/** Anything `postMessage` can carry that is not a string: the parent must ignore it. */
const nonString = fc.oneof(fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'string'), fc.constant(undefined), fc.constant(new ArrayBuffer(4)));

it('turns hostile iframe chunks into typed errors, ignores other windows and origins, and keeps delivering', async () => {
  endpoint = await startFakeEndpoint({ hold: 1000 });
  client = createClient({ url: endpoint.url, transports: ['iframe'], rememberTransport: false, maxMessageChars: MAX, streamCharLimit: 1 << 30 });
  const errors: CometError[] = [];
  client.on('error', (e) => errors.push(e));
  const connected = client.connect();
  await vi.waitFor(() => expect(frameWindow()).not.toBeNull());
  post('[]'); // the server's first chunk: the stream is open
  await connected;
  expect(client.transport).toBe('iframe');
  const checks: unknown[] = [];
  await client.subscribe<{ nonce: unknown }>('/check', (data) => checks.push(data?.nonce)).ready;

  const other = document.createElement('iframe');
  document.body.appendChild(other);
  let nonce = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(hostileFrame(MAX), nonString), { minLength: 1, maxLength: 4 }), async (chunks) => {
      const before = errors.length;
      for (const chunk of chunks) post(chunk);
      // The same hostile chunks, and a well-formed spoofed delivery, from anywhere else: never read.
      const spoof = JSON.stringify([{ channel: '/check', data: { nonce: 'spoofed' } }]);
      for (const chunk of [...chunks, spoof]) {
        post(chunk, { source: window });
        post(chunk, { source: other.contentWindow });
        post(chunk, { source: null });
        post(chunk, { origin: 'http://evil.example' });
        post(chunk, { origin: window.location.origin });
      }
      const n = `ok:${++nonce}`;
      post(JSON.stringify([{ channel: '/check', data: { nonce: n }, id: n }]));
      expect(checks).toContain(n);
      const expected = chunks.reduce<number>((sum, c) => sum + (typeof c === 'string' ? minimumErrors(c, MAX) : 0), 0);
      expect(errors.length - before).toBeGreaterThanOrEqual(expected);
      for (const e of errors.slice(before)) {
        expect(isCometError(e)).toBe(true);
        expect(['bad_message', 'too_large']).toContain(e.code);
      }
      expect(checks).not.toContain('spoofed');
      expect(client.state).toBe('connected');
      expect(client.transport).toBe('iframe');
      expect(escaped).toEqual([]);
      expect(polluted()).toBe(false);
    }),
    { numRuns: RUNS },
  );
  const echoed = vi.fn();
  await client.subscribe('/echo', echoed).ready;
  await client.publish('/echo', { after: true });
  // The fake endpoint has no iframe stream to push on: it answers the next keep-alive
  // connect with the echo, or the test plays the frame again.
  post(JSON.stringify([{ channel: '/echo', data: { after: true } }]));
  await vi.waitFor(() => expect(echoed).toHaveBeenCalledWith({ after: true }, expect.anything()));
});
