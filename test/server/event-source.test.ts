// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, handshake, openSocket, openStream, post, sseBatches, start, subscribe } from './helpers.js';

afterEach(closeAll);

describe('eventsource', () => {
  it('begins with retry: 5000, answers the connect on the stream and streams deliveries as data events', async () => {
    const { url, comet } = await start({ timeout: 700 });
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/chat/lobby');
    const stream = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toBe('no-cache, no-store');
    await vi.waitFor(() => expect(stream.text.startsWith('retry: 5000\r\n\r\n')).toBe(true));
    const post1 = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: '9' }]);
    expect(post1.body).toEqual([]);
    await vi.waitFor(() =>
      expect(sseBatches(stream.text)).toEqual([
        [{ id: '9', channel: '/meta/connect', clientId, successful: true, advice: { reconnect: 'retry', interval: 700, timeout: 0 } }],
      ]),
    );
    await comet.publish('/chat/lobby', { text: 'hello </script>\n\r\u2028' });
    await vi.waitFor(() => expect(sseBatches(stream.text)[1]).toEqual([{ channel: '/chat/lobby', data: { text: 'hello </script>\n\r\u2028' }, id: expect.any(String) }]));
  });

  it('answers the connect on the POST when no stream is open, as Faye does', async () => {
    const { url } = await start();
    const clientId = await handshake(url);
    const { body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: '1' }]);
    expect(body).toEqual([expect.objectContaining({ id: '1', successful: true, advice: { reconnect: 'retry', interval: 500, timeout: 0 } })]);
  });

  it("fails an ack client's connect for a stream that ended, so the client opens a new one", async () => {
    // A stream can die without the client noticing (Chromium fires nothing in an iframe whose connection was
    // cut); a success on the POST would keep the client waiting on it for ever.
    const { url, comet } = await start();
    const clientId = await handshake(url, { ack: 'seq' });
    const stream = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    stream.destroy();
    await stream.done;
    await vi.waitFor(() => expect(comet.stats().connections).toEqual({}));
    // It is failed once no new stream came within a second.
    const { body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: '2' }]);
    expect(body).toEqual([{ id: '2', clientId, channel: '/meta/connect', successful: false, error: expect.stringMatching(/^410:eventsource:/), advice: { reconnect: 'retry', interval: 0 } }]);
    // A new stream and the session goes on.
    const next = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    expect((await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: '3' }])).body).toEqual([]);
    await vi.waitFor(() => expect(sseBatches(next.text).flat()).toContainEqual(expect.objectContaining({ id: '3', successful: true })));
  });

  it('answers a connect that crosses the reopening of its stream on the new stream', async () => {
    // The client reopens its stream at streamCharLimit; a connect it sent meanwhile must not fail (that
    // made every reopen under load a reconnect: test/integration/burst.test.ts).
    let arrived!: () => void;
    const connectArrived = new Promise<void>((resolve) => (arrived = resolve));
    const { url, comet } = await start({ extensions: [{ incoming: (m) => void (m.id === '2' && arrived()) }] });
    const clientId = await handshake(url, { ack: 'seq' });
    const old = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: '1' }]);
    old.destroy();
    await old.done;
    await vi.waitFor(() => expect(comet.stats().connections).toEqual({}));
    const answered = post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: '2' }]);
    // The new stream comes once the engine has the connect in hand (its memory store answers within the turn).
    await connectArrived;
    await new Promise((resolve) => setImmediate(resolve));
    const next = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    expect((await answered).body).toEqual([]);
    await vi.waitFor(() => expect(sseBatches(next.text).flat()).toContainEqual(expect.objectContaining({ id: '2', successful: true })));
  });

  it('answers on the POST a connect for a stream a WebSocket took over: the client is moving, not stuck', async () => {
    const { url } = await start();
    const clientId = await handshake(url, { ack: 'seq' });
    await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: 'w', advice: { timeout: 0 } }]);
    await vi.waitFor(() => expect(socket.batches.flat()).toContainEqual(expect.objectContaining({ id: 'w', successful: true })));
    const { body } = await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: 'e' }]);
    expect(body).toEqual([expect.objectContaining({ id: 'e', successful: true })]);
  });

  it('writes heartbeats on an idle stream', async () => {
    const { url } = await start({ heartbeat: 100 });
    const clientId = await handshake(url);
    const stream = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await vi.waitFor(() => expect(sseBatches(stream.text).filter((b) => b.length === 0).length).toBeGreaterThanOrEqual(2));
  });

  it('ends the stream after streamLimit bytes and delivers the rest on the next one', async () => {
    const { url, comet } = await start({ streamLimit: 300 });
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/a');
    const first = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await comet.publish('/a', 'x'.repeat(400));
    await first.done;
    expect(sseBatches(first.text)[0]![0]).toMatchObject({ data: 'x'.repeat(400), ext: { seq: 1 } });
    const second = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await vi.waitFor(() => expect(sseBatches(second.text).flat().map((m) => m.ext?.seq)).toEqual([1]));
  });

  it('writes nothing more to a stream a newer one replaced, and ends it after a grace the client can close it in', async () => {
    // Ended at once, it looked to the client like a stream to reopen, and the reopened one replaced the new.
    const { url, comet } = await start();
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/a');
    const first = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    const second = await openStream(`${url}/${clientId}`, { accept: 'text/event-stream' });
    await comet.publish('/a', 'after');
    await vi.waitFor(() => expect(sseBatches(second.text).flat().map((m) => m.data)).toEqual(['after']));
    let ended = false;
    void first.done.then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ended).toBe(false);
    await first.done;
    expect(sseBatches(first.text).flat()).toEqual([]);
  });

  it('sends an unknown client its 402 reply on the stream and ends it', async () => {
    const { url } = await start();
    const stream = await openStream(`${url}/nobody`, { accept: 'text/event-stream' });
    await stream.done;
    expect(sseBatches(stream.text)).toEqual([
      [{ channel: '/meta/connect', clientId: 'nobody', successful: false, error: '402:nobody:Unknown client', advice: { reconnect: 'handshake' } }],
    ]);
  });
});
