// @vitest-environment node
// Two reference-server processes sharing one real Redis (`createServer({ redis })`)
// behind a round-robin load balancer that alternates per request: the SDK must
// not notice that its connects, acks and streams land on different processes.
import type { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { CometClient, TransportName } from '../../src/index.js';
import type { Message } from '../../src/protocol/message.js';
import { crashServerProcess, publishFrom, restartServerProcess } from '../helpers/cluster-child.js';
import { useRedisCluster } from '../helpers/redis-cluster.js';
import { handshake, openStream, sseBatches } from '../server/helpers.js';

const cluster = useRedisCluster();
/**
 * The same (a Redis and two processes of their own), but when a backend dies its balancer leaves
 * the client's connections open and silent. These servers keep an idle session 20 s, not 4 s:
 * noticing the silence takes the client a hold and a connectTimeout (2 s) before it reconnects,
 * which left a session of 4 s about 1 s of slack on a loaded machine.
 */
const silent = useRedisCluster({ halfOpen: true, sessionTimeout: 20_000 });

async function post(url: string, body: Message[]): Promise<Message[]> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Message[];
}

/** Until the client's backlog in Redis is empty: every message acknowledged, so no redelivery can still arrive. */
async function allAcknowledged(inspect: Redis, c: CometClient): Promise<void> {
  await vi.waitFor(async () => expect(await inspect.zcard(`cometkit:c:${c.clientId}:q`)).toBe(0), { timeout: 10_000, interval: 50 });
}

