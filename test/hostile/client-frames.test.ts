// @vitest-environment node
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, isCometError, type CometClient, type CometError, type TransportName } from '../../src/index.js';
import { hostileFrame, minimumErrors, polluted } from './arbitraries.js';
import { startFakeEndpoint, type FakeEndpoint } from './fake-endpoint.js';
import { watchEscapes } from './escapes.js';

// Property: whatever text a server (or a proxy) puts on the wire — a WebSocket
// frame, an SSE data event, a long-poll response body — the client turns it
// into typed `bad_message` / `too_large` errors, throws nothing, pollutes no
// prototype, stays connected on the same transport and still delivers the next
// well-formed message. The iframe path is covered in client-iframe.test.ts.
const MAX = 20_000;
// HOSTILE_RUNS=500 npx vitest run test/hostile for a deeper search.
const RUNS = Number(process.env.HOSTILE_RUNS ?? 40);

const escaped = watchEscapes();

let endpoint: FakeEndpoint;
let client: CometClient;
let errors: CometError[];
let checks: unknown[];

beforeEach(() => {
  errors = [];
  checks = [];
  escaped.length = 0;
});

afterEach(async () => {
  await client?.disconnect();
  await endpoint?.stop();
});

async function connect(transport: TransportName) {
  endpoint = await startFakeEndpoint({ hold: 1000 });
  client = createClient({
    url: endpoint.url,
    transports: [transport],
    rememberTransport: false,
    maxMessageChars: MAX,
    // One SSE stream for the whole property: a reopened stream would race the injected frames.
    streamCharLimit: 1 << 30,
    connectTimeout: 4000,
  });
  client.on('error', (e) => errors.push(e));
  await client.subscribe<{ nonce: number }>('/check', (data) => checks.push(data?.nonce)).ready;
  expect(client.state).toBe('connected');
}

/** Put `frames` on the client's wire: socket frames, stream events, or POST response bodies. */
async function inject(transport: TransportName, frames: string[]) {
  for (const text of frames) {
    if (transport !== 'long-poll') {
      endpoint.frame(text);
      continue;
    }
    const answered = endpoint.injected;
    endpoint.queueBody(text);
    // The reply to this publish is the hostile body, so it never settles on its own; disconnect() rejects it.
    client.publish('/inject', 0).catch(() => {});
    // One POST per body: publishes made in one tick would share a batch.
    await vi.waitFor(() => expect(endpoint.injected).toBe(answered + 1), { interval: 2 });
  }
}

/** SSE carries no bare CR/LF inside one event and drops empty events; give it frames it can carry as-is. */
const forTransport = (transport: TransportName, text: string) => (transport === 'sse' ? text.replace(/[\r\n]/g, ' ') || ' ' : text);

let nonce = 0;

describe.each(['websocket', 'sse', 'long-poll'] as const)('%s: hostile frames', (transport) => {
  it('turn into typed errors while the client stays connected and keeps delivering', async () => {
    await connect(transport);
    await fc.assert(
      fc.asyncProperty(fc.array(hostileFrame(MAX), { minLength: 1, maxLength: 4 }), async (raw) => {
        const frames = raw.map((text) => forTransport(transport, text));
        const before = errors.length;
        await inject(transport, frames);
        // A string no generator makes, so a hostile delivery on /check cannot pass for it.
        const n = `ok:${++nonce}`;
        endpoint.deliver('/check', { nonce: n });
        const expected = frames.reduce((sum, text) => sum + minimumErrors(text, MAX), 0);
        await vi.waitFor(
          () => {
            expect(checks).toContain(n);
            expect(errors.length - before).toBeGreaterThanOrEqual(expected);
          },
          { timeout: 3000, interval: 2 },
        );
        for (const e of errors.slice(before)) {
          expect(isCometError(e)).toBe(true);
          expect(['bad_message', 'too_large']).toContain(e.code);
        }
        expect(client.state).toBe('connected');
        expect(client.transport).toBe(transport);
        expect(escaped).toEqual([]);
        expect(polluted()).toBe(false);
      }),
      { numRuns: RUNS },
    );
    // Still a working client: a publish round-trips through the server.
    const echoed = vi.fn();
    await client.subscribe('/echo', echoed).ready;
    await client.publish('/echo', { after: true });
    await vi.waitFor(() => expect(echoed).toHaveBeenCalledWith({ after: true }, expect.anything()));
  }, 60_000); // 40 property runs each with a delivery round trip: slow on a loaded 2-core CI machine
});
