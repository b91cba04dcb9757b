/**
 * A raw RFC 6455 client for testing the server's WebSocket layer byte by byte:
 * it builds frames `ws` would refuse to send (bad opcodes, unmasked, oversized)
 * and reads the server's frames as they come, close frames included.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** A masked client frame. */
export function clientFrame(opcode: number, payload: string | Buffer, fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const size = data.length;
  const head = size < 126 ? 2 : size < 0x10000 ? 4 : 10;
  const frame = Buffer.alloc(head + 4 + size);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (head === 2) frame[1] = 0x80 | size;
  else if (head === 4) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(size, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(size / 0x100000000), 2);
    frame.writeUInt32BE(size >>> 0, 6);
  }
  const mask = randomBytes(4);
  mask.copy(frame, head);
  for (let i = 0; i < size; i++) frame[head + 4 + i] = data[i]! ^ mask[i % 4]!;
  return frame;
}

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface RawSocket {
  socket: net.Socket;
  /** The response head the server sent: status line and header lines, each ending in CRLF. */
  head: string;
  /** The server's frames after the head, as they arrive. */
  frames: ServerFrame[];
  /** Resolves when the server closes the TCP connection. */
  ended: Promise<void>;
  send(bytes: Buffer): void;
  /** The text frames, parsed as JSON. */
  batches(): unknown[];
}

/**
 * Open a TCP connection and send an upgrade request with `headers` (a valid
 * WebSocket upgrade by default) and optional extra bytes in the same write.
 * `allowHalfOpen`: the client does not end its side when the server ends its own.
 */
export async function rawUpgrade(port: number, path = '/cometd', headers: Record<string, string> = {}, extra: Buffer = Buffer.alloc(0), allowHalfOpen = false): Promise<RawSocket> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
  const request = Object.entries({
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers,
  })
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(Buffer.concat([Buffer.from(`GET ${path} HTTP/1.1\r\n${request}\r\n`), extra]));
  const raw: RawSocket = {
    socket,
    head: '',
    frames: [],
    ended: new Promise((resolve) => socket.once('close', () => resolve())),
    send: (bytes) => void socket.write(bytes),
    batches: () => raw.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString())),
  };
  let pending: Buffer = Buffer.alloc(0);
  let headDone = false;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('close', () => resolve());
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!headDone) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        raw.head = pending.subarray(0, end + 2).toString('latin1');
        pending = pending.subarray(end + 4);
        headDone = true;
        resolve();
      }
      pending = readServerFrames(pending, raw.frames);
    });
  });
  socket.on('error', () => {});
  return raw;
}

/** Append every whole unmasked frame of `bytes` to `into`; returns the rest. */
function readServerFrames(bytes: Buffer, into: ServerFrame[]): Buffer {
  for (;;) {
    if (bytes.length < 2) return bytes;
    let length = bytes[1]! & 0x7f;
    let head = 2;
    if (length === 126) {
      if (bytes.length < 4) return bytes;
      length = bytes.readUInt16BE(2);
      head = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return bytes;
      length = bytes.readUInt32BE(6);
      head = 10;
    }
    if (bytes.length < head + length) return bytes;
    into.push({ fin: (bytes[0]! & 0x80) !== 0, opcode: bytes[0]! & 0x0f, payload: Buffer.from(bytes.subarray(head, head + length)) });
    bytes = bytes.subarray(head + length);
  }
}

/** The status code of a close frame. */
export const closeStatus = (frame: ServerFrame | undefined) => (frame && frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined);
