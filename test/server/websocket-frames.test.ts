// @vitest-environment node
import type { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import * as ws from 'ws';
import { closeFrame, encodeFrame, FrameError, FrameReader, OPCODE, type FrameSink } from '../../src/server/websocket-frames.js';
import { clientFrame } from './websocket-client.js';

/** ws's server-side frame parser, the reference ours is held to: exported by ws but not declared by @types/ws. */
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable };

/** A sink that records what the reader hands on. */
function recorder() {
  const events: (['text' | 'binary', string] | ['ping', string] | ['close', number | undefined])[] = [];
  const sink: FrameSink = {
    message: (data, binary) => void events.push([binary ? 'binary' : 'text', data.toString('latin1')]),
    ping: (data) => void events.push(['ping', data.toString('latin1')]),
    closing: (status) => void events.push(['close', status]),
  };
  return { events, sink };
}

/** The status of the FrameError that reading `bytes` throws, or 'none'. */
function failure(bytes: Buffer, maxPayload = 1 << 20): number | 'none' {
  try {
    new FrameReader(maxPayload).read(bytes, recorder().sink);
    return 'none';
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    return error.status;
  }
}

describe('FrameReader', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 200_000])('reads a masked text frame of %i bytes', (size) => {
    const text = 'x'.repeat(size);
    const { events, sink } = recorder();
    new FrameReader(1 << 20).read(clientFrame(OPCODE.text, text), sink);
    expect(events).toEqual([['text', text]]);
  });

  it('reads every frame of a chunk, in order, and binary frames as binary', () => {
    const { events, sink } = recorder();
    const chunk = Buffer.concat([clientFrame(OPCODE.text, 'a'), clientFrame(OPCODE.ping, 'p'), clientFrame(OPCODE.binary, 'b'), clientFrame(OPCODE.close, status(1000))]);
    new FrameReader(1 << 20).read(chunk, sink);
    expect(events).toEqual([['text', 'a'], ['ping', 'p'], ['binary', 'b'], ['close', 1000]]);
  });

  it('joins a fragmented message, with a ping between its fragments, and a UTF-8 character split across them', () => {
    const euro = Buffer.from('€'); // 3 bytes
    const { events, sink } = recorder();
    const reader = new FrameReader(1 << 20);
    reader.read(clientFrame(OPCODE.text, Buffer.concat([Buffer.from('price '), euro.subarray(0, 1)]), false), sink);
    reader.read(clientFrame(OPCODE.ping, 'keep'), sink);
    reader.read(clientFrame(OPCODE.continuation, euro.subarray(1), false), sink);
    reader.read(clientFrame(OPCODE.continuation, '5'), sink);
    expect(events).toEqual([['ping', 'keep'], ['text', Buffer.from('price €5').toString('latin1')]]);
  });

  it('reads the same frames however the stream is cut into chunks', () => {
    const frames = fc.array(
      fc.tuple(fc.constantFrom<number>(OPCODE.text, OPCODE.binary, OPCODE.ping), fc.string({ maxLength: 300 })).map(([op, s]): [number, string] => [op, op === OPCODE.ping ? s.slice(0, 40) : s]),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(frames, fc.array(fc.nat(), { maxLength: 20 }), (list, cuts) => {
        const stream = Buffer.concat(list.map(([op, s]) => clientFrame(op, s)));
        const expected = recorder();
        // Copies: the reader unmasks in place (the socket's chunks are its own).
        new FrameReader(1 << 20).read(Buffer.from(stream), expected.sink);
        const got = recorder();
        const reader = new FrameReader(1 << 20);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...points, stream.length]) {
          reader.read(Buffer.from(stream.subarray(from, to)), got.sink);
          from = to;
        }
        expect(got.events).toEqual(expected.events);
        expect(got.events).toHaveLength(list.length);
      }),
    );
  });

  it('copies frames that arrive a byte at a time, or in uneven chunks, a bounded number of times, not once per byte', () => {
    const stream = Buffer.concat([clientFrame(OPCODE.text, 'y'.repeat(20_000)), clientFrame(OPCODE.text, 'z'.repeat(20_000))]);
    const cut = (size: number) => Array.from({ length: Math.ceil(stream.length / size) }, (_, i) => Buffer.from(stream.subarray(i * size, (i + 1) * size)));
    const cuts = [1, 7, 4_999].map(cut);
    // Everything the reader copies goes through Buffer.concat (joining chunks) or Buffer.from (a chunk's tail).
    const concat = vi.spyOn(Buffer, 'concat');
    const from = vi.spyOn(Buffer, 'from');
    try {
      for (const chunks of cuts) {
        concat.mockClear();
        from.mockClear();
        const { events, sink } = recorder();
        const reader = new FrameReader(1 << 20);
        for (const chunk of chunks) reader.read(chunk, sink);
        const copied =
          concat.mock.calls.reduce((n, [list]) => n + list.reduce((m, b) => m + b.length, 0), 0) +
          from.mock.calls.reduce((n, [value]) => n + (value instanceof Uint8Array ? value.length : 0), 0);
        expect(events).toEqual([['text', 'y'.repeat(20_000)], ['text', 'z'.repeat(20_000)]]);
        expect(copied).toBeLessThan(3 * stream.length);
      }
    } finally {
      concat.mockRestore();
      from.mockRestore();
    }
  });

  it.each([
    ['an RSV bit set', Buffer.from([0x80 | 0x40 | OPCODE.text, 0x80, 0, 0, 0, 0]), 1002],
    ['an unmasked frame', Buffer.from([0x80 | OPCODE.text, 0x01, 0x61]), 1002],
    ['opcode 3', clientFrame(3, 'x'), 1002],
    ['opcode 0xB', clientFrame(0xb, 'x'), 1002],
    ['a fragmented ping', clientFrame(OPCODE.ping, 'x', false), 1002],
    ['a ping of 126 bytes', clientFrame(OPCODE.ping, 'x'.repeat(126)), 1002],
    ['a continuation with no message', clientFrame(OPCODE.continuation, 'x'), 1002],
    ['a text frame in the middle of a fragmented message', Buffer.concat([clientFrame(OPCODE.text, 'a', false), clientFrame(OPCODE.text, 'b')]), 1002],
    ['text that is not UTF-8', clientFrame(OPCODE.text, Buffer.from([0xc3, 0x28])), 1007],
    ['a close frame of one byte', clientFrame(OPCODE.close, Buffer.from([3])), 1002],
    ['close status 1005 (never sent on the wire)', clientFrame(OPCODE.close, status(1005)), 1002],
    ['close status 999', clientFrame(OPCODE.close, status(999)), 1002],
    ['close status 2000', clientFrame(OPCODE.close, status(2000)), 1002],
    ['a close reason that is not UTF-8', clientFrame(OPCODE.close, Buffer.concat([status(1000), Buffer.from([0xff])])), 1007],
  ])('fails the connection on %s ($2)', (_name, bytes, expected) => {
    expect(failure(bytes)).toBe(expected);
  });

  it('refuses an oversized frame from its header alone, before any payload is buffered', () => {
    const header = clientFrame(OPCODE.text, 'z'.repeat(2_000)).subarray(0, 8); // 4 length bytes + mask, no payload
    expect(failure(header, 1_000)).toBe(1009);
    const huge = Buffer.from([0x80 | OPCODE.text, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0]); // 2^32 bytes
    expect(failure(huge)).toBe(1009);
  });

  it('counts every fragment against the size limit', () => {
    const reader = new FrameReader(1_000);
    reader.read(clientFrame(OPCODE.text, 'a'.repeat(600), false), recorder().sink);
    expect(() => reader.read(clientFrame(OPCODE.continuation, 'b'.repeat(600)), recorder().sink)).toThrow(expect.objectContaining({ status: 1009 }));
  });

  it('reports a close frame without a status as undefined and one with a valid status and reason', () => {
    const { events, sink } = recorder();
    new FrameReader(100).read(clientFrame(OPCODE.close, ''), sink);
    new FrameReader(100).read(clientFrame(OPCODE.close, Buffer.concat([status(4001), Buffer.from('bye')])), sink);
    expect(events).toEqual([['close', undefined], ['close', 4001]]);
  });

  it('reads nothing after a close frame, in the same chunk or later, not even garbage', () => {
    const { events, sink } = recorder();
    const reader = new FrameReader(100);
    reader.read(Buffer.concat([clientFrame(OPCODE.text, 'a'), clientFrame(OPCODE.close, status(1000)), clientFrame(OPCODE.text, 'b')]), sink);
    reader.read(Buffer.from([0xff, 0xff, 0xff]), sink);
    expect(events).toEqual([['text', 'a'], ['close', 1000]]);
  });
});

