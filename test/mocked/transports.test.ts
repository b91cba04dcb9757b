// @vitest-environment jsdom
/**
 * Each transport alone, end to end against `cometkit/testing` in jsdom: the
 * client handshakes, subscribes, receives in order, publishes, unsubscribes
 * and disconnects, and the mock sees exactly that on the wire. The iframe
 * transport cannot load its stream in jsdom; see iframe.test.ts.
 */
import { describe, expect, test, vi } from 'vitest';
import { connectTypes, received, useMockServer } from './harness.js';

const CONNECTION_TYPE = { websocket: 'websocket', sse: 'eventsource', 'long-poll': 'long-polling' } as const;

const env = useMockServer();

describe.each(Object.keys(CONNECTION_TYPE) as Array<keyof typeof CONNECTION_TYPE>)('%s alone', (name) => {
  test('handshakes, subscribes, receives in order, publishes, unsubscribes and disconnects', async () => {
    const { mock } = env;
    const { client, states, transports } = env.client({ transports: [name] });
    await client.connect();
    expect(client.state).toBe('connected');
    expect(client.transport).toBe(name);
    expect(transports).toEqual([name]);
    expect(client.clientId).toEqual(expect.any(String));
    expect(received(mock, '/meta/handshake')).toEqual([
      expect.objectContaining({ supportedConnectionTypes: [CONNECTION_TYPE[name]], ext: { ack: 'seq', maxMessageChars: 1 << 20 } }),
    ]);
    expect(new Set(connectTypes(mock))).toEqual(new Set([CONNECTION_TYPE[name]]));

    const got: number[] = [];
    const sub = client.subscribe<{ n: number }>('/stocks/*', (data) => got.push(data.n));
    await sub.ready;
    for (let n = 1; n <= 20; n++) await mock.publish('/stocks/ACME', { n });
    await vi.waitFor(() => expect(got).toHaveLength(20));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(client.stats).toEqual({ delivered: 20, duplicates: 0 });

    const published = new Promise((resolve) => env.on('publish', resolve));
    await client.publish('/chat/lobby', { text: 'hi' });
    await expect(published).resolves.toMatchObject({ clientId: client.clientId, channel: '/chat/lobby', data: { text: 'hi' } });
    // A client's own publish on a channel it subscribes to comes back to it.
    await client.publish('/stocks/SELF', { n: 21 });
    await vi.waitFor(() => expect(got.at(-1)).toBe(21));

    await sub.unsubscribe();
    expect(received(mock, '/meta/unsubscribe')).toEqual([expect.objectContaining({ subscription: '/stocks/*', clientId: client.clientId })]);
    await mock.publish('/stocks/ACME', { n: 99 });
    await client.publish('/chat/lobby', { text: 'after' }); // a full round trip after the publish
    expect(got).not.toContain(99);

    const clientId = client.clientId;
    await client.disconnect();
    expect(received(mock, '/meta/disconnect')).toEqual([expect.objectContaining({ clientId })]);
    expect(client.state).toBe('closed');
    expect(client.transport).toBeNull();
    expect(states).toEqual(['connecting', 'connected', 'closed']);
  });
});
