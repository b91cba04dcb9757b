// @vitest-environment node
import type http from 'node:http';
import type { Duplex } from 'node:stream';
// The server's own RFC 6455 layer on the wire: the opening handshake, control
// frames, the close handshake in both directions, and how a connection fails.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameReader, OPCODE } from '../../src/server/websocket-frames.js';
import { watchEscapes } from '../hostile/escapes.js';
import { closeAll, handshake, publishUntilBlocked, start, subscribe } from './helpers.js';
import { clientFrame, closeStatus, rawUpgrade, type RawSocket } from './websocket-client.js';

const opened: RawSocket[] = [];
afterEach(async () => {
  for (const raw of opened.splice(0)) raw.socket.destroy();
  await closeAll();
});

const escaped = watchEscapes();

async function open(port: number, headers?: Record<string, string>, extra?: Buffer, allowHalfOpen = false): Promise<RawSocket> {
  const raw = await rawUpgrade(port, '/cometd', headers, extra, allowHalfOpen);
  opened.push(raw);
  return raw;
}

/** The server's side of every upgrade on `server`, as Node handed it over. */
function serverSockets(server: http.Server): Duplex[] {
  const sockets: Duplex[] = [];
  server.on('upgrade', (_req, socket: Duplex) => void sockets.push(socket));
  return sockets;
}

/** How many TCP connections `server` holds. */
const connections = (server: http.Server) => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));

