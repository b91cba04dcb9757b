// @vitest-environment node
/**
 * Memory hygiene of the client: counts (client-cycles.test.ts) prove the SDK
 * releases what it opened; these prove nothing keeps a disconnected client
 * reachable and the heap stays flat over thousands of cycles. Garbage
 * collection is made callable at run time (`v8.setFlagsFromString('--expose-gc')`
 * and a fresh context's `gc`), so no runner flag is needed. Only what is stable
 * is asserted: "collectable after gc" (WeakRef), and heap growth under a bound
 * many times larger than the noise (a per-cycle leak of 500 bytes already
 * crosses it). To extend, add a loop body to `cycle`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type TransportName } from '../../src/index.js';
import { countingPlatform, fakeWindow, NOTHING } from '../helpers/hygiene-platform.js';
import { PEER_URL, startPeer, type Peer } from '../helpers/hygiene-peer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collect until `done()` or give up; finalization needs a few turns of the event loop. */
async function collect(done: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < 20 && !done(); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  gc();
}

let peer: Peer | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

function setup(transport: TransportName) {
  peer = startPeer();
  const counter = countingPlatform({ ...peer.platform, window: fakeWindow() });
  const make = () =>
    createClient({ url: PEER_URL, transports: [transport], rememberTransport: false, reconnect: { initialDelay: 0, maxDelay: 1 }, platform: counter.platform });
  return { counter, make };
}

describe.each<TransportName>(['websocket', 'sse', 'long-poll'])('%s transport', (transport) => {
  it('lets every disconnected client be collected', async () => {
    const { counter, make } = setup(transport);
    // In its own function so that no frame of the test keeps the last client in a variable.
    const cycle = async (i: number) => {
      const client = make();
      client.on('message', () => {});
      client.subscribe('/room/a', () => {});
      await client.publish('/room/a', { i });
      await client.disconnect();
      return new WeakRef(client);
    };
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 300; i++) refs.push(await cycle(i));
    const alive = () => refs.filter((r) => r.deref()).length;
    await collect(() => alive() === 0);
    expect(alive()).toBe(0);
    expect(counter.counts()).toEqual(NOTHING);
  });
});

it('keeps the heap flat over 3,000 more cycles of one client on every transport', async () => {
  peer = startPeer();
  const counter = countingPlatform({ ...peer.platform, window: fakeWindow() });
  const clients = (['websocket', 'sse', 'long-poll'] as const).map((t) =>
    createClient({ url: PEER_URL, transports: [t], rememberTransport: false, platform: counter.platform }),
  );
  const cycle = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const client = clients[i % clients.length]!;
      await client.connect();
      await client.subscribe('/room/a', () => {}).ready;
      await client.disconnect();
    }
  };
  await cycle(1_000); // warm up: JIT, caches, the engine's maps at their working size
  await collect();
  const before = process.memoryUsage().heapUsed;
  await cycle(3_000);
  await collect();
  const growth = process.memoryUsage().heapUsed - before;
  // Noise after a full gc is well under 1 MB; 500 bytes kept per cycle would be 1.5 MB.
  expect(growth).toBeLessThan(1.5 * 1024 * 1024);
  expect(counter.counts()).toEqual(NOTHING);
  expect(await peer.sessions()).toEqual([]);
}, 30_000);
