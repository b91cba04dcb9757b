// @vitest-environment node
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deepChannel } from '../helpers/deep-channel.js';
import { watchEscapes } from '../hostile/escapes.js';
import { MAX_REMEMBERED_ID, MAX_WILDCARD_DEPTH, RECENT_IDS } from '../../src/server/store.js';
import { closeAll, connect, handshake, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

/** Whatever escapes as an uncaught exception or unhandled rejection while this file runs. */
const escaped = watchEscapes();

/** After each hostile request the server must still serve a normal session. */
async function stillServes(url: string): Promise<void> {
  const clientId = await handshake(url);
  expect((await connect(url, clientId)).body[0]).toMatchObject({ successful: true });
}

describe('hostile input', () => {
  it.each([
    ['malformed JSON', '[{"channel":'],
    ['a lone object', '{"channel":"/meta/handshake"}'],
    ['an empty array', '[]'],
    ['a message without channel', '[{"id":"1"}]'],
    ['a non-string channel', '[{"channel":42}]'],
    ['null inside the batch', '[null]'],
    ['a number', '42'],
    ['an empty body', ''],
  ])('answers %s with 400 and a Bayeux error array', async (_name, body) => {
    const { url } = await start();
    const res = await post(url, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual([{ channel: '/meta/unknown', successful: false, error: expect.stringMatching(/^400::Expected /) }]);
    await stillServes(url);
  });

  it.each([
    ['refused for its Origin', 403, { allowedOrigins: ['https://app.example'] }],
    ['refused because WebSocket is not offered', 400, { connectionTypes: ['long-polling'] }],
  ] as const)('survives a client that resets an upgrade %s (%i), every time', async (_name, status, options) => {
    const { url, port, server } = await start(options);
    // Node hands an upgrade's socket over without its own error handler: an unhandled ECONNRESET would end the process.
    const escapedBefore = escaped.length;
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(
            'GET /cometd HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://evil.example\r\n\r\n',
          );
        });
        socket.once('data', (data) => {
          answers.push(String(data).split('\r\n', 1)[0]!);
          socket.resetAndDestroy();
          resolve();
        });
      });
    }
    expect(new Set(answers)).toEqual(new Set([`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Bad Request'}`]));
    // The resets reach the server after our last read: once it has closed every socket, each reset was handled (or escaped).
    const open = () => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
    await vi.waitFor(async () => expect(await open()).toBe(0));
    expect(escaped.slice(escapedBefore)).toEqual([]);
    await stillServes(url);
  });

  it('answers a body over maxBodyBytes with 413', async () => {
    const { url } = await start({ maxBodyBytes: 2048 });
    const huge = JSON.stringify([{ channel: '/meta/handshake', data: 'x'.repeat(4096) }]);
    const res = await post(url, huge);
    expect(res.status).toBe(413);
    expect(res.body[0]).toMatchObject({ successful: false, error: expect.stringMatching(/^413::/) });
    await stillServes(url);
  });

  it('answers a multi-megabyte body with 413 without reading it all', async () => {
    const { url } = await start();
    const res = await post(url, 'x'.repeat(5 << 20)); // over the 4 MiB default
    expect(res.status).toBe(413);
    await stillServes(url);
  });

  it('fails a connect with an unknown or missing connectionType with a clear error', async () => {
    const { url } = await start();
    const clientId = await handshake(url);
    const unknown = await connect(url, clientId, undefined, 'carrier-pigeon');
    expect(unknown.body).toEqual([
      { id: 'c', channel: '/meta/connect', clientId, successful: false, error: '301:carrier-pigeon:Connection type not supported' },
    ]);
    const missing = await post(url, [{ channel: '/meta/connect', clientId, id: 'm' }]);
    expect(missing.body[0]).toMatchObject({ successful: false, error: '400:connectionType:Missing required parameter' });
  });

  it('fails a handshake without a common connection type or with a wrong version', async () => {
    const { url } = await start();
    const none = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['flash'] }]);
    expect(none.body[0]).toMatchObject({ successful: false, error: '301:flash:Connection types not supported' });
    const version = await post(url, [{ channel: '/meta/handshake', version: '2.0', supportedConnectionTypes: ['long-polling'] }]);
    expect(version.body[0]).toMatchObject({ successful: false, error: '300:2.0:Version mismatch' });
  });

  it('treats __proto__ keys as plain data and pollutes no prototype', async () => {
    const { url, comet } = await start();
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/a');
    const raw = `[{"channel":"/a","clientId":"${clientId}","id":"1","data":{"__proto__":{"polluted":true},"x":1},"ext":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}]`;
    const res = await post(url, raw);
    expect(res.body[0]).toMatchObject({ successful: true });
    const evil = await post(url, `[{"channel":"/meta/subscribe","clientId":"${clientId}","subscription":"/__proto__"},{"channel":"/meta/handshake","__proto__":{"version":"1.0"}}]`);
    expect(evil.body[0]).toMatchObject({ successful: true });
    expect(evil.body[1]).toMatchObject({ successful: false });
    await comet.publish('/a', 2);
    const { body } = await connect(url, clientId);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(body[1]!.data))).toEqual(JSON.parse('{"__proto__":{"polluted":true},"x":1}'));
  });

  it('rejects invalid channel names and subscriptions', async () => {
    const { url } = await start();
    const clientId = await handshake(url);
    for (const subscription of ['no-slash', '/a//b', '/a/**/b', '/' + 'x'.repeat(2000)]) {
      const { body } = await post(url, [{ channel: '/meta/subscribe', clientId, subscription }]);
      expect(body[0]).toMatchObject({ successful: false, error: expect.stringMatching(/^405:/) });
    }
    const { body } = await post(url, [{ channel: 'nope', clientId, data: 1 }]);
    expect(body[0]).toMatchObject({ successful: false, error: '405:nope:Invalid channel' });
  });

  it('refuses a /** wildcard after more than MAX_WILDCARD_DEPTH segments, and still delivers deep channels to shallower ones', async () => {
    const { url, comet } = await start();
    const clientId = await handshake(url, { ack: 'seq' });
    const path = (depth: number) => deepChannel({ depth }); // `/s0/s1/…`
    const tooDeep = `${path(MAX_WILDCARD_DEPTH + 1)}/**`;
    const { body } = await post(url, [{ channel: '/meta/subscribe', clientId, subscription: tooDeep, id: '1' }]);
    // The pattern echoed is cut at 200 characters, as every echoed argument.
    expect(body[0]).toMatchObject({ successful: false, error: `405:${tooDeep.slice(0, 200)}:A /** wildcard may follow at most ${MAX_WILDCARD_DEPTH} segments` });
    await subscribe(url, clientId, `${path(MAX_WILDCARD_DEPTH)}/**`);
    await comet.publish(path(150), 'deep');
    const { body: got } = await connect(url, clientId, { ack: 0 });
    expect(got.filter((m) => m.channel === path(150)).map((m) => m.data)).toEqual(['deep']);
  });

  it('remembers no publish id longer than MAX_REMEMBERED_ID, so long ids cannot crowd out the real ones', async () => {
    const { url, comet } = await start();
    const clientId = await handshake(url);
    const published: unknown[] = [];
    comet.on('publish', ({ data }) => published.push(data));
    const publish = async (id: string, data: unknown) =>
      expect((await post(url, [{ channel: '/chat', clientId, data, id }])).body[0]).toMatchObject({ successful: true });
    await publish('1', 'first');
    // More long ids than the store remembers: were they remembered, '1' would be forgotten.
    for (let i = 0; i <= RECENT_IDS; i++) await publish(`${i}`.padStart(MAX_REMEMBERED_ID + 1, 'x'), i);
    await publish('1', 'first again');
    await publish('x'.repeat(MAX_REMEMBERED_ID + 1), 'long again');
    expect(published[0]).toBe('first');
    expect(published).not.toContain('first again');
    // A long id goes unchecked: published again under the same id.
    expect(published.at(-1)).toBe('long again');
    expect(published).toHaveLength(RECENT_IDS + 3);
  });

  it('answers unknown methods and paths under the endpoint with an error, not a crash', async () => {
    const { url } = await start();
    expect((await fetch(url, { method: 'PUT' })).status).toBe(405);
    expect((await fetch(`${url}/a/b/c`)).status).toBe(400);
    expect((await fetch(`${url}/%E0%A4%A`, { headers: { accept: 'text/event-stream' } })).status).toBe(400);
    await stillServes(url);
  });

  it.each(['PUT', 'DELETE', 'PATCH'])('answers %s with 405, an Allow header and a 405 error in the body', async (method) => {
    const { url } = await start();
    const res = await fetch(url, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST, OPTIONS');
    expect(await res.json()).toEqual([{ channel: '/meta/unknown', successful: false, error: `405::Expected GET, POST or OPTIONS but got ${method} /cometd` }]);
  });

  it('answers a GET or POST under the endpoint that is not a Bayeux request with 400 and a 400 error in the body', async () => {
    const { url } = await start();
    for (const res of [await fetch(`${url}/a/b`), await fetch(`${url}/a`, { method: 'POST' })]) {
      expect(res.status).toBe(400);
      expect((await res.json())[0]).toMatchObject({ successful: false, error: expect.stringMatching(/^400::Expected a Bayeux request but got /) });
    }
  });

  it('throws a CometError for a server-side publish to a channel it cannot broadcast on', async () => {
    const { comet } = await start();
    for (const channel of ['/meta/x', '/service/x', '/a/*', 'bad']) {
      await expect(comet.publish(channel, 1)).rejects.toMatchObject({ name: 'CometError', code: 'bad_channel' });
    }
  });
});
