import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type TransportName } from '../../src/index.js';
import { fleet, startServer } from '../helpers/reference-server.js';

const { servers, clients, stop } = fleet();
afterEach(stop);

async function server(port = 0) {
  const s = await startServer({}, port);
  servers.push(s);
  return s;
}

/** A WebSocket a proxy lets open (101) but passes nothing through. */
class SilentWebSocket extends EventTarget {
  readyState = 0;
  constructor(readonly url: string) {
    super();
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.(new Event('open'));
    }, 5);
  }
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  send() {}
  close() {
    this.readyState = 3;
  }
}

/** A WebSocket constructor that throws, as under a CSP `connect-src` block. */
class BlockedWebSocket {
  constructor() {
    throw new DOMException('Refused to connect: violates Content Security Policy', 'SecurityError');
  }
}

describe('negotiation against the reference server', () => {
  it('falls through to the next transport when the WebSocket constructor throws', async () => {
    const s = await server();
    const c = createClient({
      url: s.url,
      rememberTransport: false,
      platform: { WebSocket: BlockedWebSocket as unknown as typeof WebSocket },
    });
    clients.push(c);
    const transports: Array<TransportName | null> = [];
    c.on('transport', (e) => transports.push(e.transport));
    await c.connect();
    expect(c.transport).toBe('sse');
    expect(transports).toEqual(['sse']);
  });

  it('abandons a WebSocket that opens but passes nothing through, after fallbackDelay', async () => {
    const s = await server();
    const c = createClient({
      url: s.url,
      rememberTransport: false,
      fallbackDelay: 100,
      transports: ['websocket', 'long-poll'],
      platform: { WebSocket: SilentWebSocket as unknown as typeof WebSocket },
    });
    clients.push(c);
    await c.connect();
    expect(c.transport).toBe('long-poll');
    const got = vi.fn();
    await c.subscribe('/t', got).ready;
    await s.comet.publish('/t', 1);
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith(1, expect.anything()));
  });
});

describe.each(['websocket', 'sse', 'long-poll'] as const)('%s reconnecting', (transport) => {
  it('re-handshakes and re-subscribes after a server restart, then delivers again', async () => {
    const first = await server();
    const port = (first.http.address() as AddressInfo).port;
    const c = createClient({
      url: first.url,
      transports: [transport],
      rememberTransport: false,
      reconnect: { initialDelay: 50, maxDelay: 200 },
    });
    clients.push(c);
    const states: string[] = [];
    c.on('state', (e) => states.push(e.state));
    const got: number[] = [];
    await c.subscribe<number>('/after/restart', (n) => got.push(n)).ready;
    const oldId = c.clientId;

    servers.splice(servers.indexOf(first), 1);
    await first.stop();
    await vi.waitFor(() => expect(c.state).toBe('reconnecting'));
    const second = await server(port);
    await vi.waitFor(() => expect(c.state).toBe('connected'), { timeout: 10_000 });
    expect(c.clientId).not.toBe(oldId);
    expect(c.transport).toBe(transport);

    await vi.waitFor(async () => {
      await second.comet.publish('/after/restart', got.length);
      expect(got.length).toBeGreaterThan(0);
    });
    expect(states).toContain('reconnecting');
  });

  it('renews its subscriptions on the new server before a publish made while the server was away', async () => {
    const first = await server();
    const port = (first.http.address() as AddressInfo).port;
    const c = createClient({ url: first.url, transports: [transport], rememberTransport: false, reconnect: { initialDelay: 50, maxDelay: 200 } });
    clients.push(c);
    const got: string[] = [];
    await c.subscribe<string>('/away/*', (text) => got.push(text)).ready;

    servers.splice(servers.indexOf(first), 1);
    await first.stop();
    await vi.waitFor(() => expect(c.state).toBe('reconnecting'));
    const published = c.publish('/away/news', 'sent while the server was away');
    await server(port);
    await published;
    // Queued before the renewal, it would reach the new server before the subscription did, and no one.
    await vi.waitFor(() => expect(got).toEqual(['sent while the server was away']));
  });
});