describe('FrameReader memory under hostile fragmentation', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  /**
   * Weak handles on the memory of the chunks fed to a reader, counted after a full
   * collection. Counting chunks, not process memory: V8 frees buffer memory lazily after
   * a collection, so `arrayBuffers` is noisy, while a chunk still reachable is a fact.
   */
  function chunkWatch() {
    const refs: WeakRef<ArrayBufferLike>[] = [];
    return {
      /** `chunk`, watched; it must own its memory, or a pooled slab would be watched instead. */
      watch(chunk: Buffer): Buffer {
        expect(chunk.buffer.byteLength).toBe(chunk.length);
        refs.push(new WeakRef(chunk.buffer));
        return chunk;
      },
      /** How many watched chunks survive a full collection (a WeakRef holds its target until the job ends). */
      async held(): Promise<number> {
        await new Promise((resolve) => setTimeout(resolve, 0));
        gc();
        return refs.filter((ref) => ref.deref() !== undefined).length;
      },
    };
  }

  /** Bytes of JS heap (objects, not buffer memory) after a full collection. */
  const heap = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };

  it('keeps nothing per empty fragment: 300,000 of them cost what one does', async () => {
    const reader = new FrameReader(1 << 20);
    const { sink } = recorder();
    const chunks = chunkWatch();
    reader.read(clientFrame(OPCODE.text, 'a', false), sink);
    const empty = Buffer.concat(Array.from({ length: 1_000 }, () => clientFrame(OPCODE.continuation, '', false)));
    const before = heap();
    for (let i = 0; i < 300; i++) reader.read(chunks.watch(Buffer.from(empty)), sink);
    expect(await chunks.held()).toBe(0);
    expect(heap() - before).toBeLessThan(4 << 20); // a view per fragment would be ~30 MB of objects
  });

  it('keeps the payload, not the chunks it came in: 2,000 one-byte fragments each padded to 64 KB with pongs', async () => {
    const reader = new FrameReader(1 << 20);
    const { events, sink } = recorder();
    const chunks = chunkWatch();
    reader.read(clientFrame(OPCODE.text, 'a', false), sink);
    const pong = clientFrame(OPCODE.pong, 'p'.repeat(125));
    const padding = Buffer.concat(Array.from({ length: 500 }, () => pong)); // ~65 KB
    for (let i = 0; i < 2_000; i++) reader.read(chunks.watch(Buffer.concat([clientFrame(OPCODE.continuation, 'b', false), padding])), sink);
    expect(await chunks.held()).toBe(0); // each kept as a view would be ~130 MB
    reader.read(clientFrame(OPCODE.continuation, 'c'), sink);
    expect(events).toEqual([['text', `a${'b'.repeat(2_000)}c`]]);
  });

  it('keeps only the unfinished frame of a chunk, not the chunk', async () => {
    const { events, sink } = recorder();
    const chunks = chunkWatch();
    const pong = clientFrame(OPCODE.pong, 'p'.repeat(125));
    const padding = Buffer.concat(Array.from({ length: 500 }, () => pong));
    const frame = clientFrame(OPCODE.text, 'x');
    const readers = Array.from({ length: 1_000 }, () => new FrameReader(1 << 20));
    // Each reader is left with the first 2 bytes of a frame at the end of a ~65 KB chunk.
    for (const r of readers) r.read(chunks.watch(Buffer.concat([padding, frame.subarray(0, 2)])), sink);
    expect(await chunks.held()).toBe(0); // 1,000 retained chunks would be ~65 MB
    for (const r of readers) r.read(Buffer.from(frame.subarray(2)), sink);
    expect(events).toEqual(Array(1_000).fill(['text', 'x']));
  });
});

