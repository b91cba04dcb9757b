// @vitest-environment node
// `backlogChars`: a session that subscribes to its own channel, never connects and
// publishes to it (each publish refreshing it, so it is never swept) could hold
// `backlog` × `maxFrameChars` (10,000 × 1 MiB) in its backlog. The characters of a
// backlog are bounded as its count is: an ack session overflows, one without ack
// keeps only its newest messages.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { closeAll, connect, handshake, openSocket, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

const CAP = 10_000;
const PAD = 'x'.repeat(1_000);

/** A publish of `n` (about 1,050 characters once delivered) by `clientId` to its own `/mine`. */
const publish = (url: string, clientId: string, n: number) => post(url, [{ channel: '/mine', clientId, data: { n, pad: PAD }, id: `p${n}` }]);

const deliveries = (messages: Message[]) => messages.filter((m) => m.channel === '/mine');
const charsOf = (messages: Message[]) => messages.reduce((sum, m) => sum + JSON.stringify(m).length, 0);

describe('backlogChars', () => {
  it('ends an ack session that fills its own backlog past backlogChars without ever connecting', async () => {
    const { url, comet } = await start({ backlogChars: CAP });
    const onDisconnect = vi.fn();
    comet.on('disconnect', onDisconnect);
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/mine');
    let n = 0;
    while (onDisconnect.mock.calls.length === 0 && n < 100) {
      const { body } = await publish(url, clientId, ++n);
      expect(body[0]).toMatchObject({ successful: true });
    }
    // Nine deliveries of ~1,050 characters fit in 10,000; the tenth ends the session (not the 10,000th).
    expect(n).toBe(10);
    expect(onDisconnect).toHaveBeenCalledWith({ clientId, reason: 'overflow' });
    const { body } = await publish(url, clientId, ++n);
    expect(body[0]).toMatchObject({ successful: false, advice: { reconnect: 'handshake' } });
  });

  it('keeps only the newest messages, in order and within backlogChars, for a session without ack', async () => {
    const { url, comet } = await start({ backlogChars: CAP });
    const onDisconnect = vi.fn();
    comet.on('disconnect', onDisconnect);
    const clientId = await handshake(url);
    await subscribe(url, clientId, '/mine');
    for (let n = 1; n <= 50; n++) expect((await publish(url, clientId, n)).body[0]).toMatchObject({ successful: true });
    const got = deliveries((await connect(url, clientId)).body);
    expect(got.map((m) => (m.data as { n: number }).n)).toEqual([42, 43, 44, 45, 46, 47, 48, 49, 50]);
    expect(charsOf(got)).toBeLessThanOrEqual(CAP);
    // One more (as long as each of them) would not have fitted.
    expect(charsOf(got) + charsOf(got.slice(0, 1))).toBeGreaterThan(CAP);
    expect(onDisconnect).not.toHaveBeenCalled();
  });

  it("answers a WebSocket's held connect early once half of backlogChars is unacknowledged, so an ack client that keeps up is never cut off", async () => {
    const { url, comet } = await start({ backlogChars: CAP, timeout: 30_000 });
    const onDisconnect = vi.fn();
    comet.on('disconnect', onDisconnect);
    const clientId = await handshake(url, { ack: 'seq' });
    const publisher = await handshake(url);
    await subscribe(url, clientId, '/mine');
    const socket = await openSocket(url);
    const got = () => deliveries(socket.batches.flat());
    const replies = () => socket.batches.flat().filter((m) => m.channel === '/meta/connect');
    let id = 0;
    /** A connect acknowledging everything received so far, held by the server once it answered the first. */
    const hold = async () => {
      socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: String(++id), ext: { ack: got().at(-1)?.ext?.seq ?? 0 } }]);
      await vi.waitFor(() => expect(comet.stats().heldConnects + replies().length).toBe(id));
    };
    await hold();
    await hold();
    let early = 0;
    for (let n = 1; n <= 40; n++) {
      await publish(url, publisher, n);
      await vi.waitFor(() => expect(got()).toHaveLength(n));
      // Far below half of `backlog` (10,000 messages): only the characters can have answered it.
      if (comet.stats().heldConnects === 0) {
        early++;
        await hold();
      }
    }
    expect(early).toBeGreaterThanOrEqual(4);
    expect(onDisconnect).not.toHaveBeenCalled();
    expect(got().map((m) => m.ext?.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});
