// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authTokenExtension, createClient, type CometError, type TransportName } from '../../src/index.js';
import type { Message } from '../../src/protocol/message.js';
import type { Extension } from '../../src/server/index.js';
import { fleet, startServer } from '../helpers/reference-server.js';

// Authentication the documented way: the SDK's authTokenExtension puts a token
// in `ext.authToken` of handshakes, subscribes and publishes; a server extension
// checks it and denies with `403::…`. The client must report each denial with a
// clear, typed error and be in the right state afterwards.
const TOKENS: Record<string, string[]> = { reader: ['/news/**'], admin: ['/news/**', '/admin/**'] };

const { servers, clients, stop } = fleet();
afterEach(stop);

/** Every message the server's extension saw, and the extension itself. */
function auth() {
  const seen: Message[] = [];
  const allowed = (token: unknown, channel: string) =>
    typeof token === 'string' && (TOKENS[token] ?? []).some((p) => channel.startsWith(p.slice(0, -2)));
  const extension: Extension = {
    incoming(message) {
      seen.push(structuredClone(message));
      const token = message.ext?.authToken;
      if (message.channel === '/meta/handshake' && !(typeof token === 'string' && token in TOKENS)) message.error = '403::Invalid token';
      else if (message.channel === '/meta/subscribe' && !allowed(token, String(message.subscription))) message.error = `403:${message.subscription}:Not allowed`;
      else if (!message.channel.startsWith('/meta/') && !allowed(token, message.channel)) message.error = `403:${message.channel}:Not allowed`;
    },
  };
  return { seen, extension };
}

async function server() {
  const { seen, extension } = auth();
  const s = await startServer({ extensions: [extension] });
  servers.push(s);
  return { ...s, seen };
}

function client(url: string, transport: TransportName, token: string | (() => string)) {
  const c = createClient({ url, transports: [transport], rememberTransport: false, extensions: [authTokenExtension(token)] });
  const errors: CometError[] = [];
  c.on('error', (e) => errors.push(e));
  clients.push(c);
  return { c, errors };
}

describe.each(['websocket', 'sse', 'long-poll'] as const)('authTokenExtension over %s', (transport) => {
  it('rejects connect() with handshake_failed for a bad token and leaves the client closed', async () => {
    const s = await server();
    const handshakes = vi.fn();
    s.comet.on('handshake', handshakes);
    const { c, errors } = client(s.url, transport, 'forged');
    const states: string[] = [];
    c.on('state', (e) => states.push(e.state));
    await expect(c.connect()).rejects.toMatchObject({ name: 'CometError', code: 'handshake_failed', message: expect.stringContaining('403::Invalid token') });
    expect(c.state).toBe('closed');
    expect(c.clientId).toBeNull();
    expect(c.transport).toBeNull();
    expect(states).toEqual(['connecting', 'closed']);
    expect(errors.map((e) => e.code)).toEqual(['handshake_failed']);
    // Refused, not retried: one handshake reached the server, no session exists.
    expect(s.seen.filter((m) => m.channel === '/meta/handshake')).toHaveLength(1);
    expect(handshakes).not.toHaveBeenCalled();
    // subscribe() on a closed client throws at once instead of queueing forever.
    expect(() => c.subscribe('/news/x', () => {})).toThrow(expect.objectContaining({ code: 'closed' }));
  });

  it('rejects sub.ready with subscribe_denied, stays connected and keeps its other subscriptions', async () => {
    const s = await server();
    const { c, errors } = client(s.url, transport, 'reader');
    await c.connect();
    const news = vi.fn();
    const admin = vi.fn();
    await c.subscribe('/news/today', news).ready;
    const denied = c.subscribe('/admin/**', admin);
    await expect(denied.ready).rejects.toMatchObject({ name: 'CometError', code: 'subscribe_denied', message: expect.stringContaining('403:/admin/**:Not allowed') });
    expect(c.state).toBe('connected');
    expect(c.transport).toBe(transport);
    expect(errors.map((e) => e.code)).toEqual(['subscribe_denied']);
    await expect(c.publish('/admin/x', 1)).rejects.toMatchObject({ code: 'publish_failed', message: expect.stringContaining('403:/admin/x:Not allowed') });
    await s.comet.publish('/admin/x', 'secret');
    await s.comet.publish('/news/today', 'headline');
    await vi.waitFor(() => expect(news).toHaveBeenCalledWith('headline', expect.anything()));
    expect(admin).not.toHaveBeenCalled();
    // The denied pattern is forgotten: subscribing again asks the server again.
    await expect(c.subscribe('/admin/**', admin).ready).rejects.toMatchObject({ code: 'subscribe_denied' });
    expect(s.seen.filter((m) => m.channel === '/meta/subscribe' && m.subscription === '/admin/**')).toHaveLength(2);
  });
});

describe('authTokenExtension', () => {
  it('connects after a denied handshake once the token is fixed', async () => {
    const s = await server();
    let token = 'forged';
    const { c } = client(s.url, 'long-poll', () => token);
    await expect(c.connect()).rejects.toMatchObject({ code: 'handshake_failed' });
    token = 'admin';
    await c.connect();
    expect(c.state).toBe('connected');
    await c.subscribe('/admin/panel', () => {}).ready;
  });

  it('reads the token for every message, sends it on no /meta/connect and forwards it to no subscriber', async () => {
    const s = await server();
    let token = 'reader';
    const { c } = client(s.url, 'websocket', () => token);
    await c.subscribe('/news/a', () => {}).ready;
    token = 'admin';
    await c.subscribe('/admin/b', () => {}).ready;
    expect(s.seen.filter((m) => m.channel === '/meta/subscribe').map((m) => m.ext?.authToken)).toEqual(['reader', 'admin']);
    expect(s.seen.filter((m) => m.channel === '/meta/connect').every((m) => m.ext?.authToken === undefined)).toBe(true);

    const other = createClient({ url: s.url, transports: ['long-poll'], rememberTransport: false, extensions: [authTokenExtension('reader')] });
    clients.push(other);
    const got: Message[] = [];
    other.on('message', (m) => got.push(m));
    await other.subscribe('/news/**', () => {}).ready;
    await c.publish('/news/a', 'headline');
    await vi.waitFor(() => expect(got).toHaveLength(1));
    expect(JSON.stringify(got)).not.toContain('admin');
    expect(got[0]!.ext?.authToken).toBeUndefined();
  });
});
