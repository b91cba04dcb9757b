// RFC 6455 framing, server side, without I/O: reading a client's byte stream
// into messages and control frames, and encoding the server's frames. The
// server's own WebSocket layer (websocket.ts) is built on it instead of `ws`,
// because one process holds 10k sockets and `ws` costs ~1 kB of heap per socket
// (a WebSocket, a Receiver stream with its own state, a Sender) on top of
// Node's. No extension (permessage-deflate) is ever negotiated, so every RSV
// bit must be clear.
import { isUtf8 } from 'node:buffer';

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** RFC 6455 §7.4.1 status codes the server sends when it fails a connection. */
export const STATUS = { normal: 1000, goingAway: 1001, protocolError: 1002, invalidData: 1007, tooBig: 1009, internalError: 1011 } as const;

/** A violation of the protocol by the client: the connection fails with `status`. */
export class FrameError extends Error {
  override name = 'FrameError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a {@link FrameReader} hands on, in the order the client sent it. */
export interface FrameSink {
  /** A whole message (fragments joined); text is valid UTF-8. */
  message(data: Buffer, binary: boolean): void;
  ping(data: Buffer): void;
  /** The client's close frame: its status (undefined when it sent none). */
  closing(status: number | undefined): void;
}

/**
 * One client's incoming byte stream, parsed frame by frame. Bytes of an
 * unfinished frame wait as a list of chunks that is joined only once the frame
 * (or its header) is complete, so a frame trickling in a byte at a time costs
 * linear, not quadratic, copying. A frame or message larger than `maxPayload`
 * is refused from its header, before its payload is buffered. What is kept
 * between chunks is copied out of the socket's chunks, so a client holds at
 * most about `maxPayload` twice over, however it cuts and pads its frames.
 */
export class FrameReader {
  /** Chunks of an unfinished frame, or null (the usual case: frames arrive whole). */
  #partial: Buffer[] | null = null;
  #partialBytes = 0;
  /** Bytes the unfinished frame needs before it can be parsed further. */
  #need = 0;
  /** An unfinished fragmented message: its opcode, and its payload so far in one growing buffer. */
  #fragmenting = false;
  #fragmentsOpcode = 0;
  #fragments: Buffer | null = null;
  #fragmentsBytes = 0;
  /** A close frame arrived: nothing after it is read (RFC 6455 §5.5.1). */
  #closed = false;

  constructor(readonly maxPayload: number) {}

