// @vitest-environment node
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, type CometClient } from '../../src/index.js';
import type { Message } from '../../src/protocol/message.js';
import { closeAll, handshake, openSocket, openStream, post, sseBatches, start } from '../server/helpers.js';
import { hostileFrame, hostileMessage, namedHostileMessage, polluted } from './arbitraries.js';

// Property layer over test/server/hostile.test.ts (which pins the individual
// cases): for any body, clientId, callback name or WebSocket frame, the
// reference server answers with a clear 4xx or a failed Bayeux reply — never a
// 5xx, a crash or a hang — and still serves a normal SDK client afterwards.
const RUNS = Number(process.env.HOSTILE_RUNS ?? 60);
const MAX_BODY = 64 * 1024;

const clients: CometClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await closeAll();
});

/** A Bayeux error string: `<3-digit code>:<args>:<text>`. */
const BAYEUX_ERROR = /^\d{3}:[^]*:[^]*$/;

/** Every element a reply the client can act on: a channel, a boolean `successful`, an error string when it failed. */
function expectReplies(body: unknown): asserts body is Message[] {
  expect(Array.isArray(body)).toBe(true);
  for (const reply of body as Message[]) {
    expect(typeof reply.channel).toBe('string');
    expect(typeof reply.successful).toBe('boolean');
    if (!reply.successful) expect(reply.error).toMatch(BAYEUX_ERROR);
  }
}

/** The SDK still connects, subscribes and receives on `transport`. */
async function stillServes(url: string, publish: (channel: string, data: unknown) => Promise<void>, transport: 'websocket' | 'long-poll' = 'websocket') {
  const c = createClient({ url, transports: [transport], rememberTransport: false });
  clients.push(c);
  const got = vi.fn();
  await c.subscribe('/still/serves', got).ready;
  await publish('/still/serves', { ok: true });
  await vi.waitFor(() => expect(got).toHaveBeenCalledWith({ ok: true }, expect.anything()));
}

/** Bodies of every kind: arbitrary text, hostile frames, batches of hostile messages around a valid handshake. */
const body = fc.oneof(
  hostileFrame(MAX_BODY),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc
    .tuple(fc.array(hostileMessage, { maxLength: 3 }), fc.array(hostileMessage, { maxLength: 3 }))
    .map(([a, b]) => JSON.stringify([...a, { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }, ...b])),
);

