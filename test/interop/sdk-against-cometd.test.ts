import { afterEach, expect, it, vi } from 'vitest';
import { AcknowledgedMessagesExtension } from 'cometd-nodejs-server/ack-extension.js';
import { createClient, type CometClient, type CometError, type CoreOptions, type Message } from '../../src/index.js';
import { fetchWithCookies, startCometD, stopCometD, type RunningCometD } from '../helpers/cometd-server.js';

// The SDK against CometD's own Node server (`cometd-nodejs-server`), the second
// Bayeux implementation it did not write. That server speaks long-polling only,
// and finds a session by its BAYEUX_BROWSER cookie, which a browser sends for its
// own origin: in Node the client gets a `platform.fetch` that keeps cookies
// (fetchWithCookies), as the README tells Node apps to do.

const clients: CometClient[] = [];
let errors: CometError[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await stopCometD();
  errors = [];
});

function client(server: RunningCometD, options: Partial<CoreOptions> = {}) {
  const c = createClient({ url: server.url, rememberTransport: false, platform: { fetch: fetchWithCookies() }, ...options });
  c.on('error', (e) => errors.push(e));
  clients.push(c);
  return c;
}

const received = (server: RunningCometD, channel: string) => server.wire.filter((w) => w.dir === 'in' && w.message.channel === channel).map((w) => w.message);

it('connects with the default transports on long-polling, the only type the server offers', async () => {
  const server = await startCometD();
  const c = client(server);
  await c.connect();
  expect(c.transport).toBe('long-poll');
  expect(received(server, '/meta/handshake')[0]).toMatchObject({ version: '1.0', supportedConnectionTypes: ['websocket', 'eventsource', 'long-polling', 'iframe-streaming'] });
  // It went straight to what the server named: no WebSocket or stream was tried first.
  expect(new Set(received(server, '/meta/connect').map((m) => m.connectionType))).toEqual(new Set(['long-polling']));
  expect(errors).toEqual([]);
});

it('delivers what another client and the server publish, in order, across held connects', async () => {
  const server = await startCometD();
  const c = client(server);
  const got: number[] = [];
  await c.subscribe<{ n: number }>('/chat/room', (data) => got.push(data.n)).ready;
  const other = client(server);
  for (let n = 0; n < 20; n++) await other.publish('/chat/room', { n });
  const channel = server.cometd.createServerChannel('/chat/room');
  for (let n = 20; n < 40; n++) channel.publish(null, { n });
  await vi.waitFor(() => expect(got).toHaveLength(40));
  expect(got).toEqual([...Array(40).keys()]);
  // Still delivering after a held connect timed out on the server (its timeout is 2 s here).
  await new Promise((r) => setTimeout(r, 2300));
  await other.publish('/chat/room', { n: 40 });
  await vi.waitFor(() => expect(got.at(-1)).toBe(40));
  expect(got).toHaveLength(41);
  expect(errors).toEqual([]);
});

it("is a plain client to CometD's ack extension: 'seq' is not its `true`", async () => {
  const server = await startCometD();
  server.cometd.addExtension(new AcknowledgedMessagesExtension());
  let reply: Message | undefined;
  const c = client(server, { extensions: [{ incoming: (m) => ((reply ??= m.channel === '/meta/handshake' ? m : undefined), m) }] });
  const got: number[] = [];
  await c.subscribe<number>('/acked', (n) => got.push(n)).ready;
  // CometD enables its ack only for `ack: true` (its reply then says `ack: true`): this session is plain Bayeux.
  expect(reply).toMatchObject({ channel: '/meta/handshake', successful: true });
  expect(reply!.ext?.ack).toBeUndefined();
  const channel = server.cometd.createServerChannel('/acked');
  for (let n = 0; n < 30; n++) channel.publish(null, n);
  await vi.waitFor(() => expect(got).toHaveLength(30));
  await new Promise((r) => setTimeout(r, 200));
  expect(got).toEqual([...Array(30).keys()]); // nothing sent twice
  expect(received(server, '/meta/connect').every((m) => m.ext?.ack === undefined)).toBe(true);
  expect(errors).toEqual([]);
});