describe('FrameReader against ws', () => {
  /** What ws's own server-side Receiver makes of `chunks`: events up to its first close or error, and that error's status. */
  async function wsReads(chunks: Buffer[], maxPayload: number) {
    const events: unknown[] = [];
    let status: number | undefined;
    const receiver = new Receiver({ isServer: true, maxPayload });
    receiver.on('message', (data: Buffer, binary: boolean) => events.push([binary ? 'binary' : 'text', data.toString('hex')]));
    receiver.on('ping', (data: Buffer) => events.push(['ping', data.toString('hex')]));
    receiver.on('conclude', (code: number) => events.push(['close', code]));
    receiver.on('error', (error: Error) => {
      const symbol = Object.getOwnPropertySymbols(error).find((s) => String(s) === 'Symbol(status-code)')!;
      status = (error as unknown as Record<symbol, number>)[symbol];
    });
    for (const chunk of chunks) if (status === undefined) receiver.write(Buffer.from(chunk));
    await new Promise((r) => setImmediate(r));
    return { events, status };
  }

  /** The same from our reader. */
  function ourReads(chunks: Buffer[], maxPayload: number) {
    const events: unknown[] = [];
    let status: number | undefined;
    const reader = new FrameReader(maxPayload);
    const sink: FrameSink = {
      message: (data, binary) => void events.push([binary ? 'binary' : 'text', data.toString('hex')]),
      ping: (data) => void events.push(['ping', data.toString('hex')]),
      closing: (code) => void events.push(['close', code ?? 1005]), // ws reports "no status" as 1005
    };
    try {
      for (const chunk of chunks) reader.read(Buffer.from(chunk), sink);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      status = error.status;
    }
    return { events, status };
  }

  const frame = fc.record({
    // Mostly valid frames, sometimes anything: the readers must agree on both.
    opcode: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
    fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
    masked: fc.oneof({ weight: 20, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    payload: fc.oneof(
      fc.string({ maxLength: 200 }).map((t) => Buffer.from(t)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.constantFrom(1000, 1001, 1005, 1006, 1011, 1016, 2999, 3000, 4999, 5000).map((code) => {
        const b = Buffer.alloc(2);
        b.writeUInt16BE(code);
        return b;
      }),
    ),
  });

  /** Encode a frame spec as a client would send it (or not: rsv and mask as drawn). */
  function encode({ opcode, fin, rsv, masked, payload }: { opcode: number; fin: boolean; rsv: number; masked: boolean; payload: Buffer }): Buffer {
    const bytes = clientFrame(opcode, payload, fin);
    bytes[0] = (bytes[0]! & 0x8f) | (rsv << 4);
    if (masked) return bytes;
    // Unmask: clear the bit and drop the 4 mask bytes (the payload is then sent as is).
    const head = (bytes[1]! & 0x7f) === 126 ? 4 : (bytes[1]! & 0x7f) === 127 ? 10 : 2;
    const plain = Buffer.concat([bytes.subarray(0, head), payload]);
    plain[1] = plain[1]! & 0x7f;
    return plain;
  }

  it('hands on the same messages, pings and close status, and fails with the same status, however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), fc.constantFrom(100, 1 << 20), async (frames, cuts, maxPayload) => {
        const stream = Buffer.concat(frames.map(encode));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks = [...points, stream.length].map((to, i, all) => stream.subarray(i ? all[i - 1] : 0, to));
        expect(ourReads(chunks, maxPayload)).toEqual(await wsReads(chunks, maxPayload));
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodeFrame', () => {
  it.each([
    [0, 2],
    [125, 2],
    [126, 4],
    [65_535, 4],
    [65_536, 10],
  ])('encodes %i bytes with the shortest length form (%i-byte header), unmasked', (size, head) => {
    const frame = encodeFrame(OPCODE.text, 'q'.repeat(size));
    expect(frame.length).toBe(head + size);
    expect(frame[0]).toBe(0x81);
    expect(frame[1]! & 0x80).toBe(0);
    const length = head === 2 ? frame[1] : head === 4 ? frame.readUInt16BE(2) : frame.readUInt32BE(6);
    expect(length).toBe(size);
    expect(frame.subarray(head).toString()).toBe('q'.repeat(size));
  });

  it('measures text in bytes, not characters', () => {
    const frame = encodeFrame(OPCODE.text, '€'.repeat(50));
    expect(frame[1]).toBe(126);
    expect(frame.readUInt16BE(2)).toBe(150);
    expect(frame.subarray(4).toString()).toBe('€'.repeat(50));
  });

  it('builds close frames with and without a status', () => {
    expect([...closeFrame(undefined)]).toEqual([0x88, 0]);
    const frame = closeFrame(1001, 'server closing');
    expect(frame[0]).toBe(0x88);
    expect(frame.readUInt16BE(2)).toBe(1001);
    expect(frame.subarray(4).toString()).toBe('server closing');
  });
});

function status(code: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
}
