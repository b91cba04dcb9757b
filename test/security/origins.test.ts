// @vitest-environment node
import type { IncomingMessage } from 'node:http';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import { createClient, type Platform, type TransportName } from '../../src/index.js';
import { fleet, startServer } from '../helpers/reference-server.js';

// allowedOrigins, driven through the SDK: in Node nothing adds an Origin, so the
// client is handed host objects that send the Origin a browser page would — on
// its POSTs (the `headers` option), its WebSocket upgrade (a `ws` socket with
// headers) and its EventSource GET (the polyfill's fetch hook). The server must
// refuse a foreign page at every entry point on its own, so one test sends the
// foreign Origin on the stream only, after a clean handshake.
const APP = 'https://app.example';
const EVIL = 'https://evil.example';

const { servers, clients, stop } = fleet();
afterEach(stop);

/** A WebSocket whose upgrade carries `origin`, as a page on that origin would send. */
const socketFrom = (origin: string) =>
  class extends WsWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers: { origin } });
    }
  } as unknown as typeof globalThis.WebSocket;

/** An EventSource whose GET carries `origin`. */
const streamFrom = (origin: string) =>
  class extends EventSource {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, { ...init, fetch: (input, options) => fetch(input, { ...options, headers: { ...options?.headers, origin } }) });
    }
  } as unknown as typeof globalThis.EventSource;

/** Host objects for a page on `pageOrigin` whose streams claim `streamOrigin`. */
function page(pageOrigin: string, streamOrigin = pageOrigin): { headers: Record<string, string>; platform: Partial<Platform> } {
  return { headers: { Origin: pageOrigin }, platform: { WebSocket: socketFrom(streamOrigin), EventSource: streamFrom(streamOrigin) } };
}

async function server() {
  const s = await startServer({ allowedOrigins: [APP] });
  servers.push(s);
  // Every request or upgrade that reached the server with a foreign Origin.
  const foreign: string[] = [];
  const note = (req: IncomingMessage) => {
    if (req.headers.origin === EVIL) foreign.push(`${req.headers.upgrade ? 'UPGRADE' : req.method} ${req.url}`);
  };
  s.http.prependListener('request', note);
  s.http.prependListener('upgrade', note);
  return { ...s, foreign };
}

function client(url: string, transport: TransportName, from: ReturnType<typeof page>) {
  const c = createClient({ url, transports: [transport], rememberTransport: false, reconnect: { initialDelay: 20, maxDelay: 50 }, fallbackDelay: 100, ...from });
  clients.push(c);
  return c;
}

describe.each(['websocket', 'sse', 'long-poll'] as const)('allowedOrigins over %s, through the SDK', (transport) => {
  it('connects and delivers for a listed page origin', async () => {
    const s = await server();
    const c = client(s.url, transport, page(APP));
    await c.connect();
    expect(c.transport).toBe(transport);
    const got = vi.fn();
    await c.subscribe('/o', got).ready;
    await s.comet.publish('/o', 1);
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith(1, expect.anything()));
  });

  it('refuses a foreign page at the handshake: connect() rejects with handshake_failed and the client is closed', async () => {
    const s = await server();
    const handshakes = vi.fn();
    s.comet.on('handshake', handshakes);
    const c = client(s.url, transport, page(EVIL));
    await expect(c.connect()).rejects.toMatchObject({ name: 'CometError', code: 'handshake_failed', message: expect.stringContaining('403') });
    expect(c.state).toBe('closed');
    expect(c.clientId).toBeNull();
    expect(handshakes).not.toHaveBeenCalled();
    expect(s.foreign).toEqual([`POST /cometd`]);
  });
});

