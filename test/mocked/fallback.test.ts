// @vitest-environment jsdom
/**
 * Transport negotiation against `cometkit/testing` in jsdom: each fallback path
 * ends on the transport it should (`client.transport`), and fast; the winner
 * carries the session (a delivery arrives over it); and the transport memory
 * makes the next client start where the last one ended.
 */
import { describe, expect, test, vi } from 'vitest';
import { connectTypes, received, useMockServer } from './harness.js';

const env = useMockServer();

/** Subscribe, publish from the server, and resolve when the delivery arrived: the session really works. */
async function delivers(client: ReturnType<typeof env.client>['client']) {
  const got = vi.fn();
  await client.subscribe('/proof', got).ready;
  await env.mock.publish('/proof', 'delivered');
  await vi.waitFor(() => expect(got).toHaveBeenCalledWith('delivered', expect.objectContaining({ channel: '/proof' })));
}

describe('fallback', () => {
  test('moves on to SSE at once when the WebSocket is refused', async () => {
    env.mock.refuse('websocket');
    // A long fallbackDelay: only the refusal itself can start the next transport in time.
    const { client, transports } = env.client({ transports: ['websocket', 'sse', 'long-poll'], fallbackDelay: 10_000 });
    await client.connect();
    expect(client.transport).toBe('sse');
    expect(transports).toEqual(['sse']);
    expect(connectTypes(env.mock)).not.toContain('websocket');
    await delivers(client);
  });

  test('moves on to long-poll at once when WebSocket and SSE are refused', async () => {
    env.mock.refuse('websocket', 'sse');
    const { client } = env.client({ transports: ['websocket', 'sse', 'long-poll'], fallbackDelay: 10_000 });
    await client.connect();
    expect(client.transport).toBe('long-poll');
    await delivers(client);
  });

  test('starts the next transport after fallbackDelay when the WebSocket hangs, and abandons the hung one', async () => {
    env.mock.hang('websocket');
    const { client, transports } = env.client({ transports: ['websocket', 'long-poll'], fallbackDelay: 150, connectTimeout: 10_000 });
    const started = Date.now();
    await client.connect();
    const took = Date.now() - started;
    expect(client.transport).toBe('long-poll');
    expect(transports).toEqual(['long-poll']);
    // After fallbackDelay, well before connectTimeout.
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(3000);
    // The hung socket never got a frame through to the server.
    expect(connectTypes(env.mock)).not.toContain('websocket');
    await delivers(client);
    expect(client.transport).toBe('long-poll');
  });

  test('uses long-poll when there is no EventSource', async () => {
    const { client, transports } = env.client({ transports: ['sse', 'long-poll'], platform: { EventSource: undefined } });
    await client.connect();
    expect(client.transport).toBe('long-poll');
    expect(transports).toEqual(['long-poll']);
    // SSE was never even tried: its connection type only appears in the handshake's offer.
    expect(connectTypes(env.mock)).not.toContain('eventsource');
    await delivers(client);
  });

  test('abandons an SSE stream a buffering proxy swallows and ends on long-poll', async () => {
    env.mock.swallow('sse');
    const { client, transports } = env.client({ transports: ['sse', 'long-poll'], fallbackDelay: 100, connectTimeout: 300 });
    await client.connect();
    expect(client.transport).toBe('long-poll');
    expect(transports).toEqual(['long-poll']);
    // SSE did send its connect (the POST passes), but the reply written on the stream never arrived.
    expect(connectTypes(env.mock)).toContain('eventsource');
    await delivers(client);
  });

  test('abandons a swallowed SSE stream after connectTimeout even when it is the only runner left', async () => {
    env.mock.swallow('sse');
    // fallbackDelay longer than connectTimeout: the deadline, not the stagger, moves on.
    const { client, errors } = env.client({ transports: ['sse', 'long-poll'], fallbackDelay: 10_000, connectTimeout: 200 });
    await client.connect();
    expect(client.transport).toBe('long-poll');
    expect(errors).toEqual([]);
  });
});

describe('transport memory', () => {
  test('a second client to the same endpoint starts with the transport the first one ended on', async () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    env.mock.refuse('websocket');
    const first = env.client({ transports: ['websocket', 'sse', 'long-poll'], rememberTransport: true, platform: { storage } });
    await first.client.connect();
    expect(first.client.transport).toBe('sse');
    await first.client.disconnect();
    expect([...store.keys()]).toEqual([`cometkit:${new URL('http://localhost/cometd').href}`]);

    env.mock.restore();
    env.mock.requests.length = 0;
    const second = env.client({ transports: ['websocket', 'sse', 'long-poll'], rememberTransport: true, platform: { storage } });
    await second.client.connect();
    expect(second.client.transport).toBe('sse');
    // Its first (and only) connect attempt was over SSE, although WebSocket works again.
    expect(connectTypes(env.mock)).toEqual(['eventsource']);
  });

  test('remembers nothing with rememberTransport: false', async () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const { client } = env.client({ transports: ['sse', 'long-poll'], rememberTransport: false, platform: { storage } });
    await client.connect();
    expect(store.size).toBe(0);
  });
});