describe('the reference server under hostile input', () => {
  it('answers any POST body with 200, 400 or 413 and well-formed replies', async () => {
    const { url, comet } = await start({ maxBodyBytes: MAX_BODY });
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
        expect([200, 400, 413]).toContain(res.status);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        const replies: unknown = JSON.parse(await res.text());
        expectReplies(replies);
        if (res.status !== 200) expect(replies).toEqual([expect.objectContaining({ successful: false, error: expect.stringMatching(new RegExp(`^${res.status}:`)) })]);
        expect(polluted()).toBe(false);
      }),
      { numRuns: RUNS },
    );
    await stillServes(url, (channel, data) => comet.publish(channel, data));
  });

  it('answers requests with a wrong clientId with 402 and advice to handshake, on every meta channel and publish', async () => {
    const { url, comet } = await start();
    const real = await handshake(url);
    const wrongId = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 })).filter((id) => id !== real);
    await fc.assert(
      fc.asyncProperty(wrongId, fc.constantFrom('/meta/connect', '/meta/subscribe', '/meta/unsubscribe', '/meta/disconnect', '/chat/x'), async (clientId, channel) => {
        const message = { channel, clientId, id: 'q', connectionType: 'long-polling', subscription: '/a', data: 1 };
        const { status, body: replies } = await post(url, [message]);
        expect(status).toBe(200);
        expect(replies).toEqual([
          expect.objectContaining({ id: 'q', channel, successful: false, error: expect.stringMatching(/^402:[^]*:Unknown client$/), advice: { reconnect: 'handshake' } }),
        ]);
      }),
      { numRuns: RUNS },
    );
    await stillServes(url, (channel, data) => comet.publish(channel, data), 'long-poll');
  });

  it('answers hostile messages inside a live session with well-formed replies and never lets them touch /meta/**', async () => {
    const { url, comet } = await start();
    const meta = ['/meta/handshake', '/meta/connect', '/meta/subscribe', '/meta/unsubscribe', '/meta/disconnect'];
    await fc.assert(
      fc.asyncProperty(fc.array(namedHostileMessage, { minLength: 1, maxLength: 5 }), async (messages) => {
        const clientId = await handshake(url);
        const batch = messages.map((m) => ({ ...m, clientId }));
        const { status, body: replies } = await post(url, batch);
        expect(status).toBe(200);
        expectReplies(replies);
        expect(replies).toHaveLength(batch.length);
        replies.forEach((reply, i) => {
          const channel = messages[i]!.channel as string;
          // Publishing to /meta/<anything else> is forbidden, whatever the payload.
          if (channel.startsWith('/meta/') && !meta.includes(channel)) expect(reply).toMatchObject({ successful: false, error: expect.stringMatching(/^403:/) });
        });
        expect(polluted()).toBe(false);
      }),
      { numRuns: RUNS },
    );
    await stillServes(url, (channel, data) => comet.publish(channel, data), 'long-poll');
  });

  it('ends an EventSource stream for an unknown clientId with the 402 reply', async () => {
    const { url } = await start();
    await fc.assert(
      // Not `.` or `..`: URL parsing resolves those segments away, so no such id reaches the server.
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((id) => id !== '.' && id !== '..'), async (clientId) => {
        const stream = await openStream(`${url}/${encodeURIComponent(clientId)}`, { accept: 'text/event-stream' });
        await stream.done;
        expect(stream.status).toBe(200);
        expect(sseBatches(stream.text)).toEqual([[expect.objectContaining({ channel: '/meta/connect', successful: false, advice: { reconnect: 'handshake' } })]]);
      }),
      { numRuns: Math.min(RUNS, 30) },
    );
  });

  it('refuses every JSONP callback that is not a plain identifier without echoing it', async () => {
    const { url } = await start();
    const message = encodeURIComponent(JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'] }]));
    const refusal = JSON.stringify([{ channel: '/meta/unknown', successful: false, error: '400::Expected the jsonp parameter to be a JavaScript identifier' }]);
    const identifier = /^[A-Za-z_$][\w$]{0,127}$/;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('a.b', 'x</script>', 'alert(1)//', '__jsonp1__', 'a'.repeat(129))), async (callback) => {
        const res = await fetch(`${url}?message=${message}&jsonp=${encodeURIComponent(callback)}`);
        const text = await res.text();
        if (identifier.test(callback)) {
          expect(res.status).toBe(200);
          expect(text.startsWith(`/**/${callback}([`)).toBe(true);
        } else {
          expect(res.status).toBe(400);
          expect(res.headers.get('content-type')).toMatch(/^application\/json/);
          expect(text).toBe(refusal);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('answers every WebSocket text or binary frame with one batch and keeps the socket open', async () => {
    const { url, comet } = await start({ maxBodyBytes: MAX_BODY });
    const socket = await openSocket(url);
    // Frames over maxBodyBytes close the socket (next test); every other frame gets its answer.
    const text = body.filter((t) => Buffer.byteLength(t) <= MAX_BODY).map((t): string | Buffer => t);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(text, fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))), { minLength: 1, maxLength: 4 }), async (frames) => {
        const before = socket.batches.length;
        for (const frame of frames) socket.ws.send(frame, { binary: typeof frame !== 'string' });
        await vi.waitFor(() => expect(socket.batches.length).toBe(before + frames.length), { interval: 2 });
        for (const batch of socket.batches.slice(before)) expectReplies(batch);
        expect(socket.ws.readyState).toBe(WebSocket.OPEN);
      }),
      { numRuns: RUNS },
    );
    // The same socket still carries a normal session.
    socket.send([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], id: 'h' }]);
    await vi.waitFor(() => expect(socket.batches.at(-1)?.[0]).toMatchObject({ id: 'h', successful: true }));
    await stillServes(url, (channel, data) => comet.publish(channel, data));
  });

  it('closes a WebSocket that sends a frame over maxBodyBytes with 1009 and serves the next one', async () => {
    const { url, comet } = await start({ maxBodyBytes: 2048 });
    const socket = await openSocket(url);
    socket.ws.send(JSON.stringify([{ channel: '/x', data: 'x'.repeat(4096) }]));
    await expect(socket.closed).resolves.toEqual({ code: 1009 });
    await stillServes(url, (channel, data) => comet.publish(channel, data));
  });
});