describe('allowedOrigins on the stream itself', () => {
  it.each([
    ['websocket', 'UPGRADE /cometd'],
    ['sse', 'GET /cometd/'],
  ] as const)('refuses a %s from a foreign origin after a clean handshake, every time the client retries', async (transport, entry) => {
    const s = await server();
    const c = client(s.url, transport, page(APP, EVIL));
    const got = vi.fn();
    c.subscribe('/o', got).ready.catch(() => {});
    await vi.waitFor(() => expect(s.foreign.filter((f) => f.startsWith(entry)).length).toBeGreaterThanOrEqual(3));
    expect(c.state).not.toBe('connected');
    expect(c.transport).toBeNull();
    await s.comet.publish('/o', 'secret');
    expect(got).not.toHaveBeenCalled();
  });

  it('refuses long-poll connects from a foreign origin after a clean handshake', async () => {
    const s = await server();
    // The handshake comes from the app's page; every later POST claims the foreign origin.
    const fetchFrom: typeof fetch = (input, init) => {
      const isHandshake = String(init?.body).includes('/meta/handshake');
      return fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), Origin: isHandshake ? APP : EVIL } });
    };
    const c = createClient({ url: s.url, transports: ['long-poll'], rememberTransport: false, reconnect: { initialDelay: 20, maxDelay: 50 }, platform: { fetch: fetchFrom } });
    clients.push(c);
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    void c.connect();
    await vi.waitFor(() => expect(s.foreign.length).toBeGreaterThanOrEqual(3));
    expect(c.state).toBe('reconnecting');
    // Each refused connect fails the only transport there is.
    expect(errors).toContain('transport_failed');
  });
});

describe('allowedOrigins at the entry points the SDK does not use in Node', () => {
  it('refuses a JSONP request with a foreign Origin', async () => {
    const s = await server();
    const message = encodeURIComponent(JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'] }]));
    const evil = await fetch(`${s.url}?message=${message}&jsonp=cb`, { headers: { origin: EVIL } });
    expect(evil.status).toBe(403);
    expect(await evil.text()).not.toContain('cb(');
    const app = await fetch(`${s.url}?message=${message}&jsonp=cb`, { headers: { origin: APP } });
    expect(app.status).toBe(200);
    // Faye's hardening against reflected file download: the script never opens as a page or a named file.
    expect(app.headers.get('content-disposition')).toBe('attachment; filename=f.txt');
    expect(app.headers.get('x-content-type-options')).toBe('nosniff');
  });

  // A classic <script src> load sends no Origin, so allowedOrigins alone would let any
  // site run JSONP requests with the visitor's cookies (and read the replies through
  // its callback). Browsers do send Sec-Fetch-Site and, by default, a Referer.
  it('refuses a cross-site JSONP script load unless its Referer is an allowed page', async () => {
    const s = await server();
    const handshakes = vi.fn();
    s.comet.on('handshake', handshakes);
    const message = encodeURIComponent(JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'] }]));
    const load = (headers: Record<string, string>) => fetch(`${s.url}?message=${message}&jsonp=cb`, { headers });
    const evil = await load({ 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'script', referer: `${EVIL}/page` });
    expect(evil.status).toBe(403);
    expect(await evil.text()).not.toContain('cb(');
    expect((await load({ 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'script' })).status).toBe(403);
    expect((await load({ 'sec-fetch-site': 'same-site', referer: 'https://other.app.example/' })).status).toBe(403);
    expect(handshakes).not.toHaveBeenCalled();
    // The allowed page, a same-origin page, and a client that is not a browser at all.
    expect((await load({ 'sec-fetch-site': 'cross-site', referer: `${APP}/chat?room=1` })).status).toBe(200);
    expect((await load({ 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await load({})).status).toBe(200);
  });

  it.each(['null', 'http://127.0.0.1', 'https://app.example.evil', 'https://APP.example:443/', 'app.example'])('refuses the Origin %j on POST, stream and upgrade', async (origin) => {
    const s = await server();
    const post = await fetch(s.url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '[]' });
    expect(post.status).toBe(403);
    const stream = await fetch(`${s.url}/x`, { headers: { origin, accept: 'text/event-stream' } });
    expect(stream.status).toBe(403);
    const upgrade = await new Promise<number>((resolve) => {
      const ws = new WsWebSocket(s.url.replace(/^http/, 'ws'), { headers: { origin } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(upgrade).toBe(403);
  });
});
