// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { closeAll, connect, handshake, iframeBatches, iframeStreamUrl, openSocket, openStream, post, sseBatches, start, subscribe } from './helpers.js';

afterEach(closeAll);

const seqs = (batch: Message[]) => batch.filter((m) => !m.channel.startsWith('/meta/')).map((m) => m.ext?.seq);

describe('the ack extension', () => {
  it('is confirmed in the handshake reply only when the client asks for it', async () => {
    const { url } = await start();
    const asked = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { ack: 'seq' } }]);
    expect(asked.body[0]!.ext).toEqual({ ack: 'seq' });
    const plain = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
    expect(plain.body[0]).not.toHaveProperty('ext');
  });

  it("treats a CometD client's ack: true (per-batch acks) as a plain client", async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    const [hello] = (await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { ack: true } }])).body;
    expect(hello!.ext).toBeUndefined();
    await subscribe(url, hello!.clientId!, '/chat/a');
    await connect(url, hello!.clientId!);
    await comet.publish('/chat/a', 'one');
    const { body } = await connect(url, hello!.clientId!, { ack: -1 });
    expect(body[1]).toEqual({ channel: '/chat/a', data: 'one', id: expect.any(String) });
  });

  it('numbers deliveries per client and redelivers them in order after a dropped response', async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/**');
    await connect(url, clientId, { ack: 0 });
    for (let i = 1; i <= 3; i++) await comet.publish('/chat/a', { i });
    const first = await connect(url, clientId, { ack: 0 });
    expect(seqs(first.body)).toEqual([1, 2, 3]);
    expect(first.body[1]).toEqual({ channel: '/chat/a', data: { i: 1 }, id: expect.any(String), ext: { seq: 1 } });
    // The client never saw that response: it connects again with its old ack and gets the same seqs again.
    const again = await connect(url, clientId, { ack: 0 });
    expect(seqs(again.body)).toEqual([1, 2, 3]);
    expect(again.body.slice(1).map((m) => m.data)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
  });

  it('redelivers on the next connect after the held response was cut before the client read it', async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/*');
    await connect(url, clientId, { ack: 0 });
    const controller = new AbortController();
    const cut = fetch(url, {
      method: 'POST',
      body: JSON.stringify([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: 'x', ext: { ack: 0 } }]),
      signal: controller.signal,
    }).catch(() => null);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await cut;
    await comet.publish('/chat/a', 'one');
    await comet.publish('/chat/a', 'two');
    const { body } = await connect(url, clientId, { ack: 0 });
    expect(seqs(body)).toEqual([1, 2]);
    expect(body.slice(1).map((m) => m.data)).toEqual(['one', 'two']);
  });

  it('trims the backlog up to the acknowledged seq', async () => {
    const { url, comet } = await start({ timeout: 300 });
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/a');
    await connect(url, clientId, { ack: 0 });
    for (let i = 1; i <= 3; i++) await comet.publish('/chat/a', i);
    expect(seqs((await connect(url, clientId, { ack: 0 })).body)).toEqual([1, 2, 3]);
    expect(seqs((await connect(url, clientId, { ack: 2 })).body)).toEqual([3]);
    const started = Date.now();
    expect(seqs((await connect(url, clientId, { ack: 3 })).body)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // An old ack cannot bring trimmed messages back.
    const late = connect(url, clientId, { ack: 1 });
    await comet.publish('/chat/a', 4);
    expect(seqs((await late).body)).toEqual([4]);
  });

  it('takes an ack above every seq given out as the last seq: later messages still arrive, on a connect and on a stream', async () => {
    const { url, comet } = await start({ timeout: 300 });
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/a');
    await connect(url, clientId, { ack: 0 });
    await comet.publish('/chat/a', 1);
    // It acknowledges seq 1 (the client says it has everything), and no later seq:
    const started = Date.now();
    expect(seqs((await connect(url, clientId, { ack: 99 })).body)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // held: nothing was left to send
    const held = connect(url, clientId, { ack: 99 });
    await vi.waitFor(() => expect(comet.stats().heldConnects).toBe(1)); // held: an ack that arrived after seq 2 would rightly cover it
    await comet.publish('/chat/a', 2);
    expect((await held).body.slice(1).map((m) => [m.ext?.seq, m.data])).toEqual([[2, 2]]);
    const stream = await openStream(`${url}/${clientId}?ack=99`, { accept: 'text/event-stream' });
    await vi.waitFor(() => expect(comet.stats().connections).toEqual({ eventsource: 1 })); // attached
    await comet.publish('/chat/a', 3);
    await vi.waitFor(() => expect(sseBatches(stream.text).flatMap(seqs)).toEqual([3]));
    stream.destroy();
  });

  it('redelivers unacknowledged messages on a new stream in order', async () => {
    const { url, comet } = await start();
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/a');
    const first = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await comet.publish('/chat/a', 'one');
    await comet.publish('/chat/a', 'two');
    await vi.waitFor(() => expect(sseBatches(first.text).flatMap(seqs)).toEqual([1, 2]));
    first.destroy();
    const second = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await vi.waitFor(() => expect(sseBatches(second.text).flatMap(seqs)).toEqual([1, 2]));
    await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: 'k', ext: { ack: 2 } }]);
    await comet.publish('/chat/a', 'three');
    await vi.waitFor(() => expect(sseBatches(second.text).flatMap(seqs)).toEqual([1, 2, 3]));
    const third = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await vi.waitFor(() => expect(sseBatches(third.text).flatMap(seqs)).toEqual([3]));
  });

  it.each([
    ['eventsource', (url: string, id: string, ack: string) => openStream(`${url}/${id}?ack=${ack}`, { accept: 'text/event-stream' }), sseBatches],
    ['iframe-streaming', (url: string, id: string, ack: string) => openStream(iframeStreamUrl(url, id, ack)), iframeBatches],
  ] as const)('takes the ack a reopened %s stream carries in its URL: no replay of what the client has', async (_type, open, batches) => {
    const { url, comet } = await start();
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/a');
    for (const word of ['one', 'two', 'three']) await comet.publish('/chat/a', word);
    const first = await open(url, clientId, '0');
    await vi.waitFor(() => expect(batches(first.text).flatMap(seqs)).toEqual([1, 2, 3]));
    first.destroy();
    const second = await open(url, clientId, '2');
    await vi.waitFor(() => expect(batches(second.text).flatMap(seqs)).toEqual([3]));
    second.destroy();
    // Acknowledged for good: a stream whose parameter is garbage (ignored) starts after it too.
    const third = await open(url, clientId, 'x');
    await comet.publish('/chat/a', 'four');
    await vi.waitFor(() => expect(batches(third.text).flatMap(seqs)).toEqual([3, 4]));
  });

  it('ends an ack session whose backlog overflows instead of leaving a gap', async () => {
    const { url, comet } = await start({ backlog: 3 });
    const onDisconnect = vi.fn();
    comet.on('disconnect', onDisconnect);
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/a');
    for (let i = 1; i <= 4; i++) await comet.publish('/chat/a', i);
    expect(onDisconnect).toHaveBeenCalledWith({ clientId, reason: 'overflow' });
    expect((await connect(url, clientId, { ack: 0 })).body[0]).toMatchObject({ advice: { reconnect: 'handshake' } });
  });

  it('answers the held connect of a session it ends for overflow with why (409) and a handshake advice', async () => {
    const { url, comet } = await start({ backlog: 4, timeout: 30_000 });
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/chat/a');
    const socket = await openSocket(url);
    const replies = () => socket.batches.flat().filter((m) => m.channel === '/meta/connect');
    let id = 0;
    /** A connect that never acknowledges anything, held by the server once it answered the first. */
    const hold = async () => {
      socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: String(++id), ext: { ack: 0 } }]);
      await vi.waitFor(() => expect(comet.stats().heldConnects + replies().length).toBe(id));
    };
    await hold();
    await hold();
    for (let i = 1; i <= 5; i++) {
      await comet.publish('/chat/a', i);
      if (i === 5) break;
      await vi.waitFor(() => expect(socket.batches.flat().filter((m) => m.channel === '/chat/a')).toHaveLength(i));
      // Half the backlog unacknowledged: the server answers the held connect early, asking for an ack; we hold another.
      if (comet.stats().heldConnects === 0) await hold();
    }
    await vi.waitFor(() => expect(replies().at(-1)).toMatchObject({ id: String(id), successful: false, error: `409:${clientId}:Too far behind: messages were dropped`, advice: { reconnect: 'handshake' } }));
    expect(socket.batches.flat().filter((m) => m.channel === '/chat/a').map((m) => m.data)).toEqual([1, 2, 3, 4]);
  });

  it('sends plain deliveries to clients without ack and drops their oldest beyond the backlog', async () => {
    const { url, comet } = await start({ backlog: 2 });
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/chat/a');
    for (let i = 1; i <= 3; i++) await comet.publish('/chat/a', i);
    const { body } = await connect(url, clientId);
    expect(body.slice(1)).toEqual([
      { channel: '/chat/a', data: 2, id: expect.any(String) },
      { channel: '/chat/a', data: 3, id: expect.any(String) },
    ]);
  });

  it('publishes a repeated (clientId, id) only once', async () => {
    const { url, comet } = await start();
    const onPublish = vi.fn();
    comet.on('publish', onPublish);
    const publisher = await handshake(url, { ack: 'seq' });
    const reader = await handshake(url);
    await subscribe(url, reader, '/chat/a');
    const message = { channel: '/chat/a', clientId: publisher, data: 'once', id: 'p-1' };
    const replies = [await post(url, [message]), await post(url, [message]), await post(url, [message, { ...message, id: 'p-2' }])];
    for (const r of replies) expect(r.body.every((m) => m.successful)).toBe(true);
    expect(onPublish).toHaveBeenCalledTimes(2);
    const { body } = await connect(url, reader);
    expect(body.slice(1).map((m) => m.data)).toEqual(['once', 'once']);
    // Another client may use the same message id.
    const other = await handshake(url);
    await post(url, [{ ...message, clientId: other }]);
    expect(onPublish).toHaveBeenCalledTimes(3);
  });
});