  /** Read a chunk from the socket. @throws FrameError */
  read(chunk: Buffer, sink: FrameSink): void {
    if (this.#closed) return;
    let bytes = chunk;
    if (this.#partial) {
      this.#partial.push(chunk);
      this.#partialBytes += chunk.length;
      if (this.#partialBytes < this.#need) return;
      bytes = Buffer.concat(this.#partial, this.#partialBytes);
      this.#partial = null;
    }
    const used = this.#frames(bytes, sink);
    if (used < bytes.length) {
      // A copy of the tail, not a view: a view would keep the whole chunk alive until the frame completes.
      this.#partial = [used > 0 ? Buffer.from(bytes.subarray(used)) : bytes];
      this.#partialBytes = bytes.length - used;
    }
  }

  /** Parse every whole frame in `bytes`; returns how many bytes they took and sets `#need` for the rest. */
  #frames(bytes: Buffer, sink: FrameSink): number {
    let at = 0;
    for (;;) {
      const left = bytes.length - at;
      if (left < 2) return this.#wait(at, 2);
      const b0 = bytes[at]!;
      const b1 = bytes[at + 1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (b0 & 0x70) throw new FrameError(STATUS.protocolError, 'RSV bits set without an extension');
      if (!(b1 & 0x80)) throw new FrameError(STATUS.protocolError, 'Client frames must be masked');
      let length = b1 & 0x7f;
      let head = 2;
      if (length === 126) {
        if (left < 4) return this.#wait(at, 4);
        length = bytes.readUInt16BE(at + 2);
        head = 4;
      } else if (length === 127) {
        if (left < 10) return this.#wait(at, 10);
        // Anything at or above 2^32 bytes is over any limit we accept.
        if (bytes.readUInt32BE(at + 2) !== 0) throw new FrameError(STATUS.tooBig, 'Frame too large');
        length = bytes.readUInt32BE(at + 6);
        head = 10;
      }
      this.#check(fin, opcode, length);
      const size = head + 4 + length;
      if (left < size) return this.#wait(at, size);
      const payload = bytes.subarray(at + head + 4, at + size);
      unmask(payload, bytes, at + head);
      at += size;
      this.#frame(fin, opcode, payload, sink);
      if (this.#closed) return bytes.length;
    }
  }

  #wait(at: number, need: number): number {
    this.#need = need;
    return at;
  }

  /** What the header alone tells: the frame is refused before its payload is read. */
  #check(fin: boolean, opcode: number, length: number): void {
    if (opcode >= OPCODE.close) {
      if (opcode > OPCODE.pong) throw new FrameError(STATUS.protocolError, `Unknown opcode ${opcode}`);
      if (!fin || length > 125) throw new FrameError(STATUS.protocolError, 'Control frames must be whole and at most 125 bytes');
      return;
    }
    if (opcode > OPCODE.binary) throw new FrameError(STATUS.protocolError, `Unknown opcode ${opcode}`);
    if (opcode === OPCODE.continuation && !this.#fragmenting) throw new FrameError(STATUS.protocolError, 'Continuation without a message');
    if (opcode !== OPCODE.continuation && this.#fragmenting) throw new FrameError(STATUS.protocolError, 'A new message before the last one ended');
    if (this.#fragmentsBytes + length > this.maxPayload) throw new FrameError(STATUS.tooBig, `Message over ${this.maxPayload} bytes`);
  }

  /** A whole frame that passed `#check`. */
  #frame(fin: boolean, opcode: number, payload: Buffer, sink: FrameSink): void {
    if (opcode === OPCODE.ping) return sink.ping(payload);
    if (opcode === OPCODE.pong) return;
    if (opcode === OPCODE.close) {
      this.#closed = true;
      return sink.closing(closeStatus(payload));
    }
    if (fin && !this.#fragmenting) return message(payload, opcode === OPCODE.binary, sink);
    if (!this.#fragmenting) {
      this.#fragmenting = true;
      this.#fragmentsOpcode = opcode;
    }
    this.#append(payload);
    if (!fin) return;
    const whole = this.#fragments?.subarray(0, this.#fragmentsBytes) ?? Buffer.alloc(0);
    const binary = this.#fragmentsOpcode === OPCODE.binary;
    this.#fragmenting = false;
    this.#fragments = null;
    this.#fragmentsBytes = 0;
    message(whole, binary, sink);
  }

  /** Copy a fragment's payload into the message's buffer, doubling it as needed (never past `maxPayload`, which `#check` keeps the message within). */
  #append(payload: Buffer): void {
    if (payload.length === 0) return;
    const needed = this.#fragmentsBytes + payload.length;
    if (!this.#fragments || this.#fragments.length < needed) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxPayload, Math.max(needed, 2 * (this.#fragments?.length ?? 512))));
      this.#fragments?.copy(grown, 0, 0, this.#fragmentsBytes);
      this.#fragments = grown;
    }
    payload.copy(this.#fragments, this.#fragmentsBytes);
    this.#fragmentsBytes = needed;
  }
}

function message(data: Buffer, binary: boolean, sink: FrameSink): void {
  if (!binary && !isUtf8(data)) throw new FrameError(STATUS.invalidData, 'Text is not UTF-8');
  sink.message(data, binary);
}

/** The status in a close frame's payload (RFC 6455 §5.5.1, §7.4). */
function closeStatus(payload: Buffer): number | undefined {
  if (payload.length === 0) return undefined;
  const status = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
  const valid = (status >= 1000 && status <= 1003) || (status >= 1007 && status <= 1014) || (status >= 3000 && status <= 4999);
  if (!valid) throw new FrameError(STATUS.protocolError, `Invalid close status ${status}`);
  if (!isUtf8(payload.subarray(2))) throw new FrameError(STATUS.invalidData, 'Close reason is not UTF-8');
  return status;
}

/** XOR `payload` in place with the 4-byte mask at `bytes[maskAt]`. */
function unmask(payload: Buffer, bytes: Buffer, maskAt: number): void {
  const m0 = bytes[maskAt]!;
  const m1 = bytes[maskAt + 1]!;
  const m2 = bytes[maskAt + 2]!;
  const m3 = bytes[maskAt + 3]!;
  const n = payload.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    payload[i] ^= m0;
    payload[i + 1] ^= m1;
    payload[i + 2] ^= m2;
    payload[i + 3] ^= m3;
  }
  for (let k = 0; i < n; i++, k++) payload[i] ^= bytes[maskAt + k]!;
}

/** One unfragmented, unmasked server frame. */
export function encodeFrame(opcode: number, payload: string | Buffer): Buffer {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const head = size < 126 ? 2 : size < 0x10000 ? 4 : 10;
  // allocUnsafe: every byte is written below; small frames come from Node's shared pool.
  const frame = Buffer.allocUnsafe(head + size);
  frame[0] = 0x80 | opcode;
  if (head === 2) frame[1] = size;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(size, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(size / 0x100000000), 2);
    frame.writeUInt32BE(size >>> 0, 6);
  }
  if (typeof payload === 'string') frame.write(payload, head);
  else payload.copy(frame, head);
  return frame;
}

/** A close frame with `status` and a short reason (control frames carry at most 125 bytes). */
export function closeFrame(status: number | undefined, reason = ''): Buffer {
  if (status === undefined) return encodeFrame(OPCODE.close, Buffer.alloc(0));
  const text = Buffer.from(reason.slice(0, 40));
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(status, 0);
  text.copy(payload, 2);
  return encodeFrame(OPCODE.close, payload);
}