describe('two server processes sharing Redis behind a round-robin balancer', () => {
  const transports: TransportName[] = ['long-poll', 'websocket', 'sse'];

  it.each(transports)('delivers every message once and in order over %s from a publisher on the other process', async (transport) => {
    const { proxy, servers } = cluster;
    const channel = `/cluster/${transport.replace('-', '')}`;
    const subscriber = cluster.client(`${proxy.origin}/cometd`, transport);
    const from = proxy.log.length;
    const got: number[] = [];
    await subscriber.subscribe<{ n: number }>(channel, (data) => got.push(data.n)).ready;
    expect(subscriber.transport).toBe(transport);

    // Publish from the process that does not hold the subscriber's socket or stream.
    const attached = proxy.log.slice(from).find((e) => e.kind === 'upgrade' || (e.method === 'GET' && e.url.startsWith('/cometd/')));
    const other = servers[attached?.backend === 1 ? 0 : 1]!;
    const publisher = cluster.client(other.url, 'long-poll');
    await publisher.connect();
    const COUNT = 60;
    for (let n = 0; n < COUNT; n++) await publisher.publish(channel, { n });
    // And server-side publishes from that process, after the client ones.
    await publishFrom(other, channel, 0, 40);

    const expected = [...Array(COUNT).keys(), ...Array(40).keys()];
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(expected.length), { timeout: 10_000 });
    await allAcknowledged(cluster.inspect, subscriber);
    expect(got).toEqual(expected);
    if (transport === 'long-poll') {
      // The balancer really alternated the subscriber's POSTs between the processes.
      const backends = new Set(proxy.log.slice(from).filter((e) => e.method === 'POST').map((e) => e.backend));
      expect(backends).toEqual(new Set([0, 1]));
    }
  });

  const failures = transports.flatMap((transport) => [
    [transport, 'the balancer cuts its connections', false] as const,
    [transport, 'its connections stay open and silent', true] as const,
  ]);

  it.each(failures)('loses nothing over %s when the process holding the connection crashes (%s) and comes back', async (transport, _how, halfOpen) => {
    const pair = halfOpen ? silent : cluster;
    const { proxy: balancer, servers } = pair;
    const channel = `/failover/${transport.replace('-', '')}/${halfOpen}`;
    // A silent connection is noticed by a connect that gets no reply: within the hold (1 s) and
    // connectTimeout, well within the silent pair's sessionTimeout (20 s), or the session would be gone.
    const subscriber = pair.client(`${balancer.origin}/cometd`, transport, { connectTimeout: 1_000 });
    const from = balancer.log.length;
    const got: number[] = [];
    await subscriber.subscribe<{ n: number }>(channel, (data) => got.push(data.n)).ready;
    const clientId = subscriber.clientId;
    await publishFrom(servers[0]!, channel, 0, 20);
    await vi.waitFor(() => expect(got).toHaveLength(20), { timeout: 10_000 });

    // The process that holds the socket or stream; on long-polling, the held connect, which moves
    // with every answer: found just before the crash, from the POST the balancer has not had answered.
    let holder: number;
    if (transport === 'long-poll') {
      await vi.waitFor(() => expect([...balancer.pending].filter((e) => e.method === 'POST')).toHaveLength(1));
      holder = [...balancer.pending].find((e) => e.method === 'POST')!.backend;
    } else {
      const routed = balancer.log.slice(from).filter((e) => e.kind === 'upgrade' || e.url.startsWith('/cometd/'));
      holder = routed.at(-1)!.backend;
    }
    await crashServerProcess(servers[holder]!);
    // Published while the subscriber has lost its connection: kept in its backlog in Redis.
    await publishFrom(servers[1 - holder]!, channel, 20, 40);
    servers[holder] = await restartServerProcess(servers[holder]!);
    await publishFrom(servers[holder]!, channel, 40, 60);

    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(60), { timeout: 15_000 });
    await allAcknowledged(pair.inspect, subscriber);
    expect(got).toEqual([...Array(60).keys()]);
    // The same session throughout: no re-handshake, so nothing fell between two sessions.
    expect(subscriber.clientId).toBe(clientId);
    expect(subscriber.transport).toBe(transport);
    expect(subscriber.state).toBe('connected');
  }, 60_000);

  it('knows a client handshaken on one process on the other', async () => {
    const [a, b] = cluster.servers;
    const [hello] = await post(a.url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]);
    const clientId = hello!.clientId!;
    const replies = await post(b.url, [
      { channel: '/meta/subscribe', clientId, subscription: '/shared/x', id: '2' },
      { channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '3' },
    ]);
    expect(replies).toEqual([
      expect.objectContaining({ channel: '/meta/subscribe', successful: true }),
      expect.objectContaining({ channel: '/meta/connect', successful: true }),
    ]);
    await post(a.url, [{ channel: '/meta/disconnect', clientId, id: '4' }]);
    const [after] = await post(b.url, [{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '5' }]);
    expect(after).toMatchObject({ successful: false, error: expect.stringMatching(/^402:/), advice: { reconnect: 'handshake' } });
  });

  it("answers a stream's connect on that stream, whichever process the POST reached", async () => {
    const [a, b] = cluster.servers;
    // On the POST, the reply would prove nothing about the stream: one that died silently would never be reopened.
    const clientId = await handshake(a.url, { ack: 'seq' }, ['eventsource']);
    const stream = await openStream(`${a.url}/${clientId}`, { accept: 'text/event-stream' });
    onTestFinished(() => stream.destroy());
    expect(await post(b.url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: '2', ext: { ack: 0 } }])).toEqual([]);
    await vi.waitFor(() => expect(sseBatches(stream.text).flat()).toContainEqual(expect.objectContaining({ id: '2', channel: '/meta/connect', successful: true })));
  });

  it('removes an abandoned session and all its keys once it expires', async () => {
    const { inspect, servers: [a, b] } = cluster;
    const [hello] = await post(a.url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { ack: 'seq' }, id: '1' }]);
    const clientId = hello!.clientId!;
    await post(b.url, [{ channel: '/meta/subscribe', clientId, subscription: '/expiry/*', id: '2' }]);
    await publishFrom(b, '/expiry/x', 0, 3);
    const keys = await inspect.keys(`cometkit:c:${clientId}:*`);
    expect(keys.sort()).toEqual([`cometkit:c:${clientId}:q`, `cometkit:c:${clientId}:s`, `cometkit:c:${clientId}:subs`]);
    for (const key of keys) expect(await inspect.pttl(key)).toBeGreaterThan(0);
    expect(await inspect.sismember('cometkit:p:/expiry/*', clientId)).toBe(1);

    // sessionTimeout is 4 s in the children (swept every 2 s) and nobody connects for this client.
    await vi.waitFor(async () => expect(await inspect.keys(`cometkit:c:${clientId}:*`)).toEqual([]), { timeout: 10_000, interval: 250 });
    expect(await inspect.sismember('cometkit:p:/expiry/*', clientId)).toBe(0);
    expect(await inspect.zscore('cometkit:clients', clientId)).toBeNull();
  });
});
