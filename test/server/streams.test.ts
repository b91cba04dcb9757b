// @vitest-environment node
// What the EventSource and iframe streams share (src/server/stream.ts).
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { MemoryStore, type SessionInfo } from '../../src/server/index.js';
import { closeAll, handshake, iframeBatches, iframeStreamUrl, openStream, post, sseBatches, start, type RawStream } from './helpers.js';

afterEach(closeAll);

/** A MemoryStore whose `touch` waits while `gate` is set: a shared store slow to answer. */
class GatedStore extends MemoryStore {
  gate: Promise<void> | null = null;

  override async touch(clientId: string, now: number): Promise<SessionInfo | null> {
    await this.gate;
    return super.touch(clientId, now);
  }
}

const kinds = [
  ['eventsource', (url: string, id: string) => openStream(`${url}/${id}`, { accept: 'text/event-stream' }), sseBatches],
  ['iframe-streaming', (url: string, id: string) => openStream(iframeStreamUrl(url, id)), iframeBatches],
] as const;

describe('streams', () => {
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
});
