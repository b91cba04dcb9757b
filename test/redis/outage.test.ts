// @vitest-environment node
// Redis restarting under a running cluster, without persistence (the default
// docs/scaling.md describes): every connection to it drops, and it comes back
// empty. Clients must find their way back by themselves: re-handshake, renew
// their subscriptions, and receive what is published from then on.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient, type CometClient, type TransportName } from '../../src/index.js';
import { publishFrom, startServerProcess, stopServerProcess, type ServerProcess } from '../helpers/cluster-child.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../helpers/redis-proxy.js';
import { startRedis, type RunningRedis } from '../helpers/redis-server.js';
import { startTcpGate, type TcpGate } from '../helpers/tcp-gate.js';

let redis: RunningRedis;
let inspect: Redis;
let gate: TcpGate;
let servers: ServerProcess[] = [];
let proxy: RoundRobinProxy;
const clients: CometClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  inspect = new Redis(redis.url);
  gate = await startTcpGate(redis.port, { open: true });
  servers = await Promise.all([startServerProcess(gate.url), startServerProcess(gate.url)]);
  proxy = await startRoundRobinProxy(servers.map((s) => s.origin));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => {})));
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all(servers.map(stopServerProcess));
  await gate?.close();
  inspect?.disconnect();
  await redis?.stop();
});

describe('a Redis that restarts empty under two server processes', () => {
  it.each(['long-poll', 'websocket', 'sse'] as TransportName[])('leaves a %s client subscribed, on a new session, receiving', async (transport) => {
    const channel = `/outage/${transport.replace('-', '')}`;
    const subscriber = createClient({ url: `${proxy.origin}/cometd`, transports: [transport], rememberTransport: false, connectTimeout: 2_000 });
    clients.push(subscriber);
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
