// @vitest-environment node
// Redis restarting under a running cluster, without persistence (the default
// docs/scaling.md describes): every connection to it drops, and it comes back
// empty. Clients must find their way back by themselves: re-handshake, renew
// their subscriptions, and receive what is published from then on.
import { describe, expect, it, vi } from 'vitest';
import type { TransportName } from '../../src/index.js';
import { publishFrom } from '../helpers/cluster-child.js';
import { useRedisCluster } from '../helpers/redis-cluster.js';

const cluster = useRedisCluster({ gate: true });

describe('a Redis that restarts empty under two server processes', () => {
  it.each(['long-poll', 'websocket', 'sse'] as TransportName[])('leaves a %s client subscribed, on a new session, receiving', async (transport) => {
    const channel = `/outage/${transport.replace('-', '')}`;
    const { inspect, servers } = cluster;
    const gate = cluster.gate!;
    const subscriber = cluster.client(`${cluster.proxy.origin}/cometd`, transport, { connectTimeout: 2_000 });
    const got: number[] = [];
    await subscriber.subscribe<{ n: number }>(channel, (data) => got.push(data.n)).ready;
    const before = subscriber.clientId!;
    await publishFrom(servers[0]!, channel, 0, 10);
    await vi.waitFor(() => expect(got).toHaveLength(10), { timeout: 10_000 });

    gate.shut();
    await inspect.flushall();
    await inspect.script('FLUSH');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    gate.open();

    // The servers forgot the session: the client handshakes again and renews its subscription by itself.
    await vi.waitFor(
      async () => {
        expect(subscriber.clientId).not.toBe(before);
        expect(subscriber.state).toBe('connected');
        expect(await inspect.sismember(`cometkit:p:${channel}`, subscriber.clientId!)).toBe(1);
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(subscriber.transport).toBe(transport);
    await publishFrom(servers[1]!, channel, 10, 20);
    await vi.waitFor(() => expect(got).toHaveLength(20), { timeout: 10_000 });
    expect(got).toEqual([...Array(20).keys()]);
  }, 60_000);
});
