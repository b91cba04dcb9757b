// Chaos: the SDK against the reference server through a fault-injecting proxy
// (test/helpers/chaos-proxy.ts), and across a server restart.
//
// The promise under test (docs/wire.md, the `ack` extension): whatever the network
// does to the connections, every message published to a subscribed client reaches
// the app once, in order; and every message the app publishes is published once, in
// order, and its promise settles (re-sent after a fault, de-duplicated by the server by
// `(clientId, id)`). The proxy closes connections, delays response chunks,
// truncates responses mid-body and refuses WebSocket upgrades for a while, at
// random from a printed seed (replay a failure with `CHAOS_SEED=<seed>`).
//
// Transports: the node environment runs `websocket` (Node's global WebSocket, via
// vitest's --experimental-websocket), `sse` (the EventSource polyfill from
// test/setup.ts) and `long-poll` (fetch). The `iframe` transport needs a real
// browser (a DOM, postMessage between frames) and is covered by test/browser.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type CometError, type TransportName } from '../../src/index.js';
import { MemoryStore } from '../../src/server/index.js';
import { chaosSeed, DEFAULT_RATES, startChaosProxy, type ChaosProxy, type ChaosRates } from '../helpers/chaos-proxy.js';
import { fleet, startServer, type RunningServer } from '../helpers/reference-server.js';

const transports: TransportName[] = ['websocket', 'sse', 'long-poll'];
const SEED = chaosSeed();
const CHANNEL = '/chaos/numbers';
/** Quick recovery, so a run full of faults still fits in seconds. */
const CLIENT = {
  rememberTransport: false,
  fallbackDelay: 200,
  connectTimeout: 1500,
  reconnect: { initialDelay: 20, maxDelay: 300 },
} as const;
const SERVER = { timeout: 1000 } as const;
/** `CHAOS_INTENSITY=3` multiplies every fault rate, for hunting bugs by hand; the default is what CI runs. */
const INTENSITY = Number(process.env.CHAOS_INTENSITY) > 0 ? Number(process.env.CHAOS_INTENSITY) : 1;
const RATES = Object.fromEntries(Object.entries(DEFAULT_RATES).map(([k, v]) => [k, Math.min(1, v * INTENSITY)])) as unknown as ChaosRates;

const { servers, clients, stop } = fleet();
const proxies: ChaosProxy[] = [];

