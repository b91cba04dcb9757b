// @vitest-environment node
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, connect, handshake, openSocket, openStream, post, start } from './helpers.js';

afterEach(closeAll);

describe('close()', () => {
  it('answers held connects and ends streams and sockets', async () => {
    const { url, comet, port } = await start({ timeout: 30_000 });
    const polling = await handshake(url);
    await connect(url, polling);
    const held = connect(url, polling);
    const streamer = await handshake(url);
    const sse = await openStream(`${url}/${streamer}`, { accept: 'text/event-stream' });
    const framer = await handshake(url);
    const iframe = await openStream(`${url}/${framer}?connectionType=iframe-streaming&origin=${encodeURIComponent(`http://127.0.0.1:${port}`)}`);
    const socket = await openSocket(url);
    const socketClient = await handshake(url);
    socket.send([{ channel: '/meta/connect', clientId: socketClient, connectionType: 'websocket', id: '1' }]);
    await vi.waitFor(() => expect(socket.batches).toHaveLength(1));
    socket.send([{ channel: '/meta/connect', clientId: socketClient, connectionType: 'websocket', id: '2' }]);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await comet.close();
    expect((await held).body[0]).toMatchObject({ channel: '/meta/connect', successful: true });
    await sse.done;
    await iframe.done;
    expect((await socket.closed).code).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])).status).toBe(503);
  });

  it('refuses a publish after close() as closed, where it would have reached no one', async () => {
    const { comet } = await start();
    await comet.close();
    await expect(comet.publish('/a', 1)).rejects.toMatchObject({ name: 'CometError', code: 'closed', message: 'Server closed: nothing was published on "/a"' });
  });

  it('lets the process exit once the HTTP server is closed too', async () => {
    const script = fileURLToPath(new URL('./fixtures/close-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', fileURLToPath(new URL('./fixtures/register-ts.mjs', import.meta.url)), script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(output).toContain('closed');
    expect(code).toBe(0);
  });
});