/** A gate an extension can wait on: `open()` lets everything through. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const text = (value: unknown) => clientFrame(OPCODE.text, JSON.stringify(value));
const hello = [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], id: '1' }];

describe('WebSocket opening handshake', () => {
  it('answers 101 with the Sec-WebSocket-Accept of RFC 6455 §1.3 and serves frames', async () => {
    const { port } = await start();
    const raw = await open(port);
    expect(raw.head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(raw.head).toContain('\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(raw.head).not.toMatch(/Sec-WebSocket-Extensions/i);
    raw.send(text(hello));
    await vi.waitFor(() => expect(raw.batches()).toEqual([[expect.objectContaining({ channel: '/meta/handshake', successful: true })]]));
  });

  it('serves a first frame sent in the same packet as the upgrade request', async () => {
    const { port } = await start();
    const raw = await open(port, {}, text(hello));
    await vi.waitFor(() => expect(raw.batches()).toEqual([[expect.objectContaining({ channel: '/meta/handshake', successful: true })]]));
  });

  it('agrees to the first subprotocol offered', async () => {
    const { port } = await start();
    const raw = await open(port, { 'Sec-WebSocket-Protocol': 'bayeux, other' });
    expect(raw.head).toContain('\r\nSec-WebSocket-Protocol: bayeux\r\n');
  });

  it.each([
    ['a key that is not 16 bytes of base64', { 'Sec-WebSocket-Key': 'short' }, '400'],
    ['no key', { 'Sec-WebSocket-Key': '' }, '400'],
    ['an Upgrade other than websocket', { Upgrade: 'h2c' }, '400'],
  ])('refuses %s with %s', async (_name, headers, status) => {
    const { port } = await start();
    const raw = await open(port, headers);
    expect(raw.head.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} Bad Request`);
    await raw.ended;
  });

  it('closes the TCP connection after a refusal even when the client keeps its side open', async () => {
    const { port, server } = await start();
    const raw = await open(port, { 'Sec-WebSocket-Key': 'short' }, undefined, true);
    expect(raw.head).toMatch(/^HTTP\/1\.1 400 /);
    await vi.waitFor(async () => expect(await connections(server)).toBe(0));
  });

  it('refuses an unknown protocol version, naming the one it speaks', async () => {
    const { port } = await start();
    const raw = await open(port, { 'Sec-WebSocket-Version': '12' });
    expect(raw.head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw.head).toContain('\r\nSec-WebSocket-Version: 13\r\n');
  });
});

describe('WebSocket control frames and closing', () => {
  it('answers a ping with a pong carrying the same payload', async () => {
    const { port } = await start();
    const raw = await open(port);
    raw.send(clientFrame(OPCODE.ping, 'are you there'));
    await vi.waitFor(() => expect(raw.frames).toEqual([{ fin: true, opcode: OPCODE.pong, payload: Buffer.from('are you there') }]));
  });

  it('echoes a client close with its status, closes TCP and forgets the socket', async () => {
    const { port, url, comet } = await start();
    const clientId = await handshake(url);
    const raw = await open(port);
    raw.send(text([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1' }]));
    await vi.waitFor(() => expect(comet.stats().connections['websocket']).toBe(1));
    const status = Buffer.alloc(2);
    status.writeUInt16BE(4000);
    raw.send(clientFrame(OPCODE.close, status));
    await raw.ended;
    expect(raw.frames.at(-1)).toMatchObject({ opcode: OPCODE.close });
    expect(closeStatus(raw.frames.at(-1))).toBe(4000);
    await vi.waitFor(() => expect(comet.stats().connections['websocket'] ?? 0).toBe(0));
  });

  it('closes TCP when the client half-closes without a close frame', async () => {
    const { port } = await start();
    const raw = await open(port);
    raw.socket.end();
    await raw.ended;
  });

  it('sends 1001 on server close and cuts off a client that never answers it, however busy it keeps the socket', async () => {
    const { port, comet } = await start();
    const raw = await open(port);
    await comet.close();
    await vi.waitFor(() => expect(closeStatus(raw.frames[0])).toBe(1001));
    expect(raw.frames[0]!.payload.subarray(2).toString()).toBe('server closing');
    const pinging = setInterval(() => raw.send(clientFrame(OPCODE.ping, 'still here')), 500);
    try {
      await raw.ended; // CLOSE_TIMEOUT later: the client ignored the close frame
    } finally {
      clearInterval(pinging);
    }
  }, 15_000);

  it('answers a held connect, then closes its socket with 1001, when the server closes', async () => {
    const { port, url, comet } = await start({ timeout: 10_000 });
    const clientId = await handshake(url);
    const raw = await open(port);
    raw.send(text([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1' }]));
    await vi.waitFor(() => expect(raw.batches()).toHaveLength(1));
    raw.send(text([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '2' }]));
    await vi.waitFor(() => expect(comet.stats().heldConnects).toBe(1));
    await comet.close();
    await vi.waitFor(() => expect(raw.frames.at(-1)?.opcode).toBe(OPCODE.close));
    expect(raw.batches().at(-1)).toEqual([expect.objectContaining({ id: '2', channel: '/meta/connect' })]);
    expect(closeStatus(raw.frames.at(-1))).toBe(1001);
  });

  it('cuts off a socket that stays silent for longer than any live session allows, and keeps a busy one', async () => {
    const { port, url } = await start({ timeout: 100, sessionTimeout: 300, heartbeat: 400 });
    const silent = await open(port);
    const clientId = await handshake(url);
    const busy = await open(port);
    let n = 0;
    const connect = () => busy.send(text([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: String(++n) }]));
    const connecting = setInterval(connect, 100);
    try {
      await silent.ended;
      await new Promise((r) => setTimeout(r, 600)); // past the silence limit for a socket that kept talking
      expect(busy.socket.destroyed).toBe(false);
    } finally {
      clearInterval(connecting);
    }
  });

  it('leaves no session attached to a socket that closed while its connect was being handled', async () => {
    const held = gate();
    const slow = { incoming: async (m: { channel: string }) => void (m.channel === '/meta/connect' && (await held.opened)) };
    const { port, url, comet, server } = await start({ extensions: [slow], timeout: 10_000 });
    const sockets = serverSockets(server);
    const clientId = await handshake(url);
    const raw = await open(port);
    raw.send(text([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1' }]));
    await new Promise((r) => setTimeout(r, 50));
    raw.socket.destroy();
    // The server has seen its socket close (and forgotten it) before the connect is done.
    await vi.waitFor(() => expect(sockets[0]!.closed).toBe(true));
    await new Promise((r) => setImmediate(r));
    held.open();
    await new Promise((r) => setTimeout(r, 50));
    expect(comet.stats().connections['websocket'] ?? 0).toBe(0);
    expect(comet.stats().sessions).toBe(1);
  });

  it('ends the TCP connection once a client answers the server’s close', async () => {
    const { port, comet } = await start();
    const raw = await open(port);
    await comet.close();
    await vi.waitFor(() => expect(closeStatus(raw.frames[0])).toBe(1001));
    raw.send(clientFrame(OPCODE.close, raw.frames[0]!.payload));
    await raw.ended;
    expect(raw.frames).toHaveLength(1); // nothing after the close frame, not even an echo
  });

  it.each([
    ['an unmasked frame', Buffer.from([0x81, 0x02, 0x5b, 0x5d]), 1002],
    ['an unknown opcode', clientFrame(0x3, 'x'), 1002],
    ['a text frame that is not UTF-8', clientFrame(OPCODE.text, Buffer.from([0xff, 0xfe])), 1007],
  ])('fails the connection on %s with close status $2 and survives', async (_name, bytes, expected) => {
    const { port, url } = await start();
    const raw = await open(port);
    raw.send(bytes);
    await raw.ended;
    expect(closeStatus(raw.frames.at(-1))).toBe(expected);
    expect(await handshake(url)).toEqual(expect.any(String));
    expect(escaped).toEqual([]);
  });

  it('fails only the connection, with 1011, when reading a frame throws something unexpected', async () => {
    const { port, url } = await start();
    const raw = await open(port);
    const read = vi.spyOn(FrameReader.prototype, 'read').mockImplementationOnce(() => {
      throw new TypeError('a bug');
    });
    try {
      raw.send(text(hello));
      await raw.ended;
    } finally {
      read.mockRestore();
    }
    expect(closeStatus(raw.frames.at(-1))).toBe(1011);
    expect(escaped).toEqual([]);
    expect(await handshake(url)).toEqual(expect.any(String));
  });

  it('answers a binary message with a 400 reply in its turn, between the replies to the frames around it', async () => {
    const { port, url } = await start();
    const clientId = await handshake(url);
    const raw = await open(port);
    raw.send(Buffer.concat([text([{ channel: '/meta/subscribe', clientId, subscription: '/a', id: 's' }]), clientFrame(OPCODE.binary, '[]'), text([{ channel: '/a', clientId, data: 1, id: 'p' }])]));
    await vi.waitFor(() => expect(raw.batches()).toHaveLength(3));
    expect(raw.batches().map((b) => (b as { id?: string; error?: string }[])[0]!.id ?? (b as { error: string }[])[0]!.error)).toEqual(['s', '400::Expected a text frame', 'p']);
  });

  it('fails the connection with 1009 on a message over maxBodyBytes, before its payload arrives', async () => {
    const { port } = await start({ maxBodyBytes: 2_048 });
    const raw = await open(port);
    raw.send(clientFrame(OPCODE.text, 'x'.repeat(5_000)).subarray(0, 8));
    await raw.ended;
    expect(closeStatus(raw.frames.at(-1))).toBe(1009);
  });

  it('handles every frame of one TCP write, in order, including one split across writes', async () => {
    const { port, url } = await start();
    const clientId = await handshake(url);
    const raw = await open(port);
    const frames = Buffer.concat([
      text([{ channel: '/meta/subscribe', clientId, subscription: '/a', id: 's' }]),
      text([{ channel: '/a', clientId, data: 1, id: 'p' }]),
      text([{ channel: '/meta/unsubscribe', clientId, subscription: '/a', id: 'u' }]),
    ]);
    raw.send(frames.subarray(0, frames.length - 5));
    await new Promise((r) => setTimeout(r, 20));
    raw.send(frames.subarray(frames.length - 5));
    await vi.waitFor(() => expect(raw.batches().flat().map((m) => (m as { id: string }).id)).toEqual(['s', 'p', 'u']));
  });
});

describe('WebSocket flow control', () => {
  it('stops reading a client that does not read its pongs, and reads again once it does', async () => {
    const { port, server } = await start();
    const sockets = serverSockets(server);
    const raw = await open(port);
    raw.socket.pause();
    const pings = Buffer.concat(Array.from({ length: 2_000 }, () => clientFrame(OPCODE.ping, 'p'.repeat(125))));
    const flood = setInterval(() => raw.socket.writableLength < 1 << 20 && raw.send(pings), 5);
    try {
      await vi.waitFor(() => expect(sockets[0]!.isPaused()).toBe(true), { timeout: 10_000 });
    } finally {
      clearInterval(flood);
    }
    expect(sockets[0]!.destroyed).toBe(false);
    raw.socket.resume();
    await vi.waitFor(() => expect(sockets[0]!.isPaused()).toBe(false), { timeout: 10_000 });
    // Every ping it read was answered, nothing else was sent, and the socket never had to be cut off.
    expect(raw.frames.length).toBeGreaterThan(0);
    expect(raw.frames.every((f) => f.opcode === OPCODE.pong)).toBe(true);
    expect(sockets[0]!.destroyed).toBe(false);
  });

  it('leaves deliveries for a subscriber that stops reading in its backlog, not in its socket, and writes them on once it reads', async () => {
    // Without ack and with a backlog of 200, the backlog keeps the newest 200: what waits for a stalled reader is bounded by it.
    const { port, url, comet, server } = await start({ maxFrameChars: 20_000, backlog: 200, timeout: 10_000 });
    const sockets = serverSockets(server);
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/feed');
    const raw = await open(port);
    raw.send(text([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1' }]));
    await vi.waitFor(() => expect(raw.batches()).toHaveLength(1));
    raw.socket.pause();
    const socket = sockets[0]! as Duplex & { writableNeedDrain: boolean };
    // The kernel's buffers take the first megabytes; then the socket's own buffer would grow, up to
    // the cut-off (8 frames of 20,000 characters at 3 bytes each, 480,000 bytes), had deliveries gone on.
    const { published, blockedAt, mostUnread } = await publishUntilBlocked(comet, '/feed', socket);
    expect(blockedAt).toBeGreaterThan(0);
    expect(mostUnread).toBeLessThan(2 * 20_000 * 3); // a frame or two past Node's 16 KiB high-water mark, not 480,000
    expect(socket.destroyed).toBe(false);
    raw.socket.resume();
    const ns = () => raw.batches().flat().flatMap((m) => ((m as { channel: string }).channel === '/feed' ? [(m as { data: { n: number } }).data.n] : []));
    await vi.waitFor(() => expect(ns().at(-1)).toBe(published - 1), { timeout: 20_000 });
    // In order, nothing twice; the oldest of what waited were dropped (no ack, backlog 200), the newest 200 all came.
    const got = ns();
    expect(got.every((n, i) => i === 0 || n > got[i - 1]!)).toBe(true);
    expect(got.slice(-200)).toEqual(Array.from({ length: 200 }, (_, i) => published - 200 + i));
    expect(comet.stats().sessions).toBe(1);
  });

  it('stops reading while the characters waiting to be handled reach maxBodyBytes, however few the messages', async () => {
    const held = gate();
    const slow = { incoming: async (m: { channel: string }) => void (m.channel === '/slow' && (await held.opened)) };
    const { port, url, server } = await start({ extensions: [slow], maxBodyBytes: 100_000 });
    const sockets = serverSockets(server);
    const clientId = await handshake(url);
    const raw = await open(port);
    raw.send(text([{ channel: '/slow', clientId, data: 0, id: 'first' }]));
    const big = (id: string) => text([{ channel: '/a', clientId, data: 'z'.repeat(60_000), id }]);
    raw.send(Buffer.concat([big('b1'), big('b2')]));
    await vi.waitFor(() => expect(sockets[0]!.isPaused()).toBe(true));
    held.open();
    await vi.waitFor(() => expect(raw.batches().flat().map((m) => (m as { id: string }).id)).toEqual(['first', 'b1', 'b2']));
    expect(sockets[0]!.isPaused()).toBe(false);
  });

  it('answers every one of 2,000 frames sent in one write, in order (reading pauses and resumes)', async () => {
    const { port, url } = await start();
    const clientId = await handshake(url);
    const raw = await open(port);
    const ids = Array.from({ length: 2_000 }, (_, i) => `p${i}`);
    raw.send(Buffer.concat(ids.map((id) => text([{ channel: '/a', clientId, data: id, id }]))));
    await vi.waitFor(() => expect(raw.batches().flat().map((m) => (m as { id: string }).id)).toEqual(ids), { timeout: 10_000 });
    raw.send(text([{ channel: '/a', clientId, data: 'after', id: 'after' }]));
    await vi.waitFor(() => expect(raw.batches().flat().at(-1)).toMatchObject({ id: 'after', successful: true }));
  });
});