afterEach(async () => {
  for (const p of proxies) p.calm();
  // Clients go first, then the proxies between them and the servers, then the servers.
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await stop();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
/** How many times a value is not greater than the one before it (0 for a strictly increasing list). */
const reorders = (xs: readonly number[]) => xs.filter((x, i) => i > 0 && x <= xs[i - 1]!).length;

/** A client, counting reconnects, transport switches and errors. */
function client(url: string, use: TransportName[], options: { upgradeDelay?: number } = {}) {
  const c = createClient({ url, transports: use, ...CLIENT, ...options });
  clients.push(c);
  const seen = { reconnects: 0, upgrades: 0, path: [] as TransportName[], errors: new Map<string, number>() };
  c.on('state', (e) => e.state === 'reconnecting' && seen.reconnects++);
  c.on('transport', ({ transport, previous }) => {
    if (transport && previous) seen.upgrades++; // switched without a drop
    if (transport && transport !== seen.path.at(-1)) seen.path.push(transport);
  });
  c.on('error', (e: CometError) => seen.errors.set(e.code, (seen.errors.get(e.code) ?? 0) + 1));
  return { c, seen };
}

interface ChaosCase {
  name: string;
  use: TransportName[];
  upgradeDelay?: number;
}
const cases: ChaosCase[] = [
  ...transports.map((t) => ({ name: t, use: [t] })),
  // All three: refused upgrades make the staggered race fall back, and the background
  // upgrade (after `upgradeDelay`) moves the session back to WebSocket mid-stream.
  { name: 'negotiated', use: transports, upgradeDelay: 500 },
];

describe.each(cases)('$name through the chaos proxy', ({ name, use, upgradeDelay }) => {
  const N = 300;

  it('hands the app every numbered message once, in order, while the proxy injects faults', { timeout: 30_000 }, async () => {
    // Our own store, so the test can see when the server's backlog for the client is empty (all acked).
    const store = new MemoryStore();
    const server = await startServer({ ...SERVER, store });
    servers.push(server);
    const proxy = await startChaosProxy({
      targetPort: (server.http.address() as AddressInfo).port,
      seed: SEED,
      rates: RATES,
      faultWindowMs: 3000,
    });
    proxies.push(proxy);
    const { c, seen } = client(proxy.url('/cometd'), use, upgradeDelay === undefined ? {} : { upgradeDelay });
    const got: number[] = [];
    const sub = c.subscribe<{ n: number }>(CHANNEL, ({ n }) => got.push(n));
    await sub.ready;
    const why = () =>
      `seed=${SEED} ${name}: got ${got.length}, faults ${JSON.stringify(proxy.faults)}, errors ${JSON.stringify([...seen.errors])}\n` +
      proxy.log.slice(-30).join('\n');

    // 300 messages over about 3 s, while the proxy misbehaves for those 3 s.
    proxy.start();
    for (let n = 0; n < N; n++) {
      await server.comet.publish(CHANNEL, { n });
      if (n % 5 === 4) await pause(50);
    }
    proxy.calm();

    await vi.waitFor(() => expect(got.length, why()).toBeGreaterThanOrEqual(N), { timeout: 20_000, interval: 50 });
    // Every message acknowledged: no redelivery can still be on its way to the app.
    await vi.waitFor(async () => expect(await store.pending(c.clientId ?? '', 0), why()).toEqual([]), { timeout: 10_000, interval: 50 });

    expect(got, why()).toEqual(range(0, N)); // none lost, none reordered, none duplicated
    expect(c.stats.delivered).toBe(N);
    // A fault just before the calm may still be playing out (a cut connect reply): the client recovers.
    await vi.waitFor(() => expect(c.state, why()).toBe('connected'), { timeout: 10_000, interval: 50 });
    expect(use).toContain(c.transport);
    const f = proxy.faults;
    console.log(
      `chaos ${name} seed=${SEED}: sent ${N}, delivered ${got.length}, duplicates suppressed ${c.stats.duplicates}, ` +
        `reorders ${reorders(got)}, reconnects ${seen.reconnects}${use.length > 1 ? `, transports ${seen.path.join('→')} (${seen.upgrades} upgrades)` : ''} ` +
        `(faults: close ${f.close}, reap ${f.reap}, truncate ${f.truncate}, delay ${f.delay}, ` +
        `upgrades refused ${f.refused} in ${f.refuseWindows} windows; ${proxy.connections} connections)`,
    );
  });

  it("publishes every one of the app's numbered messages once, in order, and settles each publish, while the proxy injects faults", { timeout: 30_000 }, async () => {
    const server = await startServer(SERVER);
    servers.push(server);
    const proxy = await startChaosProxy({ targetPort: (server.http.address() as AddressInfo).port, seed: SEED, rates: RATES, faultWindowMs: 3000 });
    proxies.push(proxy);
    const { c, seen } = client(proxy.url('/cometd'), use, upgradeDelay === undefined ? {} : { upgradeDelay });
    const published: number[] = [];
    server.comet.on('publish', ({ data }) => published.push((data as { n: number }).n));
    await c.connect();
    const why = () =>
      `seed=${SEED} ${name}: published ${JSON.stringify(published)}, faults ${JSON.stringify(proxy.faults)}, errors ${JSON.stringify([...seen.errors])}\n` +
      proxy.log.slice(-30).join('\n');

    // Five at a time, each five in one frame; a publish cut off by a fault is sent again
    // after the reconnect, and the server must not publish it twice (docs/wire.md).
    proxy.start();
    for (let n = 0; n < N; n += 5) {
      const settled = await Promise.allSettled(range(n, n + 5).map((i) => c.publish(CHANNEL, { n: i })));
      expect(settled.filter((r) => r.status === 'rejected'), why()).toEqual([]);
      await pause(50);
    }
    proxy.calm();

    expect(published, why()).toEqual(range(0, N)); // none lost, none reordered, none published twice
    console.log(`chaos ${name} publishing seed=${SEED}: ${N} published once each, reconnects ${seen.reconnects} (${proxy.connections} connections)`);
  });
});

// A restart of a server on the memory engine loses all of its state: sessions,
// subscriptions and every client's backlog live only in that process. So:
// - messages the old server had accepted but not yet written to the client when it
//   stopped are gone (the tail of the first run; the ack extension cannot help, the
//   backlog that would redeliver them died with the process);
// - messages published while no server runs have nowhere to go;
// - messages published on the new server before the client's renewed subscription
//   reaches it have no subscriber, so they are delivered to nobody.
// The client notices (a closed socket or stream, then `402 Unknown client` from the
// new server), re-handshakes, and re-subscribes by itself; from the renewed
// subscription on, delivery is complete and ordered again. A shared store (Redis)
// is what keeps sessions and backlogs across a restart.
describe.each(transports)('%s across a server restart (memory engine)', (transport) => {
  it('re-handshakes, re-subscribes and delivers everything published after the renewed subscription, in order', { timeout: 30_000 }, async () => {
    let current: RunningServer | null = await startServer(SERVER);
    servers.push(current);
    const port = (current.http.address() as AddressInfo).port;
    const { c, seen } = client(current.url, [transport]);
    const got: number[] = [];
    await c.subscribe<{ n: number }>(CHANNEL, ({ n }) => got.push(n)).ready;
    const firstId = c.clientId;

    let n = 0;
    const publish = async (count: number, paced = true) => {
      for (const end = n + count; n < end; n++) {
        if (current) await current.comet.publish(CHANNEL, { n });
        if (paced && n % 5 === 4) await pause(25);
      }
    };

    // 1. 100 messages on the first server, the last 5 in a burst; stop it right after them
    //    (some of the burst may still be in its backlog, unwritten, when it stops).
    await publish(95);
    await publish(5, false);
    const stoppedAt = n;
    const first = current;
    current = null;
    servers.splice(servers.indexOf(first), 1);
    await first.stop();
    await vi.waitFor(() => expect(c.state).toBe('reconnecting'));

    // 2. 50 more while no server runs: nobody takes them.
    await publish(50);

    // 3. A fresh server on the same port; keep publishing until the client's renewed subscription lands.
    const restartedAt = n;
    const second = await startServer(SERVER, port);
    servers.push(second);
    let renewedAt = -1;
    second.comet.on('subscribe', (e) => {
      if (renewedAt < 0 && e.subscription === CHANNEL) renewedAt = n + 1; // the publish under way may or may not see it
    });
    current = second;
    const deadline = Date.now() + 10_000;
    while (renewedAt < 0 && Date.now() < deadline) await publish(5);
    expect(renewedAt, 'the client re-subscribed on the new server').toBeGreaterThan(0);
    expect(c.clientId).not.toBe(firstId);

    // 4. 150 more after the renewed subscription: all of them must arrive, in order.
    await publish(150);
    const sent = n;
    await vi.waitFor(() => expect(got.at(-1)).toBe(sent - 1), { timeout: 10_000, interval: 50 });

    const before = got.filter((x) => x < stoppedAt);
    const after = got.filter((x) => x >= restartedAt);
    const why = `${transport}: got ${JSON.stringify(got)}`;
    expect(reorders(got), why).toBe(0);
    // Before the stop: a gapless prefix (only the undelivered tail can be lost).
    expect(before, why).toEqual(range(0, before.length));
    // Nothing published while down.
    expect(got.filter((x) => x >= stoppedAt && x < restartedAt), why).toEqual([]);
    // After the restart: gapless from some message no later than the first one published after the renewal.
    expect(after[0], why).toBeLessThanOrEqual(renewedAt);
    expect(after, why).toEqual(range(after[0]!, sent));
    expect(c.stats.delivered).toBe(got.length);
    expect(c.state).toBe('connected');
    expect(c.transport).toBe(transport);

    const lostTail = stoppedAt - before.length;
    const lostDown = restartedAt - stoppedAt;
    const lostBeforeRenewal = after[0]! - restartedAt;
    console.log(
      `restart ${transport}: sent ${sent}, delivered ${got.length}, duplicates suppressed ${c.stats.duplicates}, ` +
        `reorders ${reorders(got)}, reconnects ${seen.reconnects}; lost ${sent - got.length} = ` +
        `${lostTail} accepted by the old server but undelivered at the stop + ${lostDown} published while down + ` +
        `${lostBeforeRenewal} published on the new server before the renewed subscription`,
    );
  });
});
