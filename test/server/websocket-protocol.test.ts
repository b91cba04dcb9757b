// @vitest-environment node
// The server's own RFC 6455 layer on the wire: the opening handshake, control
// frames, the close handshake in both directions, and how a connection fails.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameReader, OPCODE } from '../../src/server/websocket-frames.js';
import { watchEscapes } from '../hostile/escapes.js';
import { closeAll, handshake, start } from './helpers.js';
import { clientFrame, closeStatus, rawUpgrade, type RawSocket } from './websocket-client.js';

const opened: RawSocket[] = [];
afterEach(async () => {
  for (const raw of opened.splice(0)) raw.socket.destroy();
  await closeAll();
});

const escaped = watchEscapes();

async function open(port: number, headers?: Record<string, string>, extra?: Buffer): Promise<RawSocket> {
  const raw = await rawUpgrade(port, '/cometd', headers, extra);
  opened.push(raw);
  return raw;
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

  it('sends 1001 on server close and cuts off a client that never answers it', async () => {
    const { port, comet } = await start();
    const raw = await open(port);
    await comet.close();
    await vi.waitFor(() => expect(closeStatus(raw.frames[0])).toBe(1001));
    expect(raw.frames[0]!.payload.subarray(2).toString()).toBe('server closing');
    await raw.ended; // CLOSE_TIMEOUT later: the client ignored the close frame
  }, 15_000);

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
  ])('fails the connection on %s with close status %s and survives', async (_name, bytes, expected) => {
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
    const { port } = await start({ maxBodyBytes: 1_000 });
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
