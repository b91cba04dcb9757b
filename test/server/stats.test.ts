// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, handshake, openSocket, openStream, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

describe('comet.stats()', () => {
  it('counts the sessions, open connections by type and held connects of this process', async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    expect(comet.stats()).toEqual({ sessions: 0, connections: {}, heldConnects: 0 });

    const poller = await handshake(url);
    await subscribe(url, poller, '/a');
    await post(url, [{ channel: '/meta/connect', clientId: poller, connectionType: 'long-polling' }]);
    const held = post(url, [{ channel: '/meta/connect', clientId: poller, connectionType: 'long-polling' }]);

    const streamer = await handshake(url);
    const stream = await openStream(`${url}/${streamer}`, { accept: 'text/event-stream' });

    const socketClient = await handshake(url);
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId: socketClient, connectionType: 'websocket', id: '1' }]);
    await vi.waitFor(() => expect(socket.batches).toHaveLength(1));
    socket.send([{ channel: '/meta/connect', clientId: socketClient, connectionType: 'websocket', id: '2' }]);

    await vi.waitFor(() =>
      expect(comet.stats()).toEqual({ sessions: 3, connections: { eventsource: 1, websocket: 1 }, heldConnects: 2 }),
    );

    await comet.publish('/a', 'wake');
    await held;
    stream.destroy();
    socket.ws.close();
    await vi.waitFor(() => expect(comet.stats()).toEqual({ sessions: 3, connections: {}, heldConnects: 0 }));
  });

  it('counts a session that handshook and never connected, until it idles out or disconnects', async () => {
    const { url, comet } = await start({ sessionTimeout: 200 });
    const idle = await handshake(url);
    const leaving = await handshake(url);
    expect(comet.stats().sessions).toBe(2);
    await post(url, [{ channel: '/meta/disconnect', clientId: leaving }]);
    expect(comet.stats().sessions).toBe(1);
    await vi.waitFor(() => expect(comet.stats().sessions).toBe(0), { timeout: 3_000 });
    const { body: [reply] } = await post(url, [{ channel: '/meta/connect', clientId: idle, connectionType: 'long-polling' }]);
    expect(reply).toMatchObject({ successful: false, error: `402:${idle}:Unknown client` });
  });
});
