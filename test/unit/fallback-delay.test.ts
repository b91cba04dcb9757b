/**
 * The staggered race's delay: by default it follows the network, 6 × the
 * handshake's round trip within 400–1000 ms (a LAN falls back in 0.4 s, a slow
 * link still gets a second); a `fallbackDelay` the app sets is
 * used as it is. A platform clock and timers show the delay the client armed,
 * with a WebSocket that never opens, so the race has to wait.
 */
import { describe, expect, it } from 'vitest';
import { CometClient, type CoreOptions } from '../../src/index.js';
import { longPollTransport } from '../../src/transports/long-poll.js';
import { websocketTransport } from '../../src/transports/websocket.js';

/** The delays of the timers armed once the handshake, which took `handshakeMs`, was answered. */
async function delaysAfterHandshake(handshakeMs: number, options: Partial<CoreOptions> = {}): Promise<number[]> {
  let clock = 1_000;
  let answered = false;
  const armed: number[] = [];
  const client = new CometClient({
    url: 'http://localhost/cometd',
    transports: [websocketTransport, longPollTransport],
    rememberTransport: false,
    connectTimeout: 60_000,
    ...options,
    platform: {
      now: () => clock,
      setTimeout: ((_fn: () => void, ms: number) => (answered && armed.push(ms), 0)) as never,
      clearTimeout: () => {},
      window: undefined,
      WebSocket: class { close() {} } as never, // never opens
      fetch: (async (_url: URL, init: RequestInit) => {
        const [m] = JSON.parse(init.body as string) as Array<{ channel: string; id: string }>;
        if (m!.channel !== '/meta/handshake') return new Promise(() => {});
        clock += handshakeMs;
        answered = true;
        return new Response(JSON.stringify([{ channel: m!.channel, id: m!.id, successful: true, clientId: 'c1', supportedConnectionTypes: ['websocket', 'long-polling'] }]));
      }) as typeof fetch,
    },
  });
  void client.connect();
  await expect.poll(() => answered).toBe(true);
  await expect.poll(() => armed.filter((ms) => ms !== 60_000)).toHaveLength(1);
  void client.disconnect();
  return armed;
}

describe('the delay before the next transport starts', () => {
  it.each([
    [100, 600],
    [20, 400],
    [400, 1000],
  ])('after a handshake of %i ms is %i ms by default', async (handshakeMs, delay) => {
    // The link's deadline (connectTimeout) and the race's stagger are the two timers.
    expect((await delaysAfterHandshake(handshakeMs)).filter((ms) => ms !== 60_000)).toEqual([delay]);
  });

  it('is fallbackDelay whatever the handshake took, when the app sets it', async () => {
    expect((await delaysAfterHandshake(100, { fallbackDelay: 3_000 })).filter((ms) => ms !== 60_000)).toEqual([3_000]);
    expect((await delaysAfterHandshake(400, { fallbackDelay: 50 })).filter((ms) => ms !== 60_000)).toEqual([50]);
  });
});
