import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type TransportName } from '../../src/index.js';
import { fayeClient, stopFaye } from '../helpers/faye-server.js';
import { fleet, startServer } from '../helpers/reference-server.js';

// Faye 1.4.3's own Node client against cometkit's reference server. Faye's
// Node client handshakes over long-polling and then takes a WebSocket when one
// opens (its default); `long-polling` disables the WebSocket. The SDK is on the
// other end of each exchange, so both directions cross implementations.
const fayeTransports = ['websocket', 'long-polling'] as const;

const { servers, clients, stop } = fleet();

afterEach(async () => {
  await stopFaye();
  await stop();
});

async function server(port = 0) {
  const s = await startServer({}, port);
  servers.push(s);
  return s;
}

function sdk(url: string, transport: TransportName) {
  const c = createClient({ url, transports: [transport], rememberTransport: false });
  clients.push(c);
  return c;
}

describe.each(fayeTransports)('Faye client over %s', (transport) => {
  it('subscribes with wildcards and receives a server-side sequence in order', async () => {
    const s = await server();
    const { client, connectionTypes } = fayeClient(s.url, transport);
    const one: number[] = [];
    const deep: Array<[string, number]> = [];
    await client.subscribe('/a/*', (data: { n: number }) => one.push(data.n));
    await client.subscribe('/a/**', () => {}).withChannel((channel, data) => deep.push([channel, (data as { n: number }).n]));
    const channelOf = (n: number) => (n % 3 === 2 ? `/a/deep/${n}` : `/a/${n % 3}`);
    for (let n = 0; n < 60; n++) void s.comet.publish(channelOf(n), { n });
    await vi.waitFor(() => expect(deep).toHaveLength(60));
    expect(deep).toEqual([...Array(60).keys()].map((n) => [channelOf(n), n]));
    await vi.waitFor(() => expect(one).toHaveLength(40));
    expect(one).toEqual([...Array(60).keys()].filter((n) => n % 3 !== 2));
    expect(new Set(connectionTypes)).toEqual(new Set([transport]));
  });

  it.each(['websocket', 'sse', 'long-poll'] as const)('exchanges messages both ways with the SDK on %s', async (sdkTransport) => {
    const s = await server();
    const { client } = fayeClient(s.url, transport);
    const c = sdk(s.url, sdkTransport);
    const atFaye: unknown[] = [];
    const atSdk: unknown[] = [];
    await client.subscribe('/chat/to-faye', (data) => atFaye.push(data));
    await c.subscribe('/chat/to-sdk', (data) => atSdk.push(data)).ready;
    for (let n = 0; n < 10; n++) {
      await client.publish('/chat/to-sdk', { n, text: '</script>\u2028' });
      await c.publish('/chat/to-faye', { n });
    }
    await vi.waitFor(() => expect(atSdk).toHaveLength(10));
    await vi.waitFor(() => expect(atFaye).toHaveLength(10));
    expect(atSdk).toEqual([...Array(10).keys()].map((n) => ({ n, text: '</script>\u2028' })));
    expect(atFaye).toEqual([...Array(10).keys()].map((n) => ({ n })));
  });

  it('unsubscribes and disconnects', async () => {
    const s = await server();
    const events: string[] = [];
    s.comet.on('unsubscribe', ({ subscription }) => events.push(`unsubscribe ${subscription}`));
    s.comet.on('disconnect', ({ reason }) => events.push(`disconnect ${reason}`));
    const { client } = fayeClient(s.url, transport);
    const gone = vi.fn();
    const kept = vi.fn();
    const sub = client.subscribe('/u/a', gone);
    await sub;
    await client.subscribe('/u/b', kept);
    sub.cancel();
    await vi.waitFor(() => expect(events).toEqual(['unsubscribe /u/a']));
    await s.comet.publish('/u/a', 1);
    await s.comet.publish('/u/b', 2);
    await vi.waitFor(() => expect(kept).toHaveBeenCalledWith(2));
    expect(gone).not.toHaveBeenCalled();
    await client.disconnect();
    expect(events).toEqual(['unsubscribe /u/a', 'unsubscribe /u/b', 'disconnect disconnect']);
  });

  it('re-handshakes and re-subscribes when a restarted server answers 402 Unknown client', async () => {
    const first = await server();
    const port = Number(new URL(first.url).port);
    const { client, replies } = fayeClient(first.url, transport);
    const got = vi.fn();
    await client.subscribe('/restart', got);
    await first.stop();
    servers.splice(servers.indexOf(first), 1);
    const second = await server(port);
    const handshakes = vi.fn();
    second.comet.on('handshake', handshakes);
    const subscribed = new Promise<void>((resolve) => second.comet.on('subscribe', () => resolve()));
    await subscribed;
    expect(handshakes).toHaveBeenCalledTimes(1);
    expect(replies).toContainEqual(
      expect.objectContaining({ channel: '/meta/connect', successful: false, error: expect.stringMatching(/^402:[^:]+:Unknown client$/), advice: { reconnect: 'handshake' } }),
    );
    await second.comet.publish('/restart', 'again');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('again'));
  });

  it('retries a handshake refused by a full server (maxSessions, HTTP 503) and gets in once a session ends', async () => {
    const s = await startServer({ maxSessions: 1 });
    servers.push(s);
    const holder = fayeClient(s.url, transport).client;
    await holder.subscribe('/full', () => {});
    const { client, replies } = fayeClient(s.url, transport);
    const got = vi.fn();
    const subscribed = client.subscribe('/full', got);
    await vi.waitFor(() => expect(s.comet.stats().sessions).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 500)); // a few refused handshakes (retry: 0.2 s)
    await holder.disconnect();
    await subscribed;
    await s.comet.publish('/full', 'in');
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith('in'));
    // Faye reads the 503's body too: refusals with retry advice, which it follows, then the session.
    const handshakes = replies.filter((r) => r.channel === '/meta/handshake');
    expect(handshakes.length).toBeGreaterThan(1);
    expect(handshakes.slice(0, -1)).toEqual(handshakes.slice(0, -1).map(() => expect.objectContaining({ successful: false, error: '503::At most 1 session: try again later', advice: expect.objectContaining({ reconnect: 'retry' }) })));
    expect(handshakes.at(-1)).toMatchObject({ successful: true });
  });
});
