// @vitest-environment node
import http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { closeAll, handshake, openSocket, post, start, subscribe } from './helpers.js';

afterEach(closeAll);

describe('websocket', () => {
  it('handshakes, subscribes and receives deliveries as their own frames', async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], id: '1' }]);
    await vi.waitFor(() => expect(socket.batches).toHaveLength(1));
    const clientId = socket.batches[0]![0]!.clientId!;
    socket.send([{ channel: '/meta/subscribe', clientId, subscription: '/stocks/**', id: '2' }]);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '3' }]);
    await vi.waitFor(() => expect(socket.batches).toHaveLength(3));
    expect(socket.batches[1]).toEqual([{ id: '2', channel: '/meta/subscribe', clientId, successful: true, subscription: '/stocks/**' }]);
    expect(socket.batches[2]![0]).toMatchObject({ id: '3', channel: '/meta/connect', successful: true });
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '4' }]);
    await new Promise((r) => setTimeout(r, 50));
    await comet.publish('/stocks/nyse/ACME', { price: 44 });
    await vi.waitFor(() => expect(socket.batches).toHaveLength(4));
    expect(socket.batches[3]).toEqual([{ channel: '/stocks/nyse/ACME', data: { price: 44 }, id: expect.any(String) }]);
  });

  it('publishes from the socket to subscribers on every connection type', async () => {
    const { url } = await start({ timeout: 5_000 });
    const poller = await handshake(url);
    await subscribe(url, poller, '/chat/*');
    await post(url, [{ channel: '/meta/connect', clientId: poller, connectionType: 'long-polling' }]);
    const poll = post(url, [{ channel: '/meta/connect', clientId: poller, connectionType: 'long-polling' }]);
    const clientId = await handshake(url);
    const socket = await openSocket(url);
    socket.send([{ channel: '/chat/lobby', clientId, data: { text: 'hi' }, id: 'p' }]);
    await vi.waitFor(() => expect(socket.batches[0]).toEqual([{ id: 'p', channel: '/chat/lobby', clientId, successful: true }]));
    expect((await poll).body[1]).toEqual({ channel: '/chat/lobby', data: { text: 'hi' }, id: expect.any(String) });
  });

  it('answers a held connect on the socket after timeout', async () => {
    const { url } = await start({ timeout: 200 });
    const clientId = await handshake(url);
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1' }]);
    await vi.waitFor(() => expect(socket.batches).toHaveLength(1));
    const started = Date.now();
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '2' }]);
    await vi.waitFor(() => expect(socket.batches).toHaveLength(2));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(socket.batches[1]).toEqual([expect.objectContaining({ id: '2', successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 200 } })]);
  });

  it('redelivers unacknowledged messages on a new socket', async () => {
    const { url, comet } = await start({ timeout: 5_000 });
    const clientId = await handshake(url, { ack: 'seq' });
    await subscribe(url, clientId, '/a');
    const first = await openSocket(url);
    first.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1', ext: { ack: 0 } }]);
    await vi.waitFor(() => expect(first.batches).toHaveLength(1));
    await comet.publish('/a', 'x');
    await comet.publish('/a', 'y');
    await vi.waitFor(() => expect(first.batches.flat().filter((m) => m.channel === '/a')).toHaveLength(2));
    first.ws.terminate();
    const second = await openSocket(url);
    second.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '2', ext: { ack: 0 } }]);
    await vi.waitFor(() =>
      expect(second.batches.flat().filter((m) => m.channel === '/a').map((m) => [m.data, m.ext?.seq])).toEqual([
        ['x', 1],
        ['y', 2],
      ]),
    );
  });

  it('answers a bad frame with a 400 reply and keeps the socket open', async () => {
    const { url } = await start();
    const socket = await openSocket(url);
    socket.ws.send('{not json');
    socket.ws.send(JSON.stringify({ channel: '/meta/handshake' }));
    await vi.waitFor(() => expect(socket.batches).toHaveLength(2));
    expect(socket.batches[0]![0]).toMatchObject({ channel: '/meta/unknown', successful: false, error: expect.stringMatching(/^400::/) });
    socket.send([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], id: '1' }]);
    await vi.waitFor(() => expect(socket.batches[2]?.[0]).toMatchObject({ successful: true }));
  });

  it('leaves upgrades on other paths to the server’s other listeners', async () => {
    const { url, server, port } = await start();
    const other = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, sock, head) => {
      if (req.url === '/other') other.handleUpgrade(req, sock, head, (ws) => ws.send('other'));
    });
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/other`);
    const text = await new Promise<string>((resolve, reject) => {
      ws.on('message', (d) => resolve(String(d)));
      ws.on('error', reject);
    });
    expect(text).toBe('other');
    ws.terminate();
    other.close();
    expect((await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'] }])).status).toBe(200);
  });

  it('passes plain requests outside its path on to the app', async () => {
    const { port } = await start({}, (_req, res) => res.end('app'));
    const res = await fetch(`http://127.0.0.1:${port}/index.html`);
    expect(await res.text()).toBe('app');
    expect(http.STATUS_CODES[res.status]).toBe('OK');
  });
});

describe('websocket session timeout', () => {
  it('removes a client whose socket stays open but which stops connecting, and closes the socket', async () => {
    const { url, comet } = await start({ timeout: 100, sessionTimeout: 300 });
    const onDisconnect = vi.fn();
    comet.on('disconnect', onDisconnect);
    const clientId = await handshake(url);
    const socket = await openSocket(url);
    socket.send([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: '1' }]);
    await vi.waitFor(() => expect(onDisconnect).toHaveBeenCalledWith({ clientId, reason: 'timeout' }), { timeout: 3_000 });
    expect((await socket.closed).code).toBe(1000);
  });
});
