// @vitest-environment node
// What the EventSource and iframe streams share (src/server/stream.ts).
import http, { type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { MemoryStore, type SessionInfo } from '../../src/server/index.js';
import { closeAll, handshake, iframeBatches, iframeStreamUrl, openStream, post, publishUntilBlocked, sseBatches, start, subscribe, type RawStream } from './helpers.js';

afterEach(closeAll);

/** A MemoryStore whose `touch` waits while `gate` is set: a shared store slow to answer. */
class GatedStore extends MemoryStore {
  gate: Promise<void> | null = null;

  override async touch(clientId: string, now: number): Promise<SessionInfo | null> {
    await this.gate;
    return super.touch(clientId, now);
  }
}

/** A MemoryStore whose `touch` fails while `failing` is set: Redis gone away. */
class FailingStore extends MemoryStore {
  failing = false;

  override async touch(clientId: string, now: number): Promise<SessionInfo | null> {
    if (this.failing) throw new Error('store unreachable');
    return super.touch(clientId, now);
  }
}

const kinds = [
  ['eventsource', (url: string, id: string) => openStream(`${url}/${id}`, { accept: 'text/event-stream' }), sseBatches],
  ['iframe-streaming', (url: string, id: string) => openStream(iframeStreamUrl(url, id)), iframeBatches],
] as const;

describe('streams', () => {
  it.each(kinds)('end an %s stream with a 500 reply when the store fails while it opens, and hold none', async (_type, open, batches) => {
    const store = new FailingStore();
    onTestFinished(() => store.close());
    const { url, comet } = await start({ store });
    const clientId = await handshake(url);
    store.failing = true;
    const stream = await open(url, clientId);
    await stream.done; // it ends: left open it would beat for ever and carry nothing
    // (an iframe's prelude may carry an empty batch first)
    expect(batches(stream.text).filter((b) => b.length)).toEqual([[{ channel: '/meta/unknown', successful: false, error: '500::Server error' }]]);
    expect(comet.stats().connections).toEqual({});
  });

  it.each(kinds)('send no byte of an %s stream, not even its headers, before the engine has it', async (type, open, batches) => {
    // The client sends its /meta/connect once it sees the stream open; the reply must find the stream attached.
    const store = new GatedStore();
    onTestFinished(() => store.close());
    const { url, comet } = await start({ store });
    const clientId = await handshake(url);
    let release!: () => void;
    store.gate = new Promise((resolve) => (release = resolve));
    let stream: RawStream | null = null;
    const opening = open(url, clientId).then((s) => (stream = s));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream).toBeNull();
    expect(comet.stats().connections).toEqual({});

    release();
    store.gate = null;
    const opened = await opening;
    expect(opened.status).toBe(200);
    expect(comet.stats().connections).toEqual({ [type]: 1 });
    const { body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: type, id: '5' }]);
    expect(body).toEqual([]);
    await expect.poll(() => batches(opened.text).flat()).toContainEqual(expect.objectContaining({ id: '5', channel: '/meta/connect', successful: true }));
  });

  it.each(kinds)('leave deliveries for an %s reader that stopped reading in the backlog, not in the response, and write them on', async (type, _open, batches) => {
    // A stream limit far away: only backpressure can bound what waits for it (no ack, backlog 200: the newest 200).
    const { url, comet, server } = await start({ streamLimit: 1 << 30, backlog: 200 });
    const responses: Array<[string, ServerResponse]> = [];
    server.on('request', (req: http.IncomingMessage, res: ServerResponse) => void responses.push([`${req.method} ${req.url}`, res]));
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/feed');
    const streamUrl = type === 'eventsource' ? `${url}/${clientId}` : iframeStreamUrl(url, clientId);
    let received = '';
    const incoming = await new Promise<http.IncomingMessage>((resolve) => {
      const req = http.get(streamUrl, { headers: { accept: 'text/event-stream' } }, resolve);
      onTestFinished(() => void req.destroy());
    });
    incoming.setEncoding('utf8');
    incoming.on('data', (chunk: string) => (received += chunk));
    incoming.pause();
    const res = responses.find(([request]) => request.startsWith(`GET /cometd/${clientId}`))![1];
    const { published, blockedAt, mostUnread } = await publishUntilBlocked(comet, '/feed', res);
    expect(blockedAt).toBeGreaterThan(0);
    expect(mostUnread).toBeLessThan(200_000); // a few frames past the high-water mark, not 500 of them (7.5 MB)
    incoming.resume();
    const ns = () => batches(received).flat().flatMap((m) => (m.channel === '/feed' ? [(m.data as { n: number }).n] : []));
    await vi.waitFor(() => expect(ns().at(-1)).toBe(published - 1), { timeout: 20_000 });
    const got = ns();
    expect(got.every((n, i) => i === 0 || n > got[i - 1]!)).toBe(true);
    expect(got.slice(-200)).toEqual(Array.from({ length: 200 }, (_, i) => published - 200 + i));
  });

  it.each(kinds)('write the %s response header on its own, then the stream', async (type, open, batches) => {
    // What keeps Node's copy of the header (held as long as the stream is open) small: joined to the
    // first chunk it stays a rope of ~25 strings, ~800 bytes a stream; written alone it is flattened.
    const { url, server } = await start();
    const writes = new Map<Socket, string[]>();
    server.on('connection', (socket: Socket) => {
      const chunks: string[] = [];
      writes.set(socket, chunks);
      const write = socket.write;
      socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
        chunks.push(String(chunk));
        return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      } as Socket['write'];
    });
    const clientId = await handshake(url);
    const stream = await open(url, clientId);
    await post(url, [{ channel: '/meta/connect', clientId, connectionType: type, id: '1' }]);
    await expect.poll(() => batches(stream.text).flat()).toContainEqual(expect.objectContaining({ id: '1', successful: true }));
    const chunks = [...writes.values()].find((c) => c[0]?.includes(type === 'eventsource' ? 'text/event-stream' : 'text/html'));
    expect(chunks, 'no socket wrote the stream').toBeDefined();
    const header = chunks![0]!;
    expect(header).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(header.indexOf('\r\n\r\n')).toBe(header.length - 4);
    expect(chunks!.slice(1).join('')).toContain(type === 'eventsource' ? 'retry: 5000' : '<script>');
  });
});
