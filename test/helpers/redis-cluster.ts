/**
 * The setup the Redis cluster tests share: a real Redis, two reference-server
 * processes using it (test/helpers/cluster-child.ts), a round-robin balancer in
 * front of them (test/helpers/redis-proxy.ts), and SDK clients disconnected after
 * each test. Call it at a test file's top level: it registers the vitest hooks
 * that start everything (beforeAll), disconnect the clients (afterEach) and stop
 * everything (afterAll); the fields are set once beforeAll has run.
 * @example
 * const cluster = useRedisCluster();
 * it('…', async () => {
 *   const c = cluster.client(`${cluster.proxy.origin}/cometd`, 'websocket');
 *   await publishFrom(cluster.servers[0]!, '/x', 0, 10);
 * });
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createClient, type ClientOptions, type CometClient, type TransportName } from '../../src/index.js';
import { startServerProcess, stopServerProcess, type ServerProcess } from './cluster-child.js';
import { startRoundRobinProxy, type RoundRobinProxy, type RoundRobinProxyOptions } from './redis-proxy.js';
import { startRedis, type RunningRedis } from './redis-server.js';
import { startTcpGate, type TcpGate } from './tcp-gate.js';

export interface RedisClusterOptions extends RoundRobinProxyOptions {
  /** The servers reach Redis through an open `TcpGate` (`gate`), for tests that take Redis away. */
  gate?: boolean;
  /** The servers' `sessionTimeout`. @default 4000 */
  sessionTimeout?: number;
}

export interface RedisCluster {
  redis: RunningRedis;
  /** The test's own connection to Redis, straight (not through the gate). */
  inspect: Redis;
  /** Between the servers and Redis, with `{ gate: true }`. */
  gate: TcpGate | undefined;
  /** The two server processes; replace one that a test restarts, so afterAll stops it. */
  servers: ServerProcess[];
  /** The balancer in front of `servers` (as they were started: a restart keeps the port). */
  proxy: RoundRobinProxy;
  /** A client of `url` on `transport` alone, disconnected after the test. */
  client(url: string, transport: TransportName, options?: Partial<ClientOptions>): CometClient;
}

/** Register the hooks that run a cluster for the tests of the calling file (see above). */
export function useRedisCluster({ gate: gated = false, sessionTimeout, ...proxyOptions }: RedisClusterOptions = {}): RedisCluster {
  const clients: CometClient[] = [];
  const cluster = {
    gate: undefined,
    servers: [],
    client(url, transport, options = {}) {
      const c = createClient({ url, transports: [transport], rememberTransport: false, ...options });
      clients.push(c);
      return c;
    },
  } as Partial<RedisCluster> as RedisCluster;

  beforeAll(async () => {
    cluster.redis = await startRedis();
    cluster.inspect = new Redis(cluster.redis.url);
    if (gated) cluster.gate = await startTcpGate(cluster.redis.port, { open: true });
    const url = cluster.gate?.url ?? cluster.redis.url;
    cluster.servers = await Promise.all([startServerProcess(url, { sessionTimeout }), startServerProcess(url, { sessionTimeout })]);
    cluster.proxy = await startRoundRobinProxy(cluster.servers.map((s) => s.origin), proxyOptions);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => {})));
  });

  afterAll(async () => {
    await cluster.proxy?.close();
    await Promise.all(cluster.servers.map(stopServerProcess));
    await cluster.gate?.close();
    cluster.inspect?.disconnect();
    await cluster.redis?.stop();
  });

  return cluster;
}