it("reports the server's refusals with their codes and its error text", async () => {
  const server = await startCometD();
  server.cometd.policy = {
    canSubscribe: (_session, _message, channel, callback) => callback(undefined, !channel.name.startsWith('/private/')),
    canPublish: (_session, _message, channel, callback) => callback(undefined, channel.name !== '/readonly'),
  };
  const c = client(server);
  await expect(c.subscribe('/private/x', () => {}).ready).rejects.toMatchObject({ code: 'subscribe_denied', reply: { successful: false } });
  await expect(c.publish('/readonly', 1)).rejects.toMatchObject({ code: 'publish_failed', message: expect.stringMatching(/^\/readonly failed: "403:/) });
  // The session survives both.
  const got: unknown[] = [];
  await c.subscribe('/open', (d) => got.push(d)).ready;
  await c.publish('/open', 'still here');
  await vi.waitFor(() => expect(got).toEqual(['still here']));
  expect(c.state).toBe('connected');
});

it('ends with handshake_failed when the server refuses the handshake', async () => {
  const server = await startCometD();
  server.cometd.policy = { canHandshake: (_session, _message, callback) => callback(undefined, false) };
  const c = client(server);
  await expect(c.connect()).rejects.toMatchObject({ code: 'handshake_failed' });
  expect(c.state).toBe('closed');
  expect(errors.map((e) => e.code)).toEqual(['handshake_failed']);
});

it('handshakes again and renews its subscriptions after the server restarted', async () => {
  const first = await startCometD();
  const c = client(first, { reconnect: { initialDelay: 50, maxDelay: 200, factor: 2, jitter: true } });
  const got: string[] = [];
  await c.subscribe<string>('/news', (d) => got.push(d)).ready;
  const clientId = c.clientId;
  await first.stop();
  const second = await startCometD({}, first.port);
  await vi.waitFor(() => expect(received(second, '/meta/subscribe')).toEqual([expect.objectContaining({ subscription: '/news' })]), { timeout: 5000 });
  await vi.waitFor(() => expect(c.state).toBe('connected'));
  expect(c.clientId).not.toBe(clientId);
  second.cometd.createServerChannel('/news').publish(null, 'after the restart');
  await vi.waitFor(() => expect(got).toEqual(['after the restart']));
  expect(errors.some((e) => e.code === 'connect_failed' && /402::/.test(e.message))).toBe(true);
});

it('leaves with /meta/disconnect, and the server forgets the session', async () => {
  const server = await startCometD();
  const c = client(server);
  await c.connect();
  const clientId = c.clientId!;
  expect(server.cometd.getServerSession(clientId)).toBeTruthy();
  await c.disconnect();
  expect(received(server, '/meta/disconnect')).toEqual([expect.objectContaining({ clientId })]);
  expect(server.cometd.getServerSession(clientId)).toBeFalsy();
  expect(errors).toEqual([]);
});

it('keeps both delivering when two clients share a browser cookie, as two tabs do (the server tells one to poll)', async () => {
  const server = await startCometD({ multiSessionInterval: 300 });
  const shared = fetchWithCookies();
  const a = client(server, { platform: { fetch: shared } });
  const b = client(server, { platform: { fetch: shared } });
  const got: string[][] = [[], []];
  await a.subscribe<string>('/tabs', (d) => got[0]!.push(d)).ready;
  await b.subscribe<string>('/tabs', (d) => got[1]!.push(d)).ready;
  // One of them is told `multiple-clients` and to poll every 300 ms instead of holding its connect.
  await vi.waitFor(() => expect(server.wire.some((w) => w.dir === 'out' && w.message.advice?.['multiple-clients'] === true)).toBe(true));
  server.cometd.createServerChannel('/tabs').publish(null, 'both');
  await vi.waitFor(() => expect(got).toEqual([['both'], ['both']]));
  expect([a.state, b.state]).toEqual(['connected', 'connected']);
  expect(errors).toEqual([]);
});

it("without the server's cookie, is refused each new session and backs off instead of handshaking in a loop", async () => {
  const server = await startCometD();
  // Node's own fetch keeps no cookie, so each connect finds no session: 402 + handshake advice.
  const c = client(server, { platform: {}, reconnect: { initialDelay: 200, maxDelay: 1000, factor: 2, jitter: false } });
  void c.connect().catch(() => {});
  await new Promise((r) => setTimeout(r, 1000));
  // Handshakes at 0, 200, 600 ms (the backoff), and none in a loop: the client before this made hundreds.
  expect(received(server, '/meta/handshake').length).toBeLessThanOrEqual(4);
  expect(received(server, '/meta/handshake').length).toBeGreaterThanOrEqual(2);
  expect(errors[0]).toMatchObject({ code: 'connect_failed', message: '/meta/connect failed: "402::session_unknown"' });
  expect(c.state).toBe('reconnecting');
});

it('gets a message once per matching subscription from this server, as the README says', async () => {
  const server = await startCometD();
  const c = client(server);
  const exact: string[] = [];
  const wild: string[] = [];
  await c.subscribe<string>('/a/b', (d) => exact.push(d)).ready;
  await c.subscribe<string>('/a/*', (d) => wild.push(d)).ready;
  server.cometd.createServerChannel('/a/b').publish(null, 'once');
  await vi.waitFor(() => expect([exact, wild]).toEqual([['once', 'once'], ['once', 'once']]));
  // Faye's server and cometkit's send it once: one matching subscription alone gets it once here too.
  server.cometd.createServerChannel('/a/c').publish(null, 'one match');
  await vi.waitFor(() => expect(wild).toHaveLength(3));
  await new Promise((r) => setTimeout(r, 200));
  expect(wild.at(-1)).toBe('one match');
  expect(wild).toHaveLength(3);
});
