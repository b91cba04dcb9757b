// @vitest-environment node
// maxSessions bounds the sessions one process holds: a flood of handshakes that never
// connect would otherwise grow it by ~1 KB a session for sessionTimeout each.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setupServer } from 'msw/node';
import { WebSocket } from 'ws';
import { createClient, type CometClient } from '../../src/index.js';
import { Engine } from '../../src/server/engine.js';
import { createMockServer } from '../../src/testing/index.js';
import { closeAll, handshake, post, start } from './helpers.js';

const HELLO = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling', 'websocket', 'callback-polling'] };
const clients: CometClient[] = [];
let engine: Engine | undefined;
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await engine?.close();
  await closeAll();
});

describe('maxSessions', () => {
  it('refuses a handshake past it with 503 and retry advice, and takes one again once a session ended', async () => {
    engine = new Engine({ maxSessions: 2 });
    const ids: string[] = [];
    for (const id of ['1', '2']) ids.push((await engine.handle([{ ...HELLO, id }]))[0]!.clientId!);
    const [full] = await engine.handle([{ ...HELLO, id: '3' }]);
    expect(full).toEqual({ channel: '/meta/handshake', id: '3', successful: false, error: '503::At most 2 sessions: try again later', advice: { reconnect: 'retry', interval: 0 } });
    expect(engine.stats().sessions).toBe(2);
    await engine.handle([{ channel: '/meta/disconnect', clientId: ids[0], id: '4' }]);
    expect((await engine.handle([{ ...HELLO, id: '5' }]))[0]).toMatchObject({ successful: true });
  });

  it('answers a refused handshake with HTTP 503 on long-polling and JSONP, and a Bayeux reply on a WebSocket', async () => {
    const { url, port } = await start({ maxSessions: 1 });
    await handshake(url);
    const refused = await post(url, [{ ...HELLO, id: '1' }]);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject([{ successful: false, error: '503::At most 1 session: try again later', advice: { reconnect: 'retry' } }]);
    const jsonp = await fetch(`${url}?message=${encodeURIComponent(JSON.stringify([{ ...HELLO, id: '2' }]))}&jsonp=cb`);
    expect(jsonp.status).toBe(503); // a browser fires the script's onerror: the client retries
    const ws = new WebSocket(`ws://127.0.0.1:${port}/cometd`);
    const frame = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify([{ ...HELLO, id: '3' }]));
    expect(JSON.parse(await frame)).toMatchObject([{ id: '3', successful: false, error: '503::At most 1 session: try again later' }]);
    ws.close();
  });

  it("answers 200 for an extension's 503 on any other message: only a refused handshake fails the request", async () => {
    const { url } = await start({ extensions: [{ incoming: (m) => void (m.channel === '/busy' && (m.error = '503::Busy')) }] });
    const clientId = await handshake(url);
    const res = await post(url, [{ channel: '/busy', clientId, data: 1, id: '1' }]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject([{ id: '1', successful: false, error: '503::Busy' }]);
  });

  it('leaves a cometkit client retrying with backoff while the server is full, and connected once a session ended', async () => {
    const { url } = await start({ maxSessions: 1 });
    const first = createClient({ url, transports: ['long-poll'], rememberTransport: false });
    const second = createClient({ url, transports: ['long-poll'], rememberTransport: false, reconnect: { initialDelay: 50, maxDelay: 100 } });
    clients.push(first, second);
    await first.connect();
    const errors: string[] = [];
    second.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
    const connected = second.connect();
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2));
    expect(second.state).toBe('reconnecting'); // not 'closed': a full server is not a refusal
    expect(errors[0]).toBe('transport_failed: HTTP 503');
    await first.disconnect();
    await connected;
    expect(second.state).toBe('connected');
    expect(second.transport).toBe('long-poll');
  });

  it('is the mock server\'s option too, with the same 503', async () => {
    const mock = createMockServer({ url: 'http://mock.test/cometd', maxSessions: 1 });
    const msw = setupServer(...mock.handlers);
    msw.listen({ onUnhandledRequest: 'error' });
    try {
      const hello = () => fetch('http://mock.test/cometd', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([HELLO]) });
      expect((await hello()).status).toBe(200);
      const refused = await hello();
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject([{ successful: false, error: '503::At most 1 session: try again later' }]);
    } finally {
      msw.close();
      await mock.close();
    }
  });
});
